"""Synth benchmark: the full platform app (every stage, every feature the shipped stages turn
on) against a one-bucket CDK app, timed in the same run on the same machine, reported as a
ratio of wall and of CPU time; where a platform synth spends its time (imports, construction,
synthesis, and how much of it is waiting on the jsii kernel, in how many round trips); and a
warm `make test` (after one run that fills its caches), in wall and CPU seconds.

Usage: ``make bench`` (or ``.venv/bin/python -m benchmarks.synth [--repeat N]``).
Each synth is a fresh process, as ``cdk synth`` runs it: the platform app by cdk.json's own
command (``python3 -O app.py``, over tools/jsii_transport.py) with cdk.json's context, the
one-bucket app as a stock CDK app. The platform app is also timed as it ran before those two
runtime choices (no ``-O``, jsii's relay process), so their effect is measured in the same run.
CDK's built-in CloudFormation validation is off for every app, so the ratio compares the apps,
not the validator.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tools.cdk_context import cdk_context

ROOT = Path(__file__).resolve().parent.parent

ONE_BUCKET_APP = """
from aws_cdk import App, Stack, aws_s3 as s3
app = App()
stack = Stack(app, "OneBucket")
s3.Bucket(stack, "Bucket")
app.synth()
"""

# cdk.json's command, with sys.executable for its python3 (the venv's, as under make).
PLATFORM_COMMAND = [sys.executable, *json.loads((ROOT / "cdk.json").read_text())["app"].split()[1:]]
# The same app as it ran before cdk.json said -O and app.py installed the direct transport.
STOCK_RUNTIME = {"GPU_PLATFORM_JSII_RELAY": "1"}

# The same synth, timed by phase, with every jsii kernel round trip counted and timed (the
# Python side blocks on Node.js for each), printed as one JSON line.
PROFILED_APP = """
import json, time
t0 = time.perf_counter()
from tools import jsii_transport
jsii_transport.install()
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


def _children_cpu() -> float:
    """CPU seconds (user + system) of every finished child process waited for so far: the
    Python app and its jsii Node.js kernel, or make and everything it ran (a PostgreSQL server
    the tests start as a daemon is not counted)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(command: list[str], env: dict[str, str], **kwargs) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one command run to completion."""
    start, cpu = time.perf_counter(), _children_cpu()
    subprocess.run(command, cwd=ROOT, env=env, check=True, **kwargs)
    return time.perf_counter() - start, _children_cpu() - cpu


def _time(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as outdir:
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        return _run(command, {**env, "CDK_OUTDIR": outdir}, **quiet)


def _profile(env: dict[str, str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as outdir:
        result = subprocess.run(
            [sys.executable, "-O", "-c", PROFILED_APP],
            cwd=ROOT,
            env={**env, "CDK_OUTDIR": outdir},
            check=True,
            capture_output=True,
            text=True,
        )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _load() -> str:
    return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


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
    print(f"{os.cpu_count()} cores, {_load()} at the start")
    # cdk synth hands the app cdk.json's context in this variable; the app reads it as context
    platform_env = {**env, "CDK_CONTEXT_JSON": json.dumps(cdk_context())}
    stock_command = [sys.executable, *PLATFORM_COMMAND[1:]]
    if "-O" in stock_command:
        stock_command.remove("-O")
    runs: dict[str, list[tuple[float, float]]] = {"bucket": [], "platform": [], "stock": []}
    for _ in range(args.repeat):  # interleaved, so drift on the machine hits all alike
        runs["bucket"].append(_time([sys.executable, "-c", ONE_BUCKET_APP], env))
        runs["platform"].append(_time(PLATFORM_COMMAND, platform_env))
        runs["stock"].append(_time(stock_command, {**platform_env, **STOCK_RUNTIME}))
    (bw, bc), (pw, pc), (sw, sc) = (
        map(statistics.median, zip(*runs[key], strict=True)) for key in ("bucket", "platform", "stock")
    )
    print(f"one-bucket app synth: median {bw:.2f} s wall, {bc:.2f} CPU-s over {args.repeat} runs")
    print(
        f"platform app synth (every stage in config/, {' '.join(['python3', *PLATFORM_COMMAND[1:]])}): "
        f"median {pw:.2f} s wall, {pc:.2f} CPU-s over {args.repeat} runs"
    )
    print(
        f"ratio platform / one-bucket: {pw / bw:.2f}x wall, {pc / bc:.2f}x CPU (goal: at most 4x; "
        "on a loaded machine the CPU ratio is the steadier one)"
    )
    print(
        f"the same platform synth without -O and over jsii's relay process: median {sw:.2f} s wall, "
        f"{sc:.2f} CPU-s ({sw / bw:.2f}x / {sc / bc:.2f}x); -O and the direct transport save "
        f"{(sw - pw) / sw:.0%} wall, {(sc - pc) / sc:.0%} CPU"
    )
    phases = _profile(env)
    print(
        "where a platform synth goes (one profiled run): "
        f"imports {phases['imports']:.2f} s, construction {phases['construction']:.2f} s, "
        f"synthesis {phases['synthesis']:.2f} s; waiting on the jsii kernel {phases['jsii_wait']:.2f} s "
        f"in {phases['jsii_calls']} round trips"
    )
    if not args.skip_tests:
        # Warm means every cache `make test` keeps is populated (the CLI synth's assembly, the
        # cfn-lint findings, .mypy_cache): a first run fills them, the second is the figure.
        # Environment as a developer's: CDK_VALIDATION stays as make sets it.
        make_env = {k: v for k, v in env.items() if k != "CDK_VALIDATION"}
        warmup = _run(["make", "test"], make_env, stdout=subprocess.DEVNULL)
        print(f"make test (warming run): {warmup[0]:.1f} s wall, {warmup[1]:.1f} CPU-s")
        wall, cpu = _run(["make", "test"], make_env, stdout=subprocess.DEVNULL)
        print(
            f"make test (warm, {os.cpu_count()} cores): {wall:.1f} s wall (goal: at most 60 s), "
            f"{cpu:.1f} CPU-s; {wall / bw:.1f}x a one-bucket synth; {_load()} at the end"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
