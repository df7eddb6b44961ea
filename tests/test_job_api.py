"""The job API against real parts: PostgreSQL (a throwaway server), the API over a loopback
socket (uvicorn), STS as moto's server, Kubernetes as the project's fake API server."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest

from gpu_dev.job_client import signed_caller_identity
from job_api import queue
from job_api.app import create_app
from job_api.db import Database
from job_api.dispatcher import Dispatcher
from job_api.kube import Kube
from job_api.manifests import job_name, render_job
from job_api.migrate import migrate
from job_api.settings import Environment, SettingsError, parse_settings
from tests.fake_kube import FakeKube
from tests.job_api_harness import (
    ACCOUNT,
    ROLE,
    ApiServer,
    assumed_role_credentials,
    new_database,
    postgres_server,
    reset,
    settings_dict,
    sts_server,
)

ROOT = Path(__file__).resolve().parent.parent
IMAGE = f"{ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com/train:1"
NAMESPACES = {"team-training", "team-research"}


@pytest.fixture(scope="module")
def pg_server():
    try:
        with postgres_server() as url:
            yield url
    except FileNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def sts():
    with sts_server() as url:
        yield url


@pytest.fixture(scope="module")
def migrated(pg_server):
    return new_database(pg_server, "job_api_tests")


@pytest.fixture
def db_url(migrated):
    """The module's database, emptied (faster than a new database per test)."""
    reset(migrated)
    return migrated


class Stack:
    """One test's service: settings, database, fake cluster, the API on a socket, a clock."""

    def __init__(self, db_url: str, sts: str, kube: FakeKube, tmp: Path, settings: dict):
        path = tmp / "settings.json"
        path.write_text(json.dumps(settings))
        self.environ = {
            "JOB_API_SETTINGS_FILE": str(path),
            "JOB_API_DATABASE_URL": db_url,
            "JOB_API_STS_ENDPOINT": sts,
        }
        self.env = Environment.from_env(self.environ)
        self.settings = self.env.settings
        self.db = Database(db_url, max_size=5)
        self.fake = kube
        self.kube = Kube.connect(kube.url)
        self.sts = sts
        self.db_url = db_url
        self.skew = timedelta(0)
        app = create_app(self.env, self.db, self.kube, clock=lambda: datetime.now(UTC) + self.skew)
        self.server = ApiServer(app).__enter__()
        self.http = httpx.Client(base_url=self.server.url, timeout=20)

    def close(self) -> None:
        self.http.close()
        self.server.__exit__()
        self.db.close()

    def dispatcher(self, **kwargs) -> Dispatcher:
        return Dispatcher(self.db, self.kube, self.settings, alive_file=None, **kwargs)

    def sign_in(self, role: str = ROLE, session: str = "alice") -> str:
        creds = assumed_role_credentials(self.sts, role, session)
        response = self.http.post("/v1/auth/token", json=signed_caller_identity(creds, "us-west-2", self.sts))
        assert response.status_code == 201, response.text
        return response.json()["api_key"]

    def headers(self, key: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}", **extra}

    def submit(self, key: str, status: int = 201, idempotency_key: str | None = None, **fields):
        body = {
            "image": IMAGE,
            "command": ["python", "train.py"],
            "gpus": 2,
            "pool": "t4",
            "team": "training",
        }
        body.update(fields)
        extra = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        response = self.http.post("/v1/jobs", json=body, headers=self.headers(key, **extra))
        assert response.status_code == status, response.text
        return response.json()


@pytest.fixture
def stack(db_url, sts, tmp_path):
    with FakeKube(namespaces=set(NAMESPACES)) as kube:
        stack = Stack(db_url, sts, kube, tmp_path, settings_dict())
        yield stack
        stack.close()


# --- sign-in ------------------------------------------------------------------------------------


