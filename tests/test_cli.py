"""The gpu-dev CLI against a moto stage (SSM parameter, table with GSIs, queue, STS)."""

from __future__ import annotations

import io
import json
import os
import re
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from gpu_dev import cli
from gpu_dev.client import user_from_arn
from gpu_dev.config import Config, config_path, resolve_region
from gpu_dev.errors import CliError
from reservations import forecast, messages
from reservations.model import Status, to_iso

pytest.register_assert_rewrite("tests.cli_fixtures")  # before the import: it is also a plugin below

from tests.cli_fixtures import REGION, START, FakeStage, test_policy  # noqa: E402

pytest_plugins = ["tests.cli_fixtures"]  # fixtures: aws_credentials, fake_clock, fake_stage

ROOT = Path(__file__).resolve().parent.parent
ID_A = "aaaaaaaa-1111-4111-8111-111111111111"
ID_B = "bbbbbbbb-2222-4222-8222-222222222222"
ID_AMBIG_1 = "abcdef12-0000-4000-8000-000000000001"
ID_AMBIG_2 = "abcdef12-9999-4000-8000-000000000002"
ID_BOB = "b0b0b0b0-3333-4333-8333-333333333333"
COMMANDS = ("reserve", "list", "show", "cancel", "connect", "avail", "status", "edit", "config")


@pytest.fixture
def run(capsys):
    def run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def iso(**delta: float) -> str:
    return to_iso(START + timedelta(**delta))


# --- help ---------------------------------------------------------------------------------------


def test_help_lists_every_command(run):
    code, out, _ = run("--help")
    assert code == 0
    for command in COMMANDS:
        assert f"    {command} " in out


def test_python_dash_m_runs_the_cli():
    result = subprocess.run(
        [sys.executable, "-m", "gpu_dev", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "reserve" in result.stdout and "avail" in result.stdout


def test_no_command_prints_usage_and_exits_2(run):
    code, _, err = run()
    assert code == 2
    assert "usage: gpu-dev" in err


# --- reserve ------------------------------------------------------------------------------------


def test_reserve_sends_exactly_one_message_and_writes_nothing(fake_stage, run):
    code, out, err = run("reserve", "--gpus", "2", "--hours", "3", "--gpu-type", "a100", "--no-wait")
    assert code == 0, err
    assert fake_stage.records() == []  # the processor creates the record; developers only read
    assert fake_stage.table.scan()["Items"] == []
    [message] = fake_stage.messages()
    assert message == messages.Reserve(
        type="reservation",
        reservation_id=message.reservation_id,
        user_id="moto",
        github_user="octocat",
        gpu_type="a100",
        gpu_count=2,
        duration_hours=3.0,
        created_at=to_iso(START),
    )
    assert re.match(messages.UUID_PATTERN, message.reservation_id)
    assert message.reservation_id[:8] in out and message.reservation_id in out
    assert f"gpu-dev show {message.reservation_id}" in out


def test_reserve_defaults_come_from_the_stage_policy(fake_stage, run):
    code, _, err = run("reserve", "--no-wait")
    assert code == 0, err
    [message] = fake_stage.messages()
    assert (message.gpu_type, message.gpu_count, message.duration_hours) == ("t4", 1, 4.0)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--gpus", "3"], ["--gpus 3 is not possible for t4", "choose one of 1, 2, 4", "the largest is 4"]),
        (["--gpus", "8"], ["8 GPUs spans 2 t4 nodes (4 GPUs each)", "pool t4 has no EFA", "at most 4"]),
        (["--gpus", "16", "--gpu-type", "a100"], ["choose one of 1, 2, 4, 8", "the largest is 8"]),
        (["--hours", "0"], ["--hours must be a number of hours greater than 0"]),
        (["--hours", "-1"], ["greater than 0"]),
        (["--hours", "nan"], ["greater than 0"]),
        (["--hours", "25"], ["--hours 25 is more than stage dev's maximum of 24 hours"]),
        (["--gpu-type", "h100"], ["unknown GPU type 'h100'", "stage dev offers: t4 (T4), a100 (A100)"]),
    ],
)
def test_invalid_requests_send_nothing_and_exit_2(fake_stage, run, argv, expected):
    code, _, err = run("reserve", "--no-wait", *argv)
    assert code == 2
    for text in expected:
        assert text in err
    assert "Traceback" not in err
    assert fake_stage.records() == []
    assert fake_stage.messages() == []


