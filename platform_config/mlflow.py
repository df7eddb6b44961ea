"""Stage settings of MLflow, the tracking server and model registry: ``workloads.mlflow``.

MLflow keeps runs, metrics and the registry in PostgreSQL and artifacts in an S3 bucket of the
Storage stack, which the server alone reads and writes through its IRSA role (clients upload
and download through the server: proxied artifact storage). It is reached on a ClusterIP
Service from the team namespaces, never from a load balancer (README "MLflow").

Its database is a consumer of the platform's PostgreSQL (``platform_constructs/postgres.py``,
in the Storage stack): a login and a database both named :data:`DATABASE`, created at deploy
time, their secret rotated there. The credentials never enter a template: the secret sync
copies the secret's ``username`` and ``password`` into the cluster.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

DATABASE = "mlflow"  # MLflow's login and database on the platform's PostgreSQL


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MlflowSettings(_Settings):
    enabled: bool = False
    replicas: Annotated[int, Field(ge=1, le=10)] = 1
