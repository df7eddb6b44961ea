"""Estimate what each stage costs per hour and per month, idle and at full scale.

Reads the synthesized templates (so it prices exactly what `cdk deploy` would create) and
multiplies them by the committed, dated price table in ``cost/on_demand_prices.yaml``:

- idle: nothing scheduled. The EKS control plane, NAT gateways and their public IPv4
  addresses, interface endpoints per AZ, KMS keys, and every managed node group at its
  desired size with its EBS volumes. Karpenter NodePools are empty.
- peak: every managed node group at its maximum size, every GPU Karpenter NodePool filled to
  its GPU limit with its most expensive instance type per GPU, and every CPU NodePool filled
  to its vCPU limit with its most expensive type per vCPU (ceilings: Karpenter normally picks
  cheaper types, and Spot lowers it further).

A price the table does not hold is never guessed: the item is left out of the totals and the
stage lists it as unpriced (with "not offered in REGION" when AWS does not sell the type
there). Exit codes: 0 everything priced; 3 report printed but some items unpriced; 2 usage or
input error (no assembly, unreadable or malformed price table).

Usage-based charges (data processed, S3/EFS/ECR storage, logs, data transfer) depend on
traffic, not on the templates, and are listed as not included.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from platform_config import cpu_catalog, gpu_catalog
from platform_config.contract import CAPACITY_METADATA_KEY
from platform_config.offerings import offered
from tools.assembly import stack_regions, stack_templates

DEFAULT_PRICES = Path(__file__).resolve().parent.parent / "cost" / "on_demand_prices.yaml"
USAGE_BASED = (
    "NAT and endpoint data processing, data transfer, S3/EFS/ECR storage, CloudWatch Logs "
    "(incl. VPC flow logs), Lambda (kubectl provider), Spot and Savings Plans discounts"
)
EXIT_OK, EXIT_USAGE, EXIT_UNPRICED = 0, 2, 3


class CostError(Exception):
    """The price table cannot be read (missing, malformed, a row without a declared source)."""


@dataclass(frozen=True)
class LineItem:
    item: str
    idle_hour: float
    peak_hour: float


@dataclass(frozen=True)
class UnitCost:
    pool: str
    devices: str  # e.g. "16 nvidia.com/gpu per g4dn.12xlarge"
    hourly: float  # one advertised device, an hour


@dataclass(frozen=True)
class StageCost:
    stage: str
    region: str
    items: list[LineItem]
    unpriced: list[str] = field(default_factory=list)  # "what (why)", left out of the totals
    # Per GPU pool: what one advertised device (a GPU, a time-slice, an MPS client, a MIG
    # instance) costs an hour, from the capacity metadata the model's capacity function wrote.
    units: list[UnitCost] = field(default_factory=list)

    @property
    def idle_hour(self) -> float:
        return sum(i.idle_hour for i in self.items)

    @property
    def peak_hour(self) -> float:
        return sum(i.peak_hour for i in self.items)


def _row(path: Path, where: str, row: object, sources: dict) -> float:
    """A ``[price, source]`` row's price, after checking the source is declared."""
    if not (isinstance(row, list) and len(row) == 2 and isinstance(row[0], int | float)):
        raise CostError(f"{path.name}: {where} is {row!r}; expected [price, source]")
    if row[1] not in sources:
        raise CostError(f"{path.name}: {where} cites source {row[1]!r}, which `sources` does not declare")
    return float(row[0])


class PriceTable:
    """The dated price table: per region, service rates, per-type rows and CPU family rates."""

    def __init__(self, path: Path):
        self.path = path
        try:
            data = yaml.safe_load(path.read_text())
            self.as_of: str = str(data["as_of"])
            self.hours_per_month: float = float(data["hours_per_month"])
            sources: dict = data["sources"]
            regions: dict = data["regions"]
        except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
            raise CostError(f"{path} is not a readable price table ({error!r})") from None
        self.sources = sources
        self._rates: dict[str, dict[str, float]] = {}
        self._ec2: dict[str, dict[str, float]] = {}
        self._cpu: dict[str, dict[str, float]] = {}
        for region, table in regions.items():
            table = dict(table or {})
            ec2_rows = table.pop("ec2", None) or {}
            self._ec2[region] = {t: _row(path, f"{region} ec2 {t}", r, sources) for t, r in ec2_rows.items()}
            self._cpu[region] = {
                f: _row(path, f"{region} cpu_vcpu_hour {f}", row, sources)
                for f, row in (table.pop("cpu_vcpu_hour", None) or {}).items()
            }
            self._rates[region] = {k: _row(path, f"{region} {k}", row, sources) for k, row in table.items()}

    @property
    def regions(self) -> list[str]:
        return sorted(self._rates)

    def rate(self, region: str, key: str) -> float | None:
        """An hourly rate, or None when the table has none; ``*_month`` keys become hourly."""
        value = self._rates.get(region, {}).get(key)
        if value is None:
            return None
        return value / self.hours_per_month if key.endswith("_month") else value

    def instance(self, region: str, instance_type: str) -> float | None:
        """The hourly list price of ``instance_type`` in ``region``, or None when unpriced."""
        if instance_type in self._ec2.get(region, {}):
            return self._ec2[region][instance_type]
        cpu = cpu_catalog.CPU_INSTANCES.get(instance_type)
        if cpu is None:
            return None
        rate = self._cpu.get(region, {}).get(cpu.family)
        return None if rate is None else cpu.vcpus * rate


