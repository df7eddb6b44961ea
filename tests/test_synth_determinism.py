"""The same commit synthesizes to the same templates, every time.

A template that changes from one synth to the next shows up in every `cdk diff` and redeploys
something on every `cdk deploy`: the secret sync's install-time Job was renamed on every synth
while its name hashed a CDK token's number (which follows the order the app happened to create
tokens in). Two synths of every shipped stage, as `cdk synth` runs the app (cdk.json's command)
and under different hash seeds, must agree byte for byte on every template and asset manifest.
Construct metadata is left out: its stack traces name the jsii kernel's temporary directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tools.cdk_context import cdk_context

ROOT = Path(__file__).resolve().parent.parent


def synthesize(outdir: Path, hash_seed: str) -> dict[str, str]:
    command = [sys.executable, *json.loads((ROOT / "cdk.json").read_text())["app"].split()[1:]]
    env = {
        **os.environ,
        "CDK_OUTDIR": str(outdir),
        "CDK_CONTEXT_JSON": json.dumps(cdk_context()),
        "CDK_VALIDATION": "false",
        "PYTHONHASHSEED": hash_seed,
    }
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    return {
        str(path.relative_to(outdir)): path.read_text()
        for path in sorted(outdir.glob("assembly-*/*.json"))
        if not path.name.endswith(".metadata.json")
    }


@pytest.mark.full  # two full synths: `make test-full` and CI, not `make test`
def test_two_synths_of_one_commit_are_identical(tmp_path):
    first, second = synthesize(tmp_path / "first", "1"), synthesize(tmp_path / "second", "2")
    assert any(name.endswith(".template.json") for name in first)
    assert sorted(first) == sorted(second)
    changed = [name for name in first if first[name] != second[name]]
    assert not changed, f"differ between two synths of one commit: {changed}"
