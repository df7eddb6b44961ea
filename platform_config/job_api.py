"""Stage settings of the job submission API (issue 14), off by default.

The service (package ``job_api``) reads one JSON file, ``job_api.settings.ServiceSettings``;
``service_settings`` builds it from these settings and the stage (teams from tenancy, pools
from the GPU pools with the labels and taint of ``platform_constructs.naming``), so what the
API accepts is decided here, reviewed with ``cdk diff``. The database settings size the
platform's PostgreSQL cluster (``platform_constructs/postgres.py``), which this feature
brings into the Storage stack.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from platform_config.checks import UniqueList

# An IAM role or user ARN (the API also accepts an STS assumed-role ARN of an allowed role).
PRINCIPAL_ARN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9_+=,.@/-]+$"
# A registry host, optionally with a path prefix (an ECR pull-through cache's prefix).
REGISTRY = r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?(/[a-z0-9._-]+)*$"
TEAM_NAME = r"^[a-z][a-z0-9-]{1,30}$"
# PostgreSQL's port on the platform's database: the cluster listens on it, its security group
# and the job API's NetworkPolicies open it.
POSTGRES_PORT = 5432
Principal = Annotated[str, Field(pattern=PRINCIPAL_ARN, max_length=2048)]


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JobLimits(_Settings):
    max_active_jobs_per_user: Annotated[int, Field(ge=1, le=1000)] = 10
    max_active_gpus_per_user: Annotated[int, Field(ge=1, le=4096)] = 8


class DatabaseSettings(_Settings):
    """Aurora PostgreSQL Serverless v2 capacity, in Aurora capacity units (1 ACU is about 2 GiB
    of memory). ``min_capacity`` 0 lets an idle cluster pause (Aurora PostgreSQL 16.3 and
    later); ``readers`` adds instances in other zones, promoted on failover."""

    min_capacity: Annotated[float, Field(ge=0, le=256, multiple_of=0.5)] = 0
    max_capacity: Annotated[float, Field(ge=1, le=256, multiple_of=0.5)] = 4
    readers: Annotated[int, Field(ge=0, le=15)] = 0
    pause_after_minutes: Annotated[int, Field(ge=5, le=1440)] = 30
    backup_retention_days: Annotated[int, Field(ge=1, le=35)] = 7
    rotation_days: Annotated[int, Field(ge=1, le=365)] = 30

    @model_validator(mode="after")
    def _ordered(self) -> DatabaseSettings:
        if self.min_capacity > self.max_capacity:
            raise ValueError(
                f"job_api.database.min_capacity {self.min_capacity} is above max_capacity "
                f"{self.max_capacity}; allowed: 0 to max_capacity"
            )
        return self


class JobApiSettings(_Settings):
    enabled: bool = False
    allowed_principal_arns: UniqueList[Principal] = Field(
        default_factory=list, description="IAM roles or users that may sign in"
    )
    team_members: dict[Annotated[str, Field(pattern=TEAM_NAME)], UniqueList[Principal]] = Field(
        default_factory=dict,
        description="Who may submit as a team; a team not named here admits every allowed principal",
    )
    extra_registries: UniqueList[Annotated[str, Field(pattern=REGISTRY)]] = Field(
        default_factory=list,
        description="Registries allowed beside the stage's own ECR (which holds its pull-through caches)",
    )
    key_ttl_minutes: Annotated[int, Field(ge=5, le=720)] = 120
    max_runtime_minutes: Annotated[int, Field(ge=1, le=10080)] = 1440
    limits: JobLimits = JobLimits()
    api_replicas: Annotated[int, Field(ge=1, le=10)] = 2
    dispatcher_replicas: Annotated[int, Field(ge=1, le=10)] = 2
    database: DatabaseSettings = DatabaseSettings()

    @model_validator(mode="after")
    def _consistent(self) -> JobApiSettings:
        if self.enabled and not self.allowed_principal_arns:
            raise ValueError(
                "job_api.allowed_principal_arns is empty: name the IAM roles (or users) that may sign in"
            )
        for team, members in self.team_members.items():
            strangers = [m for m in members if m not in self.allowed_principal_arns]
            if strangers:
                raise ValueError(
                    f"job_api.team_members.{team}: {', '.join(strangers)} not in allowed_principal_arns; "
                    "allowed: principals that may sign in"
                )
        return self

    def check_against_stage(self, *, teams: list[str], cert_manager: bool) -> None:
        """The rules that need the stage: team names exist, the teams exist at all (jobs run in
        their namespaces under their Kueue queues), and cert-manager issues the API's certificate."""
        if not self.enabled:
            return
        if not teams:
            raise ValueError(
                "job_api.enabled needs tenancy.teams: jobs run in a team's namespace under its Kueue queue"
            )
        for team in self.team_members:
            if team not in teams:
                raise ValueError(
                    f"job_api.team_members: {team!r} is not a team; allowed: {', '.join(sorted(teams))}"
                )
        if not cert_manager:
            raise ValueError(
                "job_api.enabled needs cert-manager for the API's TLS certificate, which the platform "
                "installs with workloads.linkerd.enabled: true; allowed: turn Linkerd on"
            )
