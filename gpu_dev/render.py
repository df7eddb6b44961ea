"""Human-readable output: times, durations, tables and the one-line live state while waiting.

Times are shown in UTC, so what one user pastes another reads the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from reservations import dev_pod
from reservations.model import ENDED, Reservation, Status, from_iso
from reservations.policy import Policy

SHORT_ID = 8


def short_id(reservation_id: str) -> str:
    return reservation_id[:SHORT_ID]


def when(text: str | None) -> str:
    if not text:
        return "-"
    return from_iso(text).strftime("%Y-%m-%d %H:%M UTC")


def duration(delta: timedelta) -> str:
    """``1d 2h``, ``3h 05m``, ``12m``, ``45s`` (never negative)."""
    seconds = max(0, int(delta.total_seconds()))
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m"
    return f"{seconds}s"


def countdown(delta: timedelta) -> str:
    """``1:02:03`` or ``12:34``, for a line that updates every second."""
    seconds = max(0, int(delta.total_seconds()))
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def hours(value: float) -> str:
    return f"{value:g} h"


def gpus(record: Reservation) -> str:
    return f"{record.gpu_count} x {record.gpu_type}"


def eta(record: Reservation, now: datetime) -> datetime | None:
    if record.estimated_start:
        return from_iso(record.estimated_start)
    if record.estimated_wait_minutes is not None:
        base = from_iso(record.last_queue_update or record.created_at)
        return base + timedelta(minutes=record.estimated_wait_minutes)
    return None


def queue_text(record: Reservation, now: datetime, live: bool = False) -> str:
    position = f"position {record.queue_position}" if record.queue_position else "position unknown"
    start = eta(record, now)
    if start is None:
        return f"{position}, ETA unknown"
    if start <= now:
        return f"{position}, starting any moment"
    left = countdown(start - now) if live else duration(start - now)
    return f"{position}, ETA {start.strftime('%H:%M UTC')} (in {left})"


def expires_text(record: Reservation, now: datetime) -> str:
    if not record.expires_at:
        return f"{hours(record.duration_hours)} after start" if record.status not in ENDED else "-"
    expires = from_iso(record.expires_at)
    if record.status in ENDED:
        return when(record.expires_at)
    if expires <= now:
        return f"{when(record.expires_at)} (expired {duration(now - expires)} ago)"
    return f"{when(record.expires_at)} ({duration(expires - now)} left)"


def warnings_text(record: Reservation) -> str:
    if not record.warnings_sent:
        return ""
    minutes = ", ".join(str(m) for m in sorted(record.warnings_sent, reverse=True))
    return f"expiry warnings sent at {minutes} min"


def notes(record: Reservation, now: datetime) -> str:
    parts = []
    if record.status == Status.QUEUED:
        parts.append(queue_text(record, now))
    elif record.status == Status.PENDING:
        parts.append("waiting for the processor")
    elif record.status == Status.PREPARING:
        parts.append("starting the server")
    elif record.status == Status.ACTIVE and record.ssh_command:
        parts.append(record.ssh_command)
    elif record.status in (Status.FAILED, Status.CANCELLED) and record.failure_reason:
        parts.append(record.failure_reason)
    if record.status not in ENDED and record.warnings_sent:
        parts.append(warnings_text(record))
    if record.status not in ENDED and record.extension_refusal:
        parts.append(f"extension refused: {record.extension_refusal}")
    return "; ".join(parts)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    lines = []
    for row in (headers, *rows):
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def reservation_list(records: Sequence[Reservation], now: datetime) -> str:
    rows = [
        (
            short_id(r.reservation_id),
            str(r.status),
            gpus(r),
            when(r.created_at),
            expires_text(r, now),
            notes(r, now),
        )
        for r in records
    ]
    return table(("ID", "STATUS", "GPUS", "CREATED", "EXPIRES", "NOTES"), rows)


def reservation_detail(record: Reservation, now: datetime) -> str:
    lines = [
        ("Reservation", record.reservation_id),
        ("Status", str(record.status)),
        ("Owner", f"{record.user_id} (GitHub {record.github_user})"),
        ("GPUs", f"{gpus(record)} for {hours(record.duration_hours)}"),
        ("Created", when(record.created_at)),
    ]
    if record.status == Status.QUEUED:
        lines.append(("Queue", queue_text(record, now)))
    if record.launched_at:
        lines.append(("Started", when(record.launched_at)))
    lines.append(("Expires", expires_text(record, now)))
    if record.gang_nodes:
        lines.append(("Nodes", ", ".join(f"{rank}: {n}" for rank, n in enumerate(record.gang_nodes))))
    elif record.node_name:
        lines.append(("Node", record.node_name))
    if record.ssh_command and record.status in (Status.ACTIVE, Status.PREPARING):
        for rank in range(dev_pod.gang_size(record)):
            label = f"SSH node {rank}" if record.gang_nodes else "SSH"
            lines.append((label, str(dev_pod.member_ssh_command(record, rank))))
    if record.failure_reason:
        lines.append(("Reason", record.failure_reason))
    if record.extension_refusal:
        lines.append(("Extension", f"refused: {record.extension_refusal}"))
    if record.reservation_ended:
        lines.append(("Ended", when(record.reservation_ended)))
    lines.append(("Warnings", warnings_text(record) or "none sent"))
    width = max(len(label) for label, _ in lines) + 1
    return "\n".join(f"{label + ':':<{width}} {value}" for label, value in lines)


def record_json(record: Reservation) -> dict[str, Any]:
    data = asdict(record)
    data["status"] = str(record.status)
    return data


def live_line(record: Reservation, now: datetime, waited: timedelta, live: bool) -> str:
    """The state shown while ``reserve`` waits."""
    sid = short_id(record.reservation_id)
    if record.status == Status.PENDING:
        return f"{sid}: pending - waiting for the processor to pick it up ({countdown(waited)})"
    if record.status == Status.QUEUED:
        return f"{sid}: queued for {gpus(record)} - {queue_text(record, now, live=live)}"
    if record.status == Status.PREPARING:
        where = f" on {record.node_name}" if record.node_name else ""
        return f"{sid}: preparing - GPUs allocated{where}, starting your server ({countdown(waited)})"
    return f"{sid}: {record.status}"


def capacity(summary: dict[str, Any] | None, policy: Policy, now: datetime) -> str:
    types = (summary or {}).get("gpu_types", {})
    rows = []
    for gpu_type in policy.gpu_types:
        info = types.get(gpu_type.name, {})
        next_free = info.get("next_free_at")
        if info and not next_free and info.get("free"):
            next_free_text = "now"
        elif next_free:
            start = from_iso(next_free)
            in_ = duration(start - now)
            next_free_text = "now" if start <= now else f"{start.strftime('%H:%M UTC')} (in {in_})"
        else:
            next_free_text = "-"
        largest = max(policy.counts_for(gpu_type), default=0)
        rows.append(
            (
                gpu_type.name,
                info.get("gpu_model", gpu_type.gpu_model),
                f"{info['free']}/{info['total']}" if "free" in info and "total" in info else "?",
                str(info.get("queued", "?")),
                next_free_text,
                str(largest),
            )
        )
    return table(("TYPE", "MODEL", "FREE/TOTAL", "QUEUED", "NEXT FREE", "MAX PER RESERVATION"), rows)
