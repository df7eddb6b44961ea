"""Shared setup for the reservation tests: moto (DynamoDB table with the stack's GSIs, SQS
queue, STS) with fake credentials, the in-process fake Kubernetes API with GPU nodes, a test
policy and a settable clock, wired into a :class:`reservations.processor.Runtime`.

Use it from a test module with a small fixture::

    @pytest.fixture
    def world():
        with World() as w:
            yield w

Concurrency: moto handles each call without the atomicity of the real service, so ``World``
serialises individual AWS API calls (one lock around ``_make_api_call``) -- exactly the
guarantee DynamoDB gives for one conditional write -- while threads still interleave between
calls as they would against the real service.

Real semantics moto lacks (``tests/aws_semantics.py``): :meth:`World.lag_index` makes index
Queries lag behind writes; :meth:`World.invoke` runs the processor as one Lambda invocation
with a deadline (virtual time, or real time for the brown-out tests) that kills it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import boto3
from botocore.client import BaseClient
from moto import mock_aws

from reservations import forecast, messages, processor
from reservations.kube import TRIES, KubeGateway, KubeUnavailable
from reservations.model import INDEXES, Reservation, Status, to_iso
from reservations.policy import GpuType, Policy
from reservations.processor import Runtime
from reservations.store import ReservationStore
from tests.aws_semantics import IndexLag, Invocation, Killed
from tests.fake_kube import FakeKube
from tests.moto_direct import BackendReader

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-west-2"
TABLE = "gpu-dev-reservations"
NAMESPACE = "gpu-dev"
CLUSTER = "gpu-platform-test"
IMAGE = "ghcr.io/example/gpu-dev:2.8.0-cuda12.9"

POLICY = Policy(
    stage="test",
    namespace=NAMESPACE,
    gpu_types=(GpuType("t4", "T4", 4), GpuType("a100", "A100", 8)),
    default_gpu_type="t4",
    dev_image=IMAGE,
    home_storage_class="efs-home",
    home_storage_gib=50,
    workspace_claim="workspace",
)

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


def create_table(dynamodb, name: str = TABLE) -> None:
    """The table with the stack's key and indexes (``reservations_table.INDEXES``)."""
    keys = sorted({"reservation_id", *(key for pair in INDEXES.values() for key in pair)})
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "reservation_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"} for key in keys],
        GlobalSecondaryIndexes=[
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": partition, "KeyType": "HASH"},
                    {"AttributeName": sort, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index, (partition, sort) in INDEXES.items()
        ],
    )


class Clock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now


_AWS_LOCK = threading.RLock()
AWS_CALL_SECONDS = 0.01  # virtual time one DynamoDB/SQS call costs inside an invocation
KUBE_CALL_SECONDS = 0.02  # ... and one answered Kubernetes call


class RealClock:
    """Wall time, for invocations whose deadline is real (the brown-out tests)."""

    @property
    def now(self) -> datetime:
        return datetime.now(UTC)

    def advance(self, **_: float) -> None:
        return None


