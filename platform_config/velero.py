"""Stage settings of backups: ``workloads.velero``.

Velero backs up the Kubernetes objects of the platform's stateful namespaces to a bucket of
the Storage stack and snapshots their EBS volumes, on one schedule with one retention
(``k8s_charts/velero.py``); a restore is a command (``docs/runbooks/velero-restore.md``).
The namespaces are those of the stateful components the stage runs (NATS JetStream, MinIO,
MLflow), so turning a component on puts it under backup without another setting.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from platform_config import cron


class VeleroSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    schedule: str = Field("0 3 * * *", description="Cron, UTC: when each namespace's backup starts")
    retention_days: Annotated[int, Field(ge=1, le=3650)] = Field(
        30, description="How long a backup and its snapshots are kept (the Schedule's ttl)"
    )

    @field_validator("schedule")
    @classmethod
    def _schedule_runs(cls, value: str) -> str:
        return cron.checked_schedule(value)

    @property
    def ttl(self) -> str:
        """The retention as the Go duration Velero's ``ttl`` takes."""
        return f"{self.retention_days * 24}h0m0s"
