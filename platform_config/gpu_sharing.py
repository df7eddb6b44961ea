"""How a GPU pool shares its GPUs, and what each node then advertises to Kubernetes.

One ``sharing`` setting per managed GPU pool and per Karpenter GPU NodePool:

- ``none`` (the default): one pod per GPU, ``nvidia.com/gpu`` = the node's GPUs.
- ``time_slicing: {replicas}``: the device plugin hands out each GPU ``replicas`` times; pods
  interleave on it with no memory or fault isolation (research, development, batch).
- ``mps: {replicas}``: CUDA MPS; the GPU's memory and SMs are split ``replicas`` ways and the
  clients run concurrently (many small inference processes).
- ``mig: {strategy, layout}``: hardware partitions (MIG instances) with their own memory and
  SMs, validated against ``mig_catalog`` (production inference, isolation). ``layout`` is the
  MIG devices of one GPU, applied to every GPU of the node. ``single``: one profile, advertised
  as ``nvidia.com/gpu``; ``mixed``: any fitting mix, advertised as ``nvidia.com/mig-<profile>``.

``advertised`` is the one place that says what a node advertises; the synth summary, the cost
report, the reservations policy, Kueue's quotas and the Triton/Dynamo requests all read it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from platform_config import mig_catalog
from platform_config.contract import GPU_RESOURCE, MIG_RESOURCE_PREFIX
from platform_config.gpu_catalog import GpuInstance

# Beyond 16 time-slices a pod gets under 1/16 of the GPU's time and its memory is shared
# 16 ways with no isolation: past the point of "development and batch" sharing.
MAX_TIME_SLICES = 16
# CUDA MPS serves at most 48 client CUDA contexts per GPU on Volta and later
# (https://docs.nvidia.com/deploy/mps/index.html, "Limitations").
MAX_MPS_CLIENTS = 48
# Bottlerocket's own MIG manager names GPUs by model and memory and supports A30, A100, H100
# and H200 (bottlerocket-os/bottlerocket-core-kit sources/nvidia-migmanager, README and
# main.rs: `"a100.40gb"="2"`, `"h100.80gb"="4"`, `"h200.141gb"="3"`).
BOTTLEROCKET_MIG_GPUS = {
    "A100-40GB": "a100.40gb",
    "A100-80GB": "a100.80gb",
    "H100": "h100.80gb",
    "H200": "h200.141gb",
}


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimeSlicingSettings(_Settings):
    replicas: Annotated[int, Field(ge=2, le=MAX_TIME_SLICES)]


class MpsSettings(_Settings):
    replicas: Annotated[int, Field(ge=2, le=MAX_MPS_CLIENTS)]


class MigSettings(_Settings):
    strategy: Literal["single", "mixed"] = "single"
    layout: Annotated[list[str], Field(min_length=1, max_length=mig_catalog.COMPUTE_SLICES)]

    @model_validator(mode="after")
    def _single_is_one_profile(self) -> MigSettings:
        if self.strategy == "single" and len(set(self.layout)) > 1:
            raise ValueError(
                f"strategy single advertises every MIG device as {GPU_RESOURCE}, so its layout must be "
                f"one profile repeated, got {mig_catalog.describe(self.layout)}; allowed: one profile, "
                "or strategy mixed"
            )
        return self


class SharingSettings(_Settings):
    """At most one of time_slicing, mps, mig; none of them (or ``sharing: none``) is whole GPUs."""

    time_slicing: TimeSlicingSettings | None = None
    mps: MpsSettings | None = None
    mig: MigSettings | None = None

    @model_validator(mode="before")
    @classmethod
    def _none_is_a_word(cls, value: object) -> object:
        return {} if value == "none" else value

    @model_validator(mode="after")
    def _one_mode(self) -> SharingSettings:
        chosen = [m for m in ("time_slicing", "mps", "mig") if getattr(self, m) is not None]
        if len(chosen) > 1:
            raise ValueError(f"sets {' and '.join(chosen)}; allowed: one of time_slicing, mps, mig (or none)")
        return self

    @property
    def mode(self) -> str:
        """``none``, ``time-slicing``, ``mps``, ``mig-single`` or ``mig-mixed``: the name of the
        device plugin config the pool's nodes select (``nvidia.com/device-plugin.config``)."""
        if self.time_slicing:
            return "time-slicing"
        if self.mps:
            return "mps"
        if self.mig:
            return f"mig-{self.mig.strategy}"
        return "none"

    @property
    def device_plugin_config(self) -> str:
        """The name of this setting's device plugin config (a key of the GPU Operator's config
        map), which nodes select with the ``nvidia.com/device-plugin.config`` label."""
        settings = self.time_slicing or self.mps
        return f"{self.mode}-{settings.replicas}" if settings else self.mode

    @property
    def mig_config(self) -> str:
        """The mig-parted config name the MIG manager applies (``nvidia.com/mig.config``):
        ``all-disabled``, or the layout spelled out, e.g. ``mig-2x3g.40gb``."""
        if self.mig is None:
            return "all-disabled"
        counts = Counter(self.mig.layout)
        return "mig-" + "-".join(f"{n}x{p.replace('+', '.')}" for p, n in counts.items())

    def errors(self, gpu_models: list[str]) -> str | None:
        """Why this sharing cannot run on GPUs of ``gpu_models``; None if it can on all of them."""
        if self.mig is None:
            return None
        for model in gpu_models:
            error = mig_catalog.layout_error(model, self.mig.layout)
            if error:
                return f"mig layout: {error}"
        return None

    def per_gpu(self) -> dict[str, int]:
        """What one GPU advertises: resource name -> count."""
        if self.time_slicing or self.mps:
            settings = self.time_slicing or self.mps
            assert settings is not None
            return {GPU_RESOURCE: settings.replicas}
        if self.mig and self.mig.strategy == "single":
            return {GPU_RESOURCE: len(self.mig.layout)}
        if self.mig:
            return {MIG_RESOURCE_PREFIX + p: n for p, n in Counter(self.mig.layout).items()}
        return {GPU_RESOURCE: 1}

    def unit_resource(self) -> str:
        """The resource a serving workload requests on this pool: ``nvidia.com/gpu``, or under
        mixed MIG the layout's largest profile (most compute slices, then memory)."""
        resources = self.per_gpu()
        if GPU_RESOURCE in resources:
            return GPU_RESOURCE
        assert self.mig is not None
        return MIG_RESOURCE_PREFIX + max(self.mig.layout, key=_size_of)


