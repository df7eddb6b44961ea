"""Stage settings of the platform's PostgreSQL: ``platform_database``.

One Aurora PostgreSQL Serverless v2 cluster per stage (``platform_constructs/postgres.py``, in
the Storage stack), built whenever a consumer is on: the job API (``job_api.enabled``) and
MLflow (``workloads.mlflow.enabled``), each with its own login and database. Its settings are
the cluster's, not a consumer's, so they live at the top level of the stage file; a stage file
that still writes them under ``job_api.database`` (where they were first) is refused with the
new name (``platform_config/job_api.py``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

SETTING = "platform_database"
# PostgreSQL's port on the platform's database: the cluster listens on it, its security group
# and the consumers' NetworkPolicies open it.
POSTGRES_PORT = 5432


class PlatformDatabaseSettings(BaseModel):
    """Aurora PostgreSQL Serverless v2 capacity, in Aurora capacity units (1 ACU is about 2 GiB
    of memory). ``min_capacity`` 0 lets an idle cluster pause (Aurora PostgreSQL 16.3 and
    later); ``readers`` adds instances in other zones, promoted on failover."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_capacity: Annotated[float, Field(ge=0, le=256, multiple_of=0.5)] = 0
    max_capacity: Annotated[float, Field(ge=1, le=256, multiple_of=0.5)] = 4
    readers: Annotated[int, Field(ge=0, le=15)] = 0
    pause_after_minutes: Annotated[int, Field(ge=5, le=1440)] = 30
    backup_retention_days: Annotated[int, Field(ge=1, le=35)] = 7
    rotation_days: Annotated[int, Field(ge=1, le=365)] = 30

    @model_validator(mode="after")
    def _ordered(self) -> PlatformDatabaseSettings:
        if self.min_capacity > self.max_capacity:
            raise ValueError(
                f"{SETTING}.min_capacity {self.min_capacity} is above max_capacity "
                f"{self.max_capacity}; allowed: 0 to max_capacity"
            )
        return self
