"""NVIDIA Dynamo DynamoGraphDeployments: one per model in the stage settings.

Aggregated mode runs a frontend and vLLM workers on one GPU pool; disaggregated mode splits
prefill and decode workers, which hand KV caches over NIXL on EFA (``vpc.amazonaws.com/efa``,
IPC_LOCK for memory registration). Weights are cached on an EFS ReadWriteMany volume shared
by every worker; the Hugging Face token comes from the ``hf-token`` Secret, which the secret
sync job copies from Secrets Manager.

Written as dicts through ``cdk8s.ApiObject`` rather than a generated binding: the CRD embeds
whole pod specs and its binding is a 5 MB module that adds 0.7 s to every synth's imports
(measured: 0.40 s -> 1.11 s). ``tests/test_k8s_manifests.py`` validates every object against
the CRD's v1beta1 schema with unknown fields rejected.
"""

from __future__ import annotations

import json
from typing import Any

import cdk8s
from cdk8s_plus_35 import k8s
from constructs import Construct

from k8s_charts.baseline import app_labels
from platform_config.contract import (
    APP_NAME_LABEL,
    EFA_RESOURCE,
    GPU_TAINT_KEY,
    MESH_INJECT,
    POOL_LABEL,
)
from platform_config.gpu_sharing import PoolCapacity
from platform_config.versions import DYNAMO_VLLM_RUNTIME
from platform_config.workloads import DynamoModelSettings, DynamoSettings, ServingMode

API_VERSION = "nvidia.com/v1beta1"
MODEL_CACHE_CLAIM = "model-cache"
MODEL_CACHE_PATH = "/opt/models"
HF_TOKEN_SECRET = "hf-token"
FRONTEND_PORT, SYSTEM_PORT = 8000, 9090
FRONTEND_LABEL = {APP_NAME_LABEL: "dynamo-frontend"}
KV_TRANSFER = json.dumps({"kv_connector": "NixlConnector", "kv_role": "kv_both"}, separators=(",", ":"))


def efa_per_worker(model: DynamoModelSettings, capacity: PoolCapacity) -> int:
    """EFA devices a worker asks for: its share of the interfaces on the pool's least
    EFA-dense type (per advertised unit, the model's capacity function), so the pod fits
    whichever type the pool launches."""
    return max(
        1,
        min(
            i.efa_interfaces * model.gpus_per_worker // capacity.units_per_node(i) for i in capacity.instances
        ),
    )


def _probe(path: str, port: int, *, period: int, failures: int) -> dict:
    return {"httpGet": {"path": path, "port": port}, "periodSeconds": period, "failureThreshold": failures}


def _container(*, command: list[str], resources: dict, env: list[dict], probe_port: int, startup_minutes: int,
               capabilities: list[str] | None = None) -> dict:  # fmt: skip
    return {
        "name": "main",
        "image": DYNAMO_VLLM_RUNTIME.uri,
        "command": command,
        "env": env,
        "envFrom": [{"secretRef": {"name": HF_TOKEN_SECRET}}],
        "resources": resources,
        # The runtime image keeps its workspace and caches under root-owned paths, so it runs
        # as the image's user; escalation is still off and capabilities dropped (baseline test).
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"], **({"add": capabilities} if capabilities else {})},
        },
        "startupProbe": _probe("/health", probe_port, period=10, failures=startup_minutes * 6),
        "livenessProbe": _probe(
            "/live" if probe_port == SYSTEM_PORT else "/health", probe_port, period=15, failures=4
        ),
        "readinessProbe": _probe("/health", probe_port, period=10, failures=3),
        "volumeMounts": [{"name": "model-cache", "mountPath": MODEL_CACHE_PATH}],
    }


