"""Distributed MinIO: an S3-compatible object store inside the cluster.

One StatefulSet whose pods serve one erasure-coded pool over all their volumes (4 volumes
keep working with one lost: parity 2, write quorum 3), spread across AZs and hosts, with a
PDB that lets one pod go at a time. The root credentials come from the ``minio-root``
Secret that the secret sync copies from Secrets Manager; the image has no usable default.
Prometheus scrapes the cluster metrics endpoint, which is public inside the cluster only
(``MINIO_PROMETHEUS_AUTH_TYPE=public``; the Services are ClusterIP).
"""

from __future__ import annotations

import cdk8s
from cdk8s_plus_35 import k8s
from constructs import Construct

from k8s_charts.baseline import (
    RETAIN_CLAIMS,
    app_labels,
    data_volume_claim,
    http_probe,
    pod_disruption_budget,
    pod_security,
    resources,
    restricted_security_context,
    service_monitor,
    stateful_services,
    zone_spread,
)
from platform_config.contract import service_url
from platform_config.versions import MINIO
from platform_config.workloads import MinioSettings

NAME = "minio"
ROOT_SECRET = "minio-root"  # keys MINIO_ROOT_USER, MINIO_ROOT_PASSWORD
API_PORT, CONSOLE_PORT = 9000, 9001
METRICS_PATH = "/minio/v2/metrics/cluster"


def endpoint(namespace: str) -> str:
    """The in-cluster S3 endpoint clients use."""
    return service_url(NAME, namespace, API_PORT)


def server_args(*, namespace: str, replicas: int) -> list[str]:
    """Every pod names the whole pool with MinIO's ``{0...N}`` expansion over the headless DNS."""
    pool = f"http://{NAME}-{{0...{replicas - 1}}}.{NAME}-headless.{namespace}.svc.cluster.local/data"
    return ["server", pool, "--console-address", f":{CONSOLE_PORT}", "--certs-dir", "/tmp/certs"]


class MinioChart(cdk8s.Chart):
    def __init__(
        self, scope: Construct, chart_id: str, *, settings: MinioSettings, namespace: str, storage_class: str
    ) -> None:
        super().__init__(scope, chart_id)
        labels = app_labels(NAME, "object-store")
        ports = [("api", API_PORT), ("console", CONSOLE_PORT)]
        stateful_services(self, name=NAME, namespace=namespace, labels=labels, ports=ports)
        container = k8s.Container(
            name=NAME,
            image=MINIO.uri,
            args=server_args(namespace=namespace, replicas=settings.replicas),
            env_from=[k8s.EnvFromSource(secret_ref=k8s.SecretEnvSource(name=ROOT_SECRET))],
            env=[k8s.EnvVar(name="MINIO_PROMETHEUS_AUTH_TYPE", value="public")],
            ports=[k8s.ContainerPort(name=n, container_port=p) for n, p in ports],
            resources=resources({"cpu": "500m", "memory": "2Gi"}, {"cpu": "2", "memory": "4Gi"}),
            security_context=restricted_security_context(user=1000),
            startup_probe=http_probe("/minio/health/live", "api", period=10, failures=60),
            liveness_probe=http_probe("/minio/health/live", "api", period=30),
            readiness_probe=http_probe("/minio/health/ready", "api"),
            volume_mounts=[
                k8s.VolumeMount(name="data", mount_path="/data"),
                k8s.VolumeMount(name="tmp", mount_path="/tmp"),
            ],
        )
        k8s.KubeStatefulSet(
            self,
            "statefulset",
            metadata=k8s.ObjectMeta(name=NAME, namespace=namespace, labels=labels),
            spec=k8s.StatefulSetSpec(
                service_name=f"{NAME}-headless",
                replicas=settings.replicas,
                pod_management_policy="Parallel",  # the pool forms only once every pod is up
                selector=k8s.LabelSelector(match_labels=labels),
                persistent_volume_claim_retention_policy=RETAIN_CLAIMS,
                template=k8s.PodTemplateSpec(
                    metadata=k8s.ObjectMeta(labels=labels),
                    spec=k8s.PodSpec(
                        security_context=pod_security(1000),
                        topology_spread_constraints=zone_spread(labels, hard=False),
                        containers=[container],
                        volumes=[k8s.Volume(name="tmp", empty_dir=k8s.EmptyDirVolumeSource())],
                    ),
                ),
                volume_claim_templates=[
                    data_volume_claim(storage_class=storage_class, gib=settings.storage_gib)
                ],
            ),
        )
        pod_disruption_budget(self, name=NAME, namespace=namespace, labels=labels)
        service_monitor(self, name=NAME, namespace=namespace, labels=labels, port="api", path=METRICS_PATH)
