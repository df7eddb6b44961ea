"""Seed 002's queue, for comparison in ``benchmarks/reservations_sim.py`` only (no Lambda uses it).

Strict FIFO per GPU type: requests start in ``created_at`` order while one fits on a node;
once the head of a type's queue does not fit, nothing behind it starts. The ETA is the seed's
guess: for the head, the first active expiry after which the type as a whole has enough free
GPUs (seed 002 counts GPUs per type, not per node); otherwise, and for everyone behind the
head, 15 minutes per queue position. Same signature and result types as
:func:`reservations.scheduler.plan`, same refusals; the node a start lands on is chosen the same
way (best fit), so the simulation compares queue disciplines, not node pickers. Seed 002 has
no per-user GPU limit, and neither does this.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from reservations.policy import Policy
from reservations.scheduler import (
    Allocation,
    Forecast,
    Node,
    Plan,
    Refusal,
    Request,
    Start,
    fifo_order,
    refusal_reason,
)

MINUTES_PER_POSITION = 15


def plan(
    nodes: Sequence[Node],
    allocations: Sequence[Allocation],
    queue: Sequence[Request],
    now: datetime,
    policy: Policy,
) -> Plan:
    result = Plan()
    free = {node.name: node.gpus for node in nodes}
    node_type = {node.name: node.gpu_type for node in nodes}
    expiries: dict[str, list[tuple[datetime, int]]] = {}
    for allocation in allocations:
        if allocation.node in free and allocation.ends_at > now:
            free[allocation.node] -= allocation.gpus
            expiries.setdefault(node_type[allocation.node], []).append((allocation.ends_at, allocation.gpus))
    positions: dict[str, int] = {}
    for request in fifo_order(queue):
        reason = refusal_reason(request, policy)
        if reason is not None:
            result.refusals.append(Refusal(request.reservation_id, reason))
            continue
        kind = request.gpu_type
        if kind not in positions:  # nobody of this type waits yet
            fits = [(gpus, n) for n, gpus in free.items() if node_type[n] == kind and gpus >= request.gpus]
            if fits:
                node = min(fits)[1]
                free[node] -= request.gpus
                expiries.setdefault(kind, []).append((now + request.duration, request.gpus))
                result.starts.append(Start(request.reservation_id, node))
                continue
        position = positions[kind] = positions.get(kind, 0) + 1
        eta = now + timedelta(minutes=MINUTES_PER_POSITION * position)
        if position == 1:
            available = sum(gpus for name, gpus in free.items() if node_type[name] == kind)
            for ends_at, gpus in sorted(expiries.get(kind, [])):
                available += gpus
                if available >= request.gpus:
                    eta = ends_at
                    break
        result.forecasts[request.reservation_id] = Forecast(request.reservation_id, position, eta)
    return result
