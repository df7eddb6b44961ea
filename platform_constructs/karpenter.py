"""Karpenter: controller (pinned Helm chart), its IAM through Pod Identity, the interruption
queue with its EventBridge rules, a node role with an EC2 access entry, and the stage's
NodePools/EC2NodeClasses applied after the chart has installed their CRDs."""

from __future__ import annotations

import cdk8s
from aws_cdk import Aws, Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from k8s_charts.karpenter_node_pools import KarpenterNodePoolsChart
from platform_config import namespaces
from platform_config.model import KarpenterSettings
from platform_constructs import operators
from platform_constructs.helm import install
from platform_constructs.nag import acknowledge
from platform_constructs.node_groups import node_role
from platform_constructs.workload_identity import pod_identity_role

NAMESPACE = namespaces.KARPENTER
SERVICE_ACCOUNT = operators.KARPENTER_SERVICE_ACCOUNT

INTERRUPTION_EVENTS: dict[str, events.EventPattern] = {
    "ScheduledChange": events.EventPattern(source=["aws.health"], detail_type=["AWS Health Event"]),
    "SpotInterruption": events.EventPattern(
        source=["aws.ec2"], detail_type=["EC2 Spot Instance Interruption Warning"]
    ),
    "Rebalance": events.EventPattern(
        source=["aws.ec2"], detail_type=["EC2 Instance Rebalance Recommendation"]
    ),
    "InstanceStateChange": events.EventPattern(
        source=["aws.ec2"], detail_type=["EC2 Instance State-change Notification"]
    ),
}


_EC2 = "arn:<AWS::Partition>:ec2:<AWS::Region>"
KARPENTER_WILDCARD_FINDINGS = tuple(
    f"AwsSolutions-IAM5[Resource::{resource}]"
    for resource in (
        "*",
        *(
            f"{_EC2}:*:{kind}/*"
            for kind in (
                "capacity-reservation",
                "fleet",
                "instance",
                "launch-template",
                "network-interface",
                "placement-group",
                "security-group",
                "spot-instances-request",
                "subnet",
                "volume",
            )
        ),
        f"{_EC2}::image/*",
        f"{_EC2}::snapshot/*",
        "arn:<AWS::Partition>:iam::<AWS::AccountId>:instance-profile/*",
        "arn:<AWS::Partition>:ssm:<AWS::Region>::parameter/aws/service/*",
    )
)


