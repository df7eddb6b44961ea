"""Where AWS offers each instance family, among the regions the platform prices.

``offered`` answers True or False only where a source says so, and None ("not known here")
otherwise, so that the cost report can say "not offered in REGION" for a stage that asks for
the impossible without ever guessing, and the stage model can later refuse the same pairs.

Source: skypilot-org/skypilot-catalog, catalogs/v9/aws/vms.csv at commit
2c3d7ea7d76bf84cf80d382e946c1609571485fd, whose rows are AWS's DescribeInstanceTypeOfferings
per availability zone (read 2026-11-30). A family is offered in a region when any of its
zones lists it. Families not listed here have not been checked yet: ``offered`` says None.
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

# family -> the PRICED_REGIONS where it is offered; the rest of PRICED_REGIONS are not.
OFFERED: dict[str, frozenset[str]] = {
    "c6i": _EVERYWHERE,
    "c7i": _EVERYWHERE,
    "m7i": _EVERYWHERE,
    "c7a": _EVERYWHERE - {"us-west-1", "ap-southeast-2"},
    "g5": _EVERYWHERE - {"us-west-1"},
}


def _family(instance_type: str) -> str:
    return instance_type.split(".", 1)[0]


def offered(instance_type: str, region: str) -> bool | None:
    """Whether AWS offers ``instance_type`` in ``region``; None when no source here says."""
    regions = OFFERED.get(_family(instance_type))
    if regions is None or region not in PRICED_REGIONS:
        return None
    return region in regions
