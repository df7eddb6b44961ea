"""The reservation simulation (2 simulated days) and the seed-002 FIFO baseline it compares with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from benchmarks import fifo_baseline
from benchmarks import reservations_sim as sim
from reservations.policy import GpuType, Policy
from reservations.scheduler import Allocation, Node, Request, Start

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
POLICY = Policy(stage="t", namespace="n", gpu_types=(GpuType("a100", "A100", 8),), default_gpu_type="a100")
NODES = [Node("a100-0", "a100", 8), Node("a100-1", "a100", 8)]


def _req(i: int, gpus: int, hours: float = 1) -> Request:
    return Request(f"r{i}", f"u{i}", "a100", gpus, hours * H, NOW - timedelta(minutes=100 - i))


@pytest.fixture(scope="module")
def report() -> dict:
    return sim.simulate(days=2, seed=2)


def test_both_policies_replay_the_same_requests(report):
    assert report["fifo"]["requests"] == report["ours"]["requests"] > 100
    assert report["days"] == 2 and report["gpus"] == 104
    assert set(report["ratio"]) == set(sim.ROWS)


def test_the_figures_are_sane(report):
    for side in ("fifo", "ours"):
        figures = report[side]
        assert 0 < figures["gpu_utilisation"] <= 1
        assert 0 <= figures["mean_wait_min"] <= figures["p95_wait_min"] <= figures["worst_wait_min"]
        assert figures["mean_abs_eta_error_min"] >= 0 and 0 <= figures["eta_within_15_min"] <= 1
        assert figures["started_at_once"] + figures["eta_count"] <= figures["requests"]


def test_backfill_waits_less_than_strict_fifo_on_the_seeded_run(report):
    assert report["ours"]["mean_wait_min"] <= report["fifo"]["mean_wait_min"]
    assert report["ours"]["started_at_once"] >= report["fifo"]["started_at_once"]
    assert report["ours"]["mean_abs_eta_error_min"] <= report["fifo"]["mean_abs_eta_error_min"]


def test_when_reservations_run_as_booked_our_etas_are_met_exactly():
    report = sim.simulate(days=2, seed=5, as_booked=True)
    assert report["ours"]["eta_count"] > 10
    assert report["ours"]["mean_abs_eta_error_min"] == 0
    assert report["fifo"]["mean_abs_eta_error_min"] > 0


def test_the_generator_is_seeded_and_follows_the_working_week():
    arrivals = sim.generate(days=7, seed=11)
    assert arrivals == sim.generate(days=7, seed=11)
    assert arrivals != sim.generate(days=7, seed=12)
    weekday_day = sum(
        1 for a in arrivals if a.request.created_at.weekday() < 5 and 9 <= a.request.created_at.hour < 18
    )
    weekend = sum(1 for a in arrivals if a.request.created_at.weekday() >= 5)
    assert weekday_day > 2 * weekend  # 45 peak hours at 10/h against 48 weekend hours at 1.5/h
    assert {a.request.gpus for a in arrivals} == {1, 2, 4, 8}
    assert all(a.request.gpus <= 4 for a in arrivals if a.request.gpu_type == "t4")
    assert any(a.used_share < 1 for a in arrivals) and any(a.extend_hours for a in arrivals)
    as_booked = sim.generate(days=7, seed=11, as_booked=True)
    assert [a.request for a in as_booked] == [a.request for a in arrivals]
    assert all(a.used_share == 1 and a.extend_hours == 0 for a in as_booked)


def test_fifo_baseline_starts_nothing_behind_a_waiting_head():
    running = [
        Allocation("x", "other", "a100-0", 4, NOW + 2 * H),
        Allocation("y", "other", "a100-1", 4, NOW + 3 * H),
    ]
    queue = [_req(1, 8), _req(2, 1), _req(3, 2)]
    result = fifo_baseline.plan(NODES, running, queue, NOW, POLICY)
    assert result.starts == []
    # the head: 8 free GPUs of the type once the first reservation ends (seed 002 counts GPUs per type)
    assert result.forecasts["r1"].start_at == NOW + 2 * H
    assert [(f.position, f.start_at) for f in (result.forecasts["r2"], result.forecasts["r3"])] == [
        (2, NOW + 30 * timedelta(minutes=1)),
        (3, NOW + 45 * timedelta(minutes=1)),
    ]


def test_fifo_baseline_starts_in_order_while_requests_fit():
    result = fifo_baseline.plan(NODES, [], [_req(2, 4), _req(1, 8), _req(3, 4), _req(4, 1)], NOW, POLICY)
    assert result.starts == [Start("r1", "a100-0"), Start("r2", "a100-1"), Start("r3", "a100-1")]
    assert result.forecasts["r4"].position == 1
    assert result.forecasts["r4"].start_at == NOW + H  # when the 8-GPU reservation ends


def test_fifo_baseline_refuses_what_the_planner_refuses():
    result = fifo_baseline.plan(NODES, [], [_req(1, 16), _req(2, 3)], NOW, POLICY)
    assert [r.reservation_id for r in result.refusals] == ["r1", "r2"]
