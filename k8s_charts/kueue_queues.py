"""Kueue's objects for the stage's teams: GPU admission with quotas that idle GPUs are lent from.

- A ResourceFlavor per GPU pool (managed or Karpenter): Kueue puts the pool's node label and
  the GPU taint's toleration on the pods it admits to that flavor, so admitted work lands on
  the pool whose quota it used (a Karpenter pool launches a node for it).
- A flavor for CPU and memory on any node, unlabelled.
- A ClusterQueue per team: its CPU and memory quota (never borrowed: the namespace's
  ResourceQuota holds the team to it anyway) and its GPU quota per flavor, listing every GPU
  flavor (0 where the team has no quota) so that it may borrow any pool's idle GPUs. Flavors
  where the team has quota come first, so its work tries its own GPUs before borrowing.
  A team's ``gpu_quota`` is in the pool's physical GPUs; Kueue counts what the pool
  advertises (the model's capacity function), so a quota of 2 on a pool time-sliced 4 ways is
  8 ``nvidia.com/gpu``, and on a mixed-MIG pool of ``[3g.40gb, 2g.20gb, 2g.20gb]`` it is
  2 ``nvidia.com/mig-3g.40gb`` and 4 ``nvidia.com/mig-2g.20gb``. The GPU group covers every
  resource any pool advertises; a flavor has 0 of those its pool does not.
- One cohort of all the teams' ClusterQueues: unused quota is lent; with fair sharing (the
  Kueue configuration, ``platform_constructs/operators.py``) pending work preempts borrowed
  capacity until every team has its fair share, and only workloads of lower priority
  (``reclaimWithinCohort: LowerPriority``; in a team's own queue ``withinClusterQueue``).
- A LocalQueue named ``default`` in every team namespace: Kueue gives it to every job of the
  namespace that names no queue (LocalQueue defaulting, GA since Kueue 0.17).
- A WorkloadPriorityClass per priority class, same name and value.

Plain ``ApiObject``s (no generated bindings, like the cert-manager objects): the tests hold
them to the Kueue CRDs in ``k8s_charts/crds/``.
"""

from __future__ import annotations

import cdk8s
from constructs import Construct

from platform_config.contract import GPU_TAINT_KEY, GPU_TAINT_VALUE, POOL_LABEL, TEAM_LABEL
from platform_config.gpu_sharing import PoolCapacity
from platform_config.tenancy import TeamSettings, TenancySettings

KUEUE_API = "kueue.x-k8s.io/v1beta2"
COHORT = "teams"
LOCAL_QUEUE = "default"  # the name Kueue's LocalQueue defaulting looks for
# Pool names never contain a dot, so no GPU pool's flavor can take this name.
CPU_MEMORY_FLAVOR = "cpu-memory.any-node"
PREEMPTION = {"withinClusterQueue": "LowerPriority", "reclaimWithinCohort": "LowerPriority"}
GPU_TOLERATION = {"key": GPU_TAINT_KEY, "operator": "Equal", "value": GPU_TAINT_VALUE, "effect": "NoSchedule"}


def _object(scope: Construct, kind: str, name: str, body: dict, namespace: str = "") -> None:
    metadata = cdk8s.ApiObjectMetadata(name=name, namespace=namespace or None)
    obj = cdk8s.ApiObject(
        scope, f"{kind}-{namespace}-{name}", api_version=KUEUE_API, kind=kind, metadata=metadata
    )
    for key, value in body.items():
        obj.add_json_patch(cdk8s.JsonPatch.add(f"/{key}", value))


def gpu_flavor_order(team: TeamSettings, gpu_pools: list[str]) -> list[str]:
    """The team's own pools first (most quota first), then the rest, which it can only borrow."""
    return sorted(gpu_pools, key=lambda pool: (-team.gpu_quota.get(pool, 0), pool))


def gpu_resources(capacity: dict[str, PoolCapacity]) -> list[str]:
    """Every resource any GPU pool advertises: the GPU group's covered resources."""
    return sorted({resource for pool in capacity.values() for resource in pool.per_gpu})


def cluster_queue_spec(team: TeamSettings, capacity: dict[str, PoolCapacity]) -> dict:
    """``capacity``: every GPU pool of the stage with what it advertises per GPU."""
    groups = [
        {
            "coveredResources": ["cpu", "memory"],
            "flavors": [
                {
                    "name": CPU_MEMORY_FLAVOR,
                    "resources": [
                        {"name": "cpu", "nominalQuota": team.cpu, "borrowingLimit": 0},
                        {"name": "memory", "nominalQuota": f"{team.memory_gib}Gi", "borrowingLimit": 0},
                    ],
                }
            ],
        }
    ]
    if capacity:
        resources = gpu_resources(capacity)
        groups.append(
            {
                "coveredResources": resources,
                "flavors": [
                    {
                        "name": pool,
                        "resources": [
                            {
                                "name": resource,
                                "nominalQuota": capacity[pool]
                                .units_of(team.gpu_quota.get(pool, 0))
                                .get(resource, 0),
                            }
                            for resource in resources
                        ],
                    }
                    for pool in gpu_flavor_order(team, list(capacity))
                ],
            }
        )
    return {
        "cohortName": COHORT,
        "namespaceSelector": {"matchLabels": {TEAM_LABEL: team.name}},
        "queueingStrategy": "BestEffortFIFO",
        "preemption": PREEMPTION,
        "resourceGroups": groups,
    }


class KueueQueuesChart(cdk8s.Chart):
    def __init__(
        self, scope: Construct, chart_id: str, *, settings: TenancySettings, capacity: dict[str, PoolCapacity]
    ) -> None:
        """``capacity``: every GPU pool of the stage, managed and Karpenter, with what it advertises."""
        super().__init__(scope, chart_id)
        for priority in settings.priority_classes:
            description = {"description": priority.description} if priority.description else {}
            _object(self, "WorkloadPriorityClass", priority.name, {"value": priority.value, **description})
        _object(self, "ResourceFlavor", CPU_MEMORY_FLAVOR, {"spec": {}})
        for pool in capacity:
            _object(
                self, "ResourceFlavor", pool,
                {"spec": {"nodeLabels": {POOL_LABEL: pool}, "tolerations": [GPU_TOLERATION]}},
            )  # fmt: skip
        for team in settings.teams:
            _object(self, "ClusterQueue", team.name, {"spec": cluster_queue_spec(team, capacity)})
            for namespace in team.namespaces:
                _object(self, "LocalQueue", LOCAL_QUEUE, {"spec": {"clusterQueue": team.name}}, namespace)
