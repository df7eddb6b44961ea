"""A feature switched on with its defaults works for any pool a team can name, not only for the
pools of the shipped stages (CI once refused a one-T4 stage for the reservations' default GPU
counts, a list that pool can't serve). Parse-only, so every catalogued type is cheap to try."""

from __future__ import annotations

import pytest

from platform_config import gpu_catalog
from platform_config.loader import parse_stage
from stacks.reservations_stack import reservation_policy
from tests.test_pool_settings import BASE as MINIMAL

# Every catalogued type without EFA, and again with EFA where the type has it.
POOLS = [(t, False) for t in gpu_catalog.known_types()] + [
    (t, True) for t in gpu_catalog.known_types() if gpu_catalog.lookup(t).supports_efa
]


IDS = [f"{t}-{'efa' if e else 'tcp'}" for t, e in POOLS]


@pytest.mark.parametrize(("instance_type", "efa"), POOLS, ids=IDS)
def test_reservations_with_default_counts_load_on_any_single_pool(instance_type, efa):
    pool = {"name": "devs", "instance_type": instance_type, "efa": efa, "min_size": 1, "desired_size": 1}
    stage = {**MINIMAL, "gpu_pools": [pool], "reservations": {"enabled": True, "gpu_pools": ["devs"]}}
    config = parse_stage(stage, "team.yaml")
    policy = reservation_policy(config, dev_image="example/dev:1.0")
    (gpu_type,) = policy.gpu_types
    counts = policy.counts_for(gpu_type)
    # Every default count is one the pool serves; one node's worth is offered whenever it is one
    # of the counts the stage model allows, and an EFA pool of a size in that list offers 2 nodes.
    assert counts == list(config.reservation_gpu_counts()) and counts[0] == 1
    if gpu_type.gpus_per_node in (1, 2, 4, 8, 16):
        assert gpu_type.gpus_per_node in counts
        if efa and gpu_type.gpus_per_node <= 8:
            assert 2 * gpu_type.gpus_per_node in counts
