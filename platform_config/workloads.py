"""Stage settings of the Kubernetes layer: which components run on the cluster, and how.

Every component is off by default (a stage file turns it on), and every setting that could
put a credential into a template is an ARN of a Secrets Manager secret instead: the platform
copies those into Kubernetes Secrets in the cluster (``platform_constructs/secret_sync.py``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from platform_config.checks import Unique, UniqueList, value_of
from platform_config.example_agent import ExampleAgentSettings
from platform_config.llm_servers import MAX_LLM_SERVERS, LlmServerSettings
from platform_config.mlflow import MlflowSettings
from platform_config.patterns import HF_MODEL_PATTERN, MESH_CLIENT_PATTERN, NAME_PATTERN, SECRET_ARN_PATTERN
from platform_config.rdma import RdmaSettings
from platform_config.tenancy import DNS_LABEL, TEAM_NAME
from platform_config.training import RaySettings, TrainingSettings
from platform_config.velero import VeleroSettings


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ObservabilitySettings(_Settings):
    """kube-prometheus-stack, DCGM exporter, Loki with Alloy, our rules and dashboards."""

    enabled: bool = False
    grafana_admin_secret_arn: Annotated[str, Field(pattern=SECRET_ARN_PATTERN)] | None = Field(
        None, description="Secrets Manager secret with JSON keys admin-user and admin-password"
    )
    prometheus_retention: Annotated[str, Field(pattern=r"^\d+[dh]$")] = "15d"
    prometheus_storage_gib: Annotated[int, Field(ge=10, le=4000)] = 100
    loki_storage_gib: Annotated[int, Field(ge=10, le=4000)] = 50
    loki_retention: Annotated[str, Field(pattern=r"^\d+h$")] = "168h"

    @model_validator(mode="after")
    def _needs_admin_secret(self) -> ObservabilitySettings:
        if self.enabled and not self.grafana_admin_secret_arn:
            raise ValueError(
                "observability.grafana_admin_secret_arn is required when observability is enabled "
                "(a Secrets Manager secret with admin-user and admin-password; no default password)"
            )
        return self


class NatsSettings(_Settings):
    """NATS with JetStream on gp3 volumes: Dynamo's event plane."""

    enabled: bool = False
    replicas: Literal[1, 3, 5] = 3
    storage_gib: Annotated[int, Field(ge=1, le=1000)] = 20


class MinioSettings(_Settings):
    """Distributed MinIO (erasure-coded over ``replicas`` volumes) for S3-compatible storage
    inside the cluster. On AWS the S3 model bucket covers the platform's own needs; MinIO is
    for teams whose tools need an in-cluster S3 endpoint (README, "MinIO").

    Its S3 port admits only the listed clients (NetworkPolicy, both ends): the namespaces in
    ``client_namespaces`` and every namespace of the teams in ``client_teams`` (checked against
    ``tenancy.teams`` by the stage). Nothing else reaches it, developers' pods included, unless
    ``gpu-dev`` is listed."""

    enabled: bool = False
    replicas: Literal[4, 8, 16] = 4
    storage_gib: Annotated[int, Field(ge=10, le=16000)] = 100
    root_secret_arn: Annotated[str, Field(pattern=SECRET_ARN_PATTERN)] | None = Field(
        None, description="Secrets Manager secret with JSON keys MINIO_ROOT_USER and MINIO_ROOT_PASSWORD"
    )
    client_namespaces: UniqueList[Annotated[str, Field(pattern=DNS_LABEL, max_length=63)]] = Field(
        default_factory=list, description="namespaces whose pods may reach the S3 API"
    )
    client_teams: UniqueList[Annotated[str, Field(pattern=TEAM_NAME)]] = Field(
        default_factory=list, description="tenancy.teams whose namespaces may reach the S3 API"
    )

    @model_validator(mode="after")
    def _needs_root_secret(self) -> MinioSettings:
        if self.enabled and not self.root_secret_arn:
            raise ValueError(
                "minio.root_secret_arn is required when minio is enabled (a Secrets Manager secret with "
                "MINIO_ROOT_USER and MINIO_ROOT_PASSWORD; there is no default password)"
            )
        return self


class ModelRepository(StrEnum):
    S3 = "s3"
    EFS = "efs"


class TritonSettings(_Settings):
    """Triton Inference Server on a GPU pool, models from the S3 model bucket or from EFS."""

    enabled: bool = False
    gpu_pool: Annotated[str, Field(pattern=NAME_PATTERN)] | None = None
    model_repository: ModelRepository = ModelRepository.S3
    model_prefix: Annotated[str, Field(pattern=r"^[\w.-]+(/[\w.-]+)*$")] = "triton"
    min_replicas: Annotated[int, Field(ge=1, le=100)] = 1
    max_replicas: Annotated[int, Field(ge=1, le=100)] = 2
    gpus_per_replica: Annotated[int, Field(ge=1, le=8)] = 1
    startup_minutes: Annotated[int, Field(ge=1, le=180)] = 20

    @model_validator(mode="after")
    def _consistent(self) -> TritonSettings:
        if self.enabled and not self.gpu_pool:
            raise ValueError(
                "triton.gpu_pool is required when triton is enabled (a gpu_pools or Karpenter pool)"
            )
        if self.max_replicas < self.min_replicas:
            raise ValueError(
                f"triton.max_replicas {value_of(self, 'max_replicas')} is below min_replicas "
                f"{value_of(self, 'min_replicas')}"
            )
        return self


