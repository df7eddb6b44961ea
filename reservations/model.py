"""The reservation record (seed 002's DynamoDB schema) and the life cycle it moves through.

queued -> preparing -> active -> expired, with cancelled and failed reachable from every state
that has not ended. The processor creates each record from the CLI's message, already ``queued``
(or ``failed``). ``pending`` is seed 002's first status; no stored record has it, but the CLI
shows a request whose record the processor has not created yet as pending.

Every write of a record is conditional on the ``version`` it was read at (see ``store``), so two
writers can never both move the same reservation.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

# Keys of the table's items that are not reservations (no ``status``: in no index). The
# developers' policy lets the CLI get these and nothing else by key (see ``reservations.store``).
SUMMARY_KEY = "summary#capacity"  # the capacity summary
FORECAST_PREFIX = "forecast#"  # + GPU type: the queue's positions and ETAs, one item per type


# The table's global secondary indexes, index -> (partition key, sort key): the contract between
# the table (platform_constructs.reservations_table), the store and the CLI. Every index
# projects every attribute.
INDEXES = {
    "StatusIndex": ("status", "created_at"),
    "UserIndex": ("user_id", "created_at"),
    "StatusGpuTypeIndex": ("status_gpu_type", "created_at"),
    "OwnerIndex": ("owner_id", "reservation_id"),
}
OWNER_INDEX = "OwnerIndex"  # a developer's own records: the only index the CLI may query


class Status(StrEnum):
    PENDING = "pending"  # requested, not yet recorded by the processor (the CLI's view)
    QUEUED = "queued"  # accepted, waiting for capacity
    PREPARING = "preparing"  # GPUs allocated on a node, pod starting
    ACTIVE = "active"  # pod ready, SSH command published
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    FAILED = "failed"


ENDED = frozenset({Status.EXPIRED, Status.CANCELLED, Status.FAILED})

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.QUEUED, Status.PREPARING, Status.CANCELLED, Status.FAILED}),
    Status.QUEUED: frozenset({Status.PREPARING, Status.CANCELLED, Status.FAILED}),
    Status.PREPARING: frozenset({Status.ACTIVE, Status.CANCELLED, Status.FAILED, Status.EXPIRED}),
    Status.ACTIVE: frozenset({Status.EXPIRED, Status.CANCELLED, Status.FAILED}),
    Status.EXPIRED: frozenset(),
    Status.CANCELLED: frozenset(),
    Status.FAILED: frozenset(),
}


class IllegalTransition(ValueError):
    pass


def check_transition(current: Status, target: Status) -> None:
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(f"a {current} reservation cannot become {target}")


def now() -> datetime:
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    """Seed 002's timestamp form, ``2025-01-12T10:30:00.000Z`` (sortable as a string)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Reservation:
    """One row of the reservations table. Optional fields are absent from the item when None."""

    reservation_id: str
    user_id: str
    github_user: str
    gpu_type: str
    gpu_count: int
    duration_hours: float
    status: Status
    created_at: str
    version: int = 0
    expires_at: str | None = None
    launched_at: str | None = None
    reservation_ended: str | None = None
    cancelled_at: str | None = None
    pod_name: str | None = None
    namespace: str | None = None
    node_name: str | None = None
    # A multi-node reservation's nodes in rank order (``node_name`` is rank 0's); empty for one.
    gang_nodes: list[str] = field(default_factory=list)
    node_ip: str | None = None
    node_port: int | None = None
    ssh_command: str | None = None
    queue_position: int | None = None
    estimated_start: str | None = None  # when the scheduler's plan starts it
    estimated_wait_minutes: int | None = None
    last_queue_update: str | None = None
    preparing_since: str | None = None
    failure_reason: str | None = None
    warnings_sent: list[int] = field(default_factory=list)
    # Set in the same write that ends a reservation which may own a pod or service; removed once
    # both are confirmed gone (the expiry pass retries the deletion of whatever is left).
    cleanup_pending: bool | None = None
    # Why the latest extension was refused (the reservation itself carries on unchanged).
    extension_refusal: str | None = None
    # SQS message ids of the extensions applied, so a redelivered message extends only once.
    applied_messages: list[str] = field(default_factory=list)
    # Who sent the request, as SQS stamps it (``SenderId``: ``<role id>:<session name>`` for a
    # role session, the user id ``AIDA...`` for an IAM user) -- the value IAM's ``${aws:userid}``
    # has for the same caller, so the developers' policy can let each read only the records
    # whose ``OwnerIndex`` key is their own (README, "Private records"). None: no sender known.
    owner_id: str | None = None

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if value is None or value == []:
                continue
            if isinstance(value, float):
                value = Decimal(str(value))
            item[spec.name] = value.value if isinstance(value, Status) else value
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Reservation:
        known = {spec.name for spec in fields(cls)}
        values = {key: value for key, value in item.items() if key in known}
        values["status"] = Status(values["status"])
        for key in ("gpu_count", "version", "node_port", "queue_position", "estimated_wait_minutes"):
            if key in values:
                values[key] = int(values[key])
        values["duration_hours"] = float(values["duration_hours"])
        values["warnings_sent"] = sorted(int(v) for v in values.get("warnings_sent", []))
        values["applied_messages"] = [str(v) for v in values.get("applied_messages", [])]
        values["gang_nodes"] = [str(v) for v in values.get("gang_nodes", [])]
        return cls(**values)
