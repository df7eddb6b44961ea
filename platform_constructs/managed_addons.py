"""EKS managed add-ons with their IAM wired: vpc-cni (network policy on), coredns, kube-proxy,
the EBS and EFS CSI drivers, the Pod Identity agent they rely on, and the community
metrics-server (the Metrics API every CPU/memory HPA reads); every one at the build pinned in
``platform_config/versions.py``."""

from __future__ import annotations

import json
from typing import cast

from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from constructs import Construct

from platform_config.versions import EKS_ADDONS
from platform_constructs.nag import acknowledge, managed_policy_finding
from platform_constructs.workload_identity import irsa_role, pod_identity_role


def _aws_policy(name: str) -> iam.IManagedPolicy:
    """An AWS managed policy by its path under ``policy/`` (e.g. ``service-role/X``)."""
    return iam.ManagedPolicy.from_aws_managed_policy_name(name)


class ManagedAddons(Construct):
    """Installs the add-ons a GPU cluster needs before any workload is scheduled."""

    def __init__(self, scope: Construct, construct_id: str, *, cluster: eks.ICluster) -> None:
        super().__init__(scope, construct_id)
        # aws_eks_v2's Cluster always creates it (ICluster declares it optional).
        self.pod_identity_agent = cast(eks.IAddon, cluster.eks_pod_identity_agent)
        # aws_eks_v2 creates this add-on itself and takes no version for it (aws/aws-cdk#32580),
        # so the pin goes on its CloudFormation resource (tests/test_versions.py reads it back).
        agent = cast(eks.CfnAddon, self.pod_identity_agent.node.default_child)
        agent.addon_version = EKS_ADDONS["eks-pod-identity-agent"].version

        self.cni_role = irsa_role(
            self,
            "VpcCniRole",
            cluster=cluster,
            namespace="kube-system",
            service_account="aws-node",
            description="vpc-cni (aws-node): assigns pod IPs; IRSA so it works before Pod Identity",
            managed_policies=[_aws_policy("AmazonEKS_CNI_Policy")],
        )
        self.ebs_role = pod_identity_role(
            self,
            "EbsCsiRole",
            cluster=cluster,
            namespace="kube-system",
            service_account="ebs-csi-controller-sa",
            description="EBS CSI controller: creates and attaches gp3 volumes",
            managed_policies=[_aws_policy("service-role/AmazonEBSCSIDriverPolicy")],
        )
        self.efs_role = pod_identity_role(
            self,
            "EfsCsiRole",
            cluster=cluster,
            namespace="kube-system",
            service_account="efs-csi-controller-sa",
            description="EFS CSI controller: creates access points for dynamic provisioning",
            managed_policies=[_aws_policy("service-role/AmazonEFSCSIDriverPolicy")],
        )

        acknowledge(
            self,
            "Each add-on role carries the AWS managed policy published for that add-on "
            "(CNI, EBS CSI, EFS CSI); AWS updates it with the driver, and the role is trusted by "
            "exactly one service account.",
            managed_policy_finding("AmazonEKS_CNI_Policy"),
            managed_policy_finding("service-role/AmazonEBSCSIDriverPolicy"),
            managed_policy_finding("service-role/AmazonEFSCSIDriverPolicy"),
        )

        cluster_name = cluster.cluster_name  # each read of it is a jsii round trip
        self.addons: dict[str, eks.CfnAddon] = {
            "vpc-cni": self._addon(
                "VpcCni",
                cluster_name,
                "vpc-cni",
                configuration={"enableNetworkPolicy": "true"},
                service_account_role_arn=self.cni_role.role_arn,
            ),
            "coredns": self._addon("CoreDns", cluster_name, "coredns"),
            "kube-proxy": self._addon("KubeProxy", cluster_name, "kube-proxy"),
            "aws-ebs-csi-driver": self._addon("EbsCsi", cluster_name, "aws-ebs-csi-driver"),
            "aws-efs-csi-driver": self._addon("EfsCsi", cluster_name, "aws-efs-csi-driver"),
            # The API server calls it (an APIService) on 10251 through the cluster security
            # group every node carries; it calls the kubelets on 10250 the same way.
            "metrics-server": self._addon("MetricsServer", cluster_name, "metrics-server"),
        }
        for name in ("aws-ebs-csi-driver", "aws-efs-csi-driver"):
            self.addons[name].node.add_dependency(self.pod_identity_agent)

    def _addon(
        self,
        construct_id: str,
        cluster_name: str,
        name: str,
        *,
        configuration: dict | None = None,
        service_account_role_arn: str | None = None,
    ) -> eks.CfnAddon:
        return eks.CfnAddon(
            self,
            construct_id,
            addon_name=name,
            addon_version=EKS_ADDONS[name].version,
            cluster_name=cluster_name,
            configuration_values=json.dumps(configuration) if configuration else None,
            service_account_role_arn=service_account_role_arn,
            resolve_conflicts="OVERWRITE",
            preserve_on_delete=False,
        )