def _size_of(profile: str) -> tuple[int, int]:
    compute, memory = profile.split(".", 1)
    return int(compute.rstrip("g")), int("".join(c for c in memory if c.isdigit()))


def advertised(sharing: SharingSettings, instance: GpuInstance) -> dict[str, int]:
    """THE capacity function: what one node of ``instance`` advertises under ``sharing``
    (resource name -> count). Every consumer of "GPUs per node" reads this."""
    return {resource: count * instance.gpus for resource, count in sharing.per_gpu().items()}


@dataclass(frozen=True)
class PoolCapacity:
    """What one GPU pool (managed or Karpenter) advertises, as every consumer reads it: the
    synth summary and cost report (through the Nodes stack's capacity metadata), the
    reservations policy, Kueue's flavors and quotas, and the Triton and Dynamo requests."""

    pool: str
    sharing: SharingSettings
    instances: tuple[GpuInstance, ...]  # the catalogued types the pool may launch

    def per_node(self, instance: GpuInstance) -> dict[str, int]:
        return advertised(self.sharing, instance)

    @property
    def per_gpu(self) -> dict[str, int]:
        return self.sharing.per_gpu()

    def units_of(self, gpus: int) -> dict[str, int]:
        """What ``gpus`` physical GPUs of the pool advertise: a team's quota in resources."""
        return {resource: gpus * count for resource, count in self.per_gpu.items()}

    @property
    def unit(self) -> str:
        """The resource one serving replica requests here (see ``SharingSettings.unit_resource``)."""
        return self.sharing.unit_resource()

    def units_per_node(self, instance: GpuInstance) -> int:
        return self.per_node(instance)[self.unit]