class ServingMode(StrEnum):
    AGGREGATED = "aggregated"
    DISAGGREGATED = "disaggregated"


class DynamoModelSettings(_Settings):
    """One DynamoGraphDeployment serving one model with vLLM."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    model: Annotated[str, Field(pattern=HF_MODEL_PATTERN)]
    gpu_pool: Annotated[str, Field(pattern=NAME_PATTERN)]
    mode: ServingMode = ServingMode.AGGREGATED
    gpus_per_worker: Annotated[int, Field(ge=1, le=8)] = 1
    workers: Annotated[int, Field(ge=1, le=64)] = 1
    startup_minutes: Annotated[int, Field(ge=5, le=240)] = 45


# All models' DynamoGraphDeployments travel in one manifest to the kubectl Lambda, whose payload
# is limited to 256 KiB; a model takes about 4.6 KB, so 16 stay under half of it (make mutants
# found 64 models over the limit, which only the deployment would have reported).
MAX_DYNAMO_MODELS = 16


class DynamoSettings(_Settings):
    """The Dynamo operator and the models it serves."""

    enabled: bool = False
    hf_token_secret_arn: Annotated[str, Field(pattern=SECRET_ARN_PATTERN)] | None = Field(
        None, description="Secrets Manager secret with the JSON key HF_TOKEN"
    )
    models: Annotated[list[DynamoModelSettings], Unique("name")] = Field(
        default_factory=list, max_length=MAX_DYNAMO_MODELS
    )

    @model_validator(mode="after")
    def _consistent(self) -> DynamoSettings:
        if self.models and not self.hf_token_secret_arn:
            raise ValueError(
                "dynamo.hf_token_secret_arn is required when dynamo.models is set "
                "(model downloads read the Hugging Face token from it; never a literal)"
            )
        return self


MeshClient = Annotated[str, Field(pattern=MESH_CLIENT_PATTERN)]


class LinkerdSettings(_Settings):
    """Linkerd with its identity from cert-manager, proxies in the inference workloads, and
    policy so that only the listed clients reach Triton and the Dynamo frontends."""

    enabled: bool = False
    high_availability: bool = Field(False, description="3 control-plane replicas, PDBs, anti-affinity")
    trust_anchor_days: Annotated[int, Field(ge=30, le=3650)] = 365
    issuer_hours: Annotated[int, Field(ge=24, le=8760)] = 48
    triton_clients: UniqueList[MeshClient] = Field(default_factory=list)
    dynamo_clients: UniqueList[MeshClient] = Field(default_factory=list)


class WorkloadsSettings(_Settings):
    observability: ObservabilitySettings = ObservabilitySettings()
    nats: NatsSettings = NatsSettings()
    triton: TritonSettings = TritonSettings()
    dynamo: DynamoSettings = DynamoSettings()
    linkerd: LinkerdSettings = LinkerdSettings()
    minio: MinioSettings = MinioSettings()
    training: TrainingSettings = TrainingSettings()
    ray: RaySettings = RaySettings()
    rdma: RdmaSettings = RdmaSettings()
    llm_servers: Annotated[list[LlmServerSettings], Unique("name")] = Field(
        default_factory=list, max_length=MAX_LLM_SERVERS
    )
    example_agent: ExampleAgentSettings = ExampleAgentSettings()
    velero: VeleroSettings = VeleroSettings()
    mlflow: MlflowSettings = MlflowSettings()

    @property
    def any_enabled(self) -> bool:
        """Whether the stage has a Kubernetes layer at all (else no Workloads stack)."""
        components = (
            self.observability, self.nats, self.triton, self.dynamo, self.linkerd, self.minio,
            self.training, self.ray, self.rdma, self.example_agent, self.velero, self.mlflow,
        )  # fmt: skip
        return any(component.enabled for component in components) or bool(self.llm_servers)

    @model_validator(mode="after")
    def _dependencies(self) -> WorkloadsSettings:
        if self.dynamo.enabled and not self.nats.enabled:
            raise ValueError(
                "workloads.dynamo needs workloads.nats enabled: Dynamo's event plane is NATS JetStream"
            )
        if self.linkerd.enabled:
            for component, clients in (
                ("triton", self.linkerd.triton_clients),
                ("dynamo", self.linkerd.dynamo_clients),
            ):
                if getattr(self, component).enabled and not clients:
                    raise ValueError(
                        f"workloads.linkerd.{component}_clients is empty, so no workload could reach "
                        f"{component} through the mesh; list the callers as 'namespace/serviceaccount' "
                        "or 'namespace/*'"
                    )
        return self
