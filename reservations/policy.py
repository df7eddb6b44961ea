"""The stage's reservation rules, decided at synth time from the typed stage settings.

The CDK stack serialises one :class:`Policy` to JSON and hands it to both Lambdas (an
environment variable) and to the CLI (an SSM parameter), so the CLI refuses a request with
the same rules the processor applies, before anything is sent.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass


def parameter_name(stage: str) -> str:
    """The SSM parameter a stage publishes its policy, queue and table in; the CLI reads it."""
    return f"/gpu-platform/{stage}/reservations"


@dataclass(frozen=True)
class GpuType:
    """One reservable GPU type: a managed GPU node pool (label ``gpuplatform.io/pool``)."""

    name: str  # the pool name, e.g. "t4"; what users pass as --gpu-type
    gpu_model: str  # e.g. "T4", shown by `gpu-dev avail`
    gpus_per_node: int  # the largest request one dev pod can hold
    # EFA interfaces of one node when the pool has EFA on (gpu_pools[].efa), else 0. Only an EFA
    # pool takes a request larger than one node (a gang of whole nodes, README "Multi-node
    # reservations"): without EFA, GPUs on two nodes talk over TCP at a fraction of the speed.
    efa_interfaces: int = 0

    def nodes_for(self, gpus: int) -> int:
        """How many whole nodes ``gpus`` spans (1 for a request that fits on one)."""
        return max(1, -(-gpus // self.gpus_per_node))

    def multi_node_refusal(self, gpus: int) -> str | None:
        """Why ``gpus`` cannot be a gang of whole nodes of this pool, or None (it fits on one
        node, or it is a whole number of nodes of an EFA pool)."""
        per_node = self.gpus_per_node
        if gpus <= per_node:
            return None
        if not self.efa_interfaces:
            return (
                f"{gpus} GPUs spans {self.nodes_for(gpus)} {self.name} nodes ({per_node} GPUs each), and "
                f"pool {self.name} has no EFA (gpu_pools[].efa is off), which a multi-node reservation "
                f"needs; ask for at most {per_node}"
            )
        if gpus % per_node:
            return (
                f"{gpus} GPUs is not a whole number of {self.name} nodes ({per_node} GPUs each); a "
                f"multi-node reservation takes whole nodes: ask for a multiple of {per_node}"
            )
        return None


@dataclass(frozen=True)
class Policy:
    stage: str
    namespace: str
    gpu_types: tuple[GpuType, ...]
    default_gpu_type: str
    allowed_gpu_counts: tuple[int, ...] = (1, 2, 4, 8)
    max_hours: float = 24.0
    default_hours: float = 4.0
    max_gpus_per_user: int = 8  # GPUs one user may hold at once (preparing + active)
    max_open_per_user: int = 4  # reservations one user may have not yet ended
    warning_minutes: tuple[int, ...] = (30, 15, 5)
    grace_minutes: int = 5  # after expires_at, before the pod is removed
    max_queue_hours: float = 72.0  # a queued request older than this is cancelled as stale
    ready_timeout_minutes: int = 20  # preparing longer than this -> failed, capacity returned
    dev_image: str = ""
    home_storage_gib: int = 100
    home_storage_class: str = "gp3"
    workspace_claim: str = ""  # the shared EFS PVC mounted at /workspace ("" = none)

    def gpu_type(self, name: str) -> GpuType:
        for gpu_type in self.gpu_types:
            if gpu_type.name == name:
                return gpu_type
        allowed = ", ".join(t.name for t in self.gpu_types)
        raise KeyError(f"unknown GPU type {name!r}; this stage offers: {allowed}")

    def counts_for(self, gpu_type: GpuType) -> list[int]:
        """The GPU counts a request for ``gpu_type`` may ask for: the stage's counts that fit
        on one node, or that are whole nodes of an EFA pool."""
        return sorted(c for c in self.allowed_gpu_counts if gpu_type.multi_node_refusal(c) is None)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Policy:
        data = json.loads(text)
        data["gpu_types"] = tuple(GpuType(**t) for t in data["gpu_types"])
        for key in ("allowed_gpu_counts", "warning_minutes"):
            data[key] = tuple(data[key])
        return cls(**data)
