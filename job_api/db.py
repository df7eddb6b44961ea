"""The database connection: a pool of autocommit connections (a ``with conn.transaction()``
block is an explicit transaction), to ``JOB_API_DATABASE_URL`` or to the Secrets Manager secret
``JOB_API_DB_SECRET_ARN`` (RDS's JSON shape), which is read again when PostgreSQL refuses the
password, so a rotated secret is picked up without a restart."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool

from job_api.settings import Environment

AUTH_FAILED = "28P01"  # invalid_password


class SecretSource:
    """The conninfo from an RDS-shaped secret, cached until a login fails."""

    def __init__(self, secret_arn: str, region: str):
        self.secret_arn = secret_arn
        self.region = region
        self._lock = threading.Lock()
        self._conninfo: str | None = None

    def __call__(self) -> str:
        with self._lock:
            if self._conninfo is None:
                import boto3

                client = boto3.client("secretsmanager", region_name=self.region)
                secret = json.loads(client.get_secret_value(SecretId=self.secret_arn)["SecretString"])
                self._conninfo = make_conninfo(
                    host=secret["host"],
                    port=str(secret.get("port", 5432)),
                    dbname=secret.get("dbname", "postgres"),
                    user=secret["username"],
                    password=secret["password"],
                    sslmode="require",
                )
            return self._conninfo

    def forget(self) -> None:
        with self._lock:
            self._conninfo = None


def _auth_failed(exc: psycopg.OperationalError) -> bool:
    return exc.sqlstate == AUTH_FAILED or "password authentication failed" in str(exc)


class Database:
    def __init__(self, conninfo: str | SecretSource, *, max_size: int = 10, min_size: int = 1):
        source = conninfo

        class _Connection(psycopg.Connection[Any]):
            @classmethod
            def connect(cls, conninfo: str = "", **kwargs: Any) -> _Connection:
                try:
                    return super().connect(conninfo, **kwargs)
                except psycopg.OperationalError as exc:
                    if not isinstance(source, SecretSource) or not _auth_failed(exc):
                        raise
                    source.forget()  # rotated: read the secret again, once
                    return super().connect(source(), **kwargs)

        self.pool = ConnectionPool(
            conninfo=conninfo,
            connection_class=_Connection,
            kwargs={"autocommit": True},
            min_size=min_size,
            max_size=max_size,
            open=True,
            name="job-api",
        )

    @classmethod
    def from_environment(cls, env: Environment, **kwargs: Any) -> Database:
        if env.database_url:
            return cls(env.database_url, **kwargs)
        assert env.db_secret_arn is not None
        return cls(SecretSource(env.db_secret_arn, env.settings.region), **kwargs)

    @contextmanager
    def connection(self, timeout: float = 10.0) -> Iterator[psycopg.Connection[Any]]:
        with self.pool.connection(timeout=timeout) as conn:
            yield conn

    def conninfo(self) -> str:
        source = self.pool.conninfo
        return source() if callable(source) else str(source)

    def close(self) -> None:
        self.pool.close()
