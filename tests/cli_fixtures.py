"""A reservations stage in moto, for the CLI's tests and anyone else's (processor, expiry).

``FakeStage.create()`` makes what the stack deploys for one stage: the SSM parameter
``/gpu-platform/<stage>/reservations`` (policy, queue URL, table name, region), the table with
its three GSIs and the queue. Use it inside ``moto.mock_aws()``, or take the ``fake_stage``
fixture (fake credentials, no region variables, a config home with a GitHub user, a fixed clock
in ``gpu_dev.cli``). To use the fixtures, name this module in your test module::

    pytest_plugins = ["tests.cli_fixtures"]
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from reservations import messages
from reservations.model import Reservation, Status, to_iso
from reservations.policy import GpuType, Policy
from tests.reservation_fixtures import create_table

STAGE = "dev"
REGION = "us-east-2"
START = datetime(2025, 6, 2, 12, 0, 0, tzinfo=UTC)
MOTO_USERID = "AKIAIOSFODNN7EXAMPLE"  # moto's caller identity's UserId (its default IAM user "moto")


def owner_of(user_id: str) -> str:
    """The owner id (SenderId / ``${aws:userid}``) of a user's records: moto's default caller's
    own id for ``moto``, else a session of the developers' role named after the user."""
    return MOTO_USERID if user_id == "moto" else f"AROAEXAMPLEROLEID:{user_id}"


def test_policy(stage: str = STAGE, **overrides: Any) -> Policy:
    values: dict[str, Any] = {
        "stage": stage,
        "namespace": "gpu-dev",
        "gpu_types": (GpuType("t4", "T4", 4), GpuType("a100", "A100", 8)),
        "default_gpu_type": "t4",
        "allowed_gpu_counts": (1, 2, 4, 8),
        "max_hours": 24.0,
        "default_hours": 4.0,
        "max_gpus_per_user": 8,
        "max_open_per_user": 3,
    }
    values.update(overrides)
    return Policy(**values)


test_policy.__test__ = False  # type: ignore[attr-defined]  # not a test, despite its name


class FakeClock:
    """``now()`` for ``gpu_dev.cli.clock`` and ``sleep()`` for ``gpu_dev.cli.sleep``: sleeping
    advances the clock and runs ``on_sleep`` callbacks (e.g. a fake processor moving a record)."""

    def __init__(self, start: datetime = START):
        self.current = start
        self.slept: list[float] = []
        self.on_sleep: list[Callable[[FakeClock], None]] = []

    def now(self) -> datetime:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.current += timedelta(seconds=seconds)
        for callback in self.on_sleep:
            callback(self)

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@dataclass
class FakeStage:
    stage: str
    region: str
    policy: Policy
    table_name: str
    queue_url: str
    _received: list[messages.Message] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        stage: str = STAGE,
        region: str = REGION,
        policy: Policy | None = None,
        queue_url: str | None = None,
    ) -> FakeStage:
        """Call inside ``mock_aws()``. ``queue_url`` overrides the URL put in the parameter."""
        policy = policy or test_policy(stage)
        table_name = f"gpu-platform-{stage}-reservations"
        create_table(boto3.client("dynamodb", region_name=region), table_name)
        real_queue = boto3.client("sqs", region_name=region).create_queue(
            QueueName=f"gpu-platform-{stage}-reservations"
        )["QueueUrl"]
        parameter = {
            "policy": json.loads(policy.to_json()),
            "queue_url": queue_url or real_queue,
            "table_name": table_name,
            "region": region,
        }
        boto3.client("ssm", region_name=region).put_parameter(
            Name=f"/gpu-platform/{stage}/reservations", Type="String", Value=json.dumps(parameter)
        )
        return cls(stage=stage, region=region, policy=policy, table_name=table_name, queue_url=real_queue)

    @property
    def table(self):
        return boto3.resource("dynamodb", region_name=self.region).Table(self.table_name)

    def put(self, reservation_id: str, **values: Any) -> Reservation:
        """Write a reservation (defaults: user ``moto``, i.e. moto's caller, 1 x t4, 4 h, active)."""
        defaults: dict[str, Any] = {
            "user_id": "moto",
            "github_user": "octocat",
            "gpu_type": "t4",
            "gpu_count": 1,
            "duration_hours": 4.0,
            "status": Status.ACTIVE,
            "created_at": to_iso(START - timedelta(hours=1)),
        }
        defaults.update(values)
        defaults.setdefault("owner_id", owner_of(defaults["user_id"]))
        record = Reservation(reservation_id=reservation_id, **defaults)
        self.table.put_item(Item=record.to_item())
        return record

    def update(self, reservation_id: str, **values: Any) -> Reservation:
        item = self.table.get_item(Key={"reservation_id": reservation_id})["Item"]
        record = Reservation.from_item(item)
        for key, value in values.items():
            setattr(record, key, value)
        record.version += 1
        self.table.put_item(Item=record.to_item())
        return record

    def get(self, reservation_id: str) -> Reservation | None:
        item = self.table.get_item(Key={"reservation_id": reservation_id}).get("Item")
        return None if item is None else Reservation.from_item(item)

    def records(self) -> list[Reservation]:
        items = self.table.scan()["Items"]
        return [Reservation.from_item(i) for i in items if not i["reservation_id"].startswith("summary#")]

    def put_summary(self, updated_at: datetime, gpu_types: dict[str, dict]) -> None:
        self.table.put_item(
            Item={
                "reservation_id": "summary#capacity",
                "updated_at": to_iso(updated_at),
                "gpu_types": gpu_types,
            }
        )

    def messages(self) -> list[messages.Message]:
        """Every message sent so far, parsed with ``messages.parse`` (received once, kept here)."""
        sqs = boto3.client("sqs", region_name=self.region)
        while True:
            batch = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return list(self._received)
            self._received.extend(messages.parse(m["Body"]) for m in batch)


@pytest.fixture
def aws_credentials(monkeypatch, tmp_path):
    """Fake credentials, no region variables, no ~/.aws files, and a config home in tmp_path."""
    for name in (
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


@pytest.fixture
def fake_clock(monkeypatch) -> FakeClock:
    from gpu_dev import cli

    clock = FakeClock()
    monkeypatch.setattr(cli, "clock", clock.now)
    monkeypatch.setattr(cli, "sleep", clock.sleep)
    return clock


@pytest.fixture
def fake_stage(aws_credentials, fake_clock, tmp_path, monkeypatch):
    """Stage ``dev`` in moto (region us-east-2), selected through the user's config file, with
    ``github_user`` set; the caller is moto's default identity, user ``moto``."""
    config_dir = tmp_path / "xdg" / "gpu-dev"
    config_dir.mkdir(parents=True)
    (config_dir / "config.json").write_text(json.dumps({"github_user": "octocat", "stage": STAGE}))
    with mock_aws():
        yield FakeStage.create()
