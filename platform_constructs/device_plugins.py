"""Device plugins that make GPU and EFA hardware schedulable.

The AL2023 NVIDIA AMI ships drivers and the container toolkit but no device plugin: without
it a GPU node never advertises ``nvidia.com/gpu`` and every GPU pod stays Pending. EFA pools
also need the EFA plugin to advertise ``vpc.amazonaws.com/efa``. Both run only on the nodes
that have the hardware (managed GPU groups carry ``gpuplatform.io/gpu-model``, Karpenter GPU
nodes ``karpenter.k8s.aws/instance-gpu-count``; EFA nodes ``gpuplatform.io/efa=true``) and
tolerate the GPU taint. Bottlerocket's NVIDIA variants run NVIDIA's device plugin as a host
service, so the chart's DaemonSet keeps off nodes labelled ``ami-family: bottlerocket``; a
stage with no AL2023 GPU pool installs no NVIDIA chart at all. Their releases (values, namespace,
no wait) are described in ``platform_constructs/operators.py`` like every operator's.
"""

from __future__ import annotations

from aws_cdk import aws_eks_v2 as eks
from constructs import Construct

from platform_constructs import operators
from platform_constructs.helm import install


class DevicePlugins(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, cluster: eks.ICluster, nvidia: bool, efa: bool
    ) -> None:
        super().__init__(scope, construct_id)
        self.nvidia: eks.HelmChart | None = None
        if nvidia:
            self.nvidia = install(self, "Nvidia", cluster=cluster, release=operators.nvidia_device_plugin())
        self.efa: eks.HelmChart | None = None
        if efa:
            self.efa = install(self, "Efa", cluster=cluster, release=operators.efa_device_plugin())
