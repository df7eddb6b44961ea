"""The queue's positions and ETAs: one item per GPU type, not one write per queued request.

Every scheduling pass plans every queue, and when the head of a queue starts, every request
behind it moves up one place. Written onto each record, that was one write per queued request
(4,832 for 5,000 queued, each billed once for the table and once for every index). Instead the
pass writes one item per GPU type, ``forecast#<type>``, holding the whole queue in order --
position is the place in it -- and each request's planned start, and writes it only when an
order or an ETA changed (by more than :data:`ETA_TOLERANCE`). The CLI reads its own type's
item (a GetItem the developers' policy allows: it names reservation ids and times, no user and
no address) and finds its request in it.

Encoding (``queue``, a Binary attribute): per request, in queue order, the 16 bytes of its
UUID then the planned start as 4 bytes, big-endian, in minutes after the item's ``base``
(``0xFFFFFFFF``: no node can hold it yet). 20 bytes a request: 5,000 queued are ~98 KB (98
write units a write); DynamoDB's 400 KB item limit is reached at about 20,000, so an item holds
at most :data:`MAX_ENTRIES` and requests further back show no position.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .model import FORECAST_PREFIX, from_iso, to_iso

ETA_TOLERANCE = timedelta(minutes=1)  # an ETA that moved less is not rewritten
MAX_ENTRIES = 15_000
_ENTRY = struct.Struct(">16sI")
_NO_START = 0xFFFFFFFF
_FURTHEST = 2**31  # minutes


@dataclass(frozen=True)
class Place:
    """One request's place in its queue."""

    position: int  # 1-based
    start_at: datetime | None  # the plan's start; None: no node can hold it yet


def key(gpu_type: str) -> str:
    return FORECAST_PREFIX + gpu_type


def encode(gpu_type: str, queue: list[tuple[str, datetime | None]], at: datetime) -> dict[str, Any]:
    """The item for ``queue`` (reservation id and planned start, in queue order) as of ``at``."""
    base = at.replace(second=0, microsecond=0)
    entries = bytearray()
    for reservation_id, start_at in queue[:MAX_ENTRIES]:
        if start_at is None:
            minutes = _NO_START
        else:  # a start beyond ~4,000 years is stored as that (datetime ends at year 9999)
            minutes = min(max(0, int((start_at - base).total_seconds() // 60)), _FURTHEST)
        entries += _ENTRY.pack(uuid.UUID(reservation_id).bytes, minutes)
    return {
        "reservation_id": key(gpu_type),
        "updated_at": to_iso(at),
        "base": to_iso(base),
        "queued": len(queue),
        "queue": bytes(entries),
    }


def decode(item: dict[str, Any] | None) -> dict[str, Place]:
    """Each request's place, by reservation id (empty for no item)."""
    if not item or "queue" not in item:
        return {}
    raw = item["queue"]
    data = bytes(raw.value if hasattr(raw, "value") else raw)  # boto3 wraps Binary values
    base = from_iso(str(item["base"]))
    places: dict[str, Place] = {}
    for index, (packed, minutes) in enumerate(_ENTRY.iter_unpack(data)):
        start = None if minutes == _NO_START else base + timedelta(minutes=minutes)
        places[str(uuid.UUID(bytes=packed))] = Place(index + 1, start)
    return places


def changed(old: dict[str, Place], queue: list[tuple[str, datetime | None]]) -> bool:
    """Whether ``queue`` differs from what ``old`` shows: another order, or an ETA that moved
    by more than :data:`ETA_TOLERANCE` (the stored minutes round ETAs down, which this absorbs)."""
    queue = queue[:MAX_ENTRIES]
    if len(old) != len(queue):
        return True
    for position, (reservation_id, start_at) in enumerate(queue, start=1):
        place = old.get(reservation_id)
        if place is None or place.position != position:
            return True
        if place.start_at is None or start_at is None:
            if place.start_at != start_at:
                return True
        elif abs(place.start_at - start_at) > ETA_TOLERANCE:
            return True
    return False


__all__ = ["ETA_TOLERANCE", "MAX_ENTRIES", "Place", "changed", "decode", "encode", "key"]
