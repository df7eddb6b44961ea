"""Requests that reached the dead-letter queue leave a record that says so.

SQS moves a message to the DLQ after ``maxReceiveCount`` receives that did not finish -- a bug,
DynamoDB throttling, or an invocation Lambda stopped at its deadline before the message was
applied. Its alarm pages the on-call, but the developer would see nothing: no record, a
``gpu-dev reserve`` that waits for ever. So:

* the processor, when a Reserve fails on its last receive, creates its record ``failed`` with
  the error (:func:`record`), and
* the expiry pass (every 5 minutes) PEEKS at the DLQ -- receives with a visibility timeout of
  0, deleting nothing, so the messages stay for the on-call and the alarm -- and does the same
  for every Reserve there without a record (one killed on its last receive never reached the
  processor's ``except``).

``create_if_absent`` makes both idempotent, and a record that exists is never changed. A
Reserve moved back from the DLQ (the runbook's redrive) finds its ``failed`` record and does
nothing: the developer reserves again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from . import messages
from .model import Reservation, Status

log = logging.getLogger("reservation-dead-letters")

MAX_RECEIVES = 3  # the request queue's maxReceiveCount: receives before SQS dead-letters a message
PEEKS = 10  # receives of up to 10 messages each per expiry pass


@dataclass(frozen=True)
class Letter:
    """A message in the DLQ: its body and who sent it (``SenderId``, the record's owner)."""

    body: str
    sender: str = ""


class DeadLetterQueue(Protocol):
    def peek(self) -> list[Letter]:
        """Messages in the queue, left in it."""
        ...


class SqsDeadLetters:
    def __init__(self, queue_url: str, client: Any = None, region_name: str | None = None) -> None:
        import boto3

        self.queue_url = queue_url
        self.client = client or boto3.client("sqs", region_name=region_name)

    def peek(self) -> list[Letter]:
        seen: dict[str, Letter] = {}
        for _ in range(PEEKS):
            response = self.client.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=0,
                WaitTimeSeconds=0,
                AttributeNames=["SenderId"],
            )
            batch = response.get("Messages", [])
            fresh = [m for m in batch if m["MessageId"] not in seen]
            if not fresh:
                break
            seen.update(
                {
                    m["MessageId"]: Letter(m["Body"], m.get("Attributes", {}).get("SenderId", ""))
                    for m in fresh
                }
            )
        return list(seen.values())


def record(store: Any, message: messages.Reserve, reason: str, at: str, sender: str) -> bool:
    """Create ``message``'s record as ``failed`` with ``reason`` unless it has one."""
    failed = requested(message, Status.FAILED, sender, failure_reason=reason[:500], reservation_ended=at)
    return bool(store.create_if_absent(failed))


def requested(message: messages.Reserve, status: Status, sender: str, **fields: Any) -> Reservation:
    """The record of what a Reserve asked for, in ``status`` (queued by the processor, failed
    when the request dead-lettered), owned by its ``sender``, with the status's own ``fields``."""
    return Reservation(
        reservation_id=message.reservation_id,
        user_id=message.user_id,
        github_user=message.github_user,
        gpu_type=message.gpu_type,
        gpu_count=message.gpu_count,
        duration_hours=float(message.duration_hours),
        status=status,
        created_at=message.created_at,
        owner_id=sender or None,
        **fields,
    )


def sweep(store: Any, queue: DeadLetterQueue, now: str) -> list[str]:
    """Record every dead-lettered Reserve without a record; the ids recorded."""
    recorded = []
    for letter in queue.peek():
        try:
            message = messages.parse(letter.body)
        except messages.MalformedMessage:
            continue  # nothing to record: the on-call reads it from the DLQ
        if not isinstance(message, messages.Reserve) or store.get(message.reservation_id) is not None:
            continue
        reason = (
            "the request reached the dead-letter queue unprocessed; the platform team is paged; reserve again"
        )
        if record(store, message, reason, now, letter.sender):
            log.error("dead-lettered request %s recorded as failed", message.reservation_id)
            recorded.append(message.reservation_id)
    return recorded


__all__ = ["DeadLetterQueue", "Letter", "SqsDeadLetters", "record", "sweep"]
