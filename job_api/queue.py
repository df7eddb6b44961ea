"""The submission queue: PGMQ's SQL functions, called on the caller's connection so a send can
share the transaction that writes the job record (a job is queued if and only if it is recorded).

At-least-once: :func:`read` hides a message for ``visibility_seconds``; a consumer that dies
before :func:`archive` leaves it to reappear for another. ``read_ct`` counts deliveries, which
the dispatcher uses to dead-letter a message that keeps failing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import psycopg

QUEUE = "jobs"
DEAD_LETTERS = "jobs_dead"


@dataclass(frozen=True)
class Message:
    msg_id: int
    read_ct: int
    body: dict[str, Any]


def send(conn: psycopg.Connection, body: dict[str, Any], name: str = QUEUE) -> int:
    row = conn.execute("SELECT * FROM pgmq.send(%s, %s::jsonb)", (name, json.dumps(body))).fetchone()
    assert row is not None
    return int(row[0])


def read(conn: psycopg.Connection, visibility_seconds: int, count: int) -> list[Message]:
    rows = conn.execute(
        "SELECT msg_id, read_ct, message FROM pgmq.read(%s, %s, %s)", (QUEUE, visibility_seconds, count)
    ).fetchall()
    return [Message(int(r[0]), int(r[1]), r[2]) for r in rows]


def archive(conn: psycopg.Connection, msg_id: int) -> None:
    conn.execute("SELECT pgmq.archive(%s, %s::bigint)", (QUEUE, msg_id))


def dead_letter(conn: psycopg.Connection, message: Message, reason: str) -> None:
    """Copy the message to the dead-letter queue with the reason, and archive the original."""
    send(conn, {**message.body, "reason": reason, "read_ct": message.read_ct}, DEAD_LETTERS)
    archive(conn, message.msg_id)


def depth(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT queue_length FROM pgmq.metrics(%s)", (QUEUE,)).fetchone()
    assert row is not None
    return int(row[0])
