"""The reservation planner: FIFO with conservative backfill, refusals, per-user limit, ETAs."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from reservations.policy import GpuType, Policy
from reservations.scheduler import Allocation, Node, Plan, Request, Start, plan

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
POLICY = Policy(
    stage="test",
    namespace="gpu-dev",
    gpu_types=(GpuType("t4", "T4", 4), GpuType("a100", "A100", 8)),
    default_gpu_type="t4",
    max_gpus_per_user=8,
)

_ids = iter(range(10**9))


def req(
    gpus: int, hours: float, *, kind: str = "a100", user: str | None = None, at: int | None = None
) -> Request:
    n = next(_ids)
    return Request(
        reservation_id=f"r{n:06d}",
        user_id=user or f"user{n}",
        gpu_type=kind,
        gpus=gpus,
        duration=hours * H,
        created_at=NOW - timedelta(minutes=1000) + timedelta(minutes=n if at is None else at),
    )


def alloc(node: str, gpus: int, ends_at: datetime, user: str = "other") -> Allocation:
    return Allocation(f"a-{node}-{gpus}-{ends_at:%H%M}", user, node, gpus, ends_at)


def started(result: Plan) -> dict[str, str]:
    return {start.reservation_id: start.node for start in result.starts}


def eta(result: Plan, request: Request) -> datetime | None:
    return result.forecasts[request.reservation_id].start_at


A100 = [Node("a100-0", "a100", 8)]


def test_the_head_of_the_queue_starts_when_it_fits():
    head, second = req(8, 4), req(8, 4)
    result = plan(A100, [], [second, head], NOW, POLICY)
    assert result.starts == [Start(head.reservation_id, "a100-0")]
    assert eta(result, second) == NOW + 4 * H
    assert result.forecasts[second.reservation_id].position == 1


def test_a_short_small_request_backfills_before_the_waiting_head():
    running = [alloc("a100-0", 4, NOW + 2 * H)]
    head, short = req(8, 4), req(2, 1)
    result = plan(A100, running, [head, short], NOW, POLICY)
    assert started(result) == {short.reservation_id: "a100-0"}
    assert eta(result, head) == NOW + 2 * H  # not delayed: the short job ends at +1 h


def test_a_long_small_request_must_not_delay_the_head():
    running = [alloc("a100-0", 4, NOW + 2 * H)]
    head, long = req(8, 4), req(2, 3)
    result = plan(A100, running, [head, long], NOW, POLICY)
    assert result.starts == []
    assert eta(result, head) == NOW + 2 * H
    assert eta(result, long) == NOW + 6 * H  # after the head's 4 hours
    assert [result.forecasts[r.reservation_id].position for r in (head, long)] == [1, 2]


def test_a_request_exactly_filling_the_hole_backfills():
    running = [alloc("a100-0", 4, NOW + 2 * H)]
    head, exact = req(8, 4), req(4, 2)
    result = plan(A100, running, [head, exact], NOW, POLICY)
    assert started(result) == {exact.reservation_id: "a100-0"}
    assert eta(result, head) == NOW + 2 * H


@pytest.mark.parametrize(
    ("request_", "fragments"),
    [
        (Request("big", "u", "t4", 8, 2 * H, NOW), ["spans 2 t4 nodes", "no EFA", "at most 4"]),
        (Request("odd", "u", "t4", 3, 2 * H, NOW), ["3 GPUs", "one of 1, 2, 4, 8"]),
        (Request("what", "u", "v100", 1, 2 * H, NOW), ["unknown GPU type 'v100'", "offers: t4, a100"]),
        (Request("long", "u", "t4", 1, 25 * H, NOW), ["at most 24 hours"]),
        (Request("zero", "u", "t4", 1, timedelta(0), NOW), ["longer than zero"]),
    ],
)
def test_refusals_name_the_limit(request_, fragments):
    nodes = [Node("t4-0", "t4", 4), *A100]
    result = plan(nodes, [], [request_], NOW, POLICY)
    assert result.starts == [] and result.forecasts == {}
    [refusal] = result.refusals
    assert refusal.reservation_id == request_.reservation_id
    for fragment in fragments:
        assert fragment in refusal.reason


def test_a_request_above_the_per_user_limit_on_its_own_is_refused():
    policy = Policy(**{**POLICY.__dict__, "max_gpus_per_user": 4})
    result = plan(A100, [], [req(8, 1)], NOW, policy)
    assert "at most 4 GPUs" in result.refusals[0].reason


def test_refused_requests_take_no_queue_position_and_no_capacity():
    bad, head, second = req(8, 1, kind="t4"), req(8, 4), req(8, 1)
    result = plan(A100, [], [bad, head, second], NOW, POLICY)
    assert started(result) == {head.reservation_id: "a100-0"}
    assert result.forecasts[second.reservation_id].position == 1


def test_per_user_limit_waits_for_the_users_own_reservations():
    nodes = [Node("a100-0", "a100", 8), Node("a100-1", "a100", 8)]
    running = [alloc("a100-0", 6, NOW + 3 * H, user="alice")]
    hers, his = req(4, 2, user="alice"), req(4, 2, user="bob")
    result = plan(nodes, running, [hers, his], NOW, POLICY)
    assert started(result) == {his.reservation_id: "a100-1"}  # capacity was there; the limit was not
    assert eta(result, hers) == NOW + 3 * H
    small = req(2, 1, user="alice")  # 6 + 2 = 8 is within the limit
    result = plan(nodes, running, [hers, small], NOW, POLICY)
    assert small.reservation_id in started(result)


def test_per_user_limit_counts_planned_reservations_across_types():
    nodes = [Node("t4-0", "t4", 4), Node("t4-1", "t4", 4), *A100]
    first, second, third = (
        req(4, 2, kind="t4", user="u"),
        req(4, 5, kind="a100", user="u"),
        req(4, 1, kind="t4", user="u"),
    )
    result = plan(nodes, [alloc("t4-0", 4, NOW + H)], [first, second, third], NOW, POLICY)
    assert set(started(result)) == {first.reservation_id, second.reservation_id}
    assert eta(result, third) == NOW + 2 * H  # when the user's first reservation ends


def test_the_eta_is_met_when_reservations_end_as_planned():
    rng = random.Random(7)
    nodes = [Node(f"a100-{i}", "a100", 8) for i in range(3)] + [Node("t4-0", "t4", 4)]
    running = [
        alloc(f"a100-{i}", rng.choice([2, 4, 8]), NOW + rng.randrange(1, 300) * timedelta(minutes=1))
        for i in range(3)
    ]
    queue = [
        req(rng.choice([1, 2, 4, 8]), rng.choice([1, 2, 3, 5]), user=f"u{rng.randrange(6)}")
        for _ in range(25)
    ] + [
        req(rng.choice([1, 2, 4]), rng.choice([1, 2]), kind="t4", user=f"u{rng.randrange(6)}")
        for _ in range(6)
    ]
    first = plan(nodes, running, queue, NOW, POLICY)
    promised = {rid: (f.start_at, f.node) for rid, f in first.forecasts.items()}
    now, allocations, waiting = NOW, list(running), {r.reservation_id: r for r in queue}
    actual: dict[str, tuple[datetime, str]] = {}
    while True:  # walk the plan: at each planned start, re-plan and start what it starts
        result = plan(nodes, allocations, list(waiting.values()), now, POLICY)
        for start in result.starts:
            request = waiting.pop(start.reservation_id)
            actual[start.reservation_id] = (now, start.node)
            allocations.append(
                Allocation(
                    start.reservation_id, request.user_id, start.node, request.gpus, now + request.duration
                )
            )
        if not waiting:
            break
        now = min(f.start_at for f in result.forecasts.values())
    assert len(promised) > 15
    assert {rid: actual[rid] for rid in promised} == promised


def test_node_choice_is_best_fit_then_name_whatever_the_input_order():
    nodes = [Node("a100-c", "a100", 8), Node("a100-a", "a100", 8), Node("a100-b", "a100", 8)]
    running = [alloc("a100-c", 4, NOW + 5 * H)]
    four, two = req(4, 1), req(2, 1)
    result = plan(nodes, running, [four, two], NOW, POLICY)
    assert started(result) == {four.reservation_id: "a100-c", two.reservation_id: "a100-a"}
    assert plan(list(reversed(nodes)), running, [two, four], NOW, POLICY).starts == result.starts


def test_an_allocation_past_its_end_counts_as_ending_now():
    result = plan(A100, [alloc("a100-0", 8, NOW - 10 * timedelta(minutes=1))], [req(8, 1)], NOW, POLICY)
    assert len(result.starts) == 1
    running = [
        alloc("a100-0", 4, NOW - H, user="alice"),
        alloc("a100-0", 2, NOW + 3 * H),
        alloc("a100-0", 2, NOW),
    ]
    head, second, hers = req(8, 1), req(2, 5), req(8, 1, user="alice")
    result = plan(A100, running, [head, second, hers], NOW, POLICY)
    assert result.starts == []
    assert [eta(result, r) for r in (head, second, hers)] == [NOW + 3 * H, NOW + 4 * H, NOW + 9 * H]


def test_allocations_on_nodes_that_are_gone_do_not_count():
    running = [alloc("a100-gone", 8, NOW + 5 * H, user="alice")]
    mine = req(8, 1, user="alice")
    result = plan(A100, running, [mine], NOW, POLICY)
    assert started(result) == {mine.reservation_id: "a100-0"}


def test_a_type_without_nodes_queues_without_an_eta():
    waiting, next_one = req(2, 1, kind="t4"), req(1, 1, kind="t4")
    result = plan(A100, [], [waiting, next_one], NOW, POLICY)
    assert result.starts == [] and result.refusals == []
    assert [(f.position, f.start_at) for f in result.forecasts.values()] == [(1, None), (2, None)]


def test_a_request_no_current_node_can_hold_waits_without_an_eta():
    result = plan([Node("a100-0", "a100", 7)], [], [big := req(8, 1), small := req(1, 1)], NOW, POLICY)
    assert eta(result, big) is None
    assert small.reservation_id in started(result)


def test_positions_count_the_remaining_queue_per_type():
    nodes = [*A100, Node("t4-0", "t4", 4)]
    queue = [
        req(8, 1),
        req(4, 1, kind="t4"),
        req(8, 1),
        req(4, 1, kind="t4"),
        req(8, 1),
        req(1, 1, kind="t4"),
    ]
    result = plan(nodes, [], queue, NOW, POLICY)
    assert len(result.starts) == 2
    assert [(f.reservation_id, f.position) for f in result.forecasts.values()] == [
        (queue[2].reservation_id, 1),
        (queue[3].reservation_id, 1),
        (queue[4].reservation_id, 2),
        (queue[5].reservation_id, 2),
    ]


# ----------------------------------------------------------------------------------------------
# Property tests: random scenarios, checked against invariants and a slow reference planner.


def _scenario(rng: random.Random):
    nodes = [Node(f"a100-{i}", "a100", rng.choice([8, 8, 6])) for i in range(rng.randint(1, 4))]
    nodes += [Node(f"t4-{i}", "t4", 4) for i in range(rng.randint(0, 2))]
    users = [f"u{i}" for i in range(rng.randint(2, 8))]
    minutes = timedelta(minutes=1)
    running: list[Allocation] = []
    for node in nodes:
        left = node.gpus
        while left and rng.random() < 0.7:
            gpus = rng.randint(1, left)
            left -= gpus
            end = NOW + rng.randrange(-30, 600) * minutes
            running.append(Allocation(f"a{len(running)}", rng.choice(users), node.name, gpus, end))
    running.append(Allocation("ghost", users[0], "gone", 3, NOW + 9 * H))
    queue = []
    for i in range(rng.randint(1, 40)):
        kind = rng.choice(["a100", "a100", "t4"])
        gpus = rng.choice([1, 1, 2, 4, 8] if kind == "a100" else [1, 2, 4])
        queue.append(
            Request(
                f"q{i:03d}",
                rng.choice(users),
                kind,
                gpus,
                rng.choice([30, 60, 90, 120, 240, 480]) * minutes,
                NOW - rng.randrange(0, 300) * minutes,
            )
        )
    return nodes, running, queue


def _bookings(nodes, running, queue, result: Plan):
    """(who, node, start, end, gpus) for everything running or planned."""
    by_id = {r.reservation_id: r for r in queue}
    names = {n.name for n in nodes}
    rows = [(a.user_id, a.node, NOW, max(a.ends_at, NOW), a.gpus) for a in running if a.node in names]
    for start in result.starts:
        r = by_id[start.reservation_id]
        rows.append((r.user_id, start.node, NOW, NOW + r.duration, r.gpus))
    for f in result.forecasts.values():
        if f.start_at is not None:
            r = by_id[f.reservation_id]
            rows.append((r.user_id, f.node, f.start_at, f.start_at + r.duration, r.gpus))
    return rows


def _peak(rows, key_index: int, key) -> int:
    mine = [row for row in rows if row[key_index] == key]
    moments = {row[2] for row in mine}
    return max((sum(row[4] for row in mine if row[2] <= t < row[3]) for t in moments), default=0)


def _planned_starts(result: Plan) -> dict[str, datetime | None]:
    starts: dict[str, datetime | None] = {s.reservation_id: NOW for s in result.starts}
    starts.update({rid: f.start_at for rid, f in result.forecasts.items()})
    return starts


def _reference(nodes, running, queue, now, policy) -> dict[str, tuple[datetime, str] | None]:
    """The rule written the slow, obvious way: try every candidate moment, every node."""
    names = {n.name for n in nodes}
    rows = [
        (a.user_id, a.node, now, a.ends_at, a.gpus) for a in running if a.node in names and a.ends_at > now
    ]
    out: dict[str, tuple[datetime, str] | None] = {}
    for r in sorted(queue, key=lambda r: (r.created_at, r.reservation_id)):
        fits_type = [n for n in nodes if n.gpu_type == r.gpu_type and n.gpus >= r.gpus]
        if not fits_type:
            out[r.reservation_id] = None
            continue
        moments = sorted({now} | {row[3] for row in rows if row[3] > now})

        def used(rows_, index, key, t):
            return sum(row[4] for row in rows_ if row[index] == key and row[2] <= t < row[3])

        def fits(node, t, r=r):
            checks = {t} | {row[2] for row in rows if t < row[2] < t + r.duration}
            return all(
                used(rows, 1, node.name, c) + r.gpus <= node.gpus
                and used(rows, 0, r.user_id, c) + r.gpus <= policy.max_gpus_per_user
                for c in checks
            )

        for t in moments:
            ok = [(n.gpus - used(rows, 1, n.name, t), n.name) for n in fits_type if fits(n, t)]
            if ok:
                node = min(ok)[1]
                out[r.reservation_id] = (t, node)
                rows.append((r.user_id, node, t, t + r.duration, r.gpus))
                break
    return out


@pytest.mark.parametrize("seed", range(60))
def test_random_plans_never_overbook_and_never_delay_earlier_requests(seed):
    rng = random.Random(seed)
    nodes, running, queue = _scenario(rng)
    result = plan(nodes, running, queue, NOW, POLICY)
    rows = _bookings(nodes, running, queue, result)
    assert not result.refusals
    for node in nodes:
        assert _peak(rows, 1, node.name) <= node.gpus
    planned_users = {r.user_id for r in queue}
    for user in planned_users:  # the limit binds what the plan adds; running GPUs are given
        planned = [row for row in rows if row[0] == user]
        over = [row for row in planned if row[2] > NOW]
        for row in over:
            assert sum(x[4] for x in planned if x[2] <= row[2] < x[3]) <= POLICY.max_gpus_per_user

    starts = _planned_starts(result)
    fifo = sorted(queue, key=lambda r: (r.created_at, r.reservation_id))
    for i, request in enumerate(fifo):
        alone = _planned_starts(plan(nodes, running, fifo[: i + 1], NOW, POLICY))[request.reservation_id]
        if alone is None:
            assert starts[request.reservation_id] is None
        else:
            assert starts[request.reservation_id] <= alone

    expected = _reference(nodes, running, queue, NOW, POLICY)
    got = {s.reservation_id: (NOW, s.node) for s in result.starts}
    got.update({rid: (f.start_at, f.node) if f.start_at else None for rid, f in result.forecasts.items()})
    assert got == expected


def test_a_large_queue_plans_consistently():
    rng = random.Random(2025)
    nodes = [Node(f"{kind}-{i:02d}", kind, 8) for kind in ("a100", "h100") for i in range(8)]
    policy = Policy(
        **{**POLICY.__dict__, "gpu_types": (GpuType("a100", "A100", 8), GpuType("h100", "H100", 8))}
    )
    queue = [
        Request(
            f"r{i:05d}",
            f"u{rng.randrange(400)}",
            rng.choice(["a100", "h100"]),
            rng.choice([1, 2, 4, 8]),
            rng.choice([1, 2, 4, 8, 24]) * H,
            NOW - rng.randrange(10**5) * timedelta(seconds=1),
        )
        for i in range(1500)
    ]
    result = plan(nodes, [], queue, NOW, policy)
    assert len(result.starts) + len(result.forecasts) == len(queue)
    rows = _bookings(nodes, [], queue, result)
    for node in nodes[:3]:
        assert _peak(rows, 1, node.name) <= node.gpus
