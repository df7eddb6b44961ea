"""Stage settings of the job submission API (issue 14), off by default.

The service (package ``job_api``) reads one JSON file, ``job_api.settings.ServiceSettings``;
``service_settings`` builds it from these settings and the stage (teams from tenancy, pools
from the GPU pools with the labels and taint of ``platform_constructs.naming``), so what the
API accepts is decided here, reviewed with ``cdk diff``. The job API is a consumer of the
platform's PostgreSQL, whose settings are ``platform_database``'s
(``platform_config/platform_database.py``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from platform_config.checks import UniqueList
from platform_config.platform_database import SETTING as PLATFORM_DATABASE

# An IAM role or user ARN (the API also accepts an STS assumed-role ARN of an allowed role).
PRINCIPAL_ARN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9_+=,.@/-]+$"
# A registry host, optionally with a path prefix (an ECR pull-through cache's prefix).
REGISTRY = r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?(/[a-z0-9._-]+)*$"
TEAM_NAME = r"^[a-z][a-z0-9-]{1,30}$"
Principal = Annotated[str, Field(pattern=PRINCIPAL_ARN, max_length=2048)]


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JobLimits(_Settings):
    max_active_jobs_per_user: Annotated[int, Field(ge=1, le=1000)] = 10
    max_active_gpus_per_user: Annotated[int, Field(ge=1, le=4096)] = 8


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

    @model_validator(mode="before")
    @classmethod
    def _database_has_moved(cls, data: object) -> object:
        """The database's settings were first here; the stage file still writing them gets the
        new home by name, not an unknown-key message."""
        if isinstance(data, dict) and "database" in data:
            raise ValueError(
                f"job_api.database has moved: the platform's PostgreSQL serves MLflow too, so its settings "
                f"are the top-level {PLATFORM_DATABASE}; allowed: the same keys under {PLATFORM_DATABASE}:"
            )
        return data

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
