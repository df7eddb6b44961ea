"""Any region, no hand-edited context: the stage file names its zones, so a stage in an
account/region pair that ``cdk.context.json`` has never heard of synthesizes without a lookup
(a lookup needs AWS credentials, which `make synth` never has)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import yaml
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_sns as sns

from app import build_app
from tests.conftest import ROOT, cdk_context
from tools.assembly import stack_templates

ACCOUNT, REGION, ZONES = "444444444444", "us-west-1", ["us-west-1a", "us-west-1c"]
# The shipped stages (every feature on in dev) need no context entry either: cdk.context.json
# holds none, and test_gates.py's test_synth_needs_no_lookups checks their assemblies.
STAGE = {"name": "west", "tier": "dev", "account": ACCOUNT, "region": REGION, "availability_zones": ZONES}


def lookups(out: Path) -> list[str]:
    """Every unresolved context lookup and every error annotation in the assembly at ``out``."""
    manifest = json.loads((out / "manifest.json").read_text())
    found = [entry["key"] for entry in manifest.get("missing", [])]
    for artifact in manifest.get("artifacts", {}).values():
        if artifact["type"] == "cdk:cloud-assembly":
            found += lookups(out / artifact["properties"]["directoryName"])
        for path, entries in artifact.get("metadata", {}).items():
            found += [f"{path}: {e['data']}" for e in entries if e["type"] == "aws:cdk:error"]
    return found


def synth(tmp_path: Path, build) -> Path:
    out = tmp_path / "cdk.out"
    app = App(outdir=str(out), context=cdk_context())
    build(app)
    app.synth()
    return out


def test_the_check_sees_a_lookup(tmp_path):
    """A stack that asks CDK for its zones in the same environment is caught."""

    def probe(app: App) -> None:
        stack = Stack(app, "Probe", env=Environment(account=ACCOUNT, region=REGION))
        sns.Topic(stack, "Topic")
        assert stack.availability_zones == ["dummy1a", "dummy1b", "dummy1c"]

    assert lookups(synth(tmp_path, probe)) == [f"availability-zones:account={ACCOUNT}:region={REGION}"]


def test_stage_outside_the_committed_context_needs_no_lookup(tmp_path):
    """seed 002's test region, in an account no shipped stage uses."""
    assert not any(key.startswith("availability-zones:") for key in cdk_context())
    stage_file = tmp_path / "west.yaml"
    stage_file.write_text(yaml.safe_dump(STAGE))

    def platform(app: App) -> None:
        app.node.set_context("stage_file", str(stage_file))
        build_app(app)

    out = synth(tmp_path, platform)
    assert lookups(out) == []
    network = json.loads(stack_templates(out)["west/Network"].read_text())
    subnet_zones = {
        r["Properties"]["AvailabilityZone"]
        for r in network["Resources"].values()
        if r["Type"] == "AWS::EC2::Subnet"
    }
    assert subnet_zones == set(ZONES)


# Stands in for the CDK CLI when a lookup fails: the app has written a whole assembly, then the
# CLI cannot resolve the lookup and exits 1.
FAILING_CDK = """#!/bin/sh
while [ $# -gt 0 ]; do [ "$1" = --output ] && out=$2; shift; done
mkdir -p "$out" && echo '{"version": "48.0.0", "artifacts": {}}' > "$out/manifest.json"
echo "Need to perform AWS calls for account 444444444444, but no credentials have been configured" >&2
exit 1
"""


def test_a_failed_synth_leaves_no_assembly(tmp_path):
    """`make synth` (and every target that synthesizes through the same step) moves the
    assembly into place only on success; an earlier run's assembly is gone too."""
    cdk = tmp_path / "cdk"
    cdk.write_text(FAILING_CDK)
    cdk.chmod(0o755)
    out = tmp_path / "cdk.out"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    result = subprocess.run(
        ["make", "-o", "install", "synth", f"OUT={out}", f"CDK={cdk}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode != 0 and "Need to perform AWS calls" in result.stderr
    assert not out.exists() and not out.with_name("cdk.out.partial").exists()
