"""The platform's PostgreSQL: one Aurora PostgreSQL Serverless v2 cluster per stage, one
logical database and one Secrets Manager secret per consumer (the job API today, MLflow later).

Why Aurora Serverless v2 rather than RDS for PostgreSQL, and the consumer bootstrap, are in
the README ("Job API", "On AWS"). In short: it pauses at 0 ACU when idle (a dev stage's
database costs storage only overnight), a reader in another zone is promoted in about 30 s,
and PGMQ's SQL-only install needs no extension either way.

What the cluster guarantees:

* in the stage's private subnets, storage encrypted with the Storage stack's key, IAM
  database authentication on (optional for consumers), deletion protection and RETAIN in
  stages that retain data (``storage.retention``), backups kept ``backup_retention_days``;
* the master credentials and each consumer's in Secrets Manager, encrypted with the same key,
  in the RDS-generated JSON shape (``host``, ``port``, ``dbname``, ``username``,
  ``password``, ``engine``; a consumer's also ``masterarn``), rotated every
  ``rotation_days`` by AWS's rotation functions (single-user for the master, multi-user for
  consumers, so a consumer always has one valid login while its other one rotates); the
  functions run in the private subnets and reach Secrets Manager through the NAT gateway, since
  the Network stack has no Secrets Manager endpoint;
* a security group that admits nothing by itself: whoever runs the consumers adds the one
  ingress rule it needs (:meth:`PlatformDatabase.admit`), in its own stack, so the rule goes
  before its source security group does.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from constructs import Construct

from platform_config.job_api import DatabaseSettings
from platform_config.versions import AURORA_POSTGRES
from platform_constructs.nag import acknowledge

PORT = 5432
MASTER_USER = "platform_admin"
# Characters the rotation functions and libpq connection strings both take without quoting.
EXCLUDED_CHARACTERS = " %+~`#$&*()|[]{}:;<>?!'/@\"\\"


class PlatformDatabase(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        key: kms.IKey,
        settings: DatabaseSettings,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.settings, self.key = settings, key
        retain = removal_policy is RemovalPolicy.RETAIN
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="PostgreSQL of the platform: ingress added per consumer, no egress",
            allow_all_outbound=False,
        )
        self.cluster = rds.DatabaseCluster(
            self,
            "Cluster",
            engine=rds.DatabaseClusterEngine.aurora_postgres(
                version=rds.AuroraPostgresEngineVersion.of(AURORA_POSTGRES, AURORA_POSTGRES.split(".")[0])
            ),
            credentials=rds.Credentials.from_generated_secret(
                MASTER_USER, encryption_key=key, exclude_characters=EXCLUDED_CHARACTERS
            ),
            writer=rds.ClusterInstance.serverless_v2("Writer", publicly_accessible=False),
            readers=[
                rds.ClusterInstance.serverless_v2(
                    f"Reader{i}", scale_with_writer=True, publicly_accessible=False
                )
                for i in range(1, settings.readers + 1)
            ],
            serverless_v2_min_capacity=settings.min_capacity,
            serverless_v2_max_capacity=settings.max_capacity,
            serverless_v2_auto_pause_duration=(
                Duration.minutes(settings.pause_after_minutes) if settings.min_capacity == 0 else None
            ),
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=[self.security_group],
            port=PORT,
            storage_encrypted=True,
            storage_encryption_key=key,
            iam_authentication=True,
            # The RDS Data API: SQL over HTTPS, gated by IAM and a secret; how an operator
            # bootstraps a consumer's login without a network path to the cluster (README).
            enable_data_api=True,
            deletion_protection=retain,
            removal_policy=removal_policy,
            backup=rds.BackupProps(retention=Duration.days(settings.backup_retention_days)),
            copy_tags_to_snapshot=True,
            cloudwatch_logs_exports=["postgresql"],
            parameters={"rds.force_ssl": "1", "log_min_duration_statement": "1000"},
        )
        if not retain:
            acknowledge(
                self.cluster,
                "Deletion protection follows storage.retention: this stage destroys its data on "
                "cdk destroy (dev); stages that retain data get deletion protection and RETAIN.",
                "AwsSolutions-RDS10",
            )
        self.rotation_security_group = ec2.SecurityGroup(
            self,
            "RotationSecurityGroup",
            vpc=vpc,
            description="Secrets Manager rotation functions of the platform's PostgreSQL",
        )
        self.cluster.add_rotation_single_user(
            automatically_after=Duration.days(settings.rotation_days),
            exclude_characters=EXCLUDED_CHARACTERS,
            security_group=self.rotation_security_group,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        )
        self.consumers: dict[str, rds.DatabaseSecret] = {}

    def add_consumer(self, name: str) -> rds.DatabaseSecret:
        """A login and a database both called ``name`` (created by the bootstrap the README
        describes), its secret rotated by the multi-user scheme with the master's secret."""
        if name in self.consumers:
            raise ValueError(f"database consumer {name!r} is added twice")
        master = self.cluster.secret
        if master is None:
            raise ValueError(
                "the platform's PostgreSQL cluster is expected to have generated master credentials"
            )
        secret = rds.DatabaseSecret(
            self,
            f"{name.title().replace('_', '')}Secret",
            username=name,
            dbname=name,
            encryption_key=self.key,
            master_secret=master,
            exclude_characters=EXCLUDED_CHARACTERS,
        )
        attached = secret.attach(self.cluster)
        self.cluster.add_rotation_multi_user(
            f"{name.title().replace('_', '')}Rotation",
            secret=attached,
            automatically_after=Duration.days(self.settings.rotation_days),
            exclude_characters=EXCLUDED_CHARACTERS,
            security_group=self.rotation_security_group,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        )
        self.consumers[name] = secret
        return secret

    def admit(self, source_security_group_id: str, description: str, *, scope: Construct) -> None:
        """PostgreSQL from a security group: one ingress rule, created in ``scope``'s stack
        (the source's user), so that it is removed before its source security group. (The
        rotation functions' rule is CDK's own, added with each rotation.)"""
        ec2.CfnSecurityGroupIngress(
            scope,
            f"PostgresFrom{''.join(w.title() for w in description.split())}",
            group_id=self.security_group.security_group_id,
            source_security_group_id=source_security_group_id,
            ip_protocol="tcp",
            from_port=PORT,
            to_port=PORT,
            description=f"PostgreSQL from the {description}",
        )