def test_a_request_above_the_per_user_gpu_limit_is_refused(aws_credentials, fake_clock, run):
    with mock_aws():
        stage = FakeStage.create(policy=test_policy(max_gpus_per_user=4))
        Config(config_path()).set("github_user", "octocat")
        code, _, err = run("--stage", "dev", "reserve", "--gpus", "8", "--gpu-type", "a100")
        assert code == 2
        assert "more than the 4 GPUs one user may hold" in err
        assert stage.messages() == []


def test_reserve_without_a_github_user_says_how_to_set_it(fake_stage, run):
    Config(config_path()).path.write_text(json.dumps({"stage": "dev"}))
    code, _, err = run("reserve", "--no-wait")
    assert code == 2
    assert "gpu-dev config set github_user YOUR_GITHUB_USERNAME" in err
    assert fake_stage.records() == [] and fake_stage.messages() == []


def test_too_many_open_reservations_are_refused(fake_stage, run):
    fake_stage.put(ID_A, status=Status.ACTIVE)
    fake_stage.put(ID_B, status=Status.QUEUED)
    fake_stage.put(ID_AMBIG_1, status=Status.PENDING)
    fake_stage.put(ID_AMBIG_2, status=Status.EXPIRED)  # ended: does not count
    fake_stage.put(ID_BOB, user_id="bob", status=Status.ACTIVE)  # someone else's
    code, _, err = run("reserve", "--no-wait")
    assert code == 2
    assert "you already have 3 open reservations" in err
    assert "allows 3" in err and "gpu-dev cancel" in err
    assert len(fake_stage.records()) == 5
    assert fake_stage.messages() == []


def test_two_open_reservations_still_leave_room(fake_stage, run):
    fake_stage.put(ID_A, status=Status.ACTIVE)
    fake_stage.put(ID_B, status=Status.FAILED)
    fake_stage.put(ID_AMBIG_1, status=Status.CANCELLED)
    fake_stage.put(ID_AMBIG_2, status=Status.QUEUED)
    assert run("reserve", "--no-wait")[0] == 0
    assert len(fake_stage.messages()) == 1


def test_a_queue_that_cannot_be_reached_reserves_nothing(aws_credentials, fake_clock, run):
    with mock_aws():
        missing = f"https://sqs.{REGION}.amazonaws.com/123456789012/no-such-queue"
        stage = FakeStage.create(queue_url=missing)
        Config(config_path()).set("github_user", "octocat")
        code, _, err = run("--stage", "dev", "reserve", "--no-wait")
        assert code == 1
        assert err.startswith("gpu-dev: error: AWS error while trying to send the request")
        assert "nothing was reserved" in err
        assert len(err.strip().splitlines()) == 1
        assert stage.records() == []


# --- AWS errors ---------------------------------------------------------------------------------


def test_a_stage_without_the_parameter_is_reported_as_not_deployed(fake_stage, run):
    code, out, err = run("--stage", "qa", "avail")
    assert code == 1
    assert err.startswith("gpu-dev: error: stage qa has no reservations in us-east-2; is it deployed?")
    assert "Traceback" not in err and out == ""


def test_missing_credentials_give_one_line(fake_stage, run, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code, _, err = run("list")
    assert code == 1
    assert err == (
        "gpu-dev: error: no AWS credentials found; "
        "configure them (aws configure, or aws sso login) and retry\n"
    )


def test_a_malformed_parameter_is_reported(aws_credentials, fake_clock, run):
    with mock_aws():
        boto3.client("ssm", region_name=REGION).put_parameter(
            Name="/gpu-platform/dev/reservations", Type="String", Value='{"queue_url": "x"}'
        )
        code, _, err = run("--stage", "dev", "avail")
    assert code == 1
    assert "the reservations parameter /gpu-platform/dev/reservations of stage dev is malformed" in err


# --- region and stage ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "env", "configured", "expected"),
    [
        (
            "eu-west-1",
            {"AWS_REGION": "us-west-1", "AWS_DEFAULT_REGION": "us-west-2"},
            "ap-south-1",
            "eu-west-1",
        ),
        (None, {"AWS_REGION": "us-west-1", "AWS_DEFAULT_REGION": "us-west-2"}, "ap-south-1", "us-west-1"),
        (None, {"AWS_DEFAULT_REGION": "us-west-2"}, "ap-south-1", "us-west-2"),
        (None, {}, "ap-south-1", "ap-south-1"),
        (None, {}, None, "us-east-2"),
    ],
)
def test_region_priority(tmp_path, flag, env, configured, expected):
    config = Config(tmp_path / "config.json")
    if configured:
        config.set("region", configured)
    assert resolve_region(flag, env, config)[0] == expected


