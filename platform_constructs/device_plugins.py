"""Device plugins that make GPU and EFA hardware schedulable.

The AL2023 NVIDIA AMI ships drivers and the container toolkit but no device plugin: without
it a GPU node never advertises ``nvidia.com/gpu`` and every GPU pod stays Pending. EFA pools
also need the EFA plugin to advertise ``vpc.amazonaws.com/efa``. Both run only on the nodes
that have the hardware (managed GPU groups carry ``gpuplatform.io/gpu-model``, Karpenter GPU
nodes ``karpenter.k8s.aws/instance-gpu-count``; EFA nodes ``gpuplatform.io/efa=true``) and
tolerate the GPU taint. Bottlerocket's NVIDIA variants run NVIDIA's device plugin as a host
service, so the chart's DaemonSet keeps off nodes labelled ``ami-family: bottlerocket``; a
stage with no AL2023 GPU pool installs no NVIDIA chart at all.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_eks_v2 as eks
from constructs import Construct

from platform_config.contract import AMI_FAMILY_LABEL, EFA_LABEL, GPU_MODEL_LABEL, GPU_TAINT_KEY
from platform_config.namespaces import NVIDIA_DEVICE_PLUGIN as NVIDIA_DEVICE_PLUGIN_NAMESPACE
from platform_config.versions import EFA_DEVICE_PLUGIN, NVIDIA_DEVICE_PLUGIN
from platform_constructs.helm import pinned_chart

GPU_TOLERATION = {"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}
_AL2023 = {"key": AMI_FAMILY_LABEL, "operator": "In", "values": ["al2023"]}
GPU_NODE_AFFINITY = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {"matchExpressions": [{"key": GPU_MODEL_LABEL, "operator": "Exists"}, _AL2023]},
                {
                    "matchExpressions": [
                        {"key": "karpenter.k8s.aws/instance-gpu-count", "operator": "Exists"},
                        _AL2023,
                    ]
                },
            ]
        }
    }
}


class DevicePlugins(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, cluster: eks.ICluster, nvidia: bool, efa: bool
    ) -> None:
        super().__init__(scope, construct_id)
        # wait=False: the DaemonSets run on GPU nodes, and scale-to-zero pools may have none.
        self.nvidia: eks.HelmChart | None = None
        if nvidia:
            self.nvidia = pinned_chart(
                self,
                "Nvidia",
                cluster=cluster,
                pin=NVIDIA_DEVICE_PLUGIN,
                namespace=NVIDIA_DEVICE_PLUGIN_NAMESPACE,
                values={"affinity": GPU_NODE_AFFINITY, "tolerations": [GPU_TOLERATION]},
                wait=False,
                timeout=Duration.minutes(5),
            )
        self.efa: eks.HelmChart | None = None
        if efa:
            self.efa = pinned_chart(
                self,
                "Efa",
                cluster=cluster,
                pin=EFA_DEVICE_PLUGIN,
                namespace="kube-system",
                values={"nodeSelector": {EFA_LABEL: "true"}, "tolerations": [GPU_TOLERATION]},
                wait=False,
                timeout=Duration.minutes(5),
            )
