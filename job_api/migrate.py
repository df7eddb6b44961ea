"""Schema migrations: PGMQ's SQL-only install (shipped by the pinned ``pgmq`` package), the job
API's tables (plain SQL files in ``migrations/``) and the queues, applied in order and recorded
in ``job_api_schema_migrations``.

Idempotent and safe when several replicas run it at once (init containers of the API's
replicas): the whole run is one transaction holding a PostgreSQL advisory lock, so the second
runner waits, then finds every step recorded and does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
from pgmq.install import get_embedded_install_sql, get_embedded_sql_version

from job_api import queue

LOCK_ID = 0x6A6F6261_7069  # "jobapi": one advisory lock id for every migration run
HERE = Path(__file__).parent / "migrations"

Step = tuple[str, Callable[[psycopg.Connection], None]]


def _sql_file(name: str) -> Callable[[psycopg.Connection], None]:
    def apply(conn: psycopg.Connection) -> None:
        conn.execute((HERE / name).read_text().encode())

    return apply


def _pgmq(conn: psycopg.Connection) -> None:
    conn.execute(get_embedded_install_sql().encode())


def _queues(conn: psycopg.Connection) -> None:
    for name in (queue.QUEUE, queue.DEAD_LETTERS):
        conn.execute("SELECT pgmq.create(%s)", (name,))


def steps() -> list[Step]:
    """Every migration in order. A step's name never changes once released."""
    return [
        (f"0001_pgmq_{get_embedded_sql_version()}", _pgmq),
        ("0002_schema", _sql_file("0002_schema.sql")),
        ("0003_queues", _queues),
    ]


def migrate(conninfo: str) -> list[str]:
    """Apply the steps not yet recorded; returns their names."""
    applied: list[str] = []
    with psycopg.connect(conninfo, autocommit=False) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_ID,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS job_api_schema_migrations ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in conn.execute("SELECT version FROM job_api_schema_migrations")}
        if any(name.startswith("0001_pgmq_") for name in done):
            done.add(steps()[0][0])  # PGMQ's SQL-only install has no upgrade path: keep it
        for name, apply in steps():
            if name in done:
                continue
            apply(conn)
            conn.execute("INSERT INTO job_api_schema_migrations (version) VALUES (%s)", (name,))
            applied.append(name)
    return applied
