"""One capacity function: what a pool advertises per node comes from the model
(``StageConfig.gpu_pool_capacity``), and the synth summary, the cost report, the reservations
policy, Kueue's quotas and the team namespaces' ResourceQuotas all show the same numbers."""

from __future__ import annotations

import cdk8s
import pytest

from k8s_charts.kueue_queues import cluster_queue_spec
from k8s_charts.tenancy import TenancyChart
from platform_config.loader import parse_stage
from stacks.nodes_stack import gpu_capacity
from stacks.reservations_stack import reservation_policy
from tests.test_pool_settings import BASE, error_of
from tools.cost_report import DEFAULT_PRICES, PriceTable, _StagePrices, unit_cost
from tools.synth_summary import describe_pool

STAGE = {
    **BASE,
    "gpu_pools": [
        # 4 T4 x 3 time-slices = 12 nvidia.com/gpu per node
        {
            "name": "ts",
            "instance_type": "g4dn.12xlarge",
            "max_size": 2,
            "sharing": {"time_slicing": {"replicas": 3}},
        },
        # 8 A100-40GB x (3g.20gb + 2 x 2g.10gb) = 8 + 16 MIG devices per node
        {
            "name": "mig",
            "instance_type": "p4d.24xlarge",
            "max_size": 1,
            "sharing": {"mig": {"strategy": "mixed", "layout": ["3g.20gb", "2g.10gb", "2g.10gb"]}},
        },
    ],
    "reservations": {"enabled": True, "gpu_pools": ["ts"], "allowed_gpu_counts": [1, 2, 4, 8]},
    "tenancy": {
        "teams": [
            {
                "name": "research",
                "namespaces": ["team-research"],
                "gpu_quota": {"ts": 4, "mig": 2},
                "cpu": 8,
                "memory_gib": 32,
            }
        ]
    },
}


def test_summary_cost_reservations_and_kueue_read_the_same_capacity():
    config = parse_stage(STAGE, "t")
    capacity = config.gpu_pool_capacity()
    assert capacity["ts"].per_node(config.gpu_pools[0].gpu) == {"nvidia.com/gpu": 12}
    assert capacity["mig"].per_node(config.gpu_pools[1].gpu) == {
        "nvidia.com/mig-3g.20gb": 8,
        "nvidia.com/mig-2g.10gb": 16,
    }
    metadata = {pool["pool"]: pool for pool in gpu_capacity(config)}

    # 1. the synth summary
    assert describe_pool(metadata["ts"]).endswith("time-slicing: 12 nvidia.com/gpu per node")
    assert describe_pool(metadata["mig"]).endswith(
        "mig-mixed: 8 nvidia.com/mig-3g.20gb + 16 nvidia.com/mig-2g.10gb per node"
    )

    # 2. the cost report: the node's price over the devices it advertises
    prices = _StagePrices(PriceTable(DEFAULT_PRICES), "us-west-2")
    t4, a100 = prices.instance("g4dn.12xlarge"), prices.instance("p4d.24xlarge")
    assert t4 is not None and a100 is not None
    ts, mig = unit_cost(prices, metadata["ts"]), unit_cost(prices, metadata["mig"])
    assert ts is not None and mig is not None
    assert (ts.hourly, ts.devices) == (pytest.approx(t4 / 12), "12 nvidia.com/gpu per g4dn.12xlarge")
    assert mig.hourly == pytest.approx(a100 / 24)

    # 3. the reservations policy: a dev server on the time-sliced pool reserves slices
    (gpu_type,) = reservation_policy(config, dev_image="x").gpu_types
    assert (gpu_type.name, gpu_type.gpus_per_node) == ("ts", 12)

    # 4. Kueue: a team's quota in GPUs becomes what those GPUs advertise
    (team,) = config.tenancy.teams
    _, gpus = cluster_queue_spec(team, capacity)["resourceGroups"]
    assert gpus["coveredResources"] == ["nvidia.com/gpu", "nvidia.com/mig-2g.10gb", "nvidia.com/mig-3g.20gb"]
    quotas = {f["name"]: {r["name"]: r["nominalQuota"] for r in f["resources"]} for f in gpus["flavors"]}
    assert quotas == {
        "ts": {"nvidia.com/gpu": 4 * 3, "nvidia.com/mig-2g.10gb": 0, "nvidia.com/mig-3g.20gb": 0},
        "mig": {"nvidia.com/gpu": 0, "nvidia.com/mig-2g.10gb": 2 * 2, "nvidia.com/mig-3g.20gb": 2 * 1},
    }

    # 5. the team namespaces' ResourceQuota: the cohort's total of each resource Kueue counts,
    # so that no pod Kueue admits is refused at creation, and no slice escapes the count
    quota = TenancyChart(cdk8s.App(), "tenancy", settings=config.tenancy, capacity=capacity).to_json()
    (hard,) = [o["spec"]["hard"] for o in quota if o["kind"] == "ResourceQuota"]
    cohort = {r: sum(q[r] for q in quotas.values()) for r in gpus["coveredResources"]}
    assert {k: v for k, v in hard.items() if k.startswith("requests.nvidia.com/")} == {
        f"requests.{resource}": str(total) for resource, total in cohort.items()
    }
    assert cohort == {"nvidia.com/gpu": 12, "nvidia.com/mig-2g.10gb": 4, "nvidia.com/mig-3g.20gb": 2}


def test_a_mixed_mig_pool_cannot_take_reservations():
    stage = {**STAGE, "reservations": {**STAGE["reservations"], "gpu_pools": ["mig"]}}
    assert (
        "reservations.gpu_pools: 'mig' advertises nvidia.com/mig-3g.20gb, nvidia.com/mig-2g.10gb (sharing "
        "mig-mixed), but a dev server requests nvidia.com/gpu"
    ) in error_of(stage)


def test_serving_on_a_shared_pool_requests_its_unit_and_one_of_it():
    stage = {
        **STAGE,
        "workloads": {
            "triton": {"enabled": True, "gpu_pool": "mig", "model_repository": "efs", "gpus_per_replica": 2}
        },
    }
    assert (
        "workloads.triton.gpus_per_replica is 2 but pool mig shares its GPUs (mig-mixed): a process sees one "
        "nvidia.com/mig-3g.20gb there; allowed: 1, or a pool with sharing none"
    ) in error_of(stage)
    stage["workloads"]["triton"]["gpus_per_replica"] = 1
    assert parse_stage(stage, "t").gpu_pool_capacity()["mig"].unit == "nvidia.com/mig-3g.20gb"


def test_serving_workloads_are_refused_on_a_reservation_pool():
    stage = {**STAGE, "workloads": {"triton": {"enabled": True, "gpu_pool": "ts", "model_repository": "efs"}}}
    assert (
        "workloads.triton.gpu_pool is 'ts', which reservations.gpu_pools ['ts'] reserves for GPU developer "
        "servers (the planner promises a node's GPUs to reservations only); allowed: a pool not in "
        "reservations.gpu_pools: ['mig']"
    ) in error_of(stage)
