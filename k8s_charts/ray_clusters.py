"""A RayCluster template per GPU pool, for teams to apply in their namespaces (``make
templates``): the head on the CPU pool (it schedules, it does not compute), one GPU worker group
on the pool with its taint's toleration and its selector, and Ray's autoscaler sized by the pool
(from zero to a managed pool's ``max_size`` nodes, or to as many nodes of a Karpenter pool's
smallest size as its GPU limit allows).

Kueue admits a RayCluster as one workload (the ``ray.io/raycluster`` integration), against the
team's queue named in its label; every container is restricted (the Ray image's user is 1000).
"""

from __future__ import annotations

from dataclasses import dataclass

from k8s_charts.kueue_queues import LOCAL_QUEUE
from k8s_charts.training import GPU_TOLERATION, QUEUE_LABEL, restricted
from platform_config import gpu_catalog
from platform_config.contract import GPU_RESOURCE, POOL_LABEL
from platform_config.gpu_catalog import GpuInstance
from platform_config.model import CPU_POOL, StageConfig
from platform_config.training import RaySettings
from platform_config.versions import RAY_GPU

RAY_API = "ray.io/v1"
GCS_PORT, DASHBOARD_PORT, CLIENT_PORT = 6379, 8265, 10001
CLUSTER_LABEL = "ray.io/cluster"  # KubeRay labels every pod of a cluster with its name
RAY_USER = 1000


@dataclass(frozen=True)
class RayPool:
    """One GPU pool as Ray sees it: its name, node types and most worker nodes."""

    name: str
    instances: list[GpuInstance]
    max_nodes: int

    @property
    def smallest(self) -> GpuInstance:
        return min(self.instances, key=lambda i: (i.gpus, i.vcpus, i.memory_gib))


def _container(name: str, cpu: int, memory_gib: int, extra: dict[str, int] | None = None) -> dict:
    quantities: dict[str, str | int] = {"cpu": cpu, "memory": f"{memory_gib}Gi", **(extra or {})}
    return {
        "name": name,
        "image": RAY_GPU.uri,
        "securityContext": restricted(RAY_USER),
        "resources": {"requests": quantities, "limits": quantities},
    }


def ray_cluster(pool: RayPool, settings: RaySettings) -> dict:
    node = pool.smallest
    head = _container("ray-head", settings.head_cpu, settings.head_memory_gib)
    head["ports"] = [
        {"name": "gcs", "containerPort": GCS_PORT},
        {"name": "dashboard", "containerPort": DASHBOARD_PORT},
        {"name": "client", "containerPort": CLIENT_PORT},
    ]
    worker = _container(
        "ray-worker", max(1, node.vcpus // 2), max(4, node.memory_gib // 2), {GPU_RESOURCE: node.gpus}
    )
    pod_security = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    return {
        "apiVersion": RAY_API,
        "kind": "RayCluster",
        "metadata": {"name": f"ray-{pool.name}", "labels": {QUEUE_LABEL: LOCAL_QUEUE}},
        "spec": {
            "rayVersion": RAY_GPU.tag.split("-", 1)[0],
            "enableInTreeAutoscaling": True,
            "autoscalerOptions": {
                "idleTimeoutSeconds": 600,
                "securityContext": restricted(RAY_USER),
                "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "512Mi"}},
            },
            "headGroupSpec": {
                "rayStartParams": {"num-gpus": "0", "dashboard-host": "0.0.0.0"},
                "template": {
                    "spec": {
                        "nodeSelector": {POOL_LABEL: CPU_POOL},
                        "securityContext": pod_security,
                        "containers": [head],
                    }
                },
            },
            "workerGroupSpecs": [
                {
                    "groupName": "gpu",
                    "replicas": 0,
                    "minReplicas": 0,
                    "maxReplicas": pool.max_nodes,
                    "rayStartParams": {"num-gpus": str(node.gpus)},
                    "template": {
                        "spec": {
                            "nodeSelector": {POOL_LABEL: pool.name},
                            "tolerations": [GPU_TOLERATION],
                            "securityContext": pod_security,
                            "containers": [worker],
                        }
                    },
                }
            ],
        },
    }


def ray_pools(config: StageConfig) -> list[RayPool]:
    """Every GPU pool of the stage with its worker bound."""
    pools = [RayPool(p.name, [p.gpu], p.max_size) for p in config.gpu_pools]
    for p in config.karpenter.gpu_node_pools:
        instances = [gpu_catalog.lookup(t) for t in p.instance_types_in(config.region)]
        pools.append(RayPool(p.name, instances, max(1, p.gpus_limit // min(i.gpus for i in instances))))
    return pools
