"""The CPU instance families the platform runs its own services and CPU jobs on.

``cpu_nodes.instance_types`` and CPU Karpenter NodePools (``karpenter.node_pools`` with
``kind: cpu``) may name only these, so that every stage a team writes can be priced, gets the
right AMI and has a known vCPU count for Karpenter limits. The families are the current
general-purpose (m), compute (c) and memory (r) x86_64 generations on Nitro; sizes and their
vCPU/memory follow the EC2 instance type pages
(https://docs.aws.amazon.com/ec2/latest/instancetypes/gp.html,
https://docs.aws.amazon.com/ec2/latest/instancetypes/co.html,
https://docs.aws.amazon.com/ec2/latest/instancetypes/mo.html). Within these families memory is
a fixed multiple of vCPUs (m: 4 GiB, c: 2 GiB, r: 8 GiB per vCPU). Checked (2026-11-30)
against DescribeInstanceTypes as recorded in skypilot-org/skypilot-catalog
catalogs/v9/aws/vms.csv at 2c3d7ea7 (c6i to 32xlarge, c7i and m7i to 48xlarge, c7a to
48xlarge, each with the vCPUs and memory above) and the size lists in Karpenter's generated
us-east-1 price table (aws/karpenter-provider-aws at 031e72b6). The 7a families also sell a
1-vCPU ``medium`` and every family a ``metal`` size; neither is offered to stages here.
"""

from __future__ import annotations

from dataclasses import dataclass

from platform_config.gpu_catalog import Architecture

_SIZES = {
    "large": 2,
    "xlarge": 4,
    "2xlarge": 8,
    "4xlarge": 16,
    "8xlarge": 32,
    "12xlarge": 48,
    "16xlarge": 64,
    "24xlarge": 96,
}
_GIB_PER_VCPU = {"m": 4, "c": 2, "r": 8}

# family -> the largest size of the ladder above it offers (7th generation adds 48xlarge).
FAMILIES: dict[str, tuple[str, ...]] = {
    "m6i": (*_SIZES, "32xlarge"),
    "c6i": (*_SIZES, "32xlarge"),
    "r6i": (*_SIZES, "32xlarge"),
    "m7i": (*_SIZES, "48xlarge"),
    "c7i": (*_SIZES, "48xlarge"),
    "r7i": (*_SIZES, "48xlarge"),
    "m7a": (*_SIZES, "32xlarge", "48xlarge"),
    "c7a": (*_SIZES, "32xlarge", "48xlarge"),
    "r7a": (*_SIZES, "32xlarge", "48xlarge"),
}
_VCPUS = {**_SIZES, "32xlarge": 128, "48xlarge": 192}


@dataclass(frozen=True)
class CpuInstance:
    instance_type: str
    vcpus: int
    memory_gib: int
    architecture: Architecture = "x86_64"

    @property
    def family(self) -> str:
        return self.instance_type.split(".", 1)[0]


CPU_INSTANCES: dict[str, CpuInstance] = {
    f"{family}.{size}": CpuInstance(f"{family}.{size}", _VCPUS[size], _VCPUS[size] * _GIB_PER_VCPU[family[0]])
    for family, sizes in FAMILIES.items()
    for size in sizes
}


def known_types() -> list[str]:
    return sorted(CPU_INSTANCES)


def known_families() -> list[str]:
    return sorted(FAMILIES)
