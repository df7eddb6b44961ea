"""Estimate what each stage costs per hour and per month, idle and at full scale.

Reads the synthesized templates (so it prices exactly what `cdk deploy` would create) and
multiplies them by the committed, dated price table in ``cost/on_demand_prices.yaml``:

- idle: nothing scheduled. The EKS control plane, NAT gateways and their public IPv4
  addresses, interface endpoints per AZ, KMS keys, and every managed node group at its
  desired size with its EBS volumes. Karpenter NodePools are empty.
- peak: every managed node group at its maximum size, and every Karpenter NodePool filled
  to its GPU limit with its most expensive instance type per GPU (a ceiling: Karpenter
  normally picks cheaper types, and Spot lowers it further).

Usage-based charges (data processed, S3/EFS/ECR storage, logs, data transfer) depend on
traffic, not on the templates, and are listed as not included.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from platform_config import gpu_catalog
from platform_constructs.naming import CAPACITY_METADATA_KEY
from tools.assembly import stack_regions, stack_templates

DEFAULT_PRICES = Path(__file__).resolve().parent.parent / "cost" / "on_demand_prices.yaml"
USAGE_BASED = (
    "NAT and endpoint data processing, data transfer, S3/EFS/ECR storage, CloudWatch Logs "
    "(incl. VPC flow logs), Lambda (kubectl provider), Spot and Savings Plans discounts"
)


class CostError(Exception):
    """The price table cannot price what the templates hold."""


@dataclass(frozen=True)
class LineItem:
    item: str
    idle_hour: float
    peak_hour: float


@dataclass(frozen=True)
class StageCost:
    stage: str
    region: str
    items: list[LineItem]

    @property
    def idle_hour(self) -> float:
        return sum(i.idle_hour for i in self.items)

    @property
    def peak_hour(self) -> float:
        return sum(i.peak_hour for i in self.items)


class PriceTable:
    def __init__(self, path: Path):
        data = yaml.safe_load(path.read_text())
        self.path = path
        self.as_of: str = str(data["as_of"])
        self.hours_per_month: float = float(data["hours_per_month"])
        self._regions: dict[str, dict] = data["regions"]

    def rate(self, region: str, key: str) -> float:
        """An hourly rate; ``*_month`` keys are converted with the table's hours per month."""
        prices = self._region(region)
        if key not in prices:
            raise CostError(f"{self.path.name} has no {key!r} for {region}")
        value = float(prices[key])
        return value / self.hours_per_month if key.endswith("_month") else value

    def instance(self, region: str, instance_type: str) -> float:
        ec2 = self._region(region)["ec2"]
        if instance_type not in ec2:
            raise CostError(
                f"{self.path.name} has no on-demand price for {instance_type} in {region}; "
                "add it (its header says how to look it up)"
            )
        return float(ec2[instance_type])

    def _region(self, region: str) -> dict:
        if region not in self._regions:
            known = sorted(self._regions)
            raise CostError(f"{self.path.name} has no prices for region {region}; it has {known}")
        return self._regions[region]


def _volume_hour(prices: PriceTable, region: str, launch_template: dict | None) -> float:
    """Hourly price of one node's gp3 volumes, from its launch template."""
    if launch_template is None:
        return 20 * prices.rate(region, "gp3_gb_month")  # EKS's default node disk
    total = 0.0
    for mapping in launch_template["Properties"]["LaunchTemplateData"].get("BlockDeviceMappings", []):
        ebs = mapping.get("Ebs", {})
        total += ebs.get("VolumeSize", 0) * prices.rate(region, "gp3_gb_month")
        total += max(ebs.get("Iops", 3000) - 3000, 0) * prices.rate(region, "gp3_iops_month")
        total += max(ebs.get("Throughput", 125) - 125, 0) * prices.rate(region, "gp3_mbps_month")
    return total


def _node_group_items(prices: PriceTable, region: str, resources: dict, node_group: dict) -> list[LineItem]:
    props = node_group["Properties"]
    scaling, types = props["ScalingConfig"], props["InstanceTypes"]
    template_ref = props.get("LaunchTemplate", {}).get("Id", {}).get("Ref")
    volume = _volume_hour(prices, region, resources.get(template_ref))
    name = props.get("Labels", {}).get("gpuplatform.io/pool") or "node group"
    # The group launches its first type; the ceiling assumes its most expensive one.
    first, dearest = prices.instance(region, types[0]), max(prices.instance(region, t) for t in types)
    low, high = scaling["DesiredSize"], scaling["MaxSize"]
    return [
        LineItem(f"{name}: {'/'.join(types)} x {low}-{high}", low * first, high * dearest),
        LineItem(f"{name}: EBS gp3 per node x {low}-{high}", low * volume, high * volume),
    ]


