"""The MIG profiles of every MIG-capable GPU in the GPU catalogue, and whether a layout fits.

A MIG layout that a GPU cannot take fails only on live hardware, when the MIG manager applies
it after a node reboot; the platform refuses it at synth instead. Each GPU (keyed by the
``gpu_model`` of ``platform_config/gpu_catalog.py``) has 7 compute slices and 8 memory slices,
and each profile takes some of both, at most ``max_instances`` times per GPU, starting only on
the memory slices NVML allows for it (``starts``).

Sources (copies with their source lines in ``platform_config/nvidia/SOURCES.md``):
- profiles, compute and memory slices, max instances: NVIDIA MIG User Guide, "Supported MIG
  Profiles", https://docs.nvidia.com/datacenter/tesla/mig-user-guide/supported-mig-profiles.html
  (A100 40GB table; A100 80GB "profile names change according to the memory proportion"; H100
  80GB, H200 141GB and B200 180GB tables), transcribed in ``nvidia/mig-profiles.md``;
  cross-checked against NVIDIA/mig-parted v0.15.0 ``config-default.yaml`` (``all-<profile>``
  counts) by ``tests/test_gpu_sharing.py``.
- placements: NVML ``nvmlDeviceGetGpuInstancePossiblePlacements`` as NVIDIA/go-nvml's DGX A100
  mock records it (``pkg/nvml/mock/dgxa100/dgxa100.go`` @ 37bdc54d); Hopper and Blackwell have
  the same slice geometry and are given the same placements.

Not catalogued: T4, A10G, L4 and L40S have no MIG; GB200 (sold only as UltraServers, and its
profile names are not in NVIDIA's tables), RTX PRO 6000 (g7e) and B300 (p6-b300): their profiles
are not transcribed into this table yet, so their pools take no MIG layout.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

COMPUTE_SLICES = 7
MEMORY_SLICES = 8


@dataclass(frozen=True)
class MigProfile:
    name: str  # e.g. "3g.40gb": what nvidia-smi, mig-parted and the device plugin call it
    compute: int  # compute slices (sevenths of the SMs)
    memory: int  # memory slices (eighths of the memory)
    max_instances: int  # per GPU, when it is the only profile used
    starts: tuple[int, ...]  # memory slices an instance may start on (NVML placements)


@dataclass(frozen=True)
class MigGpu:
    gpu_model: str
    profiles: dict[str, MigProfile]
    source: str


# The one geometry NVIDIA documents for 7-slice GPUs, row by row of its tables:
# (compute, memory, max instances, placements). Names differ per GPU by memory size only.
_GEOMETRY = (
    (1, 1, 7, tuple(range(7))),  # 1g.<1/8>
    (1, 1, 1, tuple(range(7))),  # 1g.<1/8>+me: media engines, one per GPU
    (1, 2, 4, (0, 2, 4, 6)),  # 1g.<2/8>
    (2, 2, 3, (0, 2, 4)),  # 2g.<2/8>
    (3, 4, 2, (0, 4)),  # 3g.<4/8>
    (4, 4, 1, (0,)),  # 4g.<4/8>
    (7, 8, 1, (0,)),  # 7g.<full>
)
_DOC = "https://docs.nvidia.com/datacenter/tesla/mig-user-guide/supported-mig-profiles.html"


def _gpu(gpu_model: str, anchor: str, *names: str) -> MigGpu:
    profiles = {
        name: MigProfile(name, compute, memory, most, starts)
        for name, (compute, memory, most, starts) in zip(names, _GEOMETRY, strict=True)
    }
    return MigGpu(gpu_model, profiles, f"{_DOC}#{anchor}")


_NAMES = {  # gpu_model -> (anchor in the NVIDIA page, profile names in _GEOMETRY's row order)
    "A100-40GB": ("a100-mig-profiles", "1g.5gb 1g.5gb+me 1g.10gb 2g.10gb 3g.20gb 4g.20gb 7g.40gb"),
    "A100-80GB": ("a100-mig-profiles", "1g.10gb 1g.10gb+me 1g.20gb 2g.20gb 3g.40gb 4g.40gb 7g.80gb"),
    "H100": ("h100-mig-profiles", "1g.10gb 1g.10gb+me 1g.20gb 2g.20gb 3g.40gb 4g.40gb 7g.80gb"),
    "H200": ("h200-mig-profiles", "1g.18gb 1g.18gb+me 1g.35gb 2g.35gb 3g.71gb 4g.71gb 7g.141gb"),
    "B200": ("b200-mig-profiles", "1g.23gb 1g.23gb+me 1g.45gb 2g.45gb 3g.90gb 4g.90gb 7g.180gb"),
}
MIG_GPUS: dict[str, MigGpu] = {
    model: _gpu(model, anchor, *names.split()) for model, (anchor, names) in _NAMES.items()
}


def mig_capable() -> list[str]:
    return sorted(MIG_GPUS)


def describe(layout: list[str]) -> str:
    """``["1g.10gb"] * 3 + ["2g.20gb"]`` -> ``"3 x 1g.10gb + 2g.20gb"`` (in the layout's order)."""
    return " + ".join(f"{n} x {p}" if n > 1 else p for p, n in Counter(layout).items())


def layout_error(gpu_model: str, layout: list[str]) -> str | None:
    """Why ``layout`` (the MIG devices of one GPU) cannot be applied to ``gpu_model``; None if it can."""
    gpu = MIG_GPUS.get(gpu_model)
    if gpu is None:
        return f"{gpu_model} has no MIG; MIG-capable GPUs: {', '.join(mig_capable())}"
    unknown = [p for p in dict.fromkeys(layout) if p not in gpu.profiles]
    if unknown:
        return (
            f"{', '.join(unknown)} {'is not a' if len(unknown) == 1 else 'are not'} {gpu_model} "
            f"profile{'s' if len(unknown) > 1 else ''}; {gpu_model}'s profiles: {', '.join(gpu.profiles)}"
        )
    profiles = [gpu.profiles[p] for p in layout]
    text = describe(layout)
    for kind, total in (("compute", COMPUTE_SLICES), ("memory", MEMORY_SLICES)):
        needed = sum(getattr(p, kind) for p in profiles)
        if needed > total:
            return f"{text} needs {needed} {kind} slices; {gpu_model} has {total}"
    for name, count in Counter(layout).items():
        most = gpu.profiles[name].max_instances
        if count > most:
            return f"{text} has {count} x {name}; {gpu_model} takes at most {most}"
    if _place(sorted(profiles, key=lambda p: (-p.memory, len(p.starts))), frozenset()) is None:
        return (
            f"{text} fits the slice counts but cannot be placed on {gpu_model}'s memory slices "
            "(NVML placements: "
            + ", ".join(f"{p.name} starts at {'/'.join(map(str, p.starts))}" for p in dict.fromkeys(profiles))
            + ")"
        )
    return None


def _place(profiles: list[MigProfile], used: frozenset[int]) -> list[int] | None:
    """Start slices for ``profiles`` that overlap neither each other nor ``used``; None if none do."""
    if not profiles:
        return []
    first, rest = profiles[0], profiles[1:]
    for start in first.starts:
        taken = frozenset(range(start, start + first.memory))
        if max(taken) < MEMORY_SLICES and not taken & used:
            placed = _place(rest, used | taken)
            if placed is not None:
                return [start, *placed]
    return None
