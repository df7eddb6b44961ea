"""OpenAI-compatible model servers beside Dynamo: one vLLM or TGI Deployment per entry of
``workloads.llm_servers``, in the ``llm-serving`` namespace.

Every server listens on 8000 (``/v1/chat/completions``, ``/v1/completions``, ``/health`` and
Prometheus ``/metrics`` on the one port, for both engines), behind a ClusterIP Service named
after it. Weights go to a ReadWriteMany EFS volume shared by every server of the namespace
(the model cache, as Dynamo's): the first replica downloads, the others and every restart read
the cache. A gated model's Hugging Face token comes from a Secret the secret sync keeps in step
with Secrets Manager. Containers run as uid 1000, the owner of the EFS access point
directories, with a read-only root: caches go to the model cache or to ``/tmp``.

Replicas are fixed (``replicas``), not autoscaled: a queue-length HPA needs the custom metrics
API (prometheus-adapter or KEDA), which the observability stack does not install, and the
cluster has no metrics-server either, so not even a CPU HPA would act (README "LLM servers").
"""

from __future__ import annotations

from collections.abc import Mapping

import cdk8s
from cdk8s_plus_35 import k8s
from constructs import Construct

from k8s_charts.baseline import (
    app_labels,
    gpu_scheduling,
    http_probe,
    pod_disruption_budget,
    pod_security,
    resources,
    restricted_security_context,
    service_monitor,
    startup_probe,
    zone_spread,
)
from platform_config.gpu_sharing import PoolCapacity
from platform_config.llm_servers import LlmEngine, LlmServerSettings
from platform_config.versions import TGI, VLLM_OPENAI

NAME = "llm-server"  # app.kubernetes.io/name of every server's pods
PORT = 8000
MODEL_CACHE_CLAIM = "model-cache"
MODEL_CACHE_PATH = "/models"
HF_HOME = f"{MODEL_CACHE_PATH}/hf"
SERVER_USER = 1000  # the efs StorageClass creates its directories as uid/gid 1000, mode 750
SHARED_MEMORY = "8Gi"  # /dev/shm: NCCL between tensor-parallel ranks


def pod_labels(server: LlmServerSettings) -> dict[str, str]:
    """The labels of one server's pods: its Service, PDB, NetworkPolicy and mesh policy select them."""
    return app_labels(NAME, server.name)


def hf_token_secret(server: LlmServerSettings) -> str:
    return f"hf-token-{server.name}"


def engine_command(server: LlmServerSettings) -> tuple[list[str], list[str]]:
    """Command and arguments of the engine's OpenAI-compatible server on :data:`PORT`."""
    if server.engine is LlmEngine.VLLM:
        return ["vllm", "serve"], [
            server.model, "--host", "0.0.0.0", "--port", str(PORT),
            "--tensor-parallel-size", str(server.gpus),
        ]  # fmt: skip
    return ["text-generation-launcher"], [
        "--model-id", server.model, "--hostname", "0.0.0.0", "--port", str(PORT),
        "--num-shard", str(server.gpus),
    ]  # fmt: skip


def _env(server: LlmServerSettings) -> list[k8s.EnvVar]:
    env = [
        k8s.EnvVar(name="HOME", value="/tmp"),
        k8s.EnvVar(name="HF_HOME", value=HF_HOME),
        # TGI's launcher reads its cache from this variable, vLLM from HF_HOME
        k8s.EnvVar(name="HUGGINGFACE_HUB_CACHE", value=f"{HF_HOME}/hub"),
        # no usage reports to the engines' vendors from inside the platform
        k8s.EnvVar(name="DO_NOT_TRACK", value="1"),
        k8s.EnvVar(name="VLLM_NO_USAGE_STATS", value="1"),
        k8s.EnvVar(name="USAGE_STATS", value="off"),
    ]
    if server.hf_token_secret_arn:
        env.append(
            k8s.EnvVar(
                name="HF_TOKEN",
                value_from=k8s.EnvVarSource(
                    secret_key_ref=k8s.SecretKeySelector(name=hf_token_secret(server), key="HF_TOKEN")
                ),
            )
        )
    return env