def _karpenter_item(prices: PriceTable, region: str, pool: dict) -> LineItem:
    per_gpu = {t: prices.instance(region, t) / gpu_catalog.lookup(t).gpus for t in pool["instance_types"]}
    dearest = max(per_gpu, key=per_gpu.__getitem__)
    return LineItem(
        f"{pool['pool']}: Karpenter, {pool['max_gpus']} GPUs as {dearest} (${per_gpu[dearest]:.2f}/GPU-h)",
        0.0,
        pool["max_gpus"] * per_gpu[dearest],
    )


# Resource type -> (line item, price key): what costs the same idle and at peak.
FIXED_PRICES = {
    "AWS::EKS::Cluster": ("EKS control plane", "eks_cluster_hour"),
    "AWS::EC2::NatGateway": ("NAT gateways", "nat_gateway_hour"),
    "AWS::EC2::EIP": ("public IPv4 addresses", "public_ipv4_hour"),
    "AWS::EC2::VPCEndpoint": ("interface endpoint AZs", "interface_endpoint_az_hour"),
    "AWS::KMS::Key": ("KMS keys", "kms_key_month"),
}


def _quantity(resource: dict) -> int:
    """How many priced units a fixed resource is: an interface endpoint is billed per AZ."""
    if resource["Type"] != "AWS::EC2::VPCEndpoint":
        return 1
    props = resource["Properties"]
    return len(props["SubnetIds"]) if props.get("VpcEndpointType") == "Interface" else 0  # gateways are free


def _fixed_items(prices: PriceTable, region: str, resources: list[dict]) -> list[LineItem]:
    """One line per kind of fixed resource across the stage."""
    counts: dict[str, int] = defaultdict(int)
    for resource in resources:
        if resource["Type"] in FIXED_PRICES:
            counts[resource["Type"]] += _quantity(resource)
    items = []
    for kind, count in counts.items():
        label, key = FIXED_PRICES[kind]
        hourly = count * prices.rate(region, key)
        items.append(LineItem(f"{label} x {count}", hourly, hourly))
    return items


def stage_costs(out: Path, prices: PriceTable) -> list[StageCost]:
    """One estimate per stage, from the assembly in ``out``."""
    regions = stack_regions(out)
    scaling: dict[str, list[LineItem]] = defaultdict(list)
    fixed: dict[str, list[dict]] = defaultdict(list)
    stage_region: dict[str, str] = {}
    for display_name, path in stack_templates(out).items():
        stage = display_name.split("/", 1)[0]
        region = stage_region.setdefault(stage, regions[display_name])
        template = json.loads(path.read_text())
        resources = template.get("Resources", {})
        fixed[stage] += resources.values()
        for resource in resources.values():
            if resource["Type"] == "AWS::EKS::Nodegroup":
                scaling[stage] += _node_group_items(prices, region, resources, resource)
        for pool in template.get("Metadata", {}).get(CAPACITY_METADATA_KEY, []):
            if pool["kind"] == "karpenter-node-pool":
                scaling[stage].append(_karpenter_item(prices, region, pool))
    return [
        StageCost(stage, region, _fixed_items(prices, region, fixed[stage]) + scaling[stage])
        for stage, region in stage_region.items()
    ]


def money(hourly: float, prices: PriceTable) -> str:
    return f"${hourly:,.2f}/h (${hourly * prices.hours_per_month:,.0f}/month)"


def headline(cost: StageCost, prices: PriceTable) -> str:
    """The one line `make synth` prints per stage."""
    return f"idle {money(cost.idle_hour, prices)}, peak {money(cost.peak_hour, prices)}"


def report(out: Path, prices: PriceTable) -> str:
    lines = [
        f"Estimated cost: on-demand list prices as of {prices.as_of} ({prices.path.name}), "
        f"{prices.hours_per_month:g} h/month"
    ]
    for cost in stage_costs(out, prices):
        lines += ["", f"stage {cost.stage} ({cost.region}): {headline(cost, prices)}"]
        lines.append(f"  {'item':<72} {'idle $/h':>10} {'peak $/h':>10}")
        for item in sorted(cost.items, key=lambda i: -i.peak_hour):
            lines.append(f"  {item.item:<72} {item.idle_hour:>10.3f} {item.peak_hour:>10.3f}")
    lines += ["", f"Not included (usage-based): {USAGE_BASED}."]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="cdk.out", type=Path)
    parser.add_argument("--prices", default=DEFAULT_PRICES, type=Path)
    args = parser.parse_args(argv[1:])
    if not (args.out / "manifest.json").exists():
        print(f"error: {args.out} holds no cloud assembly; run `make synth` first", file=sys.stderr)
        return 2
    try:
        print(report(args.out, PriceTable(args.prices)))
    except CostError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
