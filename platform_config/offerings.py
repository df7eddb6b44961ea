"""Where AWS offers each instance family, among the regions the platform prices.

``offered`` answers True or False where a source says so, and None ("not known here") for a
family it does not list or a region outside PRICED_REGIONS, so that the cost report can say
"not offered in REGION" for a stage that asks for the impossible without ever guessing, and the
stage model can later refuse the same pairs.

Source: skypilot-org/skypilot-catalog, catalogs/v9/aws/vms.csv at commit
2c3d7ea7d76bf84cf80d382e946c1609571485fd, whose rows are AWS's DescribeInstanceTypeOfferings
per availability zone (read 2026-11-30). A type is offered in a region when any zone of the
region lists it (local zones such as use1-atl2-az1 count for their parent region). Every size of
a catalogued family was read and, except p5, every size lists the same regions; p5.4xlarge lists
fewer than p5.48xlarge, so it has its own key, which wins over its family's.
"""

from __future__ import annotations

# The commercial regions the price table and its coverage test cover.
PRICED_REGIONS: tuple[str, ...] = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "eu-north-1",
    "ap-northeast-1",
    "ap-southeast-2",
)

_EVERYWHERE = frozenset(PRICED_REGIONS)

# family (or a type, when its regions differ from its family's) -> the PRICED_REGIONS where it is
# offered; the rest of PRICED_REGIONS are not.
OFFERED: dict[str, frozenset[str]] = {
    # CPU families (platform_config/cpu_catalog.py)
    "c6i": _EVERYWHERE,
    "c7i": _EVERYWHERE,
    "m6i": _EVERYWHERE,
    "m7i": _EVERYWHERE,
    "r6i": _EVERYWHERE,
    "r7i": _EVERYWHERE,
    "c7a": _EVERYWHERE - {"us-west-1", "ap-southeast-2"},
    "m7a": _EVERYWHERE - {"us-west-1"},
    "r7a": _EVERYWHERE - {"us-west-1", "ap-southeast-2"},
    # GPU families (platform_config/gpu_catalog.py)
    "g4dn": _EVERYWHERE,
    "g5": _EVERYWHERE - {"us-west-1"},
    "g6": _EVERYWHERE - {"us-west-1", "eu-west-1"},
    "g6e": _EVERYWHERE - {"us-west-1", "eu-west-1", "ap-southeast-2"},
    "p4d": _EVERYWHERE - {"us-west-1"},
    "p4de": frozenset({"us-east-1", "us-west-2", "eu-central-1", "ap-northeast-1"}),
    "p5": _EVERYWHERE - {"eu-west-1", "eu-central-1"},
    "p5.4xlarge": frozenset({"us-east-1", "us-east-2", "us-west-2", "ap-northeast-1", "ap-southeast-2"}),
    "p5e": frozenset({"us-east-2", "us-west-2", "eu-north-1", "ap-southeast-2"}),
    "p5en": _EVERYWHERE - {"eu-west-1", "eu-central-1", "ap-southeast-2"},
    "p6-b200": frozenset({"us-east-1", "us-east-2", "us-west-2"}),
    # read 2026-11-30: every g7e size lists the same zones (also ap-northeast-2 and eu-south-2,
    # outside PRICED_REGIONS); p6-b300.48xlarge lists one zone, usw2-az2. Where AWS also sells
    # p6-b300 only as Capacity Blocks, this table (On-Demand offerings) does not say.
    "g7e": frozenset({"us-east-1", "us-east-2", "us-west-2", "ap-northeast-1"}),
    "p6-b300": frozenset({"us-west-2"}),
    # g5g, read 2026-11-30: every size (also ap-northeast-2, ap-southeast-1, eu-south-2 outside
    # PRICED_REGIONS; metal also ap-southeast-3)
    "g5g": frozenset({"us-east-1", "us-west-2", "eu-central-1", "ap-northeast-1"}),
    "gr6": _EVERYWHERE - {"us-west-1", "eu-west-1"},  # both sizes, read 2026-11-30
}


def _family(instance_type: str) -> str:
    return instance_type.split(".", 1)[0]


def offered(instance_type: str, region: str) -> bool | None:
    """Whether AWS offers ``instance_type`` in ``region``; None when no source here says."""
    regions = OFFERED.get(instance_type, OFFERED.get(_family(instance_type)))
    if regions is None or region not in PRICED_REGIONS:
        return None
    return region in regions


def offered_in(instance_type: str) -> list[str]:
    """The PRICED_REGIONS where ``instance_type`` is offered (for messages)."""
    return [region for region in PRICED_REGIONS if offered(instance_type, region)]
