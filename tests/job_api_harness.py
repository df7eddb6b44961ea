"""Real parts for the job API's tests and benchmark: a throwaway PostgreSQL server (Debian's
``postgresql`` package, run as the ``postgres`` user because the server refuses root), the API
served by uvicorn on a loopback socket, and STS as moto's server.

Nothing here is a mock of the service's own parts: the API, its queue and the dispatcher run as
in production against these.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

PG_ROOT = Path("/usr/lib/postgresql")
MISSING = (
    "PostgreSQL server binaries are not installed (Debian: apt-get install -y postgresql; "
    ".ci/run does this): the job API's tests need a real server"
)
ACCOUNT = "123456789012"  # moto's account
ROLE = f"arn:aws:iam::{ACCOUNT}:role/GpuDevelopers"


def bindir() -> Path | None:
    versions = sorted(
        (p for p in PG_ROOT.glob("*/bin") if (p / "initdb").exists()), key=lambda p: int(p.parent.name)
    )
    return versions[-1] if versions else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def postgres_server(*, durable: bool = False) -> Iterator[str]:
    """Start a PostgreSQL server in a temporary directory on a free loopback port; yield the URL
    of its ``postgres`` database; stop and delete it after. ``durable=False`` turns fsync off
    (tests); the benchmark keeps the server's defaults."""
    binaries = bindir()
    if binaries is None:
        raise FileNotFoundError(MISSING)
    root = Path(tempfile.mkdtemp(prefix="job-api-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=200"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    try:
        subprocess.run(
            [
                *as_user,
                str(binaries / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                *as_user,
                str(binaries / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(root / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ],
            check=True,
            capture_output=True,
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def new_database(server_url: str, name: str) -> str:
    """A fresh, migrated database on the server; its URL."""
    from job_api.migrate import migrate

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = server_url.rsplit("/", 1)[0] + f"/{name}"
    migrate(url)
    return url


def reset(url: str) -> None:
    """Empty a migrated database: records, queues and their archives."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE job_api_jobs, job_api_keys, job_api_used_signatures, pgmq.q_jobs, pgmq.a_jobs, "
            "pgmq.q_jobs_dead, pgmq.a_jobs_dead"
        )


def settings_dict(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "stage": "dev",
        "region": "us-west-2",
        "allowed_principal_arns": [ROLE],
        "key_ttl_minutes": 120,
        "allowed_registries": [f"{ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com", "nvcr.io"],
        "max_runtime_minutes": 1440,
        "limits": {"max_active_jobs_per_user": 10, "max_active_gpus_per_user": 8},
        "teams": {
            "training": {
                "namespace": "team-training",
                "local_queue": "training",
                "priority_class": "training",
                "max_active_gpus": 20,
                "members": [ROLE],
            },
            "research": {
                "namespace": "team-research",
                "local_queue": "research",
                "priority_class": "research",
                "max_active_gpus": 4,
                "members": [f"arn:aws:iam::{ACCOUNT}:role/Researchers"],
            },
        },
        "pools": {
            "t4": {
                "gpu_type": "T4",
                "resource": "nvidia.com/gpu",
                "gpus_per_node": 4,
                "node_selector": {"gpuplatform.io/pool": "t4"},
                "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
            },
            "h100": {
                "gpu_type": "H100",
                "resource": "nvidia.com/gpu",
                "gpus_per_node": 8,
                "node_selector": {"gpuplatform.io/pool": "h100"},
            },
        },
    }
    return base | overrides


class ApiServer:
    """The ASGI app served by uvicorn on 127.0.0.1 (a real socket), in a thread."""

    def __init__(self, app: Any):
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, limit_concurrency=1000)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> ApiServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@contextlib.contextmanager
def sts_server() -> Iterator[str]:
    """moto's server (STS answers GetCallerIdentity for the credentials that signed it); its URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.stop()


def assumed_role_credentials(sts_url: str, role: str, session: str = "alice") -> Any:
    """Credentials of an assumed-role session, from moto's STS (what ``aws sso login`` gives)."""
    import boto3
    from botocore.credentials import Credentials

    client = boto3.client(
        "sts",
        endpoint_url=sts_url,
        region_name="us-west-2",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="secret",
    )
    issued = client.assume_role(RoleArn=role, RoleSessionName=session)["Credentials"]
    return Credentials(issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"])