def _pod(container: dict, *, labels: dict, pool: str | None, annotations: dict | None = None) -> dict:
    spec: dict[str, Any] = {
        "containers": [container],
        "volumes": [{"name": "model-cache", "persistentVolumeClaim": {"claimName": MODEL_CACHE_CLAIM}}],
    }
    if pool:
        spec["nodeSelector"] = {POOL_LABEL: pool}
        spec["tolerations"] = [{"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}]
    metadata = {"labels": labels, **({"annotations": annotations} if annotations else {})}
    return {"metadata": metadata, "spec": spec}


def graph(model: DynamoModelSettings, capacity: PoolCapacity, *, meshed: bool = False) -> dict:
    """The DynamoGraphDeployment spec for one model on its pool (``capacity``: what the pool
    advertises; a worker requests the pool's unit). ``meshed`` gives the frontend a Linkerd
    proxy (its clients are authorized by mesh identity); the GPU workers stay out of the mesh,
    since their KV-cache transfer goes over EFA/RDMA, which no proxy sees."""
    common_env = [
        {"name": "HF_HOME", "value": f"{MODEL_CACHE_PATH}/hf"},
        {"name": "DYN_SYSTEM_ENABLED", "value": "true"},
        {"name": "DYN_SYSTEM_PORT", "value": str(SYSTEM_PORT)},
    ]
    labels = app_labels("dynamo", model.name)
    frontend = {
        "name": "frontend",
        "type": "frontend",
        "replicas": 2,
        "podTemplate": _pod(
            _container(
                command=["python3", "-m", "dynamo.frontend", "--http-port", str(FRONTEND_PORT)],
                resources={
                    "requests": {"cpu": "1", "memory": "2Gi"},
                    "limits": {"cpu": "2", "memory": "4Gi"},
                },
                env=common_env,
                probe_port=FRONTEND_PORT,
                startup_minutes=5,
            ),
            labels={**labels, **FRONTEND_LABEL},
            pool=None,
            annotations=MESH_INJECT if meshed else None,
        ),
    }
    disaggregated = model.mode is ServingMode.DISAGGREGATED
    roles = ["prefill", "decode"] if disaggregated else ["worker"]
    workers = []
    for role in roles:
        limits = {capacity.unit: str(model.gpus_per_worker), "cpu": "16", "memory": "96Gi"}
        if disaggregated:
            limits[EFA_RESOURCE] = str(efa_per_worker(model, capacity))
        command = [
            "python3", "-m", "dynamo.vllm",
            "--model", model.model,
            "--tensor-parallel-size", str(model.gpus_per_worker),
        ]  # fmt: skip
        if disaggregated:
            command += ["--disaggregation-mode", role, "--kv-transfer-config", KV_TRANSFER]
        env = common_env + ([{"name": "FI_PROVIDER", "value": "efa"}] if disaggregated else [])
        workers.append(
            {
                "name": role,
                "type": role,
                "replicas": model.workers,
                "sharedMemorySize": "16Gi",
                "podTemplate": _pod(
                    _container(
                        command=command,
                        resources={"requests": {**limits, "cpu": "8", "memory": "64Gi"}, "limits": limits},
                        env=env,
                        probe_port=SYSTEM_PORT,
                        startup_minutes=model.startup_minutes,
                        capabilities=["IPC_LOCK"] if disaggregated else None,
                    ),
                    labels={**labels, "app.kubernetes.io/component": role},
                    pool=model.gpu_pool,
                ),
            }
        )
    return {"backendFramework": "vllm", "components": [frontend, *workers]}


class DynamoGraphsChart(cdk8s.Chart):
    def __init__(
        self,
        scope: Construct,
        chart_id: str,
        *,
        settings: DynamoSettings,
        namespace: str,
        capacity: dict[str, PoolCapacity],
        efs_storage_class: str,
        model_cache_gib: int = 500,
        meshed: bool = False,
    ) -> None:
        """``capacity``: GPU pool name -> what it advertises (the model's capacity function)."""
        super().__init__(scope, chart_id)
        k8s.KubePersistentVolumeClaim(
            self,
            "model-cache",
            metadata=k8s.ObjectMeta(
                name=MODEL_CACHE_CLAIM, namespace=namespace, labels=app_labels("dynamo", "model-cache")
            ),
            spec=k8s.PersistentVolumeClaimSpec(
                access_modes=["ReadWriteMany"],
                storage_class_name=efs_storage_class,
                resources=k8s.VolumeResourceRequirements(
                    requests={"storage": k8s.Quantity.from_string(f"{model_cache_gib}Gi")}
                ),
            ),
        )
        for model in settings.models:
            cdk8s.ApiObject(
                self,
                model.name,
                api_version=API_VERSION,
                kind="DynamoGraphDeployment",
                metadata=cdk8s.ApiObjectMetadata(
                    name=model.name, namespace=namespace, labels=app_labels("dynamo", model.name)
                ),
            ).add_json_patch(
                cdk8s.JsonPatch.add("/spec", graph(model, capacity[model.gpu_pool], meshed=meshed))
            )
