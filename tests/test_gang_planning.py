"""Multi-node reservations in the planner and the stage model: a request larger than one node of
an EFA pool is a gang of whole nodes that starts on all of them at once, or waits; elsewhere it
is refused."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from gpu_dev.cli import validate_request
from gpu_dev.errors import UsageError
from platform_config.loader import parse_stage
from reservations.policy import GpuType, Policy
from reservations.scheduler import Allocation, Node, Request, Start, plan
from stacks.reservations_stack import reservation_policy
from tests.test_config import error_of, stage_with

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
POLICY = Policy(
    stage="test",
    namespace="gpu-dev",
    gpu_types=(GpuType("a100", "A100", 8, efa_interfaces=4), GpuType("l40s", "L40S", 4)),
    default_gpu_type="a100",
    allowed_gpu_counts=(1, 2, 4, 8, 16),
    max_gpus_per_user=16,
)
NODES = [Node(f"a100-{i}", "a100", 8) for i in range(3)] + [Node(f"l40s-{i}", "l40s", 4) for i in range(2)]


def req(rid: str, gpus: int, hours: float, *, kind: str = "a100", minute: int = 0, user: str = "") -> Request:
    return Request(rid, user or f"u-{rid}", kind, gpus, hours * H, NOW - timedelta(minutes=100 - minute))


def held(node: str, gpus: int, hours: float) -> Allocation:
    return Allocation(f"held-{node}", "someone", node, gpus, NOW + hours * H)


def test_a_gang_starts_on_two_whole_nodes_at_once():
    result = plan(NODES, [held("a100-1", 2, 3)], [req("g", 16, 4)], NOW, POLICY)
    assert result.starts == [Start("g", "a100-0", ("a100-0", "a100-2"))]


def test_no_partial_start_when_one_node_is_busy():
    # Only one a100 node is wholly free now; the gang waits for the common slot (a100-1 frees at
    # +2 h, a100-2 at +5 h): it starts on a100-0 and a100-1 at +2 h, never on a100-0 alone.
    allocations = [held("a100-1", 1, 2), held("a100-2", 8, 5)]
    result = plan(NODES, allocations, [req("g", 16, 4)], NOW, POLICY)
    assert result.starts == []
    forecast = result.forecasts["g"]
    assert (forecast.start_at, forecast.node) == (NOW + 2 * H, "a100-0")


def test_the_common_slot_holds_every_node_and_backfill_respects_it():
    # The gang waits for +2 h; a 3 h request behind it would cross the gang's start on a free
    # node, so it cannot start now; a 1 h one fits before and starts.
    allocations = [held("a100-1", 1, 2), held("a100-2", 8, 5)]
    queue = [req("g", 16, 4), req("long", 8, 3, minute=1), req("short", 8, 1, minute=2)]
    result = plan(NODES, allocations, queue, NOW, POLICY)
    assert [s.reservation_id for s in result.starts] == ["short"]
    assert result.forecasts["g"].start_at == NOW + 2 * H
    assert result.forecasts["long"].start_at == NOW + 5 * H


def test_a_gang_needs_as_many_nodes_as_it_spans():
    result = plan(NODES[:1], [], [req("g", 16, 1)], NOW, POLICY)
    assert result.starts == [] and result.forecasts["g"].start_at is None


@pytest.mark.parametrize(
    ("gpus", "kind", "reason"),
    [
        (16, "l40s", "pool l40s has no EFA (gpu_pools[].efa is off), which a multi-node reservation needs"),
        (8, "l40s", "8 GPUs spans 2 l40s nodes (4 GPUs each)"),
    ],
)
def test_a_gang_on_a_pool_without_efa_is_refused_naming_the_pool(gpus, kind, reason):
    result = plan(NODES, [], [req("g", gpus, 1, kind=kind)], NOW, POLICY)
    assert len(result.refusals) == 1 and reason in result.refusals[0].reason
    with pytest.raises(UsageError, match=r"--gpus \d+ is not possible for l40s: .*has no EFA"):
        validate_request(POLICY, kind, gpus, 1)


def test_a_count_that_is_not_whole_nodes_is_refused():
    policy = Policy(**{**POLICY.__dict__, "allowed_gpu_counts": (1, 12)})
    result = plan(NODES, [], [req("g", 12, 1)], NOW, policy)
    assert "not a whole number of a100 nodes (8 GPUs each)" in result.refusals[0].reason
    assert policy.counts_for(policy.gpu_type("a100")) == [1]
    assert POLICY.counts_for(POLICY.gpu_type("a100")) == [1, 2, 4, 8, 16]
    assert POLICY.counts_for(POLICY.gpu_type("l40s")) == [1, 2, 4]


def test_random_plans_never_start_part_of_a_gang_or_overfill_a_node():
    rng = random.Random(13)
    for _ in range(200):
        allocations = [
            held(node.name, rng.choice([1, 2, 4, 8]), rng.choice([1, 2, 3]))
            for node in NODES[:3]
            if rng.random() < 0.6
        ]
        queue = [
            req(f"r{i}", rng.choice([1, 4, 8, 16]), rng.choice([1, 2, 4]), minute=i, user=f"u{i % 4}")
            for i in range(8)
        ]
        result = plan(NODES, allocations, queue, NOW, POLICY)
        used = {a.node: a.gpus for a in allocations}
        sizes = {r.reservation_id: r.gpus for r in queue}
        for start in result.starts:
            nodes = start.gang or (start.node,)
            assert len(nodes) == max(1, sizes[start.reservation_id] // 8)
            assert nodes[0] == start.node and len(set(nodes)) == len(nodes)
            for node in nodes:
                used[node] = used.get(node, 0) + sizes[start.reservation_id] // len(nodes)
        assert all(gpus <= 8 for gpus in used.values()), used


def test_the_stage_refuses_a_count_no_reservation_pool_serves():
    message = error_of(stage_with(**{"reservations.allowed_gpu_counts": [1, 2, 4, 8]}))
    assert "reservations.allowed_gpu_counts: 8 GPUs is served by no reservation pool" in message
    assert "needs an EFA pool, gpu_pools[].efa" in message
    assert "allowed: 't4' (4 GPUs a node, no EFA) takes 1, 2, 4" in message


def test_unset_counts_are_what_the_pools_serve_so_a_one_gpu_pool_stage_is_valid():
    """The stage a new team writes first: one single-GPU pool, counts not written. The default
    must not be a list the pool can't serve (CI caught `make diff`'s stage refused for it)."""
    one_gpu = [{"name": "t4", "instance_type": "g4dn.xlarge", "min_size": 1, "desired_size": 1}]
    data = stage_with(gpu_pools=one_gpu, reservations={"enabled": True, "gpu_pools": ["t4"]})
    config = parse_stage(data, "test.yaml")
    assert config.reservation_gpu_counts() == (1,)
    policy = reservation_policy(config, dev_image="example/dev:1.0")
    assert policy.allowed_gpu_counts == (1,) and policy.counts_for(policy.gpu_types[0]) == [1]


def test_a_count_served_by_one_pool_only_is_allowed_and_narrowed_per_pool():
    pools = [
        {"name": "t4", "instance_type": "g4dn.xlarge", "min_size": 1, "desired_size": 1},
        {"name": "a10", "instance_type": "g5.12xlarge", "min_size": 1, "desired_size": 1},
    ]
    data = stage_with(gpu_pools=pools, reservations={"enabled": True, "gpu_pools": ["t4", "a10"]})
    config = parse_stage(data, "test.yaml")
    assert config.reservation_gpu_counts() == (1, 2, 4)  # unset: what any pool serves
    policy = reservation_policy(config, dev_image="example/dev:1.0")
    assert [policy.counts_for(t) for t in policy.gpu_types] == [[1], [1, 2, 4]]


def test_on_an_efa_pool_the_stage_offers_whole_nodes_and_the_policy_carries_the_efa_count():
    data = stage_with(**{"gpu_pools.0.efa": True, "reservations.allowed_gpu_counts": [1, 2, 4, 8, 16]})
    config = parse_stage(data, "test.yaml")
    policy = reservation_policy(config, dev_image="example/dev:1.0")
    (t4,) = policy.gpu_types
    assert (t4.gpus_per_node, t4.efa_interfaces) == (4, 1)  # g4dn.12xlarge: 4 T4s, 1 EFA interface
    assert policy.counts_for(t4) == [1, 2, 4, 8, 16]
