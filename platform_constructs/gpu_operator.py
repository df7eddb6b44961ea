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
"""

from __future__ import annotations

import cdk8s
import yaml
from aws_cdk import Duration
from aws_cdk import aws_eks_v2 as eks
from constructs import Construct

from k8s_charts.gpu_ready import GpuReadyChart
from platform_config.contract import EFA_LABEL, GPU_STARTUP_TAINT_KEY, GPU_TAINT_KEY, POOL_LABEL
from platform_config.gpu_node_config import GpuPool, device_plugin_config, mig_parted_config
from platform_config.gpu_sharing import SharingSettings
from platform_config.model import CPU_POOL, AmiFamily, StageConfig
from platform_config.namespaces import GPU_OPERATOR as GPU_OPERATOR_NAMESPACE
from platform_config.versions import EFA_DEVICE_PLUGIN, GPU_OPERATOR
from platform_constructs.helm import pinned_chart
from platform_constructs.platform_jobs import attach, platform_jobs_image

DEVICE_PLUGIN_CONFIG_MAP = "platform-device-plugin-configs"
MIG_CONFIG_MAP = "platform-mig-configs"
# Every operand on GPU nodes runs before the node is ready for GPU pods (it is what makes it
# ready), so it tolerates the startup taint as well as the GPU taint.
GPU_NODE_TOLERATIONS = [
    {"key": key, "operator": "Exists", "effect": "NoSchedule"}
    for key in (GPU_TAINT_KEY, GPU_STARTUP_TAINT_KEY)
]
# The NFD worker runs on every node, control planes included (the chart's default toleration).
NFD_WORKER_TOLERATIONS = [
    {
        "key": "node-role.kubernetes.io/control-plane",
        "operator": "Equal",
        "value": "",
        "effect": "NoSchedule",
    },
    *GPU_NODE_TOLERATIONS,
]
CPU_PLACEMENT = {"nodeSelector": {POOL_LABEL: CPU_POOL}}


def _al2023_pools(config: StageConfig) -> list[GpuPool]:
    pools: list[GpuPool] = [*config.gpu_pools, *config.karpenter.gpu_node_pools]
    return [p for p in pools if p.ami_family is AmiFamily.AL2023]


def gpu_operator_values(config: StageConfig) -> dict:
    """The chart's values: the configs are YAML documents inside the ConfigMaps it creates."""
    sharings = [p.sharing for p in _al2023_pools(config)]
    plugin_configs = {s.device_plugin_config: device_plugin_config(s) for s in [SharingSettings(), *sharings]}
    return {
        "operator": {**CPU_PLACEMENT},
        "node-feature-discovery": {
            "master": {**CPU_PLACEMENT},
            "gc": {**CPU_PLACEMENT},
            "worker": {"tolerations": NFD_WORKER_TOLERATIONS},
        },
        "daemonsets": {"tolerations": GPU_NODE_TOLERATIONS},
        # Pre-installed on the EKS NVIDIA AMIs; CDI specs would come from the operator's toolkit.
        "driver": {"enabled": False},
        "toolkit": {"enabled": False},
        "cdi": {"enabled": False},
        "devicePlugin": {
            "config": {
                "create": True,
                "name": DEVICE_PLUGIN_CONFIG_MAP,
                "default": SharingSettings().device_plugin_config,
                "data": {
                    name: yaml.safe_dump(c, sort_keys=False) for name, c in sorted(plugin_configs.items())
                },
            }
        },
        "migManager": {
            "env": [{"name": "WITH_REBOOT", "value": "true"}],
            "config": {
                "create": True,
                "name": MIG_CONFIG_MAP,
                "default": "all-disabled",
                "data": {"config.yaml": yaml.safe_dump(mig_parted_config(sharings), sort_keys=False)},
            },
        },
        # The exporter's metrics are scraped by the observability chart's own ServiceMonitor
        # (k8s_charts/observability.py); the Workloads stack that holds Prometheus comes later.
        "dcgmExporter": {"serviceMonitor": {"enabled": False}},
    }


class GpuNodeSoftware(Construct):
    """The GPU Operator when the stage has GPU pools; the EFA plugin when it has EFA pools."""

    def __init__(
        self, scope: Construct, construct_id: str, *, cluster: eks.ICluster, config: StageConfig
    ) -> None:
        super().__init__(scope, construct_id)
        # wait=False: the operands run on GPU nodes, and scale-to-zero pools may have none.
        self.operator: eks.HelmChart | None = None
        if config.has_gpus:
            self.operator = pinned_chart(
                self,
                "GpuOperator",
                cluster=cluster,
                pin=GPU_OPERATOR,
                namespace=GPU_OPERATOR_NAMESPACE,
                values=gpu_operator_values(config),
                wait=False,
                timeout=Duration.minutes(10),
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
            self.efa = pinned_chart(
                self,
                "Efa",
                cluster=cluster,
                pin=EFA_DEVICE_PLUGIN,
                namespace="kube-system",
                values={"nodeSelector": {EFA_LABEL: "true"}, "tolerations": GPU_NODE_TOLERATIONS},
                wait=False,
                timeout=Duration.minutes(5),
            )