def test_the_cli_reads_the_stage_in_the_selected_region(aws_credentials, fake_clock, run, monkeypatch):
    with mock_aws():
        FakeStage.create(region="us-west-1")
        assert run("--stage", "dev", "avail")[0] == 1  # default us-east-2: not deployed there
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-1")
        code, out, err = run("--stage", "dev", "avail")
        assert code == 0, err
        monkeypatch.delenv("AWS_DEFAULT_REGION")
        code, out, _ = run("status", "--stage", "dev", "--region", "us-west-1", "--json")
        assert code == 0
        data = json.loads(out)
        assert (data["region"], data["region_source"]) == ("us-west-1", "--region")


def test_options_after_the_command_override_those_before(fake_stage, run):
    code, out, _ = run("--stage", "prod", "status", "--stage", "dev", "--json")
    assert code == 0
    assert json.loads(out)["stage"] == "dev"


# --- id resolution ------------------------------------------------------------------------------


def test_show_accepts_a_unique_prefix(fake_stage, run):
    fake_stage.put(ID_A, status=Status.ACTIVE, ssh_command="ssh -p 31234 dev@10.0.0.1")
    code, out, _ = run("show", "AAAAAAAA")
    assert code == 0
    assert ID_A in out and "ssh -p 31234 dev@10.0.0.1" in out


def test_an_ambiguous_prefix_lists_the_matches(fake_stage, run):
    fake_stage.put(ID_AMBIG_1)
    fake_stage.put(ID_AMBIG_2)
    code, _, err = run("cancel", "abcdef12")
    assert code == 2
    assert f"abcdef12 matches 2 of your reservations ({ID_AMBIG_2}, {ID_AMBIG_1})" in err or (
        "abcdef12 matches 2 of your reservations" in err and ID_AMBIG_1 in err and ID_AMBIG_2 in err
    )
    assert fake_stage.messages() == []
    assert run("cancel", "abcdef12-0")[0] == 0
    [message] = fake_stage.messages()
    assert message.reservation_id == ID_AMBIG_1


def test_a_prefix_matching_nothing_is_reported(fake_stage, run):
    fake_stage.put(ID_A)
    code, _, err = run("show", "cccccccc")
    assert code == 2
    assert "you (moto) have no reservation starting with cccccccc in stage dev" in err


def test_a_short_prefix_is_refused(fake_stage, run):
    fake_stage.put(ID_A)
    code, _, err = run("show", "aaaa")
    assert code == 2
    assert "give at least 8 characters of the reservation id" in err


def test_an_unknown_full_id_is_reported(fake_stage, run):
    code, _, err = run("show", ID_A)
    assert code == 2
    assert f"you (moto) have no reservation {ID_A} in stage dev" in err


def test_someone_elses_reservation_is_not_found_for_any_command(fake_stage, run):
    fake_stage.put(ID_BOB, user_id="bob", status=Status.ACTIVE, ssh_command="ssh -p 30001 dev@10.0.0.9")
    for argv in (
        ["cancel", ID_BOB],
        ["edit", ID_BOB, "--extend", "1"],
        ["connect", ID_BOB, "--print"],
        ["show", ID_BOB],
        ["cancel", "b0b0b0b0"],
    ):
        code, out, err = run(*argv)
        assert code == 2
        assert "you (moto) have no reservation" in err
        assert "10.0.0.9" not in out + err
    assert fake_stage.messages() == []


def test_user_name_from_the_caller_identity():
    assert user_from_arn("arn:aws:iam::123456789012:user/alice") == "alice"
    assert user_from_arn("arn:aws:iam::123456789012:user/team/ops/alice") == "alice"
    assert user_from_arn("arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Dev_1/alice@example.com") == (
        "alice@example.com"
    )
    assert user_from_arn("arn:aws:sts::123456789012:federated-user/carol") == "carol"
    with pytest.raises(CliError):
        user_from_arn("arn:aws:iam::123456789012:root")


