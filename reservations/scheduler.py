"""The reservation planner: capacity per GPU type, FIFO with conservative backfill, ETAs.

INTERFACE (fixed; the processor and the simulation depend on it). Implementation pending.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Node:
    """A schedulable GPU node as the cluster reports it (allocatable ``nvidia.com/gpu``)."""

    name: str
    gpu_type: str
    gpus: int


@dataclass(frozen=True)
class Allocation:
    """GPUs held now by a preparing or active reservation, until ``ends_at``."""

    reservation_id: str
    user_id: str
    node: str
    gpus: int
    ends_at: datetime


@dataclass(frozen=True)
class Request:
    """A queued (or pending) reservation, in arrival order by ``created_at``."""

    reservation_id: str
    user_id: str
    gpu_type: str
    gpus: int
    duration: timedelta
    created_at: datetime


@dataclass(frozen=True)
class Start:
    reservation_id: str
    node: str


@dataclass(frozen=True)
class Forecast:
    reservation_id: str
    position: int  # 1-based place in its GPU type's queue
    start_at: datetime  # when the plan starts it; the ETA shown to the user


@dataclass(frozen=True)
class Refusal:
    reservation_id: str
    reason: str  # a sentence a user understands, naming the limit


@dataclass
class Plan:
    starts: list[Start] = field(default_factory=list)
    forecasts: dict[str, Forecast] = field(default_factory=dict)
    refusals: list[Refusal] = field(default_factory=list)
