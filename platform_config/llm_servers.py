"""Stage settings of the OpenAI-compatible model servers beside Dynamo: ``workloads.llm_servers``.

Each entry is one Deployment of vLLM or Hugging Face TGI serving one model on one GPU pool
(``k8s_charts/llm_servers.py``), reachable at ``http://<name>.llm-serving:8000/v1`` by the
clients it lists and no one else. The list is empty by default (no namespace, nothing
deployed); the stage model checks that each pool exists (``StageConfig``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from platform_config.checks import UniqueList
from platform_config.gpu_catalog import GpuInstance
from platform_config.patterns import HF_MODEL_PATTERN, MESH_CLIENT_PATTERN, NAME_PATTERN, SECRET_ARN_PATTERN


class LlmEngine(StrEnum):
    VLLM = "vllm"
    TGI = "tgi"


class LlmServerSettings(BaseModel):
    """One model server. ``gpus`` is the tensor-parallel degree (vLLM
    ``--tensor-parallel-size``, TGI ``--num-shard``): every replica gets that many GPUs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    engine: LlmEngine
    model: Annotated[str, Field(pattern=HF_MODEL_PATTERN)]
    gpu_pool: Annotated[str, Field(pattern=NAME_PATTERN)]
    gpus: Annotated[int, Field(ge=1, le=8)] = 1
    replicas: Annotated[int, Field(ge=1, le=16)] = 1
    startup_minutes: Annotated[int, Field(ge=5, le=240)] = Field(
        30, description="How long the first model download and load may take before liveness applies"
    )
    hf_token_secret_arn: Annotated[str, Field(pattern=SECRET_ARN_PATTERN)] | None = Field(
        None, description="Secrets Manager secret with the JSON key HF_TOKEN (gated models only)"
    )
    clients: UniqueList[Annotated[str, Field(pattern=MESH_CLIENT_PATTERN)]] = Field(
        min_length=1,
        description="Callers as 'namespace/serviceaccount' or 'namespace/*': NetworkPolicy admits "
        "their namespaces, Linkerd (when on) their identities",
    )


# Every server's objects travel in one manifest to the kubectl Lambda (256 KiB payload); a
# server takes about 6 KB, so 16 stay far below it.
MAX_LLM_SERVERS = 16


def check_against_stage(
    servers: list[LlmServerSettings], pool_instances: dict[str, list[GpuInstance]]
) -> None:
    """A replica's GPUs are one node's (tensor parallelism does not span nodes here), so they fit
    the smallest type the pool may launch. Unknown pools are the stage model's message."""
    for server in servers:
        types = pool_instances.get(server.gpu_pool)
        if not types:
            continue
        smallest = min(types, key=lambda t: t.gpus)
        if server.gpus > smallest.gpus:
            raise ValueError(
                f"workloads.llm_servers[{server.name}].gpus is {server.gpus} but pool {server.gpu_pool}'s "
                f"{smallest.instance_type} has {smallest.gpus}; allowed: 1 to {smallest.gpus}"
            )
