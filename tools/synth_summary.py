"""Print what `cdk synth` produced, per stage: stacks and their resource counts, template
sizes, GPU capacity per pool, and the validation gates' findings.

Reads only the cloud assembly directory, so it describes exactly what would be deployed.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

CAPACITY_METADATA_KEY = "GpuPlatformCapacity"
TEMPLATE_LIMIT_BYTES = 1_000_000


@dataclass
class StackSummary:
    name: str
    resources: int
    template_bytes: int
    capacity: list[dict]


def stage_assemblies(out: Path) -> dict[str, Path]:
    manifest = json.loads((out / "manifest.json").read_text())
    return {
        artifact_id.removeprefix("assembly-"): out / artifact["properties"]["directoryName"]
        for artifact_id, artifact in manifest.get("artifacts", {}).items()
        if artifact["type"] == "cdk:cloud-assembly"
    }


def stack_summaries(assembly: Path) -> list[StackSummary]:
    manifest = json.loads((assembly / "manifest.json").read_text())
    summaries = []
    for artifact in manifest["artifacts"].values():
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        path = assembly / artifact["properties"]["templateFile"]
        template = json.loads(path.read_text())
        summaries.append(
            StackSummary(
                name=artifact.get("displayName", path.stem).split("/")[-1],
                resources=len(template.get("Resources", {})),
                template_bytes=path.stat().st_size,
                capacity=template.get("Metadata", {}).get(CAPACITY_METADATA_KEY, []),
            )
        )
    return summaries


def describe_pool(pool: dict) -> str:
    efa = ", EFA" if pool.get("efa") else ""
    if pool["kind"] == "managed-node-group":
        return (
            f"{pool['pool']}: {pool['instance_type']} ({pool['gpus_per_node']} x {pool['gpu_model']}), "
            f"{pool['min_nodes']}-{pool['max_nodes']} nodes, up to {pool['max_gpus']} GPUs{efa}"
        )
    return (
        f"{pool['pool']}: Karpenter {'/'.join(pool['gpu_models'])}, weight {pool['weight']}, "
        f"0 to {pool['max_gpus']} GPUs{efa}"
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


def summarize(out: Path) -> str:
    lines = []
    for stage, assembly in stage_assemblies(out).items():
        stacks = stack_summaries(assembly)
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
            lines.append("  GPU capacity:")
            lines.extend(f"    {describe_pool(pool)}" for pool in pools)
        else:
            lines.append("  GPU capacity: none configured")
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