def load_handler(name: str):
    """Import ``lambda/<name>/handler.py`` (``lambda`` is not an importable package name)."""
    path = ROOT / "lambda" / name / "handler.py"
    spec = importlib.util.spec_from_file_location(f"{name}_handler", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class World:
    """moto + fake Kubernetes + runtime. ``nodes``: (name, pool, gpus) added to the fake."""

    def __init__(
        self,
        *,
        policy: Policy = POLICY,
        nodes: tuple[tuple[str, str, int], ...] = (
            ("t4-a", "t4", 4),
            ("t4-b", "t4", 4),
            ("a100-a", "a100", 8),
        ),
        timeout: tuple[float, float] = (1.0, 2.0),
        start: datetime = datetime(2025, 1, 12, 10, 0, tzinfo=UTC),
    ):
        self.policy = policy
        self.node_specs = nodes
        self.timeout = timeout
        self.clock = Clock(start)
        self._sequence = 0
        self.invocation: Invocation | None = None
        self.index_lag: IndexLag | None = None
        self.kube_down_until: datetime | None = None  # an outage: every call hangs until then

    def __enter__(self) -> World:
        self._stack = ExitStack()
        self._stack.enter_context(mock.patch.dict(os.environ, FAKE_CREDENTIALS))
        self._stack.enter_context(mock_aws())
        self._stack.enter_context(
            mock.patch.object(BaseClient, "_make_api_call", self._serialised(BaseClient._make_api_call))
        )
        self._stack.enter_context(mock.patch.object(KubeGateway, "_send", self._charged(KubeGateway._send)))
        self.dynamodb = boto3.resource("dynamodb", region_name=REGION)
        create_table(self.dynamodb)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.queue_url = self.sqs.create_queue(QueueName="gpu-reservation-queue")["QueueUrl"]
        self.kube = self._stack.enter_context(FakeKube(namespaces={NAMESPACE}))
        for index, (name, pool, gpus) in enumerate(self.node_specs):
            self.kube.add_node(name, pool=pool, gpus=gpus, external_ip=f"203.0.113.{10 + index}")
        self.store = ReservationStore(TABLE, dynamodb=self.dynamodb)
        self.runtime = Runtime(
            store=self.store,
            kube=KubeGateway(self.kube.api_client(), timeout=self.timeout),
            policy=self.policy,
            clock=self.clock,
        )
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    # -- real semantics ---------------------------------------------------------------------

    def _serialised(self, original):
        world = self

        def call(client, operation_name, api_params):
            if world.invocation is not None:
                world.invocation.charge(AWS_CALL_SECONDS)
            with _AWS_LOCK:
                return original(client, operation_name, api_params)

        return call

    def _charged(self, original):
        world = self

        def send(gateway, what, *args, **kwargs):
            if world.kube_down_until is not None and world.clock.now < world.kube_down_until:
                if world.invocation is not None:  # both tries wait their full timeout
                    world.invocation.charge(TRIES * sum(gateway._timeout(what)))
                raise KubeUnavailable(f"{what}: timed out (the API hangs)")
            if world.invocation is not None:
                world.invocation.charge(KUBE_CALL_SECONDS)
            return original(gateway, what, *args, **kwargs)

        return send

    def lag_index(
        self,
        *,
        writes: int = 0,
        seconds: float = 0.0,
        lag_of: Callable[[str, dict | None, dict | None], tuple[int, float]] | None = None,
    ) -> IndexLag:
        """From now on, index Queries of the processor's store see each write only after
        ``writes`` later writes and ``seconds`` of the clock (or ``lag_of(key, before, after)``
        per write)."""
        if self.index_lag is None:
            raw = BackendReader(boto3.client("dynamodb", region_name=REGION), REGION)
            indexes = {"StatusIndex": ("status", "created_at"), "UserIndex": ("user_id", "created_at")}
            self.index_lag = IndexLag(self.store.client, raw, TABLE, self.clock, indexes).install()
        self.index_lag.writes, self.index_lag.seconds, self.index_lag.lag_of = writes, seconds, lag_of
        return self.index_lag

    def invoke(
        self,
        event: dict,
        *,
        timeout: float = 60.0,
        kill_at_call: int | None = None,
        real_time: bool = False,
        reserve: float | None = None,
    ) -> dict | None:
        """The processor as one Lambda invocation of ``timeout`` seconds: its answer, or None
        if it was killed (SQS then redelivers the whole batch)."""
        clock = RealClock() if real_time else self.clock
        self.invocation = Invocation(clock, timedelta(seconds=timeout), kill_at_call)
        runtime = self.runtime if reserve is None else replace(self.runtime, reserve_seconds=reserve)
        try:
            return processor.handle(event, runtime, self.invocation.context)
        except Killed:
            return None
        finally:
            self.invocation = None

    # -- the CLI's side ---------------------------------------------------------------------

    def reserve(
        self,
        *,
        user: str = "alice",
        gpu_type: str = "t4",
        gpus: int = 1,
        hours: float = 2.0,
        github_user: str = "alice-gh",
        created_at: datetime | None = None,
    ) -> str:
        """What ``gpu-dev reserve`` does: send the message (the CLI writes no record; the
        processor creates it)."""
        reservation_id = str(uuid.uuid4())
        # Arrival order = call order: the CLI's clock stamps each request a little later.
        self._sequence += 1
        created = to_iso(created_at or self.clock.now + timedelta(milliseconds=self._sequence))
        self.send(
            messages.Reserve(
                type="reservation",
                reservation_id=reservation_id,
                user_id=user,
                github_user=github_user,
                gpu_type=gpu_type,
                gpu_count=gpus,
                duration_hours=hours,
                created_at=created,
            )
        )
        return reservation_id

    def cancel(self, reservation_id: str, user: str = "alice") -> None:
        self.send(messages.Cancel(type="cancellation", reservation_id=reservation_id, user_id=user))

    def extend(self, reservation_id: str, hours: float, user: str = "alice") -> None:
        self.send(
            messages.Extend(type="extension", reservation_id=reservation_id, user_id=user, extend_hours=hours)
        )

    def send(self, message: messages.Message | str) -> None:
        body = message if isinstance(message, str) else messages.encode(message)
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)

    # -- the Lambda's side ------------------------------------------------------------------

    def receive_event(self, max_messages: int = 10) -> dict:
        """An SQS event as Lambda delivers it, from what the queue holds (visibility 0, so a
        test can deliver the same message again)."""
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=max_messages, VisibilityTimeout=0
        )
        return sqs_event(response.get("Messages", []))

    def drain(self) -> dict:
        """Every queued message as one event, deleted from the queue."""
        collected: list[dict] = []
        while True:
            response = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            batch = response.get("Messages", [])
            if not batch:
                return sqs_event(collected)
            for message in batch:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            collected.extend(batch)

    def record(self, reservation_id: str) -> Reservation:
        found = self.store.get(reservation_id)
        assert found is not None, reservation_id
        return found

    def place(self, reservation_id: str) -> forecast.Place | None:
        """A queued request's position and ETA, as the CLI reads them (its type's forecast item)."""
        record = self.record(reservation_id)
        item = self.store.table.get_item(Key={"reservation_id": forecast.key(record.gpu_type)}).get("Item")
        return forecast.decode(item).get(reservation_id)

    def pod_name(self, reservation_id: str) -> str:
        return f"gpu-dev-{reservation_id}"

    def make_ready(self, reservation_id: str) -> None:
        self.kube.set_pod_ready(NAMESPACE, self.pod_name(reservation_id))

    def records(self) -> list[Reservation]:
        """Every record, read consistently (a test's view, not the processor's)."""
        from boto3.dynamodb.types import TypeDeserializer

        plain = TypeDeserializer().deserialize
        raw = boto3.client("dynamodb", region_name=REGION)
        found = []
        for page in raw.get_paginator("scan").paginate(TableName=TABLE, ConsistentRead=True):
            found += [{k: plain(v) for k, v in item.items()} for item in page["Items"] if "status" in item]
        return [Reservation.from_item(item) for item in found]

    def gpus_by_node_from_records(self) -> dict[str, int]:
        held: dict[str, int] = {}
        for record in self.records():
            if record.status in (Status.PREPARING, Status.ACTIVE):
                assert record.node_name, record  # a holder is always on a node
                held[record.node_name] = held.get(record.node_name, 0) + record.gpu_count
        return held

    def gpus_by_node_from_pods(self) -> dict[str, int]:
        held: dict[str, int] = {}
        for pod in self.kube.pods(NAMESPACE):
            requests = pod["spec"]["containers"][0]["resources"]["requests"]
            node = pod["spec"]["nodeName"]
            held[node] = held.get(node, 0) + int(requests["nvidia.com/gpu"])
        return held

    def allocatable(self) -> dict[str, int]:
        return {name: gpus for name, _, gpus in self.node_specs}


ROLE_ID = "AROAEXAMPLEROLEID"  # the developers' role, as its sessions' SenderId starts


def sender_id(body: str) -> str:
    """The ``SenderId`` SQS stamps on a message sent from the developers' role in a session
    named after the user the message names (moto's is one fixed id); ``""`` if it names none."""
    try:
        return f"{ROLE_ID}:{json.loads(body)['user_id']}"
    except (ValueError, KeyError, TypeError):
        return ""


def sqs_event(received: list[dict]) -> dict:
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {"ApproximateReceiveCount": "1", "SenderId": sender_id(message["Body"])},
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:gpu-reservation-queue",
                "awsRegion": REGION,
            }
            for message in received
        ]
    }


SCHEDULED_EVENT = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2025-01-12T10:00:00Z",
    "region": REGION,
    "resources": [f"arn:aws:events:{REGION}:123456789012:rule/gpu-dev-every-minute"],
    "detail": {},
}
