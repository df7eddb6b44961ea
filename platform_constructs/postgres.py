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
* each consumer's login and database created at deploy time (``lambda/postgres_consumer``,
  through the RDS Data API), before its rotation first runs;
* a security group that admits nothing by itself: whoever runs the consumers adds the one
  ingress rule it needs (:meth:`PlatformDatabase.admit`), in its own stack, so the rule goes
  before its source security group does.
"""

from __future__ import annotations

from aws_cdk import CustomResource, Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from platform_config.checks import pascal
from platform_config.platform_database import POSTGRES_PORT, PlatformDatabaseSettings
from platform_config.versions import AURORA_POSTGRES
from platform_constructs.lambda_bundle import function_code
from platform_constructs.nag import acknowledge, managed_policy_finding

PORT = POSTGRES_PORT
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
        settings: PlatformDatabaseSettings,
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
            # The RDS Data API: SQL over HTTPS, gated by IAM and a secret; how each consumer's
            # login is created at deploy time without a network path to the cluster.
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
            description="Secrets Manager rotation functions of the platform PostgreSQL",
        )
        self.cluster.add_rotation_single_user(
            automatically_after=Duration.days(settings.rotation_days),
            exclude_characters=EXCLUDED_CHARACTERS,
            security_group=self.rotation_security_group,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        )
        self.consumers: dict[str, rds.DatabaseSecret] = {}
        self._bootstrap: lambda_.Function | None = None

    def add_consumer(self, name: str) -> rds.DatabaseSecret:
        """A login and a database both called ``name``, created at deploy time by the
        ``lambda/postgres_consumer`` custom resource with the password of the consumer's own
        secret, which the multi-user scheme then rotates with the master's secret."""
        if name in self.consumers:
            raise ValueError(f"database consumer {name!r} is added twice")
        master = self.cluster.secret
        if master is None:
            raise ValueError(
                "the platform's PostgreSQL cluster is expected to have generated master credentials"
            )
        secret = rds.DatabaseSecret(
            self,
            f"{pascal(name)}Secret",
            username=name,
            dbname=name,
            encryption_key=self.key,
            master_secret=master,
            exclude_characters=EXCLUDED_CHARACTERS,
        )
        attached = secret.attach(self.cluster)
        self.cluster.add_rotation_multi_user(
            f"{pascal(name)}Rotation",
            secret=attached,
            automatically_after=Duration.days(self.settings.rotation_days),
            exclude_characters=EXCLUDED_CHARACTERS,
            security_group=self.rotation_security_group,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        )
        resource = CustomResource(
            self,
            f"{pascal(name)}Login",
            service_token=self._bootstrap_function(master, secret).function_arn,
            resource_type="Custom::PostgresConsumer",
            properties={
                "ClusterArn": self.cluster.cluster_arn,
                "MasterSecretArn": master.secret_arn,
                "ConsumerSecretArn": secret.secret_arn,
                "Consumer": name,
            },
        )
        # The writer must be up (its resources only: the cluster construct also holds the
        # rotations, which wait for this); the rotation must find the login when it first runs.
        cluster_node = self.cluster.node
        writer = cluster_node.find_child("Writer")
        resource.node.add_dependency(*(c for c in (cluster_node.default_child, writer) if c is not None))
        rotation = cluster_node.try_find_child(f"{pascal(name)}Rotation")
        if rotation is not None:
            rotation.node.add_dependency(resource)
        self.consumers[name] = secret
        return secret

    def _bootstrap_function(
        self, master: secretsmanager.ISecret | None, secret: rds.DatabaseSecret
    ) -> lambda_.Function:
        """One function per cluster for every consumer's bootstrap; each consumer's secret is
        added to what it may read. Outside the VPC: the Data API is an AWS endpoint."""
        if self._bootstrap is None:
            self._bootstrap = lambda_.Function(
                self,
                "ConsumerBootstrap",
                runtime=lambda_.Runtime.PYTHON_3_14,
                architecture=lambda_.Architecture.X86_64,
                handler="handler.handler",
                code=function_code("postgres_consumer"),
                timeout=Duration.minutes(5),
                log_group=logs.LogGroup(
                    self, "ConsumerBootstrapLogs", retention=logs.RetentionDays.ONE_MONTH
                ),
                description="Creates each consumer's login and database on the platform's PostgreSQL",
            )
            data_api = ["BeginTransaction", "CommitTransaction", "ExecuteStatement", "RollbackTransaction"]
            self._bootstrap.add_to_role_policy(
                iam.PolicyStatement(
                    actions=[f"rds-data:{a}" for a in data_api], resources=[self.cluster.cluster_arn]
                )
            )
            self._bootstrap.add_to_role_policy(
                iam.PolicyStatement(actions=["kms:Decrypt"], resources=[self.key.key_arn])
            )
            if master is not None:  # the Data API reads the master's secret as its caller
                self._read(master)
            role = self._bootstrap.role
            if role is not None:
                acknowledge(
                    role,
                    "The AWS managed basic execution policy only lets the function write its own "
                    "logs; writing it out would copy it verbatim.",
                    managed_policy_finding("service-role/AWSLambdaBasicExecutionRole"),
                )
        self._read(secret)
        return self._bootstrap

    def _read(self, secret: secretsmanager.ISecret) -> None:
        if self._bootstrap is not None:
            self._bootstrap.add_to_role_policy(
                iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[secret.secret_arn])
            )

    def admit(self, source_security_group_id: str, description: str, *, scope: Construct) -> None:
        """PostgreSQL from a security group: one ingress rule, created in ``scope``'s stack
        (the source's user), so that it is removed before its source security group. (The
        rotation functions' rule is CDK's own, added with each rotation.)"""
        ec2.CfnSecurityGroupIngress(
            scope,
            f"PostgresFrom{pascal(description.replace(' ', '-'))}",
            group_id=self.security_group.security_group_id,
            source_security_group_id=source_security_group_id,
            ip_protocol="tcp",
            from_port=PORT,
            to_port=PORT,
            description=f"PostgreSQL from the {description}",
        )
