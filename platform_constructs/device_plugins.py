"""Device plugins that make GPU and EFA hardware schedulable.

The AL2023 NVIDIA AMI ships drivers and the container toolkit but no device plugin: without
it a GPU node never advertises ``nvidia.com/gpu`` and every GPU pod stays Pending. EFA pools
also need the EFA plugin to advertise ``vpc.amazonaws.com/efa``. Both run only on the nodes
that have the hardware (managed GPU groups carry ``gpuplatform.io/gpu-model``, Karpenter GPU
nodes ``karpenter.k8s.aws/instance-gpu-count``; EFA nodes ``gpuplatform.io/efa=true``) and
tolerate the GPU taint.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_eks_v2 as eks
from constructs import Construct

from platform_config.versions import EFA_DEVICE_PLUGIN, NVIDIA_DEVICE_PLUGIN, HelmChartPin
from platform_constructs.naming import EFA_LABEL, GPU_MODEL_LABEL, GPU_TAINT_KEY

GPU_TOLERATION = {"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}
GPU_NODE_AFFINITY = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {"matchExpressions": [{"key": GPU_MODEL_LABEL, "operator": "Exists"}]},
                {"matchExpressions": [{"key": "karpenter.k8s.aws/instance-gpu-count", "operator": "Exists"}]},
            ]
        }
    }
}


class DevicePlugins(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, cluster: eks.ICluster, efa: bool) -> None:
        super().__init__(scope, construct_id)
        self.nvidia = _chart(
            self,
            "Nvidia",
            cluster,
            NVIDIA_DEVICE_PLUGIN,
            namespace="nvidia-device-plugin",
            values={"affinity": GPU_NODE_AFFINITY, "tolerations": [GPU_TOLERATION]},
        )
        self.efa: eks.HelmChart | None = None
        if efa:
            self.efa = _chart(
                self,
                "Efa",
                cluster,
                EFA_DEVICE_PLUGIN,
                namespace="kube-system",
                values={"nodeSelector": {EFA_LABEL: "true"}, "tolerations": [GPU_TOLERATION]},
            )


def _chart(
    scope: Construct,
    construct_id: str,
    cluster: eks.ICluster,
    pin: HelmChartPin,
    *,
    namespace: str,
    values: dict,
) -> eks.HelmChart:
    return eks.HelmChart(
        scope,
        construct_id,
        cluster=cluster,
        repository=pin.repository,
        chart=pin.chart,
        version=pin.version,
        release=pin.chart,
        namespace=namespace,
        create_namespace=namespace != "kube-system",
        wait=False,  # DaemonSets on GPU nodes; scale-to-zero pools have none to wait for
        timeout=Duration.minutes(5),
        values=values,
    )
