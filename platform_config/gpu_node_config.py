"""What the GPU nodes of a pool are told about its ``sharing`` (pure data, no CDK):

- on AL2023, the labels the NVIDIA GPU Operator reads (``nvidia.com/device-plugin.config``:
  which of its device plugin configs the node uses; ``nvidia.com/mig.config``: which MIG layout
  its MIG manager applies), and those configs themselves (``device_plugin_config``,
  ``mig_parted_config``);
- on Bottlerocket, whose NVIDIA variants run the device plugin and a MIG manager as host
  services, labels that keep the operator's two off the node and the same setting as
  Bottlerocket settings for the node's user data (``bottlerocket_settings``).

The node groups (``platform_constructs/node_groups.py``), the Karpenter NodePools
(``k8s_charts/karpenter_node_pools.py``) and the operator's values
(``platform_constructs/gpu_operator.py``) all read this module.
"""

from __future__ import annotations

from typing import Any

from platform_config import gpu_catalog, mig_catalog
from platform_config.contract import (
    DEVICE_PLUGIN_CONFIG_LABEL,
    GPU_OPERATOR_DEPLOY_LABEL,
    GPU_RESOURCE,
    MIG_CONFIG_LABEL,
)
from platform_config.gpu_sharing import BOTTLEROCKET_MIG_GPUS, SharingSettings
from platform_config.model import AmiFamily, GpuPoolSettings, KarpenterNodePoolSettings

# Operands the operator leaves off a node so labelled (its per-node deploy labels).
HOST_SERVICE_COMPONENTS = ("device-plugin", "mig-manager")

GpuPool = GpuPoolSettings | KarpenterNodePoolSettings


def gpu_models(pool: GpuPool) -> list[str]:
    types = [pool.instance_type] if isinstance(pool, GpuPoolSettings) else pool.catalogued_types
    return sorted({gpu_catalog.lookup(t).gpu_model for t in types})


def node_labels(pool: GpuPool) -> dict[str, str]:
    """The labels that tell the operator how to serve the pool's nodes."""
    if pool.ami_family is AmiFamily.BOTTLEROCKET:
        return {GPU_OPERATOR_DEPLOY_LABEL.format(c): "false" for c in HOST_SERVICE_COMPONENTS}
    labels = {DEVICE_PLUGIN_CONFIG_LABEL: pool.sharing.device_plugin_config}
    if all(model in mig_catalog.MIG_GPUS for model in gpu_models(pool)):
        labels[MIG_CONFIG_LABEL] = pool.sharing.mig_config
    return labels


def device_plugin_config(sharing: SharingSettings) -> dict[str, Any]:
    """One k8s-device-plugin config (``version: v1``) for a sharing setting."""
    config: dict[str, Any] = {
        "version": "v1",
        "flags": {"migStrategy": sharing.mig.strategy if sharing.mig else "none"},
    }
    for mode, settings in (("timeSlicing", sharing.time_slicing), ("mps", sharing.mps)):
        if settings is not None:
            config["sharing"] = {mode: {"resources": [{"name": GPU_RESOURCE, "replicas": settings.replicas}]}}
    return config


def mig_parted_config(sharings: list[SharingSettings]) -> dict[str, Any]:
    """The MIG manager's config: ``all-disabled`` and one entry per MIG layout of the stage,
    the layout on every GPU of the node."""
    configs: dict[str, list[dict[str, Any]]] = {"all-disabled": [{"devices": "all", "mig-enabled": False}]}
    for sharing in sharings:
        if sharing.mig:
            devices = {p: sharing.mig.layout.count(p) for p in dict.fromkeys(sharing.mig.layout)}
            configs[sharing.mig_config] = [{"devices": "all", "mig-enabled": True, "mig-devices": devices}]
    return {"version": "v1", "mig-configs": configs}


def bottlerocket_settings(pool: GpuPool) -> str:
    """The pool's sharing as Bottlerocket settings (TOML user data), per
    https://bottlerocket.dev/en/os/1.54.x/api/settings/kubelet-device-plugins/ (time-slicing,
    MPS, MIG). ``rename-by-default = false`` keeps the resource ``nvidia.com/gpu``, as the
    operator's configs do. Empty for ``none``."""
    sharing = pool.sharing
    section = "settings.kubelet-device-plugins.nvidia"
    settings = sharing.time_slicing or sharing.mps
    if settings is not None:
        name = "time-slicing" if sharing.time_slicing else "mps"
        return (
            f'[{section}]\ndevice-sharing-strategy = "{name}"\n\n'
            f"[{section}.{name}]\nreplicas = {settings.replicas}\nrename-by-default = false\n"
        )
    if sharing.mig is not None:
        profiles = "".join(
            f'"{BOTTLEROCKET_MIG_GPUS[m]}" = "{sharing.mig.layout[0]}"\n' for m in gpu_models(pool)
        )
        return f'[{section}]\ndevice-partitioning-strategy = "mig"\n\n[{section}.mig.profile]\n{profiles}'
    return ""
