"""The EKS 1.35 cluster (aws_eks_v2, node groups rather than Auto Mode) and what every
workload on it relies on: secrets encryption, control-plane logs, admin access entries,
IRSA and Pod Identity, managed add-ons, default StorageClasses, platform namespaces and
the ECR token refresh."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import cdk8s
from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_efs as efs
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_kms as kms
from aws_cdk.lambda_layer_kubectl_v35 import KubectlV35Layer
from constructs import Construct

from k8s_charts.namespaces import NamespacesChart
from k8s_charts.storage_classes import StorageClassesChart
from platform_config import namespaces
from platform_config.contract import cluster_name
from platform_config.model import StageConfig
from platform_constructs.ecr_token_refresh import EcrTokenRefresh
from platform_constructs.hybrid_nodes import grant_hybrid_nodes, remote_networks
from platform_constructs.managed_addons import ManagedAddons
from platform_constructs.nag import acknowledge, managed_policy_finding
from stacks.workloads_stack import meshed_namespaces, network_policies

ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
LOG_TYPES = {
    "api": eks.ClusterLoggingTypes.API,
    "audit": eks.ClusterLoggingTypes.AUDIT,
    "authenticator": eks.ClusterLoggingTypes.AUTHENTICATOR,
    "controllerManager": eks.ClusterLoggingTypes.CONTROLLER_MANAGER,
    "scheduler": eks.ClusterLoggingTypes.SCHEDULER,
}


class ClusterStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        vpc: ec2.IVpc,
        file_system: efs.IFileSystem,
        repositories: Sequence[ecr.IRepository],
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        settings = config.cluster
        private_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)

        secrets_key = kms.Key(
            self,
            "SecretsKey",
            description="Envelope encryption of Kubernetes Secrets in etcd",
            enable_key_rotation=True,
        )
        kubectl_security_group = ec2.SecurityGroup(
            self,
            "KubectlHandlerSecurityGroup",
            vpc=vpc,
            description="kubectl handler Lambda that applies manifests and Helm charts",
        )
        self.cluster = eks.Cluster(
            self,
            "Cluster",
            # Named, not generated: kubeconfig commands, Karpenter's discovery tag and its
            # IAM conditions all carry the name, and a cluster is never replaced in place.
            cluster_name=cluster_name(config.name),
            version=eks.KubernetesVersion.V1_35,
            vpc=vpc,
            vpc_subnets=[private_subnets],
            default_capacity_type=eks.DefaultCapacityType.NODEGROUP,
            default_capacity=0,
            secrets_encryption_key=secrets_key,
            cluster_logging=[LOG_TYPES[t] for t in settings.control_plane_logs],
            endpoint_access=_endpoint_access(settings.endpoint_public_access_cidrs),
            service_ipv4_cidr=settings.service_ipv4_cidr,
            **remote_networks(config.workloads.rdma),
            kubectl_provider_options=eks.KubectlProviderOptions(
                kubectl_layer=KubectlV35Layer(self, "KubectlLayer"),
                private_subnets=vpc.private_subnets,
                security_groups=[kubectl_security_group],
            ),
        )
        # What the other constructs take. aws-cdk-lib's Python bindings leave
        # kubectl_provider_options off Cluster, so a type checker cannot see that it implements
        # ICluster; it does (jsii), and this is the same object.
        self.interface = cast(eks.ICluster, self.cluster)
        _acknowledge_cluster_findings(self.cluster)
        self.cluster.connections.allow_from(
            kubectl_security_group, ec2.Port.HTTPS, "kubectl handler to the API server"
        )
        for index, role_arn in enumerate(settings.admin_role_arns):
            self.cluster.grant_access(
                f"Admin{index}",
                role_arn,
                [
                    eks.AccessPolicy.from_access_policy_name(
                        ADMIN_POLICY, access_scope_type=eks.AccessScopeType.CLUSTER
                    )
                ],
            )

        grant_hybrid_nodes(self, self.interface, config.workloads.rdma)
        self.addons = ManagedAddons(self, "Addons", cluster=self.interface)

        self.storage_classes = self.cluster.add_cdk8s_chart(
            "StorageClasses",
            StorageClassesChart(cdk8s.App(), "storage-classes", file_system_id=file_system.file_system_id),
        )
        self.storage_classes.node.add_dependency(self.addons)

        token_refresh = config.registry.token_refresh
        self.namespaces: eks.KubernetesManifest | None = None
        self.token_refresh: EcrTokenRefresh | None = None
        # Namespaces this stack owns (the node-level Helm releases' of the Nodes stack, the token
        # refresh's); the Workloads and Reservations stacks create only the others.
        wanted = {
            namespaces.KARPENTER: config.karpenter.enabled,
            namespaces.GPU_OPERATOR: config.has_gpus,
            **dict.fromkeys([namespaces.ECR_TOKEN_REFRESH, *token_refresh.namespaces], token_refresh.enabled),
        }
        self.namespace_names: list[str] = [name for name, enabled in wanted.items() if enabled]
        if self.namespace_names:
            self.namespaces = self.cluster.add_cdk8s_chart(
                "Namespaces",
                NamespacesChart(
                    cdk8s.App(),
                    "namespaces",
                    namespaces=self.namespace_names,
                    meshed=meshed_namespaces(config),
                ),
            )
            policies = self.cluster.add_cdk8s_chart(
                "NetworkPolicies", network_policies(config, self.namespace_names)
            )
            policies.node.add_dependency(self.namespaces)
        if token_refresh.enabled:
            self.token_refresh = EcrTokenRefresh(
                self,
                "EcrTokenRefresh",
                cluster=self.interface,
                repositories=repositories,
                settings=token_refresh,
                # Set above: the token refresh's own namespace is among namespace_names.
                namespaces_ready=cast(eks.KubernetesManifest, self.namespaces),
            )


def _acknowledge_cluster_findings(cluster: eks.Cluster) -> None:
    acknowledge(
        cluster,
        "The EKS service role uses AmazonEKSClusterPolicy, which AWS keeps in step with what "
        "the control plane needs; a copied inline policy would drift behind new EKS releases.",
        managed_policy_finding("AmazonEKSClusterPolicy"),
    )
    acknowledge(
        cluster,
        "The kubectl handler and its provider framework are Lambda functions built by aws-cdk-lib: "
        "they run in the VPC with the AWS-maintained basic and VPC execution policies, read-only "
        "ECR access for the kubectl layer, and may invoke only their own handler's versions.",
        managed_policy_finding("service-role/AWSLambdaBasicExecutionRole"),
        managed_policy_finding("service-role/AWSLambdaVPCAccessExecutionRole"),
        managed_policy_finding("AmazonEC2ContainerRegistryReadOnly"),
        'AwsSolutions-IAM4[Policy::{"Fn::If":["ClusterKubectlProviderHandlerHasEcrPublic69E09706",'
        '{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},'
        '":iam::aws:policy/AmazonElasticContainerRegistryPublicReadOnly"]]},{"Ref":"AWS::NoValue"}]}]',
        "AwsSolutions-IAM5[Resource::<ClusterKubectlProviderHandler2E05C68A.Arn>:*]",
    )
    acknowledge(
        cluster,
        "The kubectl handler's runtime is chosen by aws-cdk-lib together with the kubectl layer "
        "it runs; upgrading aws-cdk-lib (pinned in requirements.txt) moves it forward.",
        "AwsSolutions-L1",
    )


def _endpoint_access(public_cidrs: Sequence[str]) -> eks.EndpointAccess:
    """Private only when no public CIDR is named; otherwise private plus those CIDRs."""
    if not public_cidrs:
        return eks.EndpointAccess.PRIVATE
    return eks.EndpointAccess.PUBLIC_AND_PRIVATE.only_from(*public_cidrs)
