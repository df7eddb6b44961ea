"""Cluster-wide priority classes, and what bounds each team namespace: a ResourceQuota and a
LimitRange (the namespaces themselves, labelled with their team, come from the namespaces
chart like every other namespace the platform owns).

The ResourceQuota is the namespace's hard ceiling, checked when a pod is created: a pod that
would exceed it is refused, not queued. CPU and memory are the team's quota. The GPU lines are
the cohort's total (every team's GPU quota together, counted in what the pools advertise:
``nvidia.com/gpu`` times the time-slicing or MPS replicas, ``nvidia.com/mig-<profile>`` per
MIG slice, as the model's capacity function says), the most Kueue could ever admit to one team
by borrowing: Kueue does not read ResourceQuotas (kubernetes-sigs/kueue#696), so a lower
figure would refuse the pods of a job Kueue had already admitted. Kueue decides how many GPUs
a team gets and when (``k8s_charts/kueue_queues.py``, README "Tenancy").
"""

from __future__ import annotations

from collections import Counter

import cdk8s
from cdk8s_plus_35 import k8s
from constructs import Construct

from platform_config.contract import DEFAULT_PRIORITY_CLASS_ANNOTATION, GPU_RESOURCE, TEAM_LABEL
from platform_config.gpu_sharing import PoolCapacity
from platform_config.namespaces import PodSecurity, pod_security_labels
from platform_config.tenancy import TenancySettings

# Containers that state no resources get these, so that the quota (which counts requests)
# admits them and every container has a memory limit; they state their own to get more.
DEFAULT_REQUEST = {"cpu": "250m", "memory": "512Mi"}
DEFAULT_LIMIT = {"memory": "1Gi"}


# Team namespaces run the teams' own images and code: Pod Security's restricted profile,
# enforced, and audited and warned about too so that a violation is also seen in the logs.
RESTRICTED = pod_security_labels(PodSecurity.RESTRICTED)


def team_namespace_metadata(settings: TenancySettings) -> tuple[dict, dict]:
    """Labels and annotations of every team namespace, for the namespaces chart."""
    labels = {ns: {**RESTRICTED, TEAM_LABEL: team.name} for ns, team in settings.namespaces.items()}
    annotations = {
        ns: {DEFAULT_PRIORITY_CLASS_ANNOTATION: settings.team_priority_class(team)}
        for ns, team in settings.namespaces.items()
    }
    return labels, annotations


def cohort_gpu_units(settings: TenancySettings, capacity: dict[str, PoolCapacity]) -> dict[str, int]:
    """Every team's GPU quota together, per advertised resource (``nvidia.com/gpu`` always,
    0 without quota, so that no pod of a team namespace gets a GPU outside Kueue's count)."""
    units = Counter({GPU_RESOURCE: 0})
    for team in settings.teams:
        for pool, gpus in team.gpu_quota.items():
            units.update(capacity[pool].units_of(gpus))
    return dict(sorted(units.items()))


def _quantities(values: dict[str, str]) -> dict[str, k8s.Quantity]:
    return {name: k8s.Quantity.from_string(value) for name, value in values.items()}


class TenancyChart(cdk8s.Chart):
    def __init__(
        self, scope: Construct, chart_id: str, *, settings: TenancySettings, capacity: dict[str, PoolCapacity]
    ) -> None:
        """``capacity``: every GPU pool of the stage with what it advertises."""
        super().__init__(scope, chart_id)
        lowest = settings.default_priority_class
        for priority in settings.priority_classes:
            k8s.KubePriorityClass(
                self,
                f"priority-{priority.name}",
                metadata=k8s.ObjectMeta(name=priority.name),
                value=priority.value,
                global_default=priority is lowest,
                description=priority.description or None,
            )
        cohort_gpus = {
            f"requests.{resource}": str(n) for resource, n in cohort_gpu_units(settings, capacity).items()
        }
        for namespace, team in settings.namespaces.items():
            k8s.KubeResourceQuota(
                self,
                f"quota-{namespace}",
                metadata=k8s.ObjectMeta(name="team-quota", namespace=namespace),
                spec=k8s.ResourceQuotaSpec(
                    hard=_quantities(
                        {
                            "requests.cpu": str(team.cpu),
                            "requests.memory": f"{team.memory_gib}Gi",
                            **cohort_gpus,
                        }
                    )
                ),
            )
            k8s.KubeLimitRange(
                self,
                f"limits-{namespace}",
                metadata=k8s.ObjectMeta(name="team-defaults", namespace=namespace),
                spec=k8s.LimitRangeSpec(
                    limits=[
                        k8s.LimitRangeItem(
                            type="Container",
                            default_request=_quantities(DEFAULT_REQUEST),
                            default=_quantities(DEFAULT_LIMIT),
                        )
                    ]
                ),
            )
