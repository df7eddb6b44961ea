"""End to end: the ``gpu-dev`` CLI as a developer runs it, against the processor and expiry code
the Lambdas run, over one moto stage (the SSM parameter the stack publishes, the table with its
indexes, the queue) and the fake Kubernetes API driven by the real ``kubernetes`` client.

While the CLI waits, each of its sleeps is one tick of the platform: the queue is drained into
a processor invocation (as the SQS trigger would), the 1-minute schedule runs when a minute has
passed, and pods the processor created become ready, as the kubelet would make them.
"""

from __future__ import annotations

import json
from datetime import timedelta

import boto3
import pytest

from gpu_dev import cli
from reservations import expiry, processor
from reservations.dev_pod import WARNING_ANNOTATION
from reservations.model import Status, from_iso
from reservations.policy import parameter_name
from tests.reservation_fixtures import NAMESPACE, REGION, SCHEDULED_EVENT, TABLE, World

STAGE_ARGS = ["--stage", "test", "--region", REGION]


class Platform:
    """The stage's Lambdas, driven by the CLI's clock."""

    def __init__(self, world: World):
        self.world = world
        self.last_schedule = world.clock.now

    def tick(self, seconds: float = 0) -> None:
        world = self.world
        world.clock.advance(seconds=seconds)
        event = world.drain()
        if event["Records"]:
            assert processor.handle(event, world.runtime) == {"batchItemFailures": []}
        if world.clock.now - self.last_schedule >= timedelta(minutes=1):
            self.last_schedule = world.clock.now
            processor.handle(SCHEDULED_EVENT, world.runtime)
        for pod in world.kube.pods(NAMESPACE):
            world.kube.set_pod_ready(NAMESPACE, pod["metadata"]["name"])


@pytest.fixture
def platform(monkeypatch, tmp_path):
    with World() as world:
        boto3.client("ssm", region_name=REGION).put_parameter(
            Name=parameter_name(world.policy.stage),
            Type="String",
            Value=json.dumps(
                {
                    "policy": json.loads(world.policy.to_json()),
                    "queue_url": world.queue_url,
                    "table_name": TABLE,
                    "region": REGION,
                }
            ),
        )
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
        driver = Platform(world)
        monkeypatch.setattr(cli, "clock", world.clock)
        monkeypatch.setattr(cli, "sleep", driver.tick)
        yield driver


def gpu_dev(capsys, *argv: str) -> tuple[int, str]:
    code = cli.main([*STAGE_ARGS, *argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def only_reservation(world: World):
    (record,) = world.store.by_user("moto")  # moto's caller identity is the IAM user "moto"
    return record


def test_reserve_wait_connect_extend_cancel(platform, capsys):
    world = platform.world
    assert gpu_dev(capsys, "config", "set", "github_user", "octocat")[0] == 0

    code, output = gpu_dev(capsys, "reserve", "--gpus", "2", "--hours", "2", "--gpu-type", "t4")
    assert code == 0, output
    record = only_reservation(world)
    assert record.status is Status.ACTIVE
    assert record.ssh_command in output and record.ssh_command.startswith("ssh -p ")
    assert "preparing" in output  # the live state went through the GPUs being allocated
    (pod,) = world.kube.pods(NAMESPACE)
    (container,) = [c for c in pod["spec"]["containers"] if c["name"] == "dev"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] in (2, "2")
    assert pod["spec"]["affinity"]["nodeAffinity"]  # pinned to the node the plan chose
    launched = from_iso(record.launched_at)
    assert from_iso(record.expires_at) == launched + timedelta(hours=2)

    code, output = gpu_dev(capsys, "connect", record.reservation_id[:8], "--print")
    assert (code, output.strip()) == (0, record.ssh_command)

    assert gpu_dev(capsys, "edit", record.reservation_id[:8], "--extend", "1")[0] == 0
    platform.tick()
    assert from_iso(world.record(record.reservation_id).expires_at) == launched + timedelta(hours=3)

    assert gpu_dev(capsys, "cancel", record.reservation_id[:8])[0] == 0
    platform.tick()
    code, output = gpu_dev(capsys, "show", record.reservation_id, "--json")
    shown = json.loads(output)
    assert (code, shown["status"]) == (0, "cancelled")
    assert shown["reservation_ended"] and shown["cancelled_at"]
    assert world.kube.pods(NAMESPACE) == []  # pod and service removed, the GPUs are free again
    assert [ns for ns, _ in world.kube.objects["services"]] == []


def test_expiry_warns_at_30_15_and_5_minutes_once_each_then_ends_after_the_grace(platform, capsys):
    world = platform.world
    assert gpu_dev(capsys, "config", "set", "github_user", "octocat")[0] == 0
    assert gpu_dev(capsys, "reserve", "--gpus", "1", "--hours", "1", "--no-wait")[0] == 0
    for _ in range(3):
        platform.tick(seconds=60)
    record = only_reservation(world)
    assert record.status is Status.ACTIVE
    expires = from_iso(record.expires_at)
    pod_name = record.pod_name

    def expiry_pass_at(minutes_before_expiry: float) -> list[int]:
        world.clock.now = expires - timedelta(minutes=minutes_before_expiry)
        expiry.handle(SCHEDULED_EVENT, world.runtime)
        return world.record(record.reservation_id).warnings_sent

    assert expiry_pass_at(40) == []
    assert expiry_pass_at(29) == [30]
    warning = world.kube.pod(NAMESPACE, pod_name)["metadata"]["annotations"][WARNING_ANNOTATION]
    # The shell shows it; the command it suggests is one the CLI really has.
    short = record.reservation_id[:8]
    assert f"gpu-dev edit {short} --extend" in warning
    assert gpu_dev(capsys, "edit", short, "--extend", "0.5")[0] == 0
    platform.tick()
    expires += timedelta(minutes=30)
    # Extended by 30 minutes: the 30-minute warning comes again, once, for the new end.
    assert expiry_pass_at(29) == [30]
    assert expiry_pass_at(14) == [15, 30]
    assert expiry_pass_at(14) == [15, 30]  # a second pass at the same time sends nothing again
    assert expiry_pass_at(4) == [5, 15, 30]
    assert expiry_pass_at(-2) == [5, 15, 30]  # within the grace period it still runs
    assert world.record(record.reservation_id).status is Status.ACTIVE

    expiry_pass_at(-(world.policy.grace_minutes + 1))
    code, output = gpu_dev(capsys, "show", record.reservation_id, "--json")
    shown = json.loads(output)
    assert (code, shown["status"], shown["warnings_sent"]) == (0, "expired", [5, 15, 30])
    assert shown["reservation_ended"]
    assert world.kube.pod(NAMESPACE, pod_name) is None
