"""Synth benchmark: the full platform app (every stage, every feature the shipped stages turn
on) against a one-bucket CDK app, timed in the same run on the same machine, reported as a
ratio; where a platform synth spends its time (imports, construction, synthesis, and how much
of it is waiting on the jsii kernel, in how many round trips); and a warm `make test`.

Usage: ``make bench`` (or ``.venv/bin/python -m benchmarks.synth [--repeat N]``).
Each synth is a fresh ``python`` process, as ``cdk synth`` runs it, with CDK's built-in
CloudFormation validation off for both apps so the ratio compares the apps, not the validator.
"""

from __future__ import annotations

import argparse
import json
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
from aws_cdk import App
from app import build_app
from tools.cdk_context import cdk_context
app = App(context=cdk_context())
build_app(app)
app.synth()
"""

# The same synth, timed by phase, with every jsii kernel round trip counted and timed (the
# Python side blocks on Node.js for each), printed as one JSON line.
PROFILED_APP = """
import json, time
t0 = time.perf_counter()
from jsii._kernel.providers import process
wait = {"seconds": 0.0, "calls": 0}
send = process._NodeProcess.send
def timed_send(self, request, response_type):
    start = time.perf_counter()
    try:
        return send(self, request, response_type)
    finally:
        wait["seconds"] += time.perf_counter() - start
        wait["calls"] += 1
process._NodeProcess.send = timed_send
from aws_cdk import App
from app import build_app
from tools.cdk_context import cdk_context
t1 = time.perf_counter()
app = App(context=cdk_context())
build_app(app)
t2 = time.perf_counter()
app.synth()
t3 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "construction": t2 - t1, "synthesis": t3 - t2,
                  "jsii_wait": wait["seconds"], "jsii_calls": wait["calls"]}))
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


def _profile(env: dict[str, str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as outdir:
        result = subprocess.run(
            [sys.executable, "-c", PROFILED_APP],
            cwd=ROOT,
            env={**env, "CDK_OUTDIR": outdir},
            check=True,
            capture_output=True,
            text=True,
        )
    return json.loads(result.stdout.strip().splitlines()[-1])


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
    phases = _profile(env)
    print(
        "where a platform synth goes (one profiled run): "
        f"imports {phases['imports']:.2f} s, construction {phases['construction']:.2f} s, "
        f"synthesis {phases['synthesis']:.2f} s; waiting on the jsii kernel {phases['jsii_wait']:.2f} s "
        f"in {phases['jsii_calls']} round trips"
    )
    if not args.skip_tests:
        # Warm: everything is installed; `make test` is what a developer and CI run.
        start = time.perf_counter()
        subprocess.run(["make", "test"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        tests = time.perf_counter() - start
        print(
            f"make test (warm, {os.cpu_count()} cores): {tests:.1f} s (goal: at most 60 s), "
            f"{tests / b:.1f}x a one-bucket synth"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
