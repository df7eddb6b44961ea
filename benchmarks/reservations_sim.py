"""Reservation queue simulation: seed 002's strict FIFO against our planner (FIFO with
conservative backfill), fed the same 30 days of requests, reported side by side.

Usage: ``.venv/bin/python -m benchmarks.reservations_sim [--days 30] [--seed 2] [--json]``.

The request stream is generated once from ``--seed`` and both policies replay it:

* Cluster: ``t4`` 6 nodes x 4 GPUs, ``a100`` 6 x 8, ``h100`` 4 x 8 (104 GPUs), fixed sizes as
  in seed 002 (GPU node groups with min = max = desired).
* Arrivals: a Poisson process whose rate follows the working week (UTC): 10 requests an hour on
  weekdays 09:00-18:00, 5 an hour on weekdays 07:00-09:00 and 18:00-22:00, 1.5 an hour at night
  and at weekends; about 760 requests a week of about 14.5 GPU-hours each, an offered load of
  about 63 % of the cluster over the month but about 140 % in working hours, so queues form by
  day and drain at night. The horizon starts on a Monday. (At 12 an hour at peak the FIFO's
  mean wait passes 8 hours, which no team would live with; the whole run takes about 2 s
  either way.) After the last arrival the simulation runs on, without arrivals, until every
  request has started, so every wait is known.
* Each request: GPU type t4 25 %, a100 45 %, h100 30 %; 1 / 2 / 4 / 8 GPUs with probability
  45 / 25 / 18 / 12 % (an 8 on a 4-GPU type becomes a 4); 1, 2, 3, 4, 6, 8, 12 or 24 hours with
  weights 15, 15, 10, 20, 10, 15, 8, 7 (mean 6 h); one of 80 users.
* Behaviour after the start: 25 % of reservations are cancelled early, after 20-90 % of the
  booked time; 10 % are extended once, by 1-4 hours, when 75 % of the booked time has passed;
  the rest run to the end. Neither planner knows in advance, so both ETAs miss by that much.
* Both policies get the same rules: seed 002 has no per-user GPU limit, so the simulated stage
  sets ``max_gpus_per_user`` out of reach (the limit is covered by ``tests/test_scheduler.py``).
  A pod starts the moment its plan says so (no image pull time).

Event-driven: a plan is made whenever something happens (an arrival, an end, an extension),
which is when the processor Lambda would first see it; between events no plan can change, so
this equals planning every minute, only faster. The ETA of a request is the one its first plan
gives it (``estimated_start`` as the user first sees it); requests that start at once have none.
With ``--as-booked`` (no early cancellations, no extensions) our ETAs are met to the second:
later arrivals never move an earlier request's slot, so only a reservation ending other than
booked makes an ETA wrong.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from benchmarks import fifo_baseline
from platform_config import namespaces
from reservations import scheduler
from reservations.policy import GpuType, Policy
from reservations.scheduler import Allocation, Node, Plan, Request

EPOCH = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday
CLUSTER = (("t4", "T4", 4, 6), ("a100", "A100", 8, 6), ("h100", "H100", 8, 4))  # name, model, GPUs, nodes
TYPE_MIX = {"t4": 25, "a100": 45, "h100": 30}
COUNT_MIX = {1: 45, 2: 25, 4: 18, 8: 12}
HOURS_MIX = {1: 15, 2: 15, 3: 10, 4: 20, 6: 10, 8: 15, 12: 8, 24: 7}
USERS = 80
PEAK, SHOULDER, QUIET = 10.0, 5.0, 1.5  # arrivals per hour
EARLY_SHARE, EXTEND_SHARE = 0.25, 0.10

POLICY = Policy(
    stage="sim",
    namespace=namespaces.GPU_DEV,
    gpu_types=tuple(GpuType(name, model, gpus) for name, model, gpus, _ in CLUSTER),
    default_gpu_type="a100",
    max_gpus_per_user=10**6,
)
NODES = [Node(f"{name}-{i}", name, gpus) for name, _, gpus, count in CLUSTER for i in range(count)]

Planner = Callable[..., Plan]


@dataclass(frozen=True)
class Arrival:
    request: Request
    used_share: float  # of the booked time; < 1 when cancelled early
    extend_hours: int  # > 0 when extended once, at 75 % of the booked time


def arrival_rate(moment: datetime) -> float:
    """Requests per hour at ``moment`` (UTC)."""
    if moment.weekday() >= 5:
        return QUIET
    if 9 <= moment.hour < 18:
        return PEAK
    if 7 <= moment.hour < 9 or 18 <= moment.hour < 22:
        return SHOULDER
    return QUIET


T = TypeVar("T")


def _pick(rng: random.Random, mix: dict[T, int]) -> T:
    return rng.choices(list(mix), weights=list(mix.values()))[0]


def generate(days: float, seed: int, as_booked: bool = False) -> list[Arrival]:
    """The request stream: a thinned Poisson process at ``arrival_rate``. ``as_booked``: every
    reservation runs exactly its booked time (the same stream otherwise)."""
    rng = random.Random(seed)
    per_node = {name: gpus for name, _, gpus, _ in CLUSTER}
    horizon = days * 24.0
    arrivals: list[Arrival] = []
    hours = 0.0
    while True:
        hours += rng.expovariate(PEAK)
        if hours >= horizon:
            return arrivals
        moment = EPOCH + timedelta(hours=hours)
        if rng.random() * PEAK >= arrival_rate(moment):
            continue
        kind = _pick(rng, TYPE_MIX)
        gpus = min(_pick(rng, COUNT_MIX), per_node[kind])
        booked = _pick(rng, HOURS_MIX)
        fate, share, extra = rng.random(), rng.uniform(0.2, 0.9), rng.randint(1, 4)
        used, extend = 1.0, 0
        if as_booked:
            pass
        elif fate < EARLY_SHARE:
            used = share
        elif fate < EARLY_SHARE + EXTEND_SHARE:
            extend = extra
        request = Request(
            reservation_id=f"sim-{len(arrivals):06d}",
            user_id=f"user-{rng.randrange(USERS):02d}",
            gpu_type=kind,
            gpus=gpus,
            duration=timedelta(hours=booked),
            created_at=moment.replace(microsecond=0),
        )
        arrivals.append(Arrival(request, used, extend))


@dataclass
class _Running:
    allocation: Allocation
    ends: datetime  # when it really ends (early cancellation or the booked/extended end)
    extend_at: datetime | None


def run(arrivals: list[Arrival], planner: Planner, days: float) -> dict:
    """Replay ``arrivals`` against ``planner``; the figures for one policy."""
    fate = {a.request.reservation_id: a for a in arrivals}
    pending = list(reversed(arrivals))  # pop() takes the next arrival
    queue: dict[str, Request] = {}
    running: dict[str, _Running] = {}
    started: dict[str, datetime] = {}
    eta: dict[str, datetime] = {}
    ended: list[tuple[datetime, datetime, int]] = []  # start, end, GPUs
    plan_seconds, plans = 0.0, 0
    while pending or queue or running:
        moments = [r.ends for r in running.values()] + [r.extend_at for r in running.values() if r.extend_at]
        if pending:
            moments.append(pending[-1].request.created_at)
        now = min(moments)
        newcomers = []
        while pending and pending[-1].request.created_at == now:
            request = pending.pop().request
            queue[request.reservation_id] = request
            newcomers.append(request.reservation_id)
        for rid, held in list(running.items()):
            if held.ends == now:
                del running[rid]
                ended.append((started[rid], now, held.allocation.gpus))
            elif held.extend_at == now:
                extra = timedelta(hours=fate[rid].extend_hours)
                old = held.allocation
                held.allocation = Allocation(
                    old.reservation_id, old.user_id, old.node, old.gpus, old.ends_at + extra
                )
                held.ends, held.extend_at = held.allocation.ends_at, None
        if not queue:
            continue
        clock = time.perf_counter()
        result = planner(NODES, [r.allocation for r in running.values()], list(queue.values()), now, POLICY)
        plan_seconds += time.perf_counter() - clock
        plans += 1
        assert not result.refusals, result.refusals
        for start in result.starts:
            request = queue.pop(start.reservation_id)
            arrival = fate[start.reservation_id]
            started[request.reservation_id] = now
            booked_end = now + request.duration
            extend_at = now + request.duration * 0.75 if arrival.extend_hours else None
            ends = now + request.duration * arrival.used_share if arrival.used_share < 1 else booked_end
            allocation = Allocation(
                request.reservation_id, request.user_id, start.node, request.gpus, booked_end
            )
            running[request.reservation_id] = _Running(allocation, ends, extend_at)
        for rid in newcomers:
            forecast = result.forecasts.get(rid)
            if forecast is not None and forecast.start_at is not None:
                eta[rid] = forecast.start_at
    horizon_end = EPOCH + timedelta(days=days)
    capacity = sum(node.gpus for node in NODES) * (horizon_end - EPOCH).total_seconds()
    used = sum(
        gpus * max(0.0, (min(end, horizon_end) - max(start, EPOCH)).total_seconds())
        for start, end, gpus in ended
    )
    waits = sorted(
        (started[a.request.reservation_id] - a.request.created_at).total_seconds() / 60 for a in arrivals
    )
    errors = [abs((started[rid] - moment).total_seconds()) / 60 for rid, moment in eta.items()]
    return {
        "requests": len(arrivals),
        "gpu_utilisation": used / capacity,
        "mean_wait_min": sum(waits) / len(waits) if waits else 0.0,
        "p95_wait_min": waits[max(0, math.ceil(0.95 * len(waits)) - 1)] if waits else 0.0,
        "worst_wait_min": waits[-1] if waits else 0.0,
        "started_at_once": sum(1 for w in waits if w == 0),
        "eta_count": len(errors),
        "mean_abs_eta_error_min": sum(errors) / len(errors) if errors else 0.0,
        "eta_within_15_min": sum(1 for e in errors if e <= 15) / len(errors) if errors else 0.0,
        "plans": plans,
        "plan_seconds": plan_seconds,
    }


def simulate(days: float = 30, seed: int = 2, as_booked: bool = False) -> dict:
    arrivals = generate(days, seed, as_booked)
    fifo = run(arrivals, fifo_baseline.plan, days)
    ours = run(arrivals, scheduler.plan, days)
    ratios = {key: (ours[key] / fifo[key] if fifo[key] else None) for key in ROWS}
    return {
        "days": days,
        "seed": seed,
        "as_booked": as_booked,
        "gpus": sum(n.gpus for n in NODES),
        "fifo": fifo,
        "ours": ours,
        "ratio": ratios,
    }


ROWS = {
    "gpu_utilisation": ("GPU utilisation", "{:.1%}"),
    "mean_wait_min": ("mean wait (min)", "{:.1f}"),
    "p95_wait_min": ("p95 wait (min)", "{:.1f}"),
    "worst_wait_min": ("worst wait (min)", "{:.1f}"),
    "mean_abs_eta_error_min": ("mean |ETA error| (min)", "{:.1f}"),
    "eta_within_15_min": ("ETAs within 15 min", "{:.1%}"),
    "started_at_once": ("started at once", "{:d}"),
    "eta_count": ("queued with an ETA", "{:d}"),
    "plan_seconds": ("planning time (s)", "{:.2f}"),
}


def table(report: dict) -> str:
    lines = [
        f"{report['fifo']['requests']} requests over {report['days']:g} days, {report['gpus']} GPUs, "
        f"seed {report['seed']}" + (", every reservation runs as booked" if report["as_booked"] else ""),
        f"{'':24} {'FIFO (seed 002)':>16} {'ours (backfill)':>16} {'ours/FIFO':>10}",
    ]
    for key, (label, fmt) in ROWS.items():
        ratio = report["ratio"][key]
        lines.append(
            f"{label:24} {fmt.format(report['fifo'][key]):>16} {fmt.format(report['ours'][key]):>16} "
            f"{'-' if ratio is None else f'{ratio:.2f}':>10}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--as-booked", action="store_true", help="no early cancellations or extensions: ETAs can be exact"
    )
    args = parser.parse_args()
    report = simulate(args.days, args.seed, args.as_booked)
    print(json.dumps(report, indent=2, sort_keys=True) if args.json else table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
