"""Stage settings of tenancy: the teams that share the cluster, what each may use, and the
priority classes their work runs at.

A team is a name, its namespaces and its quotas: GPUs per GPU pool (each pool is one Kueue
ResourceFlavor, so a quota names the pool, and through it the GPU model), CPU cores and memory.
The platform turns a team into labelled namespaces with a ResourceQuota and a LimitRange
each, and a Kueue ClusterQueue (``k8s_charts/tenancy.py``, ``k8s_charts/kueue_queues.py``).
Rules that need the stage's pools (a quota names a GPU pool that exists and can hold it) are
checked by ``StageConfig``; everything that needs only this block is checked here.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from platform_config import namespaces
from platform_config.checks import Unique, UniqueList

# A namespace, a PriorityClass: a DNS label (RFC 1123), at most 63 characters.
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
TEAM_NAME = r"^[a-z][a-z0-9-]{1,30}$"
POOL_NAME = r"^[a-z][a-z0-9-]{1,20}$"  # model.NAME_PATTERN: what a pool may be called
# Kubernetes keeps values above one billion for its own system-* classes.
MAX_PRIORITY = 1_000_000_000


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriorityClassSettings(_Settings):
    """One PriorityClass, mirrored by a Kueue WorkloadPriorityClass of the same name and value
    (the pod's priority for the scheduler, the workload's for Kueue's queueing and preemption)."""

    name: Annotated[str, Field(pattern=DNS_LABEL, max_length=63)]
    value: Annotated[int, Field(ge=0, le=MAX_PRIORITY)]
    description: str = ""

    @field_validator("name")
    @classmethod
    def _not_a_system_name(cls, value: str) -> str:
        if value.startswith("system-"):
            raise ValueError(
                f"priority class name {value!r} starts with 'system-', which Kubernetes reserves "
                "for its own classes; allowed: any other DNS label"
            )
        return value


# Seed 003's classes; the lowest is the cluster default (globalDefault).
SEED_PRIORITY_CLASSES = (
    PriorityClassSettings(
        name="production-inference", value=1000, description="Online inference that users wait on"
    ),
    PriorityClassSettings(name="critical-agents", value=900, description="Agent workloads in production"),
    PriorityClassSettings(name="training", value=500, description="Training and fine-tuning jobs"),
    PriorityClassSettings(name="research", value=100, description="Experiments and evaluations"),
    PriorityClassSettings(
        name="development", value=50, description="Development; the default for pods that name no class"
    ),
)

Namespace = Annotated[str, Field(pattern=DNS_LABEL, max_length=63)]
# Team namespaces a stage may have in all. Each adds ~3.3 KB to the Workloads stack's one
# NetworkPolicies manifest (its default deny and the platform's allows), and a manifest reaches
# the kubectl handler as a Lambda payload of at most 256 KB: 48 leaves ~50 KB for what other
# settings add (tests/test_tenancy.py measures a full-featured stage at the limit).
MAX_TEAM_NAMESPACES = 48


class TeamSettings(_Settings):
    name: Annotated[str, Field(pattern=TEAM_NAME)]
    namespaces: UniqueList[Namespace] = Field(min_length=1)
    gpu_quota: dict[Annotated[str, Field(pattern=POOL_NAME)], Annotated[int, Field(ge=0, le=4096)]] = Field(
        default_factory=dict,
        description="GPUs per GPU pool (managed or Karpenter), the team's nominal quota in Kueue.",
    )
    cpu: Annotated[int, Field(ge=1, le=100_000)] = Field(description="CPU cores (requests).")
    memory_gib: Annotated[int, Field(ge=1, le=1_000_000)] = Field(description="Memory (requests), GiB.")
    default_priority_class: Annotated[str, Field(pattern=DNS_LABEL)] | None = Field(
        default=None, description="Defaults to the lowest priority class."
    )

    @property
    def gpus(self) -> int:
        return sum(self.gpu_quota.values())


class TenancySettings(_Settings):
    priority_classes: Annotated[list[PriorityClassSettings], Unique("name")] = Field(
        default_factory=lambda: list(SEED_PRIORITY_CLASSES), min_length=1
    )
    teams: Annotated[list[TeamSettings], Unique("name")] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> TenancySettings:
        classes = [c.name for c in self.priority_classes]
        values = sorted(c.value for c in self.priority_classes)
        if len(values) > 1 and values[0] == values[1]:
            tied = sorted(c.name for c in self.priority_classes if c.value == values[0])
            raise ValueError(
                f"tenancy.priority_classes: {tied} share the lowest value {values[0]}; the lowest class "
                "is the cluster default (globalDefault), so exactly one may have it"
            )
        owner: dict[str, str] = {}
        for team in self.teams:
            if team.default_priority_class is not None and team.default_priority_class not in classes:
                raise ValueError(
                    f"tenancy.teams[{team.name}].default_priority_class is {team.default_priority_class!r}; "
                    f"allowed: {', '.join(classes)}"
                )
            for namespace in team.namespaces:
                if namespace in owner:
                    raise ValueError(
                        f"tenancy.teams[{team.name}].namespaces: {namespace!r} is already team "
                        f"{owner[namespace]}'s; a namespace belongs to one team"
                    )
                owner[namespace] = team.name
        if len(owner) > MAX_TEAM_NAMESPACES:
            raise ValueError(
                f"tenancy.teams[].namespaces: {len(owner)} team namespaces in all; allowed: at most "
                f"{MAX_TEAM_NAMESPACES}. Each adds about 3.3 KB of NetworkPolicies to one manifest, which "
                "the cluster's kubectl handler receives as a Lambda payload of at most 256 KB (README "
                '"Tenancy and security"); share namespaces between a team\'s projects, or split the stage'
            )
        return self

    @property
    def default_priority_class(self) -> PriorityClassSettings:
        """The lowest class: the cluster default, and a team's unless it names another."""
        return min(self.priority_classes, key=lambda c: c.value)

    def team_priority_class(self, team: TeamSettings) -> str:
        return team.default_priority_class or self.default_priority_class.name

    def team_priority_classes(self, team: TeamSettings) -> list[str]:
        """The classes a team's pods may run at, highest first: its default and every lower
        class, so a team cannot preempt others with a class above its own. The cluster default
        (the lowest) only when it is the team's: the API server gives a pod without
        ``priorityClassName`` the cluster default before any policy sees it, so refusing that
        class is how a pod that names none is refused (``k8s_charts/tenancy.py``)."""
        default = next(c for c in self.priority_classes if c.name == self.team_priority_class(team))
        lowest = self.default_priority_class
        return [
            c.name
            for c in sorted(self.priority_classes, key=lambda c: -c.value)
            if c.value <= default.value and (c is not lowest or c is default)
        ]

    @property
    def namespaces(self) -> dict[str, TeamSettings]:
        """Every team namespace with its team."""
        return {namespace: team for team in self.teams for namespace in team.namespaces}

    @property
    def gpus(self) -> int:
        """The GPUs of every team's quota together: the cohort's total."""
        return sum(team.gpus for team in self.teams)

    def check_against_stage(
        self,
        *,
        gpu_capacity: dict[str, tuple[int, str]],
        cpu_pools: list[str],
        other_namespaces: dict[str, str],
    ) -> None:
        """The rules that need the stage: every quota names a GPU pool of the stage, the teams'
        quotas on a pool together fit what it can ever have (``gpu_capacity``: pool -> GPUs and
        how that figure comes about), and no team namespace is one the platform owns."""
        for namespace, team in self.namespaces.items():
            owner = other_namespaces.get(namespace) or (
                "the platform" if namespace in PLATFORM_NAMESPACES else None
            )
            if owner:
                taken = ", ".join(sorted(PLATFORM_NAMESPACES | set(other_namespaces)))
                raise ValueError(
                    f"tenancy.teams[{team.name}].namespaces: {namespace!r} is taken by {owner}; allowed: a "
                    f"namespace of the team's own, not one of {taken}"
                )
        for team in self.teams:
            for pool in team.gpu_quota:
                if pool not in gpu_capacity:
                    kind = " is a CPU pool" if pool in cpu_pools else " is not a pool of this stage"
                    raise ValueError(
                        f"tenancy.teams[{team.name}].gpu_quota: {pool!r}{kind}; allowed: the stage's GPU "
                        f"pools {sorted(gpu_capacity) or '(none: add gpu_pools or Karpenter GPU pools)'}"
                    )
        for pool, (limit, reason) in sorted(gpu_capacity.items()):
            shares = {t.name: t.gpu_quota[pool] for t in self.teams if t.gpu_quota.get(pool)}
            if sum(shares.values()) > limit:
                asked = ", ".join(f"{name} {gpus}" for name, gpus in shares.items())
                raise ValueError(
                    f"tenancy.teams[*].gpu_quota.{pool}: the teams' quotas add up to {sum(shares.values())} "
                    f"GPUs ({asked}) but pool {pool} can never have more than {limit} ({reason}); "
                    f"allowed: at most {limit} in total"
                )


# Namespaces the platform itself creates or Kubernetes keeps for itself; no team may claim one.
PLATFORM_NAMESPACES = frozenset(namespaces.NAMESPACES) | namespaces.KUBERNETES_NAMESPACES