class _StagePrices:
    """The table seen from one stage's region, remembering what it could not price and why."""

    def __init__(self, prices: PriceTable, region: str):
        self.prices, self.region = prices, region
        self.unpriced: dict[str, str] = {}

    def _missing(self, what: str, reason: str | None = None) -> None:
        self.unpriced.setdefault(what, reason or f"no price for {self.region} in {self.prices.path.name}")

    def instance(self, instance_type: str) -> float | None:
        if offered(instance_type, self.region) is False:
            self._missing(instance_type, f"not offered in {self.region}")
            return None
        price = self.prices.instance(self.region, instance_type)
        if price is None:
            self._missing(instance_type)
        return price

    def rate(self, key: str, what: str) -> float | None:
        value = self.prices.rate(self.region, key)
        if value is None:
            self._missing(what)
        return value


def _volume_hour(prices: _StagePrices, launch_template: dict | None) -> float | None:
    """Hourly price of one node's gp3 volumes, from its launch template; None when unpriced."""
    rates = [prices.rate(k, "EBS gp3") for k in ("gp3_gb_month", "gp3_iops_month", "gp3_mbps_month")]
    gb, iops, mbps = rates
    if gb is None or iops is None or mbps is None:
        return None
    if launch_template is None:
        return 20 * gb  # EKS's default node disk
    total = 0.0
    for mapping in launch_template["Properties"]["LaunchTemplateData"].get("BlockDeviceMappings", []):
        ebs = mapping.get("Ebs", {})
        total += ebs.get("VolumeSize", 0) * gb
        total += max(ebs.get("Iops", 3000) - 3000, 0) * iops
        total += max(ebs.get("Throughput", 125) - 125, 0) * mbps
    return total


def _node_group_items(prices: _StagePrices, resources: dict, node_group: dict) -> list[LineItem]:
    props = node_group["Properties"]
    scaling, types = props["ScalingConfig"], props["InstanceTypes"]
    template_ref = props.get("LaunchTemplate", {}).get("Id", {}).get("Ref")
    name = props.get("Labels", {}).get("gpuplatform.io/pool") or "node group"
    low, high = scaling["DesiredSize"], scaling["MaxSize"]
    items = []
    # The group launches its first type; the ceiling assumes its most expensive one.
    type_prices = [prices.instance(t) for t in types]
    priced = [price for price in type_prices if price is not None]
    if len(priced) == len(type_prices):
        first, dearest = priced[0], max(priced)
        items.append(LineItem(f"{name}: {'/'.join(types)} x {low}-{high}", low * first, high * dearest))
    volume = _volume_hour(prices, resources.get(template_ref))
    if volume is not None:
        items.append(LineItem(f"{name}: EBS gp3 per node x {low}-{high}", low * volume, high * volume))
    return items


def _ceiling(prices: _StagePrices, pool: dict, units: dict[str, int], limit: int, unit: str) -> list:
    """A Karpenter pool filled to ``limit`` units at its dearest type per unit, or nothing
    when a type it allows is unpriced (the dearest could be that one)."""
    per_unit = {t: prices.instance(t) for t in pool["instance_types"]}
    rates = {t: price / units[t] for t, price in per_unit.items() if price is not None}
    if len(rates) < len(per_unit):
        return []
    dearest = max(rates, key=rates.__getitem__)
    label = f"{pool['pool']}: Karpenter, {limit} {unit}s as {dearest} (${rates[dearest]:.4g}/{unit}-h)"
    return [LineItem(label, 0.0, limit * rates[dearest])]


def _karpenter_items(prices: _StagePrices, pool: dict) -> list[LineItem]:
    if pool["kind"] == "karpenter-node-pool":
        gpus = {t: gpu_catalog.lookup(t).gpus for t in pool["instance_types"]}
        return _ceiling(prices, pool, gpus, pool["max_gpus"], "GPU")
    if pool["kind"] == "karpenter-cpu-node-pool":
        vcpus = {t: cpu_catalog.CPU_INSTANCES[t].vcpus for t in pool["instance_types"]}
        return _ceiling(prices, pool, vcpus, pool["vcpu_limit"], "vCPU")
    return []


