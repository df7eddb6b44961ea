"""Reservation processor benchmark: scheduling passes with 5,000 queued requests over 512 GPUs
of mixed types (16 T4 nodes x 4, 24 A100 nodes x 8, 32 H100 nodes x 8), against moto's
DynamoDB and the in-process fake Kubernetes API (tests/fake_kube.py) with the real client.

Three passes: the first (the queue planned from scratch), a quiet one a minute later (nothing
changed), and one in which the head of every queue starts (every reservation on one node of
each type ended a minute before). For each: the wall time, the DynamoDB calls by operation
(counted with a botocore ``before-call`` hook), the writes, and the write request units
DynamoDB would bill (:class:`WriteUnits`). The hour of a steady queue of 5,000 is taken as 60
passes in each of which a head starts (the busiest steady state: reservations end and requests
arrive every minute), so its write units are 60 times the head-start pass's. Asserts that no
Scan was made. moto is far slower per call than DynamoDB, so the wall time is an upper bound
dominated by the mock; the call counts and write units are the figures that carry over.

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
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

POOLS = (("t4", "T4", 4, 16), ("a100", "A100", 8, 24), ("h100", "H100", 8, 32))  # name, model, gpus, nodes
START = datetime(2025, 1, 12, 10, 0, tzinfo=UTC)


WRITES = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")


def _counting(store) -> Counter:
    calls: Counter = Counter()
    store.client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.update([model.name]))
    return calls


class WriteUnits:
    """The write request units DynamoDB bills for a client's writes (on-demand), by its rules:
    each item written costs its size rounded up to 1 KB (the larger of before and after), once
    for the table and once for every global secondary index the item is in (all our indexes
    project every attribute); a transactional write costs twice. Sizes are moto's own measure
    of the stored item (attribute names plus values)."""

    def __init__(self, client, table: str, index_keys: list[str], region: str) -> None:
        import threading

        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        self.table = dynamodb_backends[DEFAULT_ACCOUNT_ID][region].get_table(table)
        self.index_keys = index_keys
        self.units = 0
        self._local = threading.local()
        self._lock = threading.Lock()
        self._client = client
        client.meta.events.register("before-call.dynamodb", self._before)
        client.meta.events.register("after-call.dynamodb", self._after)

    def stop(self) -> None:
        self._client.meta.events.unregister("before-call.dynamodb", self._before)
        self._client.meta.events.unregister("after-call.dynamodb", self._after)

    def _item(self, key: str):
        from moto.dynamodb.models.dynamo_type import DynamoType

        return self.table.get_item(DynamoType({"S": key}))

    @staticmethod
    def _keys(operation: str, body: dict) -> list[tuple[str, int]]:
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            item = body.get("Key") or body["Item"]
            return [(item["reservation_id"]["S"], 1)]
        if operation == "TransactWriteItems":
            keys = []
            for entry in body["TransactItems"]:
                for kind in ("Put", "Update", "Delete"):
                    if kind in entry:
                        item = entry[kind].get("Key") or entry[kind].get("Item")
                        keys.append((item["reservation_id"]["S"], 2))
            return keys
        if operation == "BatchWriteItem":
            keys = []
            for requests in body["RequestItems"].values():
                for request in requests:
                    item = (request.get("PutRequest") or {}).get("Item") or request["DeleteRequest"]["Key"]
                    keys.append((item["reservation_id"]["S"], 1))
            return keys
        return []

    def _before(self, model, params, **_) -> None:
        if model.name not in WRITES:
            self._local.pending = []
            return
        keys = self._keys(model.name, json.loads(params["body"]))
        self._local.pending = [(key, factor, self._item(key)) for key, factor in keys]

    def _after(self, **_) -> None:
        units = 0
        for key, factor, before in getattr(self._local, "pending", []):
            after = self._item(key)
            size = max((item.size() for item in (before, after) if item is not None), default=0)
            kb = max(1, -(-size // 1024))
            names = set(before.attrs if before else ()) | set(after.attrs if after else ())
            units += factor * kb + kb * sum(1 for name in self.index_keys if name in names)
        self._local.pending = []
        with self._lock:
            self.units += units


def run(requests: int) -> dict:
    import boto3
    from moto import mock_aws

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
        # Records name their sender where the model has one (OwnerIndex: one more index write).
        owned = "owner_id" in Reservation.__dataclass_fields__
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
                        owner_id=f"AROAEXAMPLEROLEID:user{i % 2500:04d}" if owned else None,
                    ).to_item()
                )
        clock = Clock(START)
        # The lease's term in the benchmark's virtual time: a pass over moto takes minutes of
        # wall time, which in DynamoDB would be seconds, and must not outlive its own lease.
        store.clock = lambda: clock.now.timestamp()
        runtime = Runtime(store=store, kube=KubeGateway(kube.api_client()), policy=policy, clock=clock)
        index_keys = [
            index["KeySchema"][0]["AttributeName"] for index in store.table.global_secondary_indexes
        ]
        passes: list[dict[str, Any]] = []
        labels = ("first pass", "quiet pass (+1 min, nothing changed)", "the head of every queue starts")
        for label in labels:
            if label == labels[-1]:
                _end_one_node_per_type(runtime, [name for name, *_ in POOLS])
                clock.advance(minutes=1)
            calls = _counting(store)
            units = WriteUnits(store.client, TABLE, index_keys, REGION)
            kube_before = len(kube.requests)
            began = time.perf_counter()
            report = schedule(runtime)
            seconds = time.perf_counter() - began
            store.client.meta.events.unregister("before-call.dynamodb")
            units.stop()
            assert report.lease, "the benchmark pass did not get the lease"
            assert "Scan" not in calls, f"a Scan was made: {dict(calls)}"
            passes.append(
                {
                    "pass": label,
                    "seconds": round(seconds, 2),
                    "dynamodb_calls": dict(sorted(calls.items())),
                    "dynamodb_total": sum(calls.values()),
                    "writes": sum(n for op, n in calls.items() if op in WRITES),
                    "write_units": units.units,
                    "kubernetes_requests": len(kube.requests) - kube_before,
                    "started": len(report.started),
                    "forecasts_written": report.forecasts_written,
                    "refused": len(report.refused),
                }
            )
            clock.advance(minutes=1)
        written = store.get_summary()
        assert written is not None, "the passes wrote no capacity summary"
        summary = written["gpu_types"]
    return {
        "requests": requests,
        "steady_write_units_per_hour": 60 * passes[-1]["write_units"],
        "gpus": sum(gpus * count for _, _, gpus, count in POOLS),
        "nodes": sum(count for *_, count in POOLS),
        "passes": passes,
        "summary": {
            name: {k: int(v) if k in ("total", "free", "queued") else v for k, v in info.items()}
            for name, info in summary.items()
        },
    }


def _end_one_node_per_type(runtime, gpu_types: list[str]) -> None:
    """End (cancel) every reservation holding GPUs on one node of each type, so the next pass
    frees the node and starts the head of each queue."""
    from reservations import processor
    from reservations.model import Status

    for ledger in runtime.store.ledgers(gpu_types).values():
        node = min(hold.node for hold in ledger.holds.values())
        for rid, hold in ledger.holds.items():
            if hold.node == node:
                record = runtime.store.get(rid)
                processor.end(runtime, record, Status.CANCELLED, cancelled=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    result = run(args.requests)
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
        print(f"  writes {figures['writes']}, write request units {figures['write_units']:,}")
    print(
        f"steady queue of {result['requests']}, a head starting every minute: "
        f"{result['steady_write_units_per_hour']:,} write request units per hour"
    )
    for name, info in result["summary"].items():
        print(f"  {name}: {info}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
