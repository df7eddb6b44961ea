"""GPU node software: the NVIDIA GPU Operator (one path, AL2023 and Bottlerocket) and, on
EFA pools, the AWS EFA device plugin.

The EKS NVIDIA AMIs (AL2023 and Bottlerocket) ship the driver and the container toolkit, so
the operator installs neither. What it runs on GPU nodes:

- the device plugin, with one named config per sharing setting of the stage (``none``,
  ``time-slicing-<n>``, ``mps-<n>``, ``mig-single``, ``mig-mixed``); each node selects its
  pool's with the ``nvidia.com/device-plugin.config`` label its node group or NodePool sets;
- the MIG manager, which applies the pool's layout named by ``nvidia.com/mig.config`` (from a
  mig-parted config the platform writes, one entry per layout of the stage), rebooting the
  node when the GPU needs it (``WITH_REBOOT``: cloud nodes come back);
- node feature discovery and GPU feature discovery (the ``nvidia.com/gpu.present`` label the
  operands are placed by, ``nvidia.com/mig.capable``, ``nvidia.com/gpu.product``);
- the startup-taint remover (``k8s_charts/gpu_ready.py``), not the operator's but beside it:
  GPU nodes register with ``gpuplatform.io/gpu-not-ready``, which every operand above
  tolerates and which is removed once the node advertises its GPUs and its MIG layout is
  applied, so GPU pods never land on a node that cannot serve them yet;
- the DCGM exporter: the only one in the platform. It is the operator's because the MIG
  manager stops the operator's GPU clients before it changes a layout; a separately
  installed exporter would hold the GPU open and the change would fail.

Bottlerocket runs NVIDIA's device plugin and its own MIG manager as host services, configured
by Bottlerocket settings in the node's user data: there the operator's device plugin and MIG
manager are turned off per node (``nvidia.com/gpu.deploy.<component>=false``), and the
pool's ``sharing`` becomes those settings (``bottlerocket_settings``).

The releases (values, namespace, no wait) are described in ``platform_constructs/operators.py``
like every operator's (``gpu_operator``, ``efa_device_plugin``).
"""

from __future__ import annotations

import cdk8s
from aws_cdk import aws_eks_v2 as eks
from constructs import Construct

from k8s_charts.gpu_ready import GpuReadyChart
from platform_config.model import StageConfig
from platform_config.namespaces import GPU_OPERATOR as GPU_OPERATOR_NAMESPACE
from platform_constructs import operators
from platform_constructs.helm import install
from platform_constructs.platform_jobs import attach, platform_jobs_image


class GpuNodeSoftware(Construct):
    """The GPU Operator when the stage has GPU pools; the EFA plugin when it has EFA pools."""

    def __init__(
        self, scope: Construct, construct_id: str, *, cluster: eks.ICluster, config: StageConfig
    ) -> None:
        super().__init__(scope, construct_id)
        self.operator: eks.HelmChart | None = None
        if config.has_gpus:
            self.operator = install(
                self, "GpuOperator", cluster=cluster, release=operators.gpu_operator(config)
            )
            # Removes the startup taint the GPU pools' nodes register with, once ready.
            image = platform_jobs_image(self, "Image")
            chart = GpuReadyChart(
                cdk8s.App(),
                "gpu-ready",
                namespace=GPU_OPERATOR_NAMESPACE,
                image=image.image_uri,
                gpu_pools=list(config.gpu_pool_capacity()),
            )
            self.ready = attach(self, "GpuReady", cluster, chart)
            self.ready.node.add_dependency(self.operator)
        self.efa: eks.HelmChart | None = None
        if config.needs_efa:
            self.efa = install(self, "Efa", cluster=cluster, release=operators.efa_device_plugin())