def unit_cost(prices: _StagePrices, pool: dict) -> UnitCost | None:
    """The hourly price of one device the pool advertises (``advertised_per_node``: the model's
    capacity function): node price / devices per node, at the pool's dearest type per device.
    None for CPU pools and unpriced types."""
    advertised = pool.get("advertised_per_node")
    if advertised is None:
        return None
    per_type = advertised if pool["kind"] == "karpenter-node-pool" else {pool["instance_type"]: advertised}
    rates = {}
    for instance_type, resources in per_type.items():
        price = prices.instance(instance_type)
        if price is None:
            return None
        rates[instance_type] = (price / sum(resources.values()), resources)
    dearest = max(rates, key=lambda t: rates[t][0])
    hourly, resources = rates[dearest]
    devices = " + ".join(f"{n} {r}" for r, n in resources.items())
    return UnitCost(pool["pool"], f"{devices} per {dearest}", hourly)


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


def _fixed_items(prices: _StagePrices, resources: list[dict]) -> list[LineItem]:
    """One line per kind of fixed resource across the stage."""
    counts: dict[str, int] = defaultdict(int)
    for resource in resources:
        if resource["Type"] in FIXED_PRICES:
            counts[resource["Type"]] += _quantity(resource)
    items = []
    for kind, count in counts.items():
        label, key = FIXED_PRICES[kind]
        rate = prices.rate(key, label) if count else 0.0
        if rate is not None:
            items.append(LineItem(f"{label} x {count}", count * rate, count * rate))
    return items


def stage_costs(out: Path, prices: PriceTable) -> list[StageCost]:
    """One estimate per stage, from the assembly in ``out``."""
    regions = stack_regions(out)
    scaling: dict[str, list[LineItem]] = defaultdict(list)
    fixed: dict[str, list[dict]] = defaultdict(list)
    units: dict[str, list[UnitCost]] = defaultdict(list)
    stage_prices: dict[str, _StagePrices] = {}
    for display_name, path in stack_templates(out).items():
        stage = display_name.split("/", 1)[0]
        lookup = stage_prices.setdefault(stage, _StagePrices(prices, regions[display_name]))
        template = json.loads(path.read_text())
        resources = template.get("Resources", {})
        fixed[stage] += resources.values()
        for resource in resources.values():
            if resource["Type"] == "AWS::EKS::Nodegroup":
                scaling[stage] += _node_group_items(lookup, resources, resource)
        for pool in template.get("Metadata", {}).get(CAPACITY_METADATA_KEY, []):
            scaling[stage] += _karpenter_items(lookup, pool)
            unit = unit_cost(lookup, pool)
            units[stage] += [unit] if unit else []
    costs = []
    for stage, lookup in stage_prices.items():
        items = _fixed_items(lookup, fixed[stage]) + scaling[stage]
        unpriced = [f"{what} ({why})" for what, why in sorted(lookup.unpriced.items())]
        costs.append(StageCost(stage, lookup.region, items, unpriced, units[stage]))
    return costs


def money(hourly: float, prices: PriceTable) -> str:
    return f"${hourly:,.2f}/h (${hourly * prices.hours_per_month:,.0f}/month)"


def headline(cost: StageCost, prices: PriceTable) -> str:
    """The one line `make synth` prints per stage; it names what it could not price."""
    line = f"idle {money(cost.idle_hour, prices)}, peak {money(cost.peak_hour, prices)}"
    if cost.unpriced:
        line += f", without unpriced {', '.join(u.split(' (', 1)[0] for u in cost.unpriced)}"
    return line


def render(costs: list[StageCost], prices: PriceTable) -> str:
    lines = [
        f"Estimated cost: on-demand list prices reviewed {prices.as_of} ({prices.path.name}, "
        f"each row with its dated source), {prices.hours_per_month:g} h/month"
    ]
    for cost in costs:
        lines += ["", f"stage {cost.stage} ({cost.region}): {headline(cost, prices)}"]
        lines.append(f"  {'item':<72} {'idle $/h':>10} {'peak $/h':>10}")
        for item in sorted(cost.items, key=lambda i: -i.peak_hour):
            lines.append(f"  {item.item:<72} {item.idle_hour:>10.3f} {item.peak_hour:>10.3f}")
        if cost.units:
            lines.append("  per advertised GPU device (a GPU, time-slice, MPS client or MIG instance):")
            lines.extend(f"    {u.pool}: ${u.hourly:.4g}/device-h ({u.devices})" for u in cost.units)
        if cost.unpriced:
            lines.append("  unpriced, left out of the totals above:")
            lines.extend(f"    {u}" for u in cost.unpriced)
    lines += ["", f"Not included (usage-based): {USAGE_BASED}."]
    return "\n".join(lines)


def report(out: Path, prices: PriceTable) -> str:
    return render(stage_costs(out, prices), prices)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="cdk.out", type=Path)
    parser.add_argument("--prices", default=DEFAULT_PRICES, type=Path)
    args = parser.parse_args(argv[1:])
    if not (args.out / "manifest.json").exists():
        print(f"error: {args.out} holds no cloud assembly; run `make synth` first", file=sys.stderr)
        return EXIT_USAGE
    try:
        prices = PriceTable(args.prices)
    except CostError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    costs = stage_costs(args.out, prices)
    print(render(costs, prices))
    return EXIT_UNPRICED if any(cost.unpriced for cost in costs) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv))
