"""The SQS messages the CLI sends and the processor accepts.

Parsing is strict: a message that is not JSON, names an unknown type or lacks a field raises
:class:`MalformedMessage`, which the processor reports as a batch item failure (so it reaches
the DLQ after 3 receives) while the rest of its batch is processed.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields
from typing import Literal

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class MalformedMessage(ValueError):
    pass


@dataclass(frozen=True)
class Reserve:
    type: Literal["reservation"]
    reservation_id: str
    user_id: str
    github_user: str
    gpu_type: str
    gpu_count: int
    duration_hours: float
    created_at: str


@dataclass(frozen=True)
class Cancel:
    type: Literal["cancellation"]
    reservation_id: str
    user_id: str


@dataclass(frozen=True)
class Extend:
    type: Literal["extension"]
    reservation_id: str
    user_id: str
    extend_hours: float


Message = Reserve | Cancel | Extend
_BY_TYPE: dict[str, type] = {"reservation": Reserve, "cancellation": Cancel, "extension": Extend}


def encode(message: Message) -> str:
    return json.dumps(asdict(message), sort_keys=True)


def parse(body: str) -> Message:
    """Seed 002 sends ``type`` optional, defaulting to ``reservation``; so do we."""
    try:
        data = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise MalformedMessage(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MalformedMessage("not a JSON object")
    kind = data.setdefault("type", "reservation")
    cls = _BY_TYPE.get(kind)
    if cls is None:
        raise MalformedMessage(f"unknown message type {kind!r}; known: {', '.join(_BY_TYPE)}")
    expected = {spec.name: spec.type for spec in fields(cls)}
    missing = sorted(set(expected) - set(data))
    unknown = sorted(set(data) - set(expected))
    if missing or unknown:
        raise MalformedMessage(f"{kind} message: missing {missing}, unknown {unknown}")
    if not isinstance(data["reservation_id"], str) or not re.match(UUID_PATTERN, data["reservation_id"]):
        raise MalformedMessage(f"reservation_id {data['reservation_id']!r} is not a UUID")
    count = data.get("gpu_count", 1)
    if not isinstance(count, int) or isinstance(count, bool):
        raise MalformedMessage("gpu_count must be an integer")
    for name in ("duration_hours", "extend_hours"):
        if name in data and (not isinstance(data[name], int | float) or data[name] <= 0):
            raise MalformedMessage(f"{name} must be a positive number")
    for name in ("user_id", "github_user", "gpu_type", "created_at"):
        if name in data and (not isinstance(data[name], str) or not data[name]):
            raise MalformedMessage(f"{name} must be a non-empty string")
    parsed: Reserve | Cancel | Extend = cls(**data)
    return parsed
