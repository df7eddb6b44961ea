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
a team gets and when (``k8s_charts/kueue_queues.py``, README "Tenancy and security").

A ValidatingAdmissionPolicy per team holds its pods to its priority classes
(:meth:`TenancySettings.team_priority_classes`): its default or a lower one. A pod without
``priorityClassName`` is refused, naming the class to set, unless the team's default is the
cluster default. Refused rather than defaulted: defaulting needs a mutating step, and on EKS
1.35 the only built-in one, MutatingAdmissionPolicy (KEP-3962: alpha 1.32, beta 1.34, GA 1.36),
is a beta API served only with API-server flags EKS does not expose; a mutating webhook would
be one more fail-closed server in every team pod's path. ValidatingAdmissionPolicy is GA since
1.30 and runs inside the API server. The API server's Priority admission plugin has already
set the cluster default on a pod that named no class when the policy sees it
(kubernetes/kubernetes plugin/pkg/admission/priority/admission.go), so the policy refuses that
class in the teams it is not the default of.
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
# CEL of the priority policy (standard CEL only: has, in, string concatenation).
PRIORITY_EXPRESSION = "has(object.spec.priorityClassName) && object.spec.priorityClassName in [{allowed}]"
PRIORITY_MESSAGE = (
    "'team {team} runs pods at priority class {default} or a lower one ({allowed}); this pod has ' + "
    "(has(object.spec.priorityClassName) ? object.spec.priorityClassName : 'none') + "
    "'. Set spec.priorityClassName: {default} (a pod that names no class gets the cluster default, {lowest})'"
)


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
        for team in settings.teams:
            self._priority_policy(team.name, settings.team_priority_classes(team), settings)
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

    def _priority_policy(self, team: str, allowed: list[str], settings: TenancySettings) -> None:
        name = f"team-priority-{team}"
        default, lowest = allowed[0], settings.default_priority_class.name
        listed = ", ".join(f"'{c}'" for c in allowed)
        k8s.KubeValidatingAdmissionPolicy(
            self,
            name,
            metadata=k8s.ObjectMeta(name=name),
            spec=k8s.ValidatingAdmissionPolicySpec(
                failure_policy="Fail",
                match_constraints=k8s.MatchResources(
                    resource_rules=[
                        k8s.NamedRuleWithOperations(
                            api_groups=[""], api_versions=["v1"], operations=["CREATE"], resources=["pods"]
                        )
                    ]
                ),
                validations=[
                    k8s.Validation(
                        expression=PRIORITY_EXPRESSION.format(allowed=listed),
                        message_expression=PRIORITY_MESSAGE.format(
                            team=team, default=default, allowed=", ".join(allowed), lowest=lowest
                        ),
                        reason="Forbidden",
                    )
                ],
            ),
        )
        k8s.KubeValidatingAdmissionPolicyBinding(
            self,
            f"{name}-binding",
            metadata=k8s.ObjectMeta(name=name),
            spec=k8s.ValidatingAdmissionPolicyBindingSpec(
                policy_name=name,
                validation_actions=["Deny"],
                match_resources=k8s.MatchResources(
                    namespace_selector=k8s.LabelSelector(match_labels={TEAM_LABEL: team})
                ),
            ),
        )