def test_sign_in_returns_a_key_stored_only_as_its_hash(stack):
    creds = assumed_role_credentials(stack.sts, ROLE, "alice")
    response = stack.http.post("/v1/auth/token", json=signed_caller_identity(creds, "us-west-2", stack.sts))
    assert response.status_code == 201, response.text
    token = response.json()
    assert token["principal"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/GpuDevelopers/alice"
    expires = datetime.fromisoformat(token["expires_at"])
    assert timedelta(minutes=119) < expires - datetime.now(UTC) <= timedelta(minutes=120)
    with psycopg.connect(stack.db_url) as conn:
        rows = conn.execute("SELECT key_hash::text, principal_arn FROM job_api_keys").fetchall()
    assert len(rows) == 1 and token["api_key"] not in rows[0][0]
    assert stack.http.get("/v1/jobs", headers=stack.headers(token["api_key"])).status_code == 200
    assert stack.http.get("/v1/jobs", headers=stack.headers("gpk_wrong")).status_code == 401
    assert stack.http.get("/v1/jobs").json()["detail"].startswith("no API key")


def test_a_replayed_signature_is_refused(stack):
    signed = signed_caller_identity(assumed_role_credentials(stack.sts, ROLE), "us-west-2", stack.sts)
    assert stack.http.post("/v1/auth/token", json=signed).status_code == 201
    again = stack.http.post("/v1/auth/token", json=signed)
    assert again.status_code == 401
    assert "already used" in again.json()["detail"]


def test_an_expired_signature_is_refused(stack):
    signed = signed_caller_identity(assumed_role_credentials(stack.sts, ROLE), "us-west-2", stack.sts)
    stack.skew = timedelta(minutes=16)  # the service's clock: the signature is 16 minutes old
    response = stack.http.post("/v1/auth/token", json=signed)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"] and "16 minutes" in response.json()["detail"]


def test_a_role_the_stage_does_not_allow_is_refused(stack):
    creds = assumed_role_credentials(stack.sts, f"arn:aws:iam::{ACCOUNT}:role/Contractors", "mallory")
    response = stack.http.post("/v1/auth/token", json=signed_caller_identity(creds, "us-west-2", stack.sts))
    assert response.status_code == 403
    assert "assumed-role/Contractors/mallory may not use" in response.json()["detail"]


def test_another_regions_sts_is_refused_without_being_contacted(stack):
    creds = assumed_role_credentials(stack.sts, ROLE)
    other = stack.http.post("/v1/auth/token", json=signed_caller_identity(creds, "eu-west-1", stack.sts))
    assert other.status_code == 400
    assert "signed for region eu-west-1" in other.json()["detail"]
    elsewhere = signed_caller_identity(creds, "eu-west-1", "https://sts.eu-west-1.amazonaws.com/")
    response = stack.http.post("/v1/auth/token", json=elsewhere)
    assert response.status_code == 400
    assert "sts.eu-west-1.amazonaws.com" in response.json()["detail"]


def test_only_get_caller_identity_is_forwarded(stack):
    signed = signed_caller_identity(assumed_role_credentials(stack.sts, ROLE), "us-west-2", stack.sts)
    signed["body"] = "Action=AssumeRole&Version=2011-06-15"
    response = stack.http.post("/v1/auth/token", json=signed)
    assert response.status_code == 400 and "GetCallerIdentity" in response.json()["detail"]


# --- submit, dispatch, completion -------------------------------------------------------------------


def test_submit_dispatch_run_and_complete(stack):
    key = stack.sign_in()
    job = stack.submit(key, env={"EPOCHS": "3"}, gpus=2, max_runtime_minutes=90)
    assert job["status"] == "queued" and job["namespace"] == "team-training"
    assert stack.fake.jobs == {}
    assert stack.dispatcher().run_once() == 1

    name = job_name(job["id"])
    created = stack.fake.jobs[("team-training", name)]
    labels = created["metadata"]["labels"]
    assert labels["kueue.x-k8s.io/queue-name"] == "training"
    assert labels["kueue.x-k8s.io/priority-class"] == "training"
    assert labels["gpuplatform.io/job-id"] == job["id"]
    assert created["spec"]["suspend"] is True and created["spec"]["backoffLimit"] == 0
    assert created["spec"]["activeDeadlineSeconds"] == 90 * 60
    pod = created["spec"]["template"]["spec"]
    assert pod["priorityClassName"] == "training"
    assert pod["nodeSelector"] == {"gpuplatform.io/pool": "t4"}
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    container = pod["containers"][0]
    assert container["resources"]["limits"] == {"nvidia.com/gpu": "2"}
    assert container["env"] == [{"name": "EPOCHS", "value": "3"}]
    assert container["image"] == IMAGE and container["command"] == ["python", "train.py"]

    shown = stack.http.get(f"/v1/jobs/{job['id']}", headers=stack.headers(key)).json()
    assert shown["status"] == "dispatched" and shown["kubernetes_job"] == name

    stack.fake.start_job("team-training", name, log="epoch 1\nepoch 2\n")
    stack.dispatcher().run_once()
    assert stack.http.get(f"/v1/jobs/{job['id']}", headers=stack.headers(key)).json()["status"] == "running"
    logs = stack.http.get(f"/v1/jobs/{job['id']}/logs", headers=stack.headers(key))
    assert logs.status_code == 200 and logs.text == "epoch 1\nepoch 2\n"
    tail = stack.http.get(f"/v1/jobs/{job['id']}/logs?tail_lines=1", headers=stack.headers(key))
    assert tail.text == "epoch 2\n"

    stack.fake.finish_job("team-training", name, succeeded=True)
    stack.dispatcher().run_once()
    done = stack.http.get(f"/v1/jobs/{job['id']}", headers=stack.headers(key)).json()
    assert done["status"] == "succeeded" and done["finished_at"]
    with psycopg.connect(stack.db_url) as conn:
        assert queue.depth(conn) == 0
        archived = conn.execute("SELECT count(*) FROM pgmq.a_jobs").fetchone()[0]
    assert archived == 1


def test_a_failed_job_records_kubernetes_reason(stack):
    key = stack.sign_in()
    job = stack.submit(key, gpu_type="H100", pool=None)
    stack.dispatcher().run_once()
    name = job_name(job["id"])
    assert stack.fake.jobs[("team-training", name)]["spec"]["template"]["spec"]["nodeSelector"] == {
        "gpuplatform.io/pool": "h100"
    }
    stack.fake.finish_job(
        "team-training", name, succeeded=False, reason="DeadlineExceeded", message="too long"
    )
    stack.dispatcher().run_once()
    failed = stack.http.get(f"/v1/jobs/{job['id']}", headers=stack.headers(key)).json()
    assert (failed["status"], failed["reason"]) == ("failed", "DeadlineExceeded: too long")


def test_logs_before_dispatch_are_refused_clearly(stack):
    key = stack.sign_in()
    job = stack.submit(key)
    response = stack.http.get(f"/v1/jobs/{job['id']}/logs", headers=stack.headers(key))
    assert response.status_code == 409 and "no pod" in response.json()["detail"]


# --- cancel ---------------------------------------------------------------------------------------


def test_cancel_a_queued_job_ends_it_and_no_job_is_created(stack):
    key = stack.sign_in()
    job = stack.submit(key)
    response = stack.http.delete(f"/v1/jobs/{job['id']}", headers=stack.headers(key))
    assert response.status_code == 202 and response.json()["status"] == "cancelled"
    stack.dispatcher().run_once()
    assert stack.fake.jobs == {}
    again = stack.http.delete(f"/v1/jobs/{job['id']}", headers=stack.headers(key))
    assert again.status_code == 409 and "already ended (cancelled)" in again.json()["detail"]


def test_cancel_a_dispatched_job_deletes_its_kubernetes_job(stack):
    key = stack.sign_in()
    job = stack.submit(key)
    stack.dispatcher().run_once()
    stack.fake.start_job("team-training", job_name(job["id"]))
    response = stack.http.delete(f"/v1/jobs/{job['id']}", headers=stack.headers(key))
    assert response.status_code == 202 and response.json()["cancel_requested"] is True
    stack.dispatcher().run_once()
    assert stack.fake.jobs == {} and stack.fake.pods("team-training") == []
    assert stack.http.get(f"/v1/jobs/{job['id']}", headers=stack.headers(key)).json()["status"] == "cancelled"


def test_someone_elses_job_is_not_found(stack):
    job = stack.submit(stack.sign_in(session="alice"))
    bob = stack.sign_in(session="bob")
    assert stack.http.get(f"/v1/jobs/{job['id']}", headers=stack.headers(bob)).status_code == 404
    assert stack.http.delete(f"/v1/jobs/{job['id']}", headers=stack.headers(bob)).status_code == 404


# --- at-least-once, never twice -------------------------------------------------------------------


def test_a_redelivered_message_adopts_the_existing_job(stack):
    key = stack.sign_in()
    job = stack.submit(key)
    # The first delivery created the Job and died before recording it: the message is still queued.
    with psycopg.connect(stack.db_url) as conn:
        record = conn.execute("SELECT id, team, pool, gpus, spec FROM job_api_jobs").fetchone()
    first = render_job(dict(zip(["id", "team", "pool", "gpus", "spec"], record, strict=True)), stack.settings)
    stack.kube.create_job(first)
    dispatcher = stack.dispatcher()
    dispatcher.run_once()
    assert dispatcher.counts == {"adopted": 1, "dispatched": 1}
    assert len(stack.fake.jobs) == 1
    assert (
        stack.http.get(f"/v1/jobs/{job['id']}", headers=stack.headers(key)).json()["status"] == "dispatched"
    )


def test_a_dispatcher_killed_between_dequeue_and_create_loses_nothing(stack, tmp_path):
    key = stack.sign_in()
    job = stack.submit(key)
    # The killed dispatcher's create hangs in the API server (which then acts on it anyway, as a
    # real server would after its client vanished).
    stack.fake.inject(r"/apis/batch/v1/namespaces/.*/jobs$", method="POST", delay=3.0, times=1)
    process = subprocess.Popen(
        [sys.executable, "-m", "job_api", "dispatch", "--visibility-seconds", "1", "--idle-seconds", "0.1"],
        env={**os.environ, **stack.environ, "JOB_API_KUBERNETES_URL": stack.fake.url},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not any(r.method == "POST" and r.path.endswith("/jobs") for r in stack.fake.requests):
            assert time.monotonic() < deadline and process.poll() is None, "the dispatcher never dequeued"
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    time.sleep(1.2)  # the message's visibility timeout
    survivor = stack.dispatcher(visibility_seconds=30)
    survivor.run_once()
    time.sleep(3.0)  # let the killed dispatcher's request land too
    assert len(stack.fake.jobs) == 1
    shown = stack.http.get(f"/v1/jobs/{job['id']}", headers=stack.headers(key)).json()
    assert shown["status"] == "dispatched"
    with psycopg.connect(stack.db_url) as conn:
        assert queue.depth(conn) == 0


def test_a_job_that_cannot_be_created_is_dead_lettered_with_the_reason(stack):
    key = stack.sign_in()
    job = stack.submit(key)
    stack.fake.inject(r"/apis/batch/v1/namespaces/.*/jobs$", method="POST", status=500)
    dispatcher = stack.dispatcher(visibility_seconds=0, max_attempts=2)
    for _ in range(3):
        dispatcher.dispatch()
    shown = stack.http.get(f"/v1/jobs/{job['id']}", headers=stack.headers(key)).json()
    assert shown["status"] == "dead_lettered"
    assert shown["reason"].startswith(
        "not dispatched after 2 attempts; last error: dispatch attempt 2 failed"
    )
    assert "500" in shown["reason"]
    with psycopg.connect(stack.db_url) as conn:
        (dead,) = conn.execute("SELECT message FROM pgmq.q_jobs_dead").fetchone()
    assert dead["job_id"] == job["id"] and dead["reason"] == shown["reason"]
    assert stack.fake.jobs == {}


# --- validation, limits, idempotency --------------------------------------------------------------


def test_idempotent_submission(stack):
    key = stack.sign_in()
    first = stack.submit(key, idempotency_key="k-1")
    again = stack.submit(key, status=200, idempotency_key="k-1")
    assert again["id"] == first["id"]
    other = stack.submit(key, status=409, idempotency_key="k-1", gpus=1)
    assert "was used for another request" in other["detail"]
    with psycopg.connect(stack.db_url) as conn:
        assert queue.depth(conn) == 1


def test_precise_refusals(stack):
    key = stack.sign_in()
    docker = stack.submit(key, status=400, image="docker.io/library/python:3")
    assert "registry docker.io; stage dev allows only" in docker["detail"]
    assert "not a member of team 'research'" in stack.submit(key, status=403, team="research")["detail"]
    assert "is more than one t4 node has (4)" in stack.submit(key, status=400, gpus=5)["detail"]
    assert (
        "GPU type 'A100' is not offered"
        in stack.submit(key, status=400, pool=None, gpu_type="A100")["detail"]
    )
    too_long = stack.submit(key, status=400, max_runtime_minutes=2000)
    assert "maximum of 1440" in too_long["detail"]
    invalid = stack.submit(key, status=422, gpus=0)
    assert invalid["detail"][0]["loc"] == ["body", "gpus"]


def test_per_user_and_per_team_limits(stack):
    key = stack.sign_in()
    for _ in range(4):
        stack.submit(key, gpus=2)
    assert (
        "hold 8 GPUs; 1 more would exceed the 8 GPUs per user"
        in stack.submit(key, status=429, gpus=1)["detail"]
    )
    bob, carol = stack.sign_in(session="bob"), stack.sign_in(session="carol")
    stack.submit(bob, gpus=4)
    stack.submit(bob, gpus=4)
    stack.submit(carol, gpus=4)
    team = stack.submit(carol, status=429, gpus=2)
    assert "team training's active jobs hold 20 GPUs; 2 more would exceed its limit of 20" in team["detail"]


def test_active_job_count_limit(db_url, sts, tmp_path):
    settings = settings_dict(limits={"max_active_jobs_per_user": 2, "max_active_gpus_per_user": 8})
    with FakeKube(namespaces=set(NAMESPACES)) as kube:
        stack = Stack(db_url, sts, kube, tmp_path, settings)
        try:
            key = stack.sign_in()
            stack.submit(key, gpus=1)
            stack.submit(key, gpus=1)
            assert (
                "you have 2 active jobs; stage dev allows 2"
                in stack.submit(key, status=429, gpus=1)["detail"]
            )
        finally:
            stack.close()


def test_list_filters_and_pages(stack):
    key = stack.sign_in()
    ids = [stack.submit(key, gpus=1)["id"] for _ in range(5)]
    stack.http.delete(f"/v1/jobs/{ids[0]}", headers=stack.headers(key))
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = stack.http.get("/v1/jobs", params=params, headers=stack.headers(key)).json()
        seen += [job["id"] for job in page["jobs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    cancelled = stack.http.get("/v1/jobs?status=cancelled", headers=stack.headers(key)).json()["jobs"]
    assert [job["id"] for job in cancelled] == [ids[0]]
    assert stack.http.get("/v1/jobs?team=research", headers=stack.headers(key)).json()["jobs"] == []
    bad = stack.http.get("/v1/jobs?cursor=bm9wZQ", headers=stack.headers(key))
    assert bad.status_code == 400 and "cursor" in bad.json()["detail"]


# --- operations -----------------------------------------------------------------------------------


def test_health_names_the_failing_part(stack):
    assert stack.http.get("/health").json() == {
        "status": "ok",
        "database": "ok",
        "queue": "ok",
        "kubernetes": "ok",
    }
    stack.fake.inject(r"/apis/batch/v1/", status=503)
    response = stack.http.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok" and body["kubernetes"].startswith("unavailable: Kubernetes API 503")


def test_the_docs_pages_load_every_asset_from_the_service_itself(stack):
    """Swagger UI and ReDoc work from a VPC without internet egress: every script, style and
    icon the pages reference is served by the service (no CDN), and the OpenAPI document too."""
    for page in ("/docs", "/redoc"):
        html = stack.http.get(page)
        assert html.status_code == 200 and "text/html" in html.headers["content-type"]
        assets = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", html.text)
        assert assets and all(a.startswith("/") for a in assets), (page, assets)
        for asset in assets:
            assert stack.http.get(asset).status_code == 200, asset
    assert stack.http.get("/openapi.json").json()["info"]["title"] == "GPU platform job API"


def test_migrations_are_idempotent_when_runners_race(pg_server):
    url = pg_server.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE DATABASE race")
    race = url.rsplit("/", 1)[0] + "/race"
    results: list[list[str]] = []
    threads = [threading.Thread(target=lambda: results.append(migrate(race))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(r) for r in results) == [0, 3]
    assert migrate(race) == []


def test_settings_errors_name_the_field(tmp_path):
    bad = settings_dict(allowed_principal_arns=["arn:aws:iam::1:role/x"])
    with pytest.raises(
        SettingsError,
        match=r"settings.json: allowed_principal_arns: .arn:aws:iam::1:role/x. is not an IAM role or user",
    ):
        parse_settings(json.dumps(bad), "settings.json")
    extra = settings_dict(surprise=1)
    with pytest.raises(SettingsError, match=r"settings.json: surprise .*Extra inputs are not permitted"):
        parse_settings(json.dumps(extra), "settings.json")
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(settings_dict()))
    with pytest.raises(SettingsError, match="set exactly one of JOB_API_DB_SECRET_ARN"):
        Environment.from_env({"JOB_API_SETTINGS_FILE": str(path)})
    with pytest.raises(SettingsError, match="both JOB_API_TLS_CERT_FILE and JOB_API_TLS_KEY_FILE"):
        Environment.from_env(
            {
                "JOB_API_SETTINGS_FILE": str(path),
                "JOB_API_DATABASE_URL": "postgresql://x",
                "JOB_API_TLS_CERT_FILE": "c",
            }
        )
    env = Environment.from_env({"JOB_API_SETTINGS_FILE": str(path), "JOB_API_DATABASE_URL": "postgresql://x"})
    assert env.sts_endpoint == "https://sts.us-west-2.amazonaws.com/"


# --- the CLI --------------------------------------------------------------------------------------


def test_gpu_dev_job_commands_sign_in_once_and_reuse_the_key(stack, tmp_path, monkeypatch, capsys):
    from gpu_dev.cli import main

    creds = assumed_role_credentials(stack.sts, ROLE, "alice")
    for name, value in {
        "AWS_ACCESS_KEY_ID": creds.access_key,
        "AWS_SECRET_ACCESS_KEY": creds.secret_key,
        "AWS_SESSION_TOKEN": creds.token,
        "AWS_REGION": "us-west-2",
        "GPU_DEV_JOB_API_URL": stack.server.url,
        "GPU_DEV_STS_ENDPOINT": stack.sts,
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }.items():
        monkeypatch.setenv(name, value)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["--stage", "dev", "job", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = run(
        "submit", "--team", "training", "--pool", "t4", "--json", IMAGE, "--", "python", "t.py"
    )
    assert code == 0
    job = json.loads(out)
    assert job["request"]["command"] == ["python", "t.py"] and job["status"] == "queued"
    cache = tmp_path / "cache" / "gpu-dev" / "job-api-dev.json"
    assert oct(cache.stat().st_mode & 0o777) == "0o600"
    assert json.loads(cache.read_text())["principal"].endswith("assumed-role/GpuDevelopers/alice")

    stack.dispatcher().run_once()
    stack.fake.start_job("team-training", job_name(job["id"]), log="step 1\nstep 2\n")
    code, out, _ = run("list")
    assert code == 0 and job["id"] in out and "dispatched" in out
    code, out, _ = run("show", job["id"], "--json")
    assert json.loads(out)["kubernetes_job"] == job_name(job["id"])
    code, out, _ = run("logs", job["id"], "--tail", "1")
    assert (code, out) == (0, "step 2\n")
    code, out, _ = run("cancel", job["id"])
    assert code == 0 and "cancelling" in out
    with psycopg.connect(stack.db_url) as conn:
        assert conn.execute("SELECT count(*) FROM job_api_keys").fetchone()[0] == 1  # signed in once

    code, _, err = run("submit", "--team", "training", "--gpu-type", "T4", "docker.io/library/python:3")
    assert code == 2 and "registry docker.io; stage dev allows only" in err
    code, _, err = run("show", "not-a-job")
    assert code == 2 and "is not a job id" in err
