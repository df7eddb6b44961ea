"""GPU developer-server reservations (seed 002): queue, Lambdas, cluster access, alarms.

The CLI reads the table (Storage stack) and sends messages; it never writes a record. The
processor Lambda creates and moves the records: it takes SQS batches (partial batch
responses, DLQ after 3 receives) and runs every minute; the expiry Lambda runs every 5
minutes. Both reach the API server from the VPC with their own IAM role, which an EKS access
entry maps to the Kubernetes group that ``k8s_charts/reservations_access.py`` binds to exactly
what they need. The stage's rules reach the Lambdas and the CLI as one JSON ``Policy`` (the
CLI reads the SSM parameter).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cdk8s
from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_eks as eks_l1
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from k8s_charts.namespaces import NamespacesChart
from k8s_charts.reservations_access import GROUP, WORKSPACE_CLAIM, ReservationsAccessChart
from k8s_charts.storage_classes import EFS_CLASS
from platform_config import namespaces
from platform_config.model import StageConfig
from platform_config.versions import DEV_POD_BASE
from platform_constructs.lambda_bundle import function_code, kubernetes_layer_code
from platform_constructs.nag import acknowledge, managed_policy_finding
from platform_constructs.platform_jobs import attach
from reservations.dead_letters import MAX_RECEIVES
from reservations.model import FORECAST_PREFIX, INDEXES, OWNER_INDEX, SUMMARY_KEY
from reservations.policy import Policy, parameter_name
from stacks.workloads_stack import network_policies

NAMESPACE = namespaces.GPU_DEV  # seed 002's namespace of dev pods
PROCESSOR_TIMEOUT = Duration.seconds(60)
# IAM's policy variable for the caller's user id: equal to the SenderId SQS stamps on the
# caller's messages (AWS Knowledge Center, "dynamodb-table-restrict-attributes": LeadingKeys
# ${aws:userid} matches role-id:caller-specified-role-name).
OWNER_KEY = "${aws:userid}"
DEV_POD_SOURCE = Path(__file__).resolve().parent.parent / "images" / "dev_pod"
# What reservations.store calls (transactions need the per-item actions); never Scan.
TABLE_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:Query",
]


def reservation_policy(config: StageConfig, *, dev_image: str) -> Policy:
    """The stage settings as the runtime ``Policy`` (GPU types from the managed pools)."""
    settings = config.reservations
    return Policy(
        stage=config.name,
        namespace=NAMESPACE,
        gpu_types=config.reservation_gpu_types(),
        default_gpu_type=settings.gpu_pools[0],
        allowed_gpu_counts=config.reservation_gpu_counts(),
        max_hours=settings.max_hours,
        default_hours=settings.default_hours,
        max_gpus_per_user=settings.max_gpus_per_user,
        max_open_per_user=settings.max_open_per_user,
        warning_minutes=tuple(sorted(settings.warning_minutes, reverse=True)),
        grace_minutes=settings.grace_minutes,
        max_queue_hours=settings.max_queue_hours,
        ready_timeout_minutes=settings.ready_timeout_minutes,
        dev_image=dev_image,
        home_storage_gib=settings.home_storage_gib,
        home_storage_class=EFS_CLASS,
        workspace_claim=WORKSPACE_CLAIM,
    )


class ReservationsStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        cluster: eks.ICluster,
        vpc: ec2.IVpc,
        table: dynamodb.ITable,
        owned_namespaces: list[str],
        **kwargs,
    ) -> None:
        """``owned_namespaces`` are created by the cluster stack already (``gpu-dev`` is, when
        the registry token refresh writes its pull secret there)."""
        super().__init__(scope, construct_id, **kwargs)
        self.table = table
        dev_image = ecr_assets.DockerImageAsset(
            self,
            "DevPodImage",
            directory=str(DEV_POD_SOURCE),
            build_args={"BASE_IMAGE": DEV_POD_BASE.uri},
            platform=ecr_assets.Platform.LINUX_AMD64,
        )
        self.policy = reservation_policy(config, dev_image=dev_image.image_uri)

        self.dead_letters = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.queue = sqs.Queue(
            self,
            "RequestQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            # Six times the function timeout, as Lambda's SQS integration recommends.
            visibility_timeout=Duration.seconds(PROCESSOR_TIMEOUT.to_seconds() * 6),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letters, max_receive_count=MAX_RECEIVES),
        )

        self.security_group = ec2.SecurityGroup(
            self, "FunctionsSecurityGroup", vpc=vpc, description="Reservation Lambdas to the EKS API server"
        )
        for index, group in enumerate(cluster.connections.security_groups):
            ec2.CfnSecurityGroupIngress(
                self,
                f"ApiFromFunctions{index}",
                group_id=group.security_group_id,
                source_security_group_id=self.security_group.security_group_id,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                description="Reservation Lambdas to the API server",
            )

        self.role = self._role()
        layer = lambda_.LayerVersion(
            self,
            "KubernetesClientLayer",
            code=kubernetes_layer_code(),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_14],
            compatible_architectures=[lambda_.Architecture.X86_64],
            description="The official Kubernetes Python client, pinned in lambda/layers/kubernetes",
        )
        environment = {
            "TABLE_NAME": table.table_name,
            "POLICY": self.policy.to_json(),
            "CLUSTER_NAME": cluster.cluster_name,
            "CLUSTER_ENDPOINT": cluster.cluster_endpoint,
            "CLUSTER_CA": cluster.cluster_certificate_authority_data,
            "MAX_RECEIVES": str(MAX_RECEIVES),
            # The expiry pass peeks at it (never deletes) to record dead-lettered requests.
            "DEAD_LETTER_QUEUE_URL": self.dead_letters.queue_url,
        }
        common: dict[str, Any] = {"vpc": vpc, "layer": layer, "environment": environment}
        self.processor = self._function("Processor", "reservation_processor", **common)
        self.processor.add_event_source(
            sources.SqsEventSource(
                self.queue,
                batch_size=10,
                max_batching_window=Duration.seconds(1),
                report_batch_item_failures=True,
            )
        )
        self.expiry = self._function("Expiry", "reservation_expiry", **common)
        for name, function, minutes in (("Process", self.processor, 1), ("Expire", self.expiry, 5)):
            events.Rule(
                self,
                f"{name}Schedule",
                schedule=events.Schedule.rate(Duration.minutes(minutes)),
                targets=[targets.LambdaFunction(function, retry_attempts=0)],
            )

        # The Lambdas' identity in the cluster: a group bound to the namespaced Role.
        access_entry = eks_l1.CfnAccessEntry(
            self,
            "FunctionsAccessEntry",
            cluster_name=cluster.cluster_name,
            principal_arn=self.role.role_arn,
            kubernetes_groups=[GROUP],
            type="STANDARD",
        )
        namespaces = [] if NAMESPACE in owned_namespaces else [NAMESPACE]
        after: list[Construct] = [access_entry]
        if namespaces:
            created = attach(
                self, "Namespaces", cluster, NamespacesChart(cdk8s.App(), "namespaces", namespaces=namespaces)
            )
            policies = attach(self, "NetworkPolicies", cluster, network_policies(config, namespaces))
            policies.node.add_dependency(created)
            after += [created, policies]
        access = attach(
            self,
            "ClusterAccess",
            cluster,
            ReservationsAccessChart(
                cdk8s.App(), "reservations-access", namespace=NAMESPACE, efs_storage_class=EFS_CLASS
            ),
        )
        access.node.add_dependency(*after)

        self.parameter = ssm.StringParameter(
            self,
            "StageParameter",
            parameter_name=parameter_name(config.name),
            description="What the gpu-dev CLI needs: queue, table and the stage's reservation rules",
            string_value=Stack.of(self).to_json_string(
                {
                    "policy": json.loads(self.policy.to_json()),
                    "queue_url": self.queue.queue_url,
                    "table_name": table.table_name,
                    "region": self.region,
                }
            ),
        )
        self.users_policy = self._users_policy()
        self._alarms()

    # -- building blocks ---------------------------------------------------------------------

    def _role(self) -> iam.Role:
        role = iam.Role(
            self,
            "FunctionsRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Reservation processor and expiry: the table, and the cluster via an access entry",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaVPCAccessExecutionRole")
            ],
        )
        role.add_to_policy(iam.PolicyStatement(actions=TABLE_ACTIONS, resources=self._table_resources()))
        role.add_to_policy(
            iam.PolicyStatement(actions=["sqs:ReceiveMessage"], resources=[self.dead_letters.queue_arn])
        )
        role.add_to_policy(self._key_use("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"))
        acknowledge(
            role,
            "The AWS managed VPC access policy only lets Lambda create and delete the network "
            "interfaces it needs to run in the VPC; writing it out would copy it verbatim.",
            managed_policy_finding("service-role/AWSLambdaVPCAccessExecutionRole"),
        )
        return role

    def _table_resources(self) -> list[str]:
        """The table and each of its indexes by name: no wildcard."""
        arn = self.table.table_arn
        return [arn, *(f"{arn}/index/{index}" for index in INDEXES)]

    def _key_use(self, *actions: str) -> iam.PolicyStatement:
        """Use of the table's encryption key (the Storage stack's key; its policy defers to IAM)."""
        key = self.table.encryption_key
        if key is None:
            raise ValueError("the reservations table is expected to use the stage's customer-managed key")
        return iam.PolicyStatement(actions=list(actions), resources=[key.key_arn])

    def _function(
        self, name: str, source: str, *, vpc: ec2.IVpc, layer: lambda_.ILayerVersion, environment: dict
    ) -> lambda_.Function:
        log_group = logs.LogGroup(self, f"{name}Logs", retention=logs.RetentionDays.ONE_MONTH)
        return lambda_.Function(
            self,
            name,
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.X86_64,
            handler="handler.handler",
            code=function_code(source),
            layers=[layer],
            role=self.role,
            timeout=PROCESSOR_TIMEOUT,
            memory_size=1024,
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=[self.security_group],
            environment=environment,
            log_group=log_group,
            description=f"GPU dev-server reservations: {source.replace('_', ' ')}",
        )

    def _users_policy(self) -> iam.ManagedPolicy:
        """Attach to the developers' role(s): what `gpu-dev` needs, and no write to the table.
        Every request (reserve, cancel, extend) is a message the processor checks and applies;
        the processor creates the records, so no developer can write or overwrite one (IAM
        cannot limit PutItem to "new pending records of my own"). The queue is SQS-encrypted,
        so sending needs no KMS; reading the table needs ``kms:Decrypt`` on its key."""
        policy = iam.ManagedPolicy(
            self,
            "UsersPolicy",
            description="gpu-dev CLI: read the stage, read reservations, send requests",
            statements=[
                iam.PolicyStatement(actions=["ssm:GetParameter"], resources=[self.parameter.parameter_arn]),
                iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.queue.queue_arn]),
                *self._private_reads(),
                self._key_use("kms:Decrypt"),
            ],
        )
        CfnOutput(
            self, "UsersPolicyArn", value=policy.managed_policy_arn, description="Attach to developer roles"
        )
        return policy

    def _private_reads(self) -> list[iam.PolicyStatement]:
        """A developer reads only their own records and the aggregate items. DynamoDB checks
        ``dynamodb:LeadingKeys`` (the partition key a request reads) against ``${aws:userid}``,
        which for a role session is ``<role id>:<session name>`` and for an IAM user its user id:
        the very ``SenderId`` SQS stamps on the developer's request, which the processor stores
        as the record's ``owner_id``, the partition key of ``OwnerIndex``. The base table is
        keyed by reservation id, so its only items a developer may get are the capacity summary
        and the per-type forecasts. The explicit denials keep it so when another policy of the
        developers' role grants broader DynamoDB reads (a Scan, a Query on another index, a
        GetItem of a record)."""
        arn = self.table.table_arn
        aggregates = [SUMMARY_KEY, FORECAST_PREFIX + "*"]
        return [
            iam.PolicyStatement(
                actions=["dynamodb:Query"],
                resources=[f"{arn}/index/{OWNER_INDEX}"],
                conditions={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [OWNER_KEY]}},
            ),
            iam.PolicyStatement(
                actions=["dynamodb:GetItem"],
                resources=[arn],
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": aggregates}},
            ),
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                actions=["dynamodb:Scan", "dynamodb:BatchGetItem", "dynamodb:PartiQLSelect"],
                resources=self._table_resources(),
            ),
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                actions=["dynamodb:GetItem", "dynamodb:Query"],
                resources=self._table_resources(),
                conditions={"ForAnyValue:StringNotLike": {"dynamodb:LeadingKeys": [OWNER_KEY, *aggregates]}},
            ),
        ]

    def _alarms(self) -> None:
        """A message in the DLQ is a request nobody served; a Lambda error is a pass that did
        not finish. Both page through the topic (subscribe the on-call to it)."""
        topic = sns.Topic(
            self,
            "AlarmTopic",
            enforce_ssl=True,
            master_key=kms.Alias.from_alias_name(self, "SnsKey", "alias/aws/sns"),
        )
        CfnOutput(self, "AlarmTopicArn", value=topic.topic_arn, description="Subscribe the on-call here")
        alarms = {
            "DeadLetters": self.dead_letters.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5), statistic="Maximum"
            ),
            "ProcessorErrors": self.processor.metric_errors(period=Duration.minutes(5)),
            "ExpiryErrors": self.expiry.metric_errors(period=Duration.minutes(5)),
        }
        for name, metric in alarms.items():
            alarm = cloudwatch.Alarm(
                self,
                f"{name}Alarm",
                metric=metric,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=f"GPU reservations: {name}",
            )
            alarm.add_alarm_action(cw_actions.SnsAction(topic))
