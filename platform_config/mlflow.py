"""Stage settings of MLflow, the tracking server and model registry: ``workloads.mlflow``.

MLflow keeps runs, metrics and the registry in PostgreSQL and artifacts in an S3 bucket of the
Storage stack, which the server alone reads and writes through its IRSA role (clients upload
and download through the server: proxied artifact storage). It is reached on a ClusterIP
Service from the team namespaces, never from a load balancer (README "MLflow").

``database`` is the interface to PostgreSQL, and the one part to wire at merge: the platform's
PostgreSQL construct (the job API's cluster, one database and secret per consumer) will
provide exactly these four values for an ``mlflow`` database; until it lands they name an
existing database by hand. The credentials never enter a template: the secret sync copies the
secret's ``username`` and ``password`` into the cluster.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from platform_config.patterns import SECRET_ARN_PATTERN

HOSTNAME_PATTERN = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PostgresDatabase(_Settings):
    """A PostgreSQL database and the secret holding its login (JSON keys ``username`` and
    ``password``; an RDS-generated secret's ``host``, ``port`` and ``dbname`` keys may be there
    too and are ignored)."""

    host: Annotated[str, Field(pattern=HOSTNAME_PATTERN, max_length=253)]
    port: Annotated[int, Field(ge=1, le=65535)] = 5432
    name: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")] = "mlflow"
    secret_arn: Annotated[str, Field(pattern=SECRET_ARN_PATTERN)]


class MlflowSettings(_Settings):
    enabled: bool = False
    replicas: Annotated[int, Field(ge=1, le=10)] = 1
    database: PostgresDatabase | None = None

    @model_validator(mode="after")
    def _needs_a_database(self) -> MlflowSettings:
        if self.enabled and self.database is None:
            raise ValueError(
                "workloads.mlflow.database is required when mlflow is enabled (host, port, name and "
                "secret_arn of a PostgreSQL database; MLflow keeps no state of its own)"
            )
        return self