class Karpenter(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: eks.ICluster,
        cluster_name: str,
        settings: KarpenterSettings,
        region: str,
        efa_security_group: ec2.ISecurityGroup,
    ) -> None:
        super().__init__(scope, construct_id)
        self.node_role = node_role(self, "NodeRole", "Nodes launched by Karpenter")
        eks.AccessEntry(
            self,
            "NodeAccessEntry",
            cluster=cluster,
            principal=self.node_role.role_arn,
            access_entry_type=eks.AccessEntryType.EC2_LINUX,
            access_policies=[],
        )

        self.queue = sqs.Queue(
            self,
            "InterruptionQueue",
            retention_period=Duration.minutes(5),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        acknowledge(
            self.queue,
            "Interruption events are advisory and stale after minutes (retention 5 min); "
            "a dead-letter queue would only keep notices about instances already gone.",
            "AwsSolutions-SQS3",
        )
        to_queue = targets.SqsQueue(self.queue)
        for rule_id, pattern in INTERRUPTION_EVENTS.items():
            events.Rule(self, f"{rule_id}Rule", event_pattern=pattern, targets=[to_queue])

        self.controller_role = pod_identity_role(
            self,
            "ControllerRole",
            cluster=cluster,
            namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
            description="Karpenter controller: launches and terminates GPU nodes",
        )
        for statement in controller_statements(
            cluster_name=cluster_name,
            cluster_arn=cluster.cluster_arn,
            node_role_arn=self.node_role.role_arn,
            queue_arn=self.queue.queue_arn,
        ):
            self.controller_role.add_to_policy(statement)

        acknowledge(
            self.controller_role,
            "Karpenter's controller policy is AWS's published v1 policy: it cannot know instance, "
            "volume, fleet or instance-profile ids before it creates them, so those statements "
            "use '*' ids restricted by the cluster-ownership and nodepool tag conditions, and "
            "read-only describe/pricing calls are limited to the stage's region.",
            *KARPENTER_WILDCARD_FINDINGS,
        )
        release = operators.karpenter(cluster_name=cluster_name, interruption_queue=self.queue.queue_name)
        self.chart = install(self, "Chart", cluster=cluster, release=release)
        self.chart.node.add_dependency(self.controller_role)

        self.node_pools: eks.KubernetesManifest | None = None
        if settings.node_pools:
            chart = KarpenterNodePoolsChart(
                cdk8s.App(),
                "karpenter-node-pools",
                pools=list(settings.node_pools),
                region=region,
                node_role_name=self.node_role.role_name,
                discovery_value=cluster_name,
                cluster_security_group_id=cluster.cluster_security_group_id,
                efa_security_group_id=efa_security_group.security_group_id,
            )
            self.node_pools = eks.KubernetesManifest(
                self, "NodePools", cluster=cluster, manifest=chart.to_json()
            )
            # CRDs come with the chart; on delete, pools go first so their nodes drain.
            self.node_pools.node.add_dependency(self.chart)


def controller_statements(
    *, cluster_name: str, cluster_arn: str, node_role_arn: str, queue_arn: str
) -> list[iam.PolicyStatement]:
    """The Karpenter v1 controller policy, scoped to this cluster's tags and region."""
    region, account, partition = Aws.REGION, Aws.ACCOUNT_ID, Aws.PARTITION
    ec2_arn = f"arn:{partition}:ec2:{region}"
    owned = {f"aws:ResourceTag/kubernetes.io/cluster/{cluster_name}": "owned"}
    request_owned = {
        f"aws:RequestTag/kubernetes.io/cluster/{cluster_name}": "owned",
        "aws:RequestTag/eks:eks-cluster-name": cluster_name,
    }
    launched = [
        f"{ec2_arn}:*:{kind}/*"
        for kind in (
            "fleet",
            "instance",
            "volume",
            "network-interface",
            "launch-template",
            "spot-instances-request",
        )
    ]
    instance_profile_arn = f"arn:{partition}:iam::{account}:instance-profile/*"
    return [
        iam.PolicyStatement(
            sid="AllowScopedEC2InstanceAccessActions",
            actions=["ec2:RunInstances", "ec2:CreateFleet"],
            resources=[
                f"{ec2_arn}::image/*",
                f"{ec2_arn}::snapshot/*",
                f"{ec2_arn}:*:security-group/*",
                f"{ec2_arn}:*:subnet/*",
                f"{ec2_arn}:*:capacity-reservation/*",
                f"{ec2_arn}:*:placement-group/*",
            ],
        ),
        iam.PolicyStatement(
            sid="AllowScopedEC2LaunchTemplateAccessActions",
            actions=["ec2:RunInstances", "ec2:CreateFleet"],
            resources=[f"{ec2_arn}:*:launch-template/*"],
            conditions={"StringEquals": owned, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}},
        ),
        iam.PolicyStatement(
            sid="AllowScopedEC2InstanceActionsWithTags",
            actions=["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
            resources=launched,
            conditions={
                "StringEquals": request_owned,
                "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
            },
        ),
        iam.PolicyStatement(
            sid="AllowScopedResourceCreationTagging",
            actions=["ec2:CreateTags"],
            resources=launched,
            conditions={
                "StringEquals": {
                    **request_owned,
                    "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
                },
                "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
            },
        ),
        iam.PolicyStatement(
            sid="AllowScopedResourceTagging",
            actions=["ec2:CreateTags"],
            resources=[f"{ec2_arn}:*:instance/*"],
            conditions={
                "StringEquals": owned,
                "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
                "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster_name},
                "ForAllValues:StringEquals": {
                    "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]
                },
            },
        ),
        iam.PolicyStatement(
            sid="AllowScopedDeletion",
            actions=["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            resources=[f"{ec2_arn}:*:instance/*", f"{ec2_arn}:*:launch-template/*"],
            conditions={"StringEquals": owned, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}},
        ),
        iam.PolicyStatement(
            sid="AllowRegionalReadActions",
            actions=[
                "ec2:DescribeAvailabilityZones",
                "ec2:DescribeCapacityReservations",
                "ec2:DescribeImages",
                "ec2:DescribeInstances",
                "ec2:DescribeInstanceTypeOfferings",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplates",
                "ec2:DescribePlacementGroups",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSpotPriceHistory",
                "ec2:DescribeSubnets",
            ],
            resources=["*"],
            conditions={"StringEquals": {"aws:RequestedRegion": region}},
        ),
        iam.PolicyStatement(
            sid="AllowSSMReadActions",
            actions=["ssm:GetParameter"],
            resources=[f"arn:{partition}:ssm:{region}::parameter/aws/service/*"],
        ),
        iam.PolicyStatement(sid="AllowPricingReadActions", actions=["pricing:GetProducts"], resources=["*"]),
        iam.PolicyStatement(
            sid="AllowInterruptionQueueActions",
            actions=["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
            resources=[queue_arn],
        ),
        iam.PolicyStatement(
            sid="AllowPassingInstanceRole",
            actions=["iam:PassRole"],
            resources=[node_role_arn],
            conditions={
                "StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}
            },
        ),
        iam.PolicyStatement(
            sid="AllowScopedInstanceProfileCreationActions",
            actions=["iam:CreateInstanceProfile", "iam:TagInstanceProfile"],
            resources=[instance_profile_arn],
            conditions={
                "StringEquals": {**request_owned, "aws:RequestTag/topology.kubernetes.io/region": region},
                "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"},
            },
        ),
        iam.PolicyStatement(
            sid="AllowScopedInstanceProfileActions",
            actions=[
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:DeleteInstanceProfile",
            ],
            resources=[instance_profile_arn],
            conditions={
                "StringEquals": {**owned, "aws:ResourceTag/topology.kubernetes.io/region": region},
                "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"},
            },
        ),
        iam.PolicyStatement(
            sid="AllowInstanceProfileReadActions",
            actions=["iam:GetInstanceProfile", "iam:ListInstanceProfiles"],
            resources=[instance_profile_arn],
        ),
        iam.PolicyStatement(
            sid="AllowAPIServerEndpointDiscovery",
            actions=["eks:DescribeCluster"],
            resources=[cluster_arn],
        ),
    ]
