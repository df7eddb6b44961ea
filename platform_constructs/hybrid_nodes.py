"""The cluster side of EKS Hybrid Nodes, for the RDMA nodes (``workloads.rdma.hybrid_nodes``).

The cluster's ``RemoteNetworkConfig`` names the on-premises node ranges (and the pod ranges
the nodes' CNI assigns, so the control plane can reach webhooks there); a ``HYBRID_LINUX``
access entry lets the nodes' IAM role join (EKS grants a node's permissions for that type, and
the API refuses access policies on it). AWS: "Prepare networking for hybrid nodes" and
"Prepare cluster access for hybrid nodes" (EKS User Guide); aws_eks_v2 ``remoteNodeNetworks``,
``remotePodNetworks`` and ``AccessEntryType.HYBRID_LINUX``.
"""

from __future__ import annotations

from aws_cdk import aws_eks_v2 as eks
from constructs import Construct

from platform_config.rdma import RdmaSettings


def remote_networks(settings: RdmaSettings) -> dict:
    """The ``eks.Cluster`` keyword arguments for the remote ranges (none without hybrid nodes)."""
    hybrid = settings.hybrid_nodes if settings.enabled else None
    if hybrid is None:
        return {}
    found: dict = {"remote_node_networks": [eks.RemoteNodeNetwork(cidrs=list(hybrid.node_cidrs))]}
    if hybrid.pod_cidrs:
        found["remote_pod_networks"] = [eks.RemotePodNetwork(cidrs=list(hybrid.pod_cidrs))]
    return found


def grant_hybrid_nodes(scope: Construct, cluster: eks.ICluster, settings: RdmaSettings) -> None:
    hybrid = settings.hybrid_nodes if settings.enabled else None
    if hybrid is None:
        return
    eks.AccessEntry(
        scope, "HybridNodesAccess", cluster=cluster, principal=hybrid.role_arn,
        access_entry_type=eks.AccessEntryType.HYBRID_LINUX, access_policies=[],
    )  # fmt: skip