def test_an_assumed_role_reserves_as_its_session_name(fake_stage, run, monkeypatch):
    credentials = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn="arn:aws:iam::123456789012:role/Developer", RoleSessionName="alice"
    )["Credentials"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", credentials["SessionToken"])
    assert run("reserve", "--no-wait")[0] == 0
    [message] = fake_stage.messages()
    assert message.user_id == "alice"
    assert fake_stage.records() == []


# --- cancel / edit ------------------------------------------------------------------------------


def test_cancel_sends_one_cancellation(fake_stage, run):
    fake_stage.put(ID_A, status=Status.QUEUED)
    code, out, _ = run("cancel", "aaaaaaaa")
    assert code == 0
    assert "Cancellation of reservation aaaaaaaa (queued) requested" in out
    assert fake_stage.messages() == [
        messages.Cancel(type="cancellation", reservation_id=ID_A, user_id="moto")
    ]


def test_an_ended_reservation_cannot_be_cancelled(fake_stage, run):
    fake_stage.put(ID_A, status=Status.EXPIRED)
    code, _, err = run("cancel", ID_A)
    assert code == 2
    assert "has already ended (expired)" in err
    assert fake_stage.messages() == []


def test_edit_extend_sends_one_extension(fake_stage, run):
    fake_stage.put(ID_A, status=Status.ACTIVE, duration_hours=4.0, expires_at=iso(hours=3))
    code, out, _ = run("edit", "aaaaaaaa", "--extend", "2.5")
    assert code == 0
    assert "Extension of reservation aaaaaaaa by 2.5 h requested" in out
    assert "2025-06-02 17:30 UTC" in out
    assert fake_stage.messages() == [
        messages.Extend(type="extension", reservation_id=ID_A, user_id="moto", extend_hours=2.5)
    ]


def test_only_a_preparing_or_active_reservation_can_be_extended(fake_stage, run):
    fake_stage.put(ID_A, status=Status.QUEUED)
    code, _, err = run("edit", ID_A, "--extend", "1")
    assert code == 2
    assert "reservation aaaaaaaa is queued; only a preparing or active reservation can be extended" in err
    assert fake_stage.messages() == []


def test_a_refused_extension_is_shown(fake_stage, run):
    refusal = "extending by 30 h would make it 34 h long; the limit is 24 h"
    fake_stage.put(ID_A, status=Status.ACTIVE, extension_refusal=refusal)
    [line] = [line for line in run("show", ID_A)[1].splitlines() if line.startswith("Extension:")]
    assert line.split(None, 1)[1] == f"refused: {refusal}"
    assert f"extension refused: {refusal}" in run("list")[1]


@pytest.mark.parametrize(
    ("extend", "expected"),
    [
        ("21", "would make it 25 h; stage dev allows 24 h per reservation (at most 20 more hours)"),
        ("0", "> 0"),
    ],
)
def test_edit_validates_the_extension(fake_stage, run, extend, expected):
    fake_stage.put(ID_A, status=Status.ACTIVE, duration_hours=4.0)
    code, _, err = run("edit", ID_A, "--extend", extend)
    assert code == 2
    assert expected.replace("> 0", "greater than 0") in err
    assert fake_stage.messages() == []


# --- connect ------------------------------------------------------------------------------------


def test_connect_execs_ssh_with_the_stored_command(fake_stage, run, monkeypatch):
    fake_stage.put(ID_A, status=Status.ACTIVE, ssh_command="ssh -p 31234 dev@10.0.0.1")
    calls = []
    monkeypatch.setattr(os, "execvp", lambda file, argv: calls.append((file, argv)))
    assert run("connect", "aaaaaaaa")[0] == 0
    assert calls == [("ssh", ["ssh", "-p", "31234", "dev@10.0.0.1"])]


def test_connect_print_only_prints(fake_stage, run, monkeypatch):
    fake_stage.put(ID_A, status=Status.ACTIVE, ssh_command="ssh -p 31234 dev@10.0.0.1")
    monkeypatch.setattr(os, "execvp", lambda *a: pytest.fail("must not exec"))
    assert run("connect", ID_A, "--print") == (0, "ssh -p 31234 dev@10.0.0.1\n", "")


def test_connect_to_a_queued_reservation_explains(fake_stage, run, monkeypatch):
    fake_stage.put(ID_A, status=Status.QUEUED, queue_position=2, estimated_start=iso(minutes=30))
    monkeypatch.setattr(os, "execvp", lambda *a: pytest.fail("must not exec"))
    code, _, err = run("connect", ID_A)
    assert code == 1
    assert (
        "reservation aaaaaaaa is queued (position 2, ETA 12:30 UTC (in 30m)); it has no SSH command yet"
        in err
    )


def test_connect_refuses_a_command_that_is_not_ssh(fake_stage, run, monkeypatch):
    fake_stage.put(ID_A, status=Status.ACTIVE, ssh_command="rm -rf / ; ssh dev@x")
    monkeypatch.setattr(os, "execvp", lambda *a: pytest.fail("must not exec"))
    code, _, err = run("connect", ID_A)
    assert code == 1 and "is not an ssh command" in err


def test_connect_without_ssh_installed(fake_stage, run, monkeypatch):
    fake_stage.put(ID_A, status=Status.ACTIVE, ssh_command="ssh dev@10.0.0.1")

    def missing(file, argv):
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(os, "execvp", missing)
    assert run("connect", ID_A)[2] == "gpu-dev: error: cannot run ssh: No such file or directory\n"


# --- list / show --------------------------------------------------------------------------------


def populate(stage: FakeStage) -> None:
    stage.put(
        ID_A,
        status=Status.ACTIVE,
        created_at=iso(hours=-2),
        gpu_count=2,
        expires_at=iso(hours=2, minutes=5),
        ssh_command="ssh -p 31234 dev@10.0.0.1",
        warnings_sent=[30],
    )
    stage.put(
        ID_B,
        status=Status.QUEUED,
        created_at=iso(minutes=-10),
        gpu_type="a100",
        gpu_count=8,
        queue_position=2,
        estimated_start=iso(minutes=45),
    )
    stage.put(
        ID_AMBIG_1,
        status=Status.FAILED,
        created_at=iso(hours=-5),
        failure_reason="the pod did not become ready in 20 minutes",
        reservation_ended=iso(hours=-4),
    )
    stage.put(ID_AMBIG_2, status=Status.EXPIRED, created_at=iso(days=-3), reservation_ended=iso(days=-2))
    stage.put(ID_BOB, user_id="bob", created_at=iso(minutes=-1))


def test_list_shows_open_and_recent_reservations_newest_first(fake_stage, run):
    populate(fake_stage)
    code, out, _ = run("list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "GPUS", "CREATED", "EXPIRES", "NOTES"]
    assert [line.split()[0] for line in lines[1:]] == ["bbbbbbbb", "aaaaaaaa", "abcdef12"]
    queued, active, failed = lines[1:]
    assert "queued" in queued and "8 x a100" in queued and "position 2, ETA 12:45 UTC (in 45m)" in queued
    assert "2 x t4" in active and "2025-06-02 14:05 UTC (2h 05m left)" in active
    assert "ssh -p 31234 dev@10.0.0.1" in active and "expiry warnings sent at 30 min" in active
    assert "the pod did not become ready in 20 minutes" in failed
    assert "b0b0b0b0" not in out


def test_list_all_includes_long_ended_reservations(fake_stage, run):
    populate(fake_stage)
    code, out, _ = run("list", "--all")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()[1:]] == [
        "bbbbbbbb",
        "aaaaaaaa",
        "abcdef12",
        "abcdef12",
    ]


def test_list_json(fake_stage, run):
    populate(fake_stage)
    code, out, _ = run("list", "--json")
    assert code == 0
    data = json.loads(out)
    assert [r["reservation_id"] for r in data] == [ID_B, ID_A, ID_AMBIG_1]
    assert data[1]["ssh_command"] == "ssh -p 31234 dev@10.0.0.1" and data[1]["status"] == "active"
    assert data[1]["warnings_sent"] == [30]


def test_list_when_there_is_nothing(fake_stage, run):
    code, out, _ = run("list")
    assert code == 0
    assert "You (moto) have no reservations open or ended in the last 24 h" in out


def test_show_details(fake_stage, run):
    populate(fake_stage)
    out = run("show", ID_B)[1]
    assert "Status:" in out and "queued" in out
    assert "8 x a100 for 4 h" in out
    assert "Queue:" in out and "position 2, ETA 12:45 UTC (in 45m)" in out
    assert "Expires:" in out and "4 h after start" in out
    out = run("show", "aaaaaaaa")[1]
    assert "(2h 05m left)" in out and "SSH:" in out and "expiry warnings sent at 30 min" in out
    out = run("show", "abcdef12-0000")[1]
    assert "Reason:" in out and "did not become ready" in out


def test_show_json(fake_stage, run):
    populate(fake_stage)
    code, out, _ = run("show", "bbbbbbbb", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["reservation_id"] == ID_B and data["queue_position"] == 2 and data["status"] == "queued"


def test_a_queued_request_is_placed_from_its_types_forecast_item(fake_stage, run):
    fake_stage.put(ID_A, status=Status.QUEUED, gpu_type="a100")
    others = [f"0000000{n}-0000-4000-8000-000000000000" for n in range(3)]  # someone else's, unread
    queue = [
        (others[0], START + timedelta(minutes=20)),
        (others[1], None),
        (ID_A, START + timedelta(hours=2)),
    ]
    fake_stage.table.put_item(Item=forecast.encode("a100", queue, START))
    code, out, _ = run("show", ID_A, "--json")
    data = json.loads(out)
    assert (code, data["queue_position"], data["estimated_start"]) == (0, 3, iso(hours=2))
    assert "2 h" in run("show", ID_A)[1] or "position 3" in run("show", ID_A)[1]


# --- avail / status -----------------------------------------------------------------------------


SUMMARY = {
    "t4": {"gpu_model": "T4", "total": 8, "free": 3, "queued": 0, "next_free_at": None},
    "a100": {
        "gpu_model": "A100",
        "total": 16,
        "free": 0,
        "queued": 8,
        "next_free_at": to_iso(START + timedelta(hours=1)),
    },
}


def test_avail_shows_the_summary(fake_stage, run):
    fake_stage.put_summary(START - timedelta(seconds=40), SUMMARY)
    code, out, err = run("avail")
    assert code == 0
    assert "GPU capacity in stage dev (updated 40s ago):" in out
    t4 = next(line for line in out.splitlines() if line.startswith("t4 "))
    a100 = next(line for line in out.splitlines() if line.startswith("a100 "))
    assert t4.split()[:5] == ["t4", "T4", "3/8", "0", "now"]
    assert "0/16" in a100 and "13:00 UTC (in 1h 00m)" in a100 and a100.endswith("8")
    assert err == ""


def test_avail_warns_when_the_summary_is_stale(fake_stage, run):
    fake_stage.put_summary(START - timedelta(minutes=12), SUMMARY)
    code, _, err = run("avail")
    assert code == 0
    assert "the capacity summary is 12m old; the reservation processor may be down" in err


def test_avail_without_a_summary(fake_stage, run):
    code, out, err = run("avail")
    assert code == 0
    assert "no capacity summary yet" in err
    assert "t4" in out


def test_avail_json(fake_stage, run):
    fake_stage.put_summary(START - timedelta(minutes=5), SUMMARY)
    code, out, err = run("avail", "--json")
    assert code == 0 and err == ""
    data = json.loads(out)
    assert data["stale"] is True and data["age_seconds"] == 300
    assert data["gpu_types"]["a100"]["free"] == 0
    assert data["gpu_types"]["t4"]["allowed_gpu_counts"] == [1, 2, 4]


def test_status_counts_the_queues_from_the_summary_not_from_records(fake_stage, run):
    # Records are private: the counts are the processor's aggregate, whoever's requests they are.
    for n in range(3):
        fake_stage.put(f"0000000{n}-0000-4000-8000-000000000000", status=Status.QUEUED, user_id=f"u{n}")
    summary = {
        "t4": {**SUMMARY["t4"], "queued": 3, "holding": 2},
        "a100": {**SUMMARY["a100"], "queued": 1, "holding": 1},
    }
    fake_stage.put_summary(START - timedelta(seconds=30), summary)
    code, out, err = run("status")
    assert code == 0, err
    assert "Stage:" in out and "dev" in out
    assert "us-east-2 (from default)" in out
    assert "updated 30s ago" in out
    rows = {line.split()[0]: line.split()[2:] for line in out.splitlines()[7:]}
    assert rows["t4"] == ["3", "2", "3", "8"]
    assert rows["a100"] == ["1", "1", "0", "16"]
    code, out, _ = run("status", "--json")
    data = json.loads(out)
    assert data["queues"]["t4"] == {"queued": 3, "holding": 2, "free": 3, "total": 8}
    assert data["user"] == "moto" and data["summary_stale"] is False and data["stage"] == "dev"


# --- config -------------------------------------------------------------------------------------


def test_config_set_and_get(aws_credentials, run, tmp_path):
    code, out, _ = run("config", "set", "github_user", "octocat")
    assert code == 0
    path = tmp_path / "xdg" / "gpu-dev" / "config.json"
    assert str(path) in out
    assert json.loads(path.read_text()) == {"github_user": "octocat"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert run("config", "get", "github_user") == (0, "octocat\n", "")
    assert run("config", "get", "stage") == (0, "prod\n", "")  # the default
    assert json.loads(run("config", "get", "--json")[1]) == {
        "github_user": "octocat",
        "stage": "prod",
        "region": None,
        "job_api_url": None,
    }
    assert json.loads(run("config", "get", "region", "--json")[1]) == {"region": None}
    code, _, err = run("config", "get", "region")
    assert code == 1 and "gpu-dev config set region VALUE" in err
    run("config", "set", "stage", "dev")
    assert json.loads(path.read_text()) == {"github_user": "octocat", "stage": "dev"}
    assert [p.name for p in path.parent.iterdir()] == ["config.json"]  # no temporary files left


def test_config_refuses_unknown_keys_and_bad_values(aws_credentials, run):
    code, _, err = run("config", "set", "colour", "blue")
    assert code == 2
    assert "unknown config key 'colour'; known keys: github_user, stage, region" in err
    assert run("config", "get", "colour")[0] == 2
    assert run("config", "set", "github_user", "not a user")[0] == 2
    assert run("config", "set", "region", "mars-1")[0] == 2
    assert not config_path().exists()


def test_config_without_xdg_uses_home(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config_path() == tmp_path / ".config" / "gpu-dev" / "config.json"
    assert config_path({"XDG_CONFIG_HOME": "/x/y"}) == Path("/x/y/gpu-dev/config.json")
    assert config_path({"XDG_CONFIG_HOME": "relative"}) == tmp_path / ".config" / "gpu-dev" / "config.json"


def test_config_write_is_atomic(aws_credentials, run, monkeypatch):
    assert run("config", "set", "github_user", "octocat")[0] == 0
    path = config_path()
    before = path.read_text()

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    code, _, err = run("config", "set", "github_user", "hubot")
    assert code == 1 and "cannot write" in err and "No space left on device" in err
    assert path.read_text() == before  # the old file is intact
    assert [p.name for p in path.parent.iterdir()] == ["config.json"]


def test_a_broken_config_file_is_reported(aws_credentials, run):
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    code, _, err = run("config", "get")
    assert code == 1 and "is not valid JSON" in err


# --- waiting after reserve ----------------------------------------------------------------------


def processor(stage: FakeStage, clock, steps: dict[int, dict]):
    """On the given sleep counts, create the record from the (only) reservation message, then
    move it, like the processor would."""

    def step(_clock):
        values = steps.get(len(clock.slept))
        if values is None:
            return
        [message] = stage.messages()
        if stage.get(message.reservation_id) is None:
            fields = {k: v for k, v in vars(message).items() if k not in ("type", "reservation_id")}
            stage.put(message.reservation_id, **{**fields, "status": Status.QUEUED})
        stage.update(message.reservation_id, **values)

    clock.on_sleep.append(step)


def test_while_the_processor_has_not_created_the_record_the_request_shows_as_pending(
    fake_stage, fake_clock, run
):
    processor(fake_stage, fake_clock, {3: {"queue_position": 1}, 4: {"status": Status.ACTIVE}})
    code, out, err = run("reserve")
    assert code == 0, err
    [message] = fake_stage.messages()
    sid = message.reservation_id[:8]
    lines = out.splitlines()
    assert lines[2] == f"{sid}: pending - waiting for the processor to pick it up (0:00)"
    assert lines[3] == f"{sid}: queued for 1 x t4 - position 1, ETA unknown"
    assert lines[4] == f"Reservation {sid} is active."
    assert fake_clock.slept == [cli.POLL_SECONDS] * 4  # pending (unchanged) for three polls


def test_a_request_the_processor_never_picks_up_is_reported_after_wait_minutes(fake_stage, fake_clock, run):
    code, out, _ = run("reserve", "--wait-minutes", "1")
    assert code == 1
    [message] = fake_stage.messages()
    assert "The processor has not picked up request" in out and "after 1 min" in out
    assert f"gpu-dev show {message.reservation_id}" in out
    assert fake_stage.records() == []


def test_reserve_waits_through_queued_and_preparing_to_active(fake_stage, fake_clock, run):
    processor(
        fake_stage,
        fake_clock,
        {
            1: {"status": Status.QUEUED, "queue_position": 2, "estimated_start": iso(minutes=20)},
            3: {"status": Status.QUEUED, "queue_position": 1, "estimated_start": iso(minutes=12)},
            5: {"status": Status.PREPARING, "node_name": "ip-10-0-1-7", "queue_position": None},
            7: {
                "status": Status.ACTIVE,
                "ssh_command": "ssh -p 31234 dev@10.0.0.1",
                "expires_at": iso(hours=4),
            },
        },
    )
    code, out, err = run("reserve", "--gpus", "2")
    assert code == 0, err
    lines = out.splitlines()
    sid = fake_stage.messages()[0].reservation_id[:8]
    assert lines[1].startswith("Waiting up to 60 min")
    assert lines[2] == f"{sid}: pending - waiting for the processor to pick it up (0:00)"
    assert lines[3] == f"{sid}: queued for 2 x t4 - position 2, ETA 12:20 UTC (in 19m)"
    assert lines[4] == f"{sid}: queued for 2 x t4 - position 1, ETA 12:12 UTC (in 11m)"
    assert lines[5].startswith(f"{sid}: preparing - GPUs allocated on ip-10-0-1-7")
    assert lines[6] == f"Reservation {sid} is active until 2025-06-02 16:00 UTC (3h 59m left)."
    assert lines[7:] == ["Connect with:", "  ssh -p 31234 dev@10.0.0.1"]
    assert set(fake_clock.slept) == {cli.POLL_SECONDS}
    assert len(fake_stage.messages()) == 1


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_state_is_one_updating_line_with_a_countdown(fake_stage, fake_clock, monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    processor(
        fake_stage,
        fake_clock,
        {
            2: {"status": Status.QUEUED, "queue_position": 1, "estimated_start": iso(minutes=10)},
            12: {"status": Status.ACTIVE, "ssh_command": "ssh dev@10.0.0.1"},
        },
    )
    assert cli.main(["reserve"]) == 0
    text = terminal.getvalue()
    assert "\r\x1b[K" in text
    assert "position 1, ETA 12:10 UTC (in 9:55)" in text  # fetched at 5 s, every redraw counts down
    assert "position 1, ETA 12:10 UTC (in 9:54)" in text
    assert text.endswith("Connect with:\n  ssh dev@10.0.0.1\n")
    assert set(fake_clock.slept) == {cli.TICK_SECONDS}


@pytest.mark.parametrize("status", [Status.FAILED, Status.CANCELLED])
def test_a_reservation_that_ends_while_waiting_exits_1_with_the_reason(fake_stage, fake_clock, run, status):
    processor(fake_stage, fake_clock, {2: {"status": status, "failure_reason": "no t4 node is schedulable"}})
    code, out, _ = run("reserve")
    assert code == 1
    assert out.splitlines()[-1].endswith(f"{status}: no t4 node is schedulable")


def test_ctrl_c_stops_waiting_without_cancelling(fake_stage, fake_clock, run):
    def interrupt(clock):
        if len(clock.slept) == 2:
            raise KeyboardInterrupt

    fake_clock.on_sleep.append(interrupt)
    code, out, _ = run("reserve")
    assert code == 130
    sid = fake_stage.messages()[0].reservation_id[:8]
    assert f"Stopped waiting; reservation {sid} was not cancelled (pending)" in out
    assert f"cancel it with `gpu-dev cancel {sid}`" in out
    assert [type(m) for m in fake_stage.messages()] == [messages.Reserve]
    assert fake_stage.records() == []  # the CLI wrote nothing; the processor will create it


def test_waiting_gives_up_after_wait_minutes(fake_stage, fake_clock, run):
    processor(fake_stage, fake_clock, {1: {"status": Status.QUEUED, "queue_position": 4}})
    code, out, _ = run("reserve", "--wait-minutes", "1")
    assert code == 1
    assert "is still queued after 1 min; it stays in the queue" in out
    assert "position 4, ETA unknown" in out
    assert fake_clock.current == START + timedelta(minutes=1)
