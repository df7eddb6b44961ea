"""What the platform knows about each GPU instance type.

Node group settings name an instance type; everything else (GPU model, GPUs per node,
whether EFA is available and on how many network cards) is looked up here, so a stage file
cannot contradict the hardware. Figures are from the EC2 accelerated-computing instance
pages; a type missing from this table is refused at synth, with the list of known types.

Sources, per figure:
- GPUs, vCPUs, memory, architecture: https://docs.aws.amazon.com/ec2/latest/instancetypes/ac.html;
  the g5 rows were re-checked (2026-11-30) against DescribeInstanceTypes as recorded in
  skypilot-org/skypilot-catalog catalogs/v9/aws/vms.csv at 2c3d7ea7 (A10G x 1 on 4xlarge and x 8 on
  48xlarge, with 16/192 vCPUs and 64/768 GiB, 22888 MiB usable of each 24 GB GPU).
  The other families were not re-read in that change.
- EFA interfaces (maximum EFA-capable network cards): the EFA supported-instance list,
  https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/efa.html#efa-instance-types, and the
  P5/P5e configuration in https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/efa-acc-inst-types.html
  (32 on p5/p5e.48xlarge); p5en.48xlarge's 16 agrees with torchx's named resources
  (meta-pytorch/torchx PR 995: 16 EFA devices).
- g7e (read 2026-11-30): GPUs, vCPUs, memory, architecture and the GPU's 98304 MiB (96 GiB) from
  DescribeInstanceTypes as recorded in skypilot-org/skypilot-catalog catalogs/v9/aws/vms.csv at
  2c3d7ea7 (GpuInfo 'RTX PRO Server 6000'; 1, 1, 1, 2, 4 and 8 GPUs on 2xlarge to 48xlarge); EFA
  interfaces from aws/sagemaker-hyperpod-cli PR 380 (merged 2026-03, "EFA support verified via
  aws ec2 describe-instance-types": 2xlarge and 4xlarge none, 8xlarge 1, 12xlarge 1, 24xlarge 2,
  48xlarge 4).
- p6-b300.48xlarge (read 2026-11-30): 8 x B300 of 275040 MiB (268 GiB), 192 vCPUs, 4096 GiB,
  x86_64 from skypilot-v9 (as above); 17 network cards of which card 0 is ENA-only and cards
  1-16 carry EFA (AWS engineering as quoted in aws/aws-parallelcluster issue 7143, 2025-12-06;
  PR 7210 builds it that way), hence 16 EFA interfaces from network card 1 (``first_efa_card``).
  Karpenter's vpclimits table at 01a436f0 (below) agrees on the 17 cards, and gives p6-b200 8
  cards (0-7), p5en 16 and p5e 32, as the EFA counts here.
- g5g (read 2026-11-30): arm64; 1 T4g of 16384 MiB (16 GiB) on xlarge to 8xlarge, 2 on 16xlarge
  and metal, with 4/8, 8/16, 16/32, 32/64, 64/128 and 64/128 vCPUs/GiB, from skypilot-v9 (as
  above). No EFA: no g5g size is in the EFA-supported instance list of the EFA device plugin
  chart (aws/eks-charts stable/aws-efa-k8s-device-plugin/values.yaml, supportedInstanceLabels,
  at d075655c = the pinned v0.5.15; it cites efa.html#efa-instance-types), which names exactly
  the EFA sizes catalogued here for g4dn, g5, g6, g6e, p4d, p4de, p5.48xlarge, p5e, p5en and
  p6-b200 (it predates g7e and p6-b300, and omits p5.4xlarge).
- gr6 (read 2026-11-30): 1 L4 (22888 MiB usable, catalogued as 24 GiB like g6) with 16/128 and
  32/256 vCPUs/GiB, x86_64, from skypilot-v9; EFA on 8xlarge only (the chart list above has
  gr6.8xlarge, not 4xlarge) and one interface, as it has one network card
  (aws/karpenter-provider-aws pkg/providers/instancetype/zz_generated.vpclimits.go at 01a436f0,
  which also gives g7e 1, 1, 2 and 4 network cards on 8xlarge to 48xlarge, as its EFA counts).

Not catalogued, and why:
- g6f and gr6f: fractional GPUs (an eighth to a half of an L4); the scheduler counts whole GPUs.
- p6e-gb200: sold only as UltraServers (NVL72 racks), not as single instances a pool can scale.
- g7 (RTX PRO 4500 Blackwell, 32 GiB, announced 2026-06): no rows in the skypilot-v9 snapshot, so
  no price or offering source; public tables disagree on its GPUs per size (8xlarge 1 or 2,
  12xlarge 2 or 4). Karpenter's tables at 01a436f0 have its bandwidth and network cards.
The node groups already take arm64 types (AL2023/Bottlerocket ARM_64 NVIDIA AMI types), so each
of these needs only its sourced row here, its prices and offerings; tests/test_any_stage.py then
synthesizes it on both AMI families.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Architecture = Literal["x86_64", "arm64"]


@dataclass(frozen=True)
class GpuInstance:
    """One EC2 GPU instance type as the platform schedules it."""

    instance_type: str
    gpu_model: str
    gpu_memory_gib: int
    gpus: int
    vcpus: int
    memory_gib: int
    efa_interfaces: int  # 0 when the type has no EFA support
    architecture: Architecture = "x86_64"
    # The network card carrying the first EFA interface; the rest follow on the next cards. Not 0
    # where card 0 is ENA-only (p6-b300): the node then gets an ENA primary interface on card 0.
    first_efa_card: int = 0

    @property
    def family(self) -> str:
        """The part before the size, e.g. ``p6-b200`` for ``p6-b200.48xlarge``."""
        return self.instance_type.split(".", 1)[0]

    @property
    def supports_efa(self) -> bool:
        return self.efa_interfaces > 0


def _family(
    family: str,
    gpu_model: str,
    gpu_memory_gib: int,
    sizes: dict[str, tuple[int, int, int, int]],
    architecture: Architecture = "x86_64",
) -> dict[str, GpuInstance]:
    """Expand ``size -> (gpus, vcpus, memory GiB, EFA interfaces)`` into catalog entries."""
    return {
        f"{family}.{size}": GpuInstance(
            f"{family}.{size}", gpu_model, gpu_memory_gib, *spec, architecture=architecture
        )
        for size, spec in sizes.items()
    }


# g5 and g6 share their size ladder: 1 GPU up to 16xlarge except 4 on 12x/24xlarge, 8 on 48xlarge.
_G_SIZES = {
    "xlarge": (1, 4, 16, 0),
    "2xlarge": (1, 8, 32, 0),
    "4xlarge": (1, 16, 64, 0),
    "8xlarge": (1, 32, 128, 1),
    "12xlarge": (4, 48, 192, 1),
    "16xlarge": (1, 64, 256, 1),
    "24xlarge": (4, 96, 384, 1),
    "48xlarge": (8, 192, 768, 1),
}

GPU_INSTANCES: dict[str, GpuInstance] = {
    **_family(
        "g4dn",
        "T4",
        16,
        {
            "xlarge": (1, 4, 16, 0),
            "2xlarge": (1, 8, 32, 0),
            "4xlarge": (1, 16, 64, 0),
            "8xlarge": (1, 32, 128, 1),
            "12xlarge": (4, 48, 192, 1),
            "16xlarge": (1, 64, 256, 1),
            "metal": (8, 96, 384, 1),
        },
    ),
    **_family("g5", "A10G", 24, _G_SIZES),
    **_family("g6", "L4", 24, _G_SIZES),
    **_family(
        "g6e",
        "L40S",
        48,
        {
            "xlarge": (1, 4, 32, 0),
            "2xlarge": (1, 8, 64, 0),
            "4xlarge": (1, 16, 128, 0),
            "8xlarge": (1, 32, 256, 1),
            "12xlarge": (4, 48, 384, 1),
            "16xlarge": (1, 64, 512, 1),
            "24xlarge": (4, 96, 768, 2),
            "48xlarge": (8, 192, 1536, 4),
        },
    ),
    **_family("p4d", "A100-40GB", 40, {"24xlarge": (8, 96, 1152, 4)}),
    **_family("p4de", "A100-80GB", 80, {"24xlarge": (8, 96, 1152, 4)}),
    **_family("p5", "H100", 80, {"4xlarge": (1, 16, 256, 1), "48xlarge": (8, 192, 2048, 32)}),
    **_family("p5e", "H200", 141, {"48xlarge": (8, 192, 2048, 32)}),
    **_family("p5en", "H200", 141, {"48xlarge": (8, 192, 2048, 16)}),
    **_family("p6-b200", "B200", 179, {"48xlarge": (8, 192, 2048, 8)}),
    **_family(
        "g7e",
        "RTXPRO6000",
        96,
        {
            "2xlarge": (1, 8, 64, 0),
            "4xlarge": (1, 16, 128, 0),
            "8xlarge": (1, 32, 256, 1),
            "12xlarge": (2, 48, 512, 1),
            "24xlarge": (4, 96, 1024, 2),
            "48xlarge": (8, 192, 2048, 4),
        },
    ),
    **_family(
        "g5g",
        "T4G",
        16,
        {
            "xlarge": (1, 4, 8, 0),
            "2xlarge": (1, 8, 16, 0),
            "4xlarge": (1, 16, 32, 0),
            "8xlarge": (1, 32, 64, 0),
            "16xlarge": (2, 64, 128, 0),
            "metal": (2, 64, 128, 0),
        },
        architecture="arm64",
    ),
    **_family("gr6", "L4", 24, {"4xlarge": (1, 16, 128, 0), "8xlarge": (1, 32, 256, 1)}),
    "p6-b300.48xlarge": GpuInstance("p6-b300.48xlarge", "B300", 268, 8, 192, 4096, 16, first_efa_card=1),
}


def lookup(instance_type: str) -> GpuInstance:
    """The catalog entry for ``instance_type``; ``KeyError`` when the type is unknown."""
    return GPU_INSTANCES[instance_type]


def known_types() -> list[str]:
    return sorted(GPU_INSTANCES)


def known_families() -> list[str]:
    return sorted({entry.family for entry in GPU_INSTANCES.values()})


# --- EFA acceptance test (k8s_charts/efa_test.py): what two nodes of a type should reach ---------
# Network bandwidth per EFA-capable type, Gbps: the "Network bandwidth (Gbps)" column of
# https://docs.aws.amazon.com/ec2/latest/instancetypes/ac.html (network specifications of the
# accelerated-computing types). The g5, g6, g6e, p4d/p4de and p5/p5e/p5en rows agree with a
# public per-type table that cites the same page (found 2026-11-30 by exact search of
# '"g6e.48xlarge": 400' in public code); g4dn, p5.4xlarge and p6-b200 were not cross-checked.
# g7e and p6-b300 (added 2026-11-30): Karpenter's table generated from the same pages,
# aws/karpenter-provider-aws pkg/providers/instancetype/zz_generated.bandwidth.go at 01a436f0
# (Mbps: g7e.8xlarge 100000, 12xlarge 400000, 24xlarge 800000, 48xlarge 1600000;
# p6-b300.48xlarge 6400000). Its earlier version at 9c68c87f agrees with every row above, and
# 01a436f0 with those read in it (all but g5/g6 8 and 16xlarge, g6e 8 and 16xlarge).
# gr6.8xlarge: 25000 Mbps in its version at 9c68c87f.
EFA_NETWORK_GBPS: dict[str, int] = {
    "g4dn.8xlarge": 50, "g4dn.12xlarge": 50, "g4dn.16xlarge": 50, "g4dn.metal": 100,
    "g5.8xlarge": 25, "g5.12xlarge": 40, "g5.16xlarge": 25, "g5.24xlarge": 50, "g5.48xlarge": 100,
    "g6.8xlarge": 25, "g6.12xlarge": 40, "g6.16xlarge": 25, "g6.24xlarge": 50, "g6.48xlarge": 100,
    "g6e.8xlarge": 25, "g6e.12xlarge": 100, "g6e.16xlarge": 35, "g6e.24xlarge": 200, "g6e.48xlarge": 400,
    "p4d.24xlarge": 400, "p4de.24xlarge": 400,
    "p5.4xlarge": 100, "p5.48xlarge": 3200, "p5e.48xlarge": 3200, "p5en.48xlarge": 3200,
    "p6-b200.48xlarge": 3200, "p6-b300.48xlarge": 6400,
    "g7e.8xlarge": 100, "g7e.12xlarge": 400, "g7e.24xlarge": 800, "g7e.48xlarge": 1600,
    "gr6.8xlarge": 25,
}  # fmt: skip
# Families whose EFA carries GPUDirect RDMA (the GPU's memory straight onto the wire,
# FI_EFA_USE_DEVICE_RDMA=1): the P4 and later P types (efa.html, "Supported instance types";
# AWS's maintainer in aws/aws-ofi-nccl issue 547, 2025-08-12: "the only instance types in EC2
# that support GPUDirect RDMA are the P-series starting with p4d", and the G6e hardware does
# not). g7e is left out: no source read says its EFA carries GPUDirect RDMA.
GPUDIRECT_RDMA_FAMILIES = frozenset({"p4d", "p4de", "p5", "p5e", "p5en", "p6-b200", "p6-b300"})
# The pass mark, as a share of the node's network bandwidth in GB/s, for the average bus
# bandwidth of all_reduce_perf over two nodes at 1 to 8 GiB messages. Two nodes can report more
# than the line rate (NCCL's tree algorithm; NVIDIA/nccl-tests issue 22): two p4d.24xlarge
# (400 Gbps = 50 GB/s) measured 57.2 GB/s at 1 GiB (NVIDIA/nccl issue 527). 0.8 of the line rate
# then fails a node pair that lost an interface, GPUDirect RDMA or the placement group, and
# leaves room for run-to-run spread.
NCCL_PASS_SHARE = 0.8


def nccl_pass_mark_gbs(instance_type: str) -> float:
    """The all_reduce_perf average bus bandwidth (GB/s) two nodes of the type must reach."""
    return round(EFA_NETWORK_GBPS[instance_type] / 8 * NCCL_PASS_SHARE, 1)