class LlmServersChart(cdk8s.Chart):
    def __init__(
        self,
        scope: Construct,
        chart_id: str,
        *,
        servers: list[LlmServerSettings],
        capacity: Mapping[str, PoolCapacity],
        namespace: str,
        efs_storage_class: str,
        model_cache_gib: int = 500,
    ) -> None:
        super().__init__(scope, chart_id)
        k8s.KubePersistentVolumeClaim(
            self,
            "model-cache",
            metadata=k8s.ObjectMeta(
                name=MODEL_CACHE_CLAIM, namespace=namespace, labels=app_labels(NAME, "model-cache")
            ),
            spec=k8s.PersistentVolumeClaimSpec(
                access_modes=["ReadWriteMany"],
                storage_class_name=efs_storage_class,
                resources=k8s.VolumeResourceRequirements(
                    requests={"storage": k8s.Quantity.from_string(f"{model_cache_gib}Gi")}
                ),
            ),
        )
        self._capacity = capacity
        for server in servers:
            self._server(server, namespace)

    def _server(self, server: LlmServerSettings, namespace: str) -> None:
        labels, gpus = pod_labels(server), server.gpus
        # What the pool advertises (the one capacity function): nvidia.com/gpu, or a MIG device.
        accelerator = self._capacity[server.gpu_pool].unit
        command, args = engine_command(server)
        container = k8s.Container(
            name="server",
            image=(VLLM_OPENAI if server.engine is LlmEngine.VLLM else TGI).uri,
            command=command,
            args=args,
            env=_env(server),
            ports=[k8s.ContainerPort(name="http", container_port=PORT)],
            resources=resources(
                {"cpu": 4 * gpus, "memory": f"{16 * gpus}Gi", accelerator: gpus},
                {"cpu": 8 * gpus, "memory": f"{32 * gpus}Gi", accelerator: gpus},
            ),
            security_context=restricted_security_context(user=SERVER_USER),
            startup_probe=startup_probe("/health", "http", minutes=server.startup_minutes),
            liveness_probe=http_probe("/health", "http", period=15, failures=4),
            readiness_probe=http_probe("/health", "http", period=5),
            volume_mounts=[
                k8s.VolumeMount(name="model-cache", mount_path=MODEL_CACHE_PATH),
                k8s.VolumeMount(name="tmp", mount_path="/tmp"),
                k8s.VolumeMount(name="shm", mount_path="/dev/shm"),
            ],
        )
        volumes = [
            k8s.Volume(
                name="model-cache",
                persistent_volume_claim=k8s.PersistentVolumeClaimVolumeSource(claim_name=MODEL_CACHE_CLAIM),
            ),
            k8s.Volume(name="tmp", empty_dir=k8s.EmptyDirVolumeSource()),
            k8s.Volume(
                name="shm",
                empty_dir=k8s.EmptyDirVolumeSource(
                    medium="Memory", size_limit=k8s.Quantity.from_string(SHARED_MEMORY)
                ),
            ),
        ]
        k8s.KubeDeployment(
            self,
            f"{server.name}-deployment",
            metadata=k8s.ObjectMeta(name=server.name, namespace=namespace, labels=labels),
            spec=k8s.DeploymentSpec(
                replicas=server.replicas,
                selector=k8s.LabelSelector(match_labels=labels),
                # a new replica starts before an old one stops: the model keeps being served
                # while the rollout waits for a free GPU
                strategy=k8s.DeploymentStrategy(
                    type="RollingUpdate",
                    rolling_update=k8s.RollingUpdateDeployment(
                        max_surge=k8s.IntOrString.from_number(1),
                        max_unavailable=k8s.IntOrString.from_number(0),
                    ),
                ),
                template=k8s.PodTemplateSpec(
                    metadata=k8s.ObjectMeta(labels=labels),
                    spec=k8s.PodSpec(
                        security_context=pod_security(SERVER_USER),
                        automount_service_account_token=False,
                        topology_spread_constraints=zone_spread(labels, hard=False),
                        containers=[container],
                        volumes=volumes,
                        termination_grace_period_seconds=60,
                        **gpu_scheduling(server.gpu_pool),
                    ),
                ),
            ),
        )
        k8s.KubeService(
            self,
            f"{server.name}-service",
            metadata=k8s.ObjectMeta(name=server.name, namespace=namespace, labels=labels),
            spec=k8s.ServiceSpec(
                selector=labels,
                ports=[
                    k8s.ServicePort(name="http", port=PORT, target_port=k8s.IntOrString.from_string("http"))
                ],
            ),
        )
        pod_disruption_budget(self, name=server.name, namespace=namespace, labels=labels)
        service_monitor(self, name=server.name, namespace=namespace, labels=labels, port="http")
