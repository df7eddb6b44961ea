"""Print what `cdk synth` produced, per stage: stacks and their resource counts, template
sizes, GPU capacity per pool, the estimated idle and peak cost, and the validation gates'
findings.

Reads only the cloud assembly directory, so it describes exactly what would be deployed.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from platform_config.contract import CAPACITY_METADATA_KEY
from tools.assembly import stack_templates
from tools.cost_report import DEFAULT_PRICES, CostError, PriceTable, headline, stage_costs

TEMPLATE_LIMIT_BYTES = 1_000_000  # CloudFormation's maximum template body (uploaded via S3)


@dataclass
class StackSummary:
    name: str
    resources: int
    template_bytes: int
    capacity: list[dict]


def stage_summaries(out: Path) -> dict[str, list[StackSummary]]:
    """Stage name -> its stacks, in the order the app defines them."""
    stages: dict[str, list[StackSummary]] = {}
    for display_name, path in stack_templates(out).items():
        stage, stack = display_name.split("/", 1)
        template = json.loads(path.read_text())
        stages.setdefault(stage, []).append(
            StackSummary(
                name=stack,
                resources=len(template.get("Resources", {})),
                template_bytes=path.stat().st_size,
                capacity=template.get("Metadata", {}).get(CAPACITY_METADATA_KEY, []),
            )
        )
    return stages


def _devices(advertised: dict[str, int]) -> str:
    return " + ".join(f"{n} {resource}" for resource, n in advertised.items())


def describe_pool(pool: dict) -> str:
    """One line per pool; a pool that shares its GPUs adds its mode and what it advertises
    (the model's capacity function, as the Nodes stack recorded it)."""
    efa = ", EFA" if pool.get("efa") else ""
    shared = pool.get("sharing", "none") != "none"
    if pool["kind"] == "managed-node-group":
        sharing = f", {pool['sharing']}: {_devices(pool['advertised_per_node'])} per node" if shared else ""
        return (
            f"{pool['pool']}: {pool['instance_type']} ({pool['gpus_per_node']} x {pool['gpu_model']}), "
            f"{pool['min_nodes']}-{pool['max_nodes']} nodes, up to {pool['max_gpus']} GPUs{efa}{sharing}"
        )
    if pool["kind"] == "karpenter-cpu-node-pool":
        families = sorted({t.split(".", 1)[0] for t in pool["instance_types"]})
        return (
            f"{pool['pool']}: Karpenter CPU {'/'.join(families)}, weight {pool['weight']}, "
            f"0 to {pool['vcpu_limit']} vCPUs"
        )
    sharing = f", {pool['sharing']}: {_devices(pool['advertised_per_gpu'])} per GPU" if shared else ""
    return (
        f"{pool['pool']}: Karpenter {'/'.join(pool['gpu_models'])}, weight {pool['weight']}, "
        f"0 to {pool['max_gpus']} GPUs{efa}{sharing}"
    )


def validation_findings(out: Path) -> list[str]:
    """One line per validation plugin (cdk-nag AwsSolutions, CloudFormation Validate)."""
    report = out / "validation-report.json"
    if not report.exists():
        return ["validation: no report in the assembly"]
    lines = []
    for plugin in json.loads(report.read_text()).get("pluginReports", []):
        open_findings = sum(len(v["violatingConstructs"]) for v in plugin["violations"])
        acknowledged = sum(len(v["violatingConstructs"]) for v in plugin.get("suppressedViolations", []))
        lines.append(
            f"gate {plugin['pluginName']}: {plugin['conclusion']}, {open_findings} open finding(s), "
            f"{acknowledged} acknowledged with reasons"
        )
    return lines


def cost_lines(out: Path, prices_path: Path) -> dict[str, str]:
    """Stage -> its idle/peak cost line; an unpriceable assembly says why instead of failing synth."""
    try:
        prices = PriceTable(prices_path)
        dated = f"list prices of {prices.as_of} (`make cost` itemises)"
        return {cost.stage: f"  cost: {headline(cost, prices)}, {dated}" for cost in stage_costs(out, prices)}
    except CostError as error:
        return dict.fromkeys(stage_summaries(out), f"  cost: not estimated: {error}")


def summarize(out: Path, prices_path: Path = DEFAULT_PRICES) -> str:
    lines = []
    costs = cost_lines(out, prices_path)
    for stage, stacks in stage_summaries(out).items():
        total = sum(s.resources for s in stacks)
        largest = max(stacks, key=lambda s: s.template_bytes)
        lines.append(f"stage {stage}: {len(stacks)} stacks, {total} resources")
        lines.append("  stacks: " + ", ".join(f"{s.name} {s.resources}" for s in stacks))
        lines.append(
            f"  largest template: {largest.name} {largest.template_bytes / 1024:.0f} KiB "
            f"({100 * largest.template_bytes / TEMPLATE_LIMIT_BYTES:.1f}% of the 1 MB limit)"
        )
        pools = [pool for s in stacks for pool in s.capacity]
        if pools:
            lines.append("  capacity:")
            lines.extend(f"    {describe_pool(pool)}" for pool in pools)
        else:
            lines.append("  capacity: the CPU node group only")
        lines.append(costs[stage])
    lines.extend(validation_findings(out))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else "cdk.out")
    if not (out / "manifest.json").exists():
        print(f"error: {out} holds no cloud assembly; run `make synth` first", file=sys.stderr)
        return 2
    print(summarize(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
