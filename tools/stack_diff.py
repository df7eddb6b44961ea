"""Offline diff of two cloud assemblies, stack by stack, with a gate on stateful resources.

Usage: ``python -m tools.stack_diff BASE_OUT HEAD_OUT [--allow-stateful-changes] [--no-cdk]``
(``make diff BASE=<git ref>`` synthesizes both sides and calls this).

For every stack whose template changed it prints the CloudFormation-aware diff from
``cdk diff --template <base template> <Stage/Stack>`` (no AWS credentials involved), then a
list of stateful resources (DynamoDB tables, EFS file systems, S3 buckets, ECR repositories,
KMS keys, the EKS cluster) that the change would replace or delete. Replacement is decided
from the CloudFormation resource schemas that cfn-lint ships: a change to a create-only
property, or to the resource type, replaces the resource. The exit code is 1 when such a
change exists and ``--allow-stateful-changes`` was not given, so CI can require a label.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tools.assembly import stack_templates

STATEFUL_TYPES = (
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
    "AWS::EFS::FileSystem",
    "AWS::S3::Bucket",
    "AWS::ECR::Repository",
    "AWS::KMS::Key",
    "AWS::EKS::Cluster",
)
ROOT = Path(__file__).resolve().parent.parent
SCHEMA_REGION = "us-east-1"  # create-only properties do not differ between regions


@dataclass(frozen=True)
class StatefulChange:
    stack: str
    logical_id: str
    resource_type: str
    action: str  # "replace" or "delete"
    reason: str

    def describe(self) -> str:
        return f"{self.stack}: {self.resource_type} {self.logical_id} would be {self.action}d ({self.reason})"


@cache
def create_only_paths(resource_type: str) -> tuple[tuple[str, ...], ...]:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(SCHEMA_REGION, resource_type).schema
    except Exception:  # an unknown type (custom resources): nothing is create-only
        return ()
    return tuple(
        tuple(path.removeprefix("/properties/").split("/")) for path in schema.get("createOnlyProperties", [])
    )


def _at(properties: dict, path: tuple[str, ...]):
    node = properties
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def stateful_changes(stack: str, base: dict, head: dict) -> list[StatefulChange]:
    changes = []
    base_resources, head_resources = base.get("Resources", {}), head.get("Resources", {})
    for logical_id, old in sorted(base_resources.items()):
        if old["Type"] not in STATEFUL_TYPES:
            continue
        new = head_resources.get(logical_id)
        if new is None:
            retained = old.get("DeletionPolicy") == "Retain"
            reason = "removed from the template" + (" (retained, but no longer managed)" if retained else "")
            changes.append(StatefulChange(stack, logical_id, old["Type"], "delete", reason))
        elif new["Type"] != old["Type"]:
            reason = f"type changes to {new['Type']}"
            changes.append(StatefulChange(stack, logical_id, old["Type"], "replace", reason))
        else:
            old_props, new_props = old.get("Properties", {}), new.get("Properties", {})
            changed = [
                "/".join(path)
                for path in create_only_paths(old["Type"])
                if _at(old_props, path) != _at(new_props, path)
            ]
            if changed:
                reason = "create-only " + ", ".join(changed) + " changed"
                changes.append(StatefulChange(stack, logical_id, old["Type"], "replace", reason))
    return changes


def cdk_diff(stack: str, base_template: Path | None, head_out: Path) -> str:
    """The CDK CLI's rendering of the change, against a fixed base template (offline)."""
    # The repo's own pinned CLI and the venv's Node 24 first, however this was started.
    path = os.pathsep.join(
        [str(Path(sys.executable).parent), str(ROOT / "node_modules" / ".bin"), os.environ["PATH"]]
    )
    cdk = shutil.which("cdk", path=path)
    if cdk is None:
        return "(cdk CLI not found: run `make install`)"
    template = base_template
    if template is None:  # a new stack: compare against an empty template
        empty = head_out.parent / f".empty-{stack.replace('/', '-')}.json"
        empty.write_text('{"Resources": {}}')
        template = empty
    result = subprocess.run(
        [
            cdk,
            "diff",
            "--no-notices",
            "--no-color",
            "--exclusively",
            "--app",
            str(head_out),
            "--template",
            str(template),
            stack,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PATH": path, "CDK_DISABLE_CLI_TELEMETRY": "true"},
    )
    return (result.stdout + result.stderr).strip()


def report(base_out: Path, head_out: Path, *, render_cdk: bool = True) -> tuple[str, list[StatefulChange]]:
    base, head = stack_templates(base_out), stack_templates(head_out)
    lines: list[str] = []
    stateful: list[StatefulChange] = []
    for stack in sorted(set(base) | set(head)):
        old = json.loads(base[stack].read_text()) if stack in base else {"Resources": {}}
        new = json.loads(head[stack].read_text()) if stack in head else {"Resources": {}}
        if old == new:
            continue
        stateful += stateful_changes(stack, old, new)
        lines.append(
            f"### {stack}" + ("" if stack in head else " (removed)") + ("" if stack in base else " (new)")
        )
        if render_cdk and stack in head:
            lines += ["```", cdk_diff(stack, base.get(stack), head_out), "```"]
        elif stack not in head:
            lines.append(f"Every resource of {stack} would be deleted.")
    if not lines:
        lines.append("No stack changes.")
    if stateful:
        lines += ["", "**Stateful resources replaced or deleted:**", *(f"- {c.describe()}" for c in stateful)]
    return "\n".join(lines), stateful


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_out", type=Path)
    parser.add_argument("head_out", type=Path)
    parser.add_argument(
        "--allow-stateful-changes",
        action="store_true",
        help="report, but do not fail on, replaced or deleted stateful resources",
    )
    parser.add_argument("--no-cdk", action="store_true", help="skip the CDK CLI rendering")
    args = parser.parse_args(argv)
    for out in (args.base_out, args.head_out):
        if not (out / "manifest.json").exists():
            print(f"error: {out} holds no cloud assembly", file=sys.stderr)
            return 2
    text, stateful = report(args.base_out, args.head_out, render_cdk=not args.no_cdk)
    print(text)
    if stateful and not args.allow_stateful_changes:
        print(
            f"\n{len(stateful)} stateful resource(s) would be replaced or deleted; "
            "rerun with --allow-stateful-changes (in CI: add the allow-stateful-change label) if intended.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
