"""Stateful: the shared EFS file system (model cache and workspace), the S3 model bucket,
when reservations are on the reservations table, and when the job API is on the platform's
PostgreSQL (its consumers: the job API and MLflow).

All are encrypted with a stage key, kept on stack deletion in stages that retain data, and
reachable only from inside the VPC (EFS) or over TLS (S3).
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_efs as efs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from platform_config.mlflow import DATABASE as MLFLOW_DATABASE
from platform_config.model import StageConfig
from platform_constructs.keys import stage_key
from platform_constructs.postgres import PlatformDatabase
from platform_constructs.reservations_table import reservations_table
from platform_constructs.retention import destroys_data, removal_policy

# uid/gid of the non-root user in platform images; access points create their roots as it.
POSIX_USER = efs.PosixUser(uid="1000", gid="1000")


JOB_API_DATABASE = "job_api"  # the job API's login and database on the platform's PostgreSQL


def bucket_arn_export(storage_stack_name: str, bucket_id: str) -> str:
    """The export name of a data bucket's ARN (``bucket_id``: its construct id)."""
    return f"{storage_stack_name}-{bucket_id}Arn"


def model_bucket_arn_export(storage_stack_name: str) -> str:
    return bucket_arn_export(storage_stack_name, "ModelBucket")


class StorageStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, vpc: ec2.IVpc, **kwargs
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        settings = config.storage
        policy = removal_policy(config)

        self.key = stage_key(
            self,
            "StorageKey",
            config=config,
            description="Encrypts the platform's EFS file system and model bucket",
        )

        self.efs_security_group = ec2.SecurityGroup(
            self,
            "EfsSecurityGroup",
            vpc=vpc,
            description="NFS from inside the VPC to the shared file system",
            allow_all_outbound=False,
        )
        self.efs_security_group.add_ingress_rule(
            ec2.Peer.ipv4(config.network.vpc_cidr), ec2.Port.NFS, "NFS from the VPC"
        )
        self.file_system = efs.FileSystem(
            self,
            "SharedFileSystem",
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_group=self.efs_security_group,
            encrypted=True,
            kms_key=self.key,
            performance_mode=efs.PerformanceMode.GENERAL_PURPOSE,
            throughput_mode=efs.ThroughputMode.ELASTIC,
            enable_automatic_backups=True,
            lifecycle_policy=efs.LifecyclePolicy.AFTER_30_DAYS,
            out_of_infrequent_access_policy=efs.OutOfInfrequentAccessPolicy.AFTER_1_ACCESS,
            removal_policy=policy,
        )
        self.model_cache_access_point = self._access_point("ModelCache", settings.efs_model_cache_path)
        self.workspace_access_point = self._access_point("Workspace", settings.efs_workspace_path)

        self.model_bucket: s3.Bucket | None = None
        self.backup_bucket: s3.Bucket | None = None
        self.mlflow_bucket: s3.Bucket | None = None
        backups, mlflow = config.workloads.velero.enabled, config.workloads.mlflow.enabled
        access_logs: s3.Bucket | None = None
        if settings.model_bucket or backups or mlflow:
            access_logs = s3.Bucket(
                self,
                "AccessLogBucket",
                encryption=s3.BucketEncryption.S3_MANAGED,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                enforce_ssl=True,
                object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
                lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
                removal_policy=policy,
                auto_delete_objects=destroys_data(config),
            )
        if settings.model_bucket:
            self.model_bucket = self._data_bucket("ModelBucket", "model-bucket/", config, access_logs)
        if backups:
            # Velero's backups: Kubernetes objects and snapshot metadata (the volume data is in
            # EBS snapshots, which Velero deletes with the backup).
            self.backup_bucket = self._data_bucket("BackupBucket", "backup-bucket/", config, access_logs)
        if mlflow:
            # MLflow's run and model artifacts (its server reads and writes them for the clients)
            self.mlflow_bucket = self._data_bucket(
                "MlflowArtifactBucket", "mlflow-artifacts/", config, access_logs
            )

        self.reservations_table: dynamodb.Table | None = None
        if config.reservations.enabled:
            self.reservations_table = reservations_table(
                self, "ReservationsTable", config=config, key=self.key
            )

        # One cluster for every consumer: the job API and MLflow (its settings are the stage's
        # platform_database, whichever consumers the stage runs).
        self.database: PlatformDatabase | None = None
        consumers = [
            name
            for name, enabled in ((JOB_API_DATABASE, config.job_api.enabled), (MLFLOW_DATABASE, mlflow))
            if enabled
        ]
        if consumers:
            self.database = PlatformDatabase(
                self,
                "Database",
                vpc=vpc,
                key=self.key,
                settings=config.platform_database,
                removal_policy=policy,
            )
            for name in consumers:
                self.database.add_consumer(name)

    def _data_bucket(
        self, construct_id: str, log_prefix: str, config: StageConfig, access_logs: s3.IBucket | None
    ) -> s3.Bucket:
        """A bucket of the platform's data: versioned (an overwritten or deleted object stays
        recoverable for ``storage.noncurrent_version_expiry_days``), encrypted with the stage key,
        TLS only, no public access, server access logs, kept on stack deletion where the stage
        keeps data. Its ARN is a named export, so that IAM policies built on it in other stacks
        (Triton's read-only role, Velero's) have a predictable text cdk-nag findings can name."""
        bucket = s3.Bucket(
            self,
            construct_id,
            versioned=True,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix=log_prefix,
            lifecycle_rules=[
                s3.LifecycleRule(
                    noncurrent_version_expiration=Duration.days(
                        config.storage.noncurrent_version_expiry_days
                    ),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
            removal_policy=removal_policy(config),
            auto_delete_objects=destroys_data(config),
        )
        CfnOutput(
            self,
            f"{construct_id}ArnExport",
            value=bucket.bucket_arn,
            export_name=bucket_arn_export(self.stack_name, construct_id),
        )
        return bucket

    def _access_point(self, construct_id: str, path: str) -> efs.AccessPoint:
        return self.file_system.add_access_point(
            construct_id,
            path=path,
            posix_user=POSIX_USER,
            create_acl=efs.Acl(owner_uid="1000", owner_gid="1000", permissions="750"),
        )
