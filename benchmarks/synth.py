"""Synth benchmark: the full platform app (every stage, every feature the shipped stages turn
on) against a one-bucket CDK app, timed in the same run on the same machine, reported as a
ratio; and the test suite's wall time.

Usage: ``make bench`` (or ``.venv/bin/python -m benchmarks.synth [--repeat N]``).
Each synth is a fresh ``python`` process, as ``cdk synth`` runs it, with CDK's built-in
CloudFormation validation off for both apps so the ratio compares the apps, not the validator.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ONE_BUCKET_APP = """
from aws_cdk import App, Stack, aws_s3 as s3
app = App()
stack = Stack(app, "OneBucket")
s3.Bucket(stack, "Bucket")
app.synth()
"""

PLATFORM_APP = """
import json
from pathlib import Path
from aws_cdk import App
from app import build_app
context = json.loads(Path("cdk.json").read_text())["context"]
context.update(json.loads(Path("cdk.context.json").read_text()))
app = App(context=context)
build_app(app)
app.synth()
"""


def _time(code: str, env: dict[str, str]) -> float:
    with tempfile.TemporaryDirectory() as outdir:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={**env, "CDK_OUTDIR": outdir},
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-tests", action="store_true")
    args = parser.parse_args()
    env = {
        **os.environ,
        "CDK_VALIDATION": "false",
        "AWS_EC2_METADATA_DISABLED": "true",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    bucket, platform = [], []
    for _ in range(args.repeat):  # interleaved, so drift on the machine hits both alike
        bucket.append(_time(ONE_BUCKET_APP, env))
        platform.append(_time(PLATFORM_APP, env))
    b, p = statistics.median(bucket), statistics.median(platform)
    print(f"one-bucket app synth: median {b:.2f} s over {args.repeat} runs")
    print(f"platform app synth (every stage in config/): median {p:.2f} s over {args.repeat} runs")
    print(f"ratio platform / one-bucket: {p / b:.2f}x (goal: at most 4x)")
    if not args.skip_tests:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
        )
        tests = time.perf_counter() - start
        print(f"test suite (pytest, one session synth): {tests:.1f} s, {tests / b:.1f}x a one-bucket synth")
    return 0


if __name__ == "__main__":
    sys.exit(main())
