"""Reservation processor benchmark: one scheduling pass with 5,000 queued requests over 512 GPUs
of mixed types (16 T4 nodes x 4, 24 A100 nodes x 8, 32 H100 nodes x 8), against moto's
DynamoDB and the in-process fake Kubernetes API (tests/fake_kube.py) with the real client.

Reports the wall time of the pass and the DynamoDB calls it made, by operation (counted with a
botocore ``before-call`` hook), then the same for a second pass a minute later, which should
write almost nothing (positions and ETAs are only written when they change). Asserts that no
Scan was made. moto is far slower per call than DynamoDB, so the wall time is an upper bound
dominated by the mock; the call counts are the figures that carry over.

Usage: ``.venv/bin/python -m benchmarks.reservations_pass [--requests N] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

POOLS = (("t4", "T4", 4, 16), ("a100", "A100", 8, 24), ("h100", "H100", 8, 32))  # name, model, gpus, nodes
START = datetime(2025, 1, 12, 10, 0, tzinfo=UTC)


def _counting(store) -> Counter:
    calls: Counter = Counter()
    store.client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.update([model.name]))
    return calls


def run(requests: int, forecast_budget: float = 600.0) -> dict:
    import boto3
    from moto import mock_aws

    from reservations import processor
    from reservations.kube import KubeGateway
    from reservations.model import Reservation, Status, to_iso
    from reservations.policy import GpuType, Policy
    from reservations.processor import Runtime, schedule
    from reservations.store import ReservationStore
    from tests.fake_kube import FakeKube
    from tests.reservation_fixtures import (
        FAKE_CREDENTIALS,
        IMAGE,
        NAMESPACE,
        REGION,
        TABLE,
        Clock,
        create_table,
    )

    policy = Policy(
        stage="bench",
        namespace=NAMESPACE,
        gpu_types=tuple(GpuType(name, model, gpus) for name, model, gpus, _ in POOLS),
        default_gpu_type="t4",
        dev_image=IMAGE,
        home_storage_class="efs-home",
    )
    with mock.patch.dict(os.environ, FAKE_CREDENTIALS), mock_aws(), FakeKube(namespaces={NAMESPACE}) as kube:
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        create_table(dynamodb)
        for name, _, gpus, count in POOLS:
            for n in range(count):
                kube.add_node(
                    f"{name}-{n:02d}", pool=name, gpus=gpus, external_ip=f"198.51.100.{len(kube.nodes)}"
                )
        store = ReservationStore(TABLE, dynamodb=dynamodb)
        counts = [1, 1, 2, 4, 8]
        with store.table.batch_writer() as batch:
            for i in range(requests):
                pool = POOLS[i % len(POOLS)][0]
                gpus = min(counts[i % len(counts)], 4 if pool == "t4" else 8)
                batch.put_item(
                    Item=Reservation(
                        reservation_id=f"00000000-0000-4000-8000-{i:012d}",
                        user_id=f"user{i % 2500:04d}",
                        github_user=f"gh{i % 2500}",
                        gpu_type=pool,
                        gpu_count=gpus,
                        duration_hours=float(1 + i % 8),
                        status=Status.QUEUED,
                        created_at=to_iso(START - timedelta(seconds=requests - i)),
                    ).to_item()
                )
        clock = Clock(START)
        # The Lambda stops writing forecasts after 25 s (the rest next pass); moto is several
        # times slower per call than DynamoDB, so the benchmark lifts the budget to count them all.
        processor.FORECAST_BUDGET = timedelta(seconds=forecast_budget)
        runtime = Runtime(store=store, kube=KubeGateway(kube.api_client()), policy=policy, clock=clock)
        passes = []
        for label in ("first pass", "second pass (+1 min, nothing changed)"):
            calls = _counting(store)
            kube_before = len(kube.requests)
            began = time.perf_counter()
            report = schedule(runtime)
            seconds = time.perf_counter() - began
            store.client.meta.events.unregister("before-call.dynamodb")
            assert report.lease, "the benchmark pass did not get the lease"
            assert "Scan" not in calls, f"a Scan was made: {dict(calls)}"
            passes.append(
                {
                    "pass": label,
                    "seconds": round(seconds, 2),
                    "dynamodb_calls": dict(sorted(calls.items())),
                    "dynamodb_total": sum(calls.values()),
                    "kubernetes_requests": len(kube.requests) - kube_before,
                    "started": len(report.started),
                    "forecasts_written": report.forecasts_written,
                    "refused": len(report.refused),
                }
            )
            clock.advance(minutes=1)
        summary = store.get_summary()["gpu_types"]
    return {
        "requests": requests,
        "gpus": sum(gpus * count for _, _, gpus, count in POOLS),
        "nodes": sum(count for *_, count in POOLS),
        "passes": passes,
        "summary": {
            name: {k: int(v) if k in ("total", "free", "queued") else v for k, v in info.items()}
            for name, info in summary.items()
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--forecast-budget", type=float, default=600.0, help="seconds (the Lambda: 25)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    result = run(args.requests, args.forecast_budget)
    if args.json:
        print(json.dumps(result, indent=2, default=int))
        return 0
    print(f"{result['requests']} queued requests over {result['gpus']} GPUs on {result['nodes']} nodes")
    for figures in result["passes"]:
        print(f"- {figures['pass']}: {figures['seconds']:.2f} s wall (moto + fake API)")
        print(
            f"  started {figures['started']}, forecasts written {figures['forecasts_written']}, "
            f"refused {figures['refused']}, Kubernetes requests {figures['kubernetes_requests']}"
        )
        calls = ", ".join(f"{op} {n}" for op, n in figures["dynamodb_calls"].items())
        print(f"  DynamoDB calls: {figures['dynamodb_total']} ({calls}); no Scan")
    for name, info in result["summary"].items():
        print(f"  {name}: {info}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
