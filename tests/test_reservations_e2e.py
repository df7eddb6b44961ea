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
from botocore.exceptions import ClientError

from gpu_dev import cli, client
from reservations import expiry, processor
from reservations.dev_pod import WARNING_ANNOTATION
from reservations.model import INDEXES, Status, from_iso
from reservations.policy import parameter_name
from tests.cli_fixtures import MOTO_USERID
from tests.iam_policy import allowed, dynamodb_request
from tests.manifests import render
from tests.reservation_fixtures import NAMESPACE, REGION, SCHEDULED_EVENT, TABLE, World

STAGE_ARGS = ["--stage", "test", "--region", REGION]


class Platform:
    """The stage's Lambdas, driven by the CLI's clock."""

    def __init__(self, world: World):
        self.world = world
        self.last_schedule = world.clock.now
        # reservation id -> SenderId of its messages; default: moto's own caller (an IAM user)
        self.senders: dict[str, str] = {}

    def tick(self, seconds: float = 0) -> None:
        world = self.world
        world.clock.advance(seconds=seconds)
        event = world.drain()
        for record in event["Records"]:  # as SQS stamps the CLI's messages
            rid = json.loads(record["body"])["reservation_id"]
            record["attributes"]["SenderId"] = self.senders.get(rid, MOTO_USERID)
        if event["Records"]:
            assert processor.handle(event, world.runtime) == {"batchItemFailures": []}
        if world.clock.now - self.last_schedule >= timedelta(minutes=1):
            self.last_schedule = world.clock.now
            processor.handle(SCHEDULED_EVENT, world.runtime)
        for pod in world.kube.pods(NAMESPACE):
            world.kube.set_pod_ready(NAMESPACE, pod["metadata"]["name"])


@pytest.fixture
def platform(monkeypatch, tmp_path):
    yield from serve(World(), monkeypatch, tmp_path)


def serve(stage: World, monkeypatch, tmp_path):
    """The stage published (its SSM parameter) and the CLI driven by its clock: a fixture body."""
    with stage as world:
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


# -- private records: the CLI under the synthesized developers' policy ----------------------------

TABLE_ARN = f"arn:aws:dynamodb:{REGION}:123456789012:table/{TABLE}"
KEYS = {"": "reservation_id", **{name: pair[0] for name, pair in INDEXES.items()}}


class Developers:
    """Role sessions of one developers' role in moto, each a boto3 session whose DynamoDB calls
    pass through IAM's evaluation of the stage's synthesized users policy (moto enforces no IAM),
    and whose messages SQS stamps with the session's user id."""

    def __init__(self, statements: list[dict], platform: Platform):
        self.statements = statements
        self.platform = platform
        iam = boto3.client("iam", region_name=REGION)
        self.role = iam.create_role(RoleName="developers", AssumeRolePolicyDocument="{}")["Role"]
        self.current = ""

    def session(self, name: str) -> boto3.session.Session:
        credentials = boto3.client("sts", region_name=REGION).assume_role(
            RoleArn=self.role["Arn"], RoleSessionName=name
        )["Credentials"]
        session = boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=REGION,
        )
        userid = session.client("sts").get_caller_identity()["UserId"]
        assert userid == f"{self.role['RoleId']}:{name}"  # ${aws:userid} of a role session

        def gate(model, params, **_):
            request = dynamodb_request(model.name, json.loads(params["body"]), TABLE_ARN, KEYS)
            variables = {"aws:userid": userid}
            if not allowed(self.statements, request, variables, lambda r: render(r, lambda _: TABLE_ARN)):
                raise ClientError(
                    {"Error": {"Code": "AccessDeniedException", "Message": f"{userid} may not {request}"}},
                    model.name,
                )

        def stamp(params, **_):  # SQS stamps SenderId; the CLI cannot choose it
            body = json.loads(params["MessageBody"])
            self.platform.senders[body["reservation_id"]] = userid

        session.events.register("before-call.dynamodb", gate)
        session.events.register("provide-client-params.sqs.SendMessage", stamp)
        return session

    def use(self, monkeypatch, name: str) -> boto3.session.Session:
        """From now on the CLI runs as ``name``; returns that developer's session."""
        session = self.session(name)
        monkeypatch.setattr(
            cli, "Platform", lambda stage, region: client.Platform(stage, region, lambda **_: session)
        )
        return session


def test_a_developer_reads_only_their_own_reservations(platform, capsys, monkeypatch, synth):
    world = platform.world
    users = synth.resources("dev", "Reservations", "AWS::IAM::ManagedPolicy")
    (policy,) = users.values()
    developers = Developers(policy["Properties"]["PolicyDocument"]["Statement"], platform)
    assert gpu_dev(capsys, "config", "set", "github_user", "octocat")[0] == 0

    developers.use(monkeypatch, "bob")
    code, output = gpu_dev(capsys, "reserve", "--gpus", "1", "--hours", "2")
    assert code == 0, output
    (bobs,) = world.store.by_user("bob")
    assert bobs.status is Status.ACTIVE and bobs.owner_id == f"{developers.role['RoleId']}:bob"

    alice = developers.use(monkeypatch, "alice")
    code, output = gpu_dev(capsys, "reserve", "--gpus", "2", "--hours", "2")
    assert code == 0, output
    (alices,) = world.store.by_user("alice")
    assert alices.status is Status.ACTIVE and alices.ssh_command in output

    code, output = gpu_dev(capsys, "list", "--json")
    assert code == 0 and [r["reservation_id"] for r in json.loads(output)] == [alices.reservation_id]
    for argv in (["show", bobs.reservation_id], ["connect", bobs.reservation_id, "--print"]):
        code, output = gpu_dev(capsys, *argv)
        assert code == 2 and "you (alice) have no reservation" in output
        assert bobs.node_ip not in output
    code, output = gpu_dev(capsys, "avail", "--json")  # aggregate data: allowed
    assert code == 0 and json.loads(output)["gpu_types"]["t4"]["total"] == 8
    code, output = gpu_dev(capsys, "status", "--json")
    assert code == 0 and json.loads(output)["queues"]["t4"]["holding"] == 2

    # Alice's own credentials, used by hand, cannot read Bob's record either.
    table = alice.resource("dynamodb").Table(TABLE)
    denied = [
        lambda: table.get_item(Key={"reservation_id": bobs.reservation_id}),
        lambda: table.query(
            IndexName="OwnerIndex",
            KeyConditionExpression="owner_id = :o",
            ExpressionAttributeValues={":o": bobs.owner_id},
        ),
        lambda: table.query(
            IndexName="UserIndex",
            KeyConditionExpression="user_id = :u",
            ExpressionAttributeValues={":u": "bob"},
        ),
        lambda: table.scan(),
    ]
    for attempt in denied:
        with pytest.raises(ClientError, match="AccessDenied"):
            attempt()
