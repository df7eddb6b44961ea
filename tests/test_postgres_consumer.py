"""The consumer bootstrap (``lambda/postgres_consumer``) against a real PostgreSQL 15 server:
a throwaway cluster in a temporary directory, run as the ``postgres`` user (the server refuses
root), and a stand-in for the RDS Data API that runs each call's SQL with ``psql`` as a
non-superuser master (CREATEROLE, CREATEDB), as Aurora's master user is."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.reservation_fixtures import load_handler

BIN = Path("/usr/local/bin")
handler = load_handler("postgres_consumer")

pytestmark = pytest.mark.skipif(
    not (BIN / "initdb").exists() or shutil.which("psql") is None or shutil.which("runuser") is None,
    reason="needs PostgreSQL's initdb and psql, and runuser to run the server as postgres",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, base: Path) -> None:
        self.data, self.port = base / "data", _free_port()
        base.chmod(0o777)
        as_pg = ["runuser", "-u", "postgres", "--"]
        subprocess.run(
            [*as_pg, str(BIN / "initdb"), "-D", str(self.data), "--auth-local=trust",
             "--auth-host=scram-sha-256", "-U", "postgres"],
            check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run(
            [*as_pg, str(BIN / "pg_ctl"), "-D", str(self.data), "-w", "-l", str(base / "log"), "-o",
             f"-p {self.port} -k {base} -c listen_addresses=127.0.0.1", "start"],
            check=True, capture_output=True,
        )  # fmt: skip
        self.base, self.as_pg = base, as_pg
        self.psql("postgres", "CREATE ROLE platform_admin LOGIN CREATEROLE CREATEDB")

    def psql(self, user: str, *commands: str, database: str = "postgres", single: bool = False) -> list[str]:
        args = [*self.as_pg, "psql", "-h", str(self.base), "-p", str(self.port), "-U", user, "-d", database]
        args += ["-v", "ON_ERROR_STOP=1", "-At", *(["--single-transaction"] if single else [])]
        for command in commands:
            args += ["-c", command]
        done = subprocess.run(args, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(done.stderr.strip())
        return [line for line in done.stdout.splitlines() if line]

    def login(self, user: str, password: str, database: str) -> bool:
        """A password login over TCP (scram-sha-256), as the service makes it."""
        args = [
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            user,
            "-d",
            database,
            "-Atc",
            "SELECT 1",
        ]
        env = {**os.environ, "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "5"}
        return subprocess.run(args, capture_output=True, env=env).returncode == 0

    def stop(self) -> None:
        subprocess.run([*self.as_pg, str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                       capture_output=True)  # fmt: skip


class ResumingError(Exception):
    pass


ResumingError.__name__ = "DatabaseResumingException"


class DataApiStandIn:
    """``rds-data`` calls as the master user: parameters become literals, transactions one
    ``psql --single-transaction`` run at commit; every SQL text sent is recorded."""

    def __init__(self, server: Server, resuming: int = 0) -> None:
        self.server, self.resuming = server, resuming
        self.sent: list[str] = []
        self.transactions: dict[str, list[str]] = {}

    def _resume(self) -> None:
        if self.resuming:
            self.resuming -= 1
            raise ResumingError("the cluster is resuming")

    def begin_transaction(self, *, resourceArn, secretArn, database):
        self._resume()
        transaction = str(uuid.uuid4())
        self.transactions[transaction] = []
        return {"transactionId": transaction}

    def execute_statement(self, *, resourceArn, secretArn, sql, database, transactionId=None, parameters=()):
        self._resume()
        self.sent.append(sql)
        for p in parameters:
            sql = sql.replace(f":{p['name']}", "'" + p["value"]["stringValue"].replace("'", "''") + "'")
        if transactionId:
            self.transactions[transactionId].append(sql)
            return {}
        return {"records": [[{"stringValue": v}] for v in self.server.psql("platform_admin", sql)]}

    def commit_transaction(self, *, resourceArn, secretArn, transactionId):
        self.server.psql("platform_admin", *self.transactions.pop(transactionId), single=True)

    def rollback_transaction(self, *, resourceArn, secretArn, transactionId):
        self.transactions.pop(transactionId, None)


@pytest.fixture(scope="module")
def server():
    """Under /tmp itself: pytest's own temporary directories are closed to other users."""
    base = Path(tempfile.mkdtemp(prefix="pg-consumer-"))
    started = Server(base)
    yield started
    started.stop()
    shutil.rmtree(base, ignore_errors=True)


def api(client) -> Any:
    return handler.DataApi(client, cluster_arn="arn:cluster", master_secret_arn="arn:master")


def test_the_login_and_database_are_created_with_the_secrets_password(server):
    client = DataApiStandIn(server)
    handler.ensure_consumer(api(client), name="job_api", password="s3cret-Passw0rd")
    assert server.login("job_api", "s3cret-Passw0rd", "job_api")
    assert not server.login("job_api", "wrong", "job_api")
    owner = server.psql(
        "postgres", "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'job_api'"
    )
    assert owner == ["job_api"]
    assert all("s3cret-Passw0rd" not in sql for sql in client.sent)  # a parameter, never SQL text


def test_a_second_run_changes_nothing_and_keeps_the_rotated_password(server):
    handler.ensure_consumer(api(DataApiStandIn(server)), name="mlflow", password="first-Passw0rd")
    handler.ensure_consumer(api(DataApiStandIn(server)), name="mlflow", password="other-Passw0rd")
    assert server.login("mlflow", "first-Passw0rd", "mlflow")


def test_no_other_login_connects_to_a_consumers_database(server):
    handler.ensure_consumer(api(DataApiStandIn(server)), name="job_api", password="s3cret-Passw0rd")
    handler.ensure_consumer(api(DataApiStandIn(server)), name="mlflow", password="first-Passw0rd")
    assert not server.login("mlflow", "first-Passw0rd", "job_api")
    assert server.login("job_api", "s3cret-Passw0rd", "job_api")


def test_a_resuming_cluster_is_waited_for(server, monkeypatch):
    monkeypatch.setattr(handler, "RESUME_WAIT_SECONDS", 0)
    handler.ensure_consumer(api(DataApiStandIn(server, resuming=2)), name="resumed", password="Passw0rd-x")
    assert server.login("resumed", "Passw0rd-x", "resumed")


@pytest.mark.parametrize("name", ["Job", "job-api", "x; DROP DATABASE postgres", ""])
def test_a_name_that_is_not_plain_is_refused_before_any_call(server, name):
    client = DataApiStandIn(server)
    with pytest.raises(ValueError, match="not a plain PostgreSQL name"):
        handler.ensure_consumer(api(client), name=name, password="x")
    assert client.sent == []


def test_delete_touches_nothing():
    event = {"RequestType": "Delete", "PhysicalResourceId": "arn:cluster/job_api", "ResourceProperties": {
        "ClusterArn": "arn:cluster", "Consumer": "job_api"}}  # fmt: skip
    assert handler.apply(event) == "arn:cluster/job_api"
