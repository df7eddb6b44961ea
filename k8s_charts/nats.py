"""NATS with JetStream: Dynamo's event plane (KV events, request routing).

A StatefulSet whose pods form one cluster through a headless Service, each with a gp3
volume for the JetStream file store, spread across AZs so a zone outage keeps the Raft
quorum, a PDB that lets one pod go at a time, and the Prometheus exporter as a sidecar.
"""

from __future__ import annotations

from typing import Any

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
from platform_config.versions import NATS_EXPORTER, NATS_SERVER
from platform_config.workloads import NatsSettings

NAME = "nats"
CLIENT_PORT, CLUSTER_PORT, MONITOR_PORT, METRICS_PORT = 4222, 6222, 8222, 7777
PID_FILE = "/var/run/nats/nats.pid"  # lets the preStop hook put the server in lame-duck mode


def client_url(namespace: str) -> str:
    """The URL clients (Dynamo) use: the client Service, which spreads connections."""
    return service_url(NAME, namespace, CLIENT_PORT, scheme="nats")


def server_config(*, namespace: str, replicas: int, storage_gib: int) -> str:
    """nats.conf; JetStream may use 90 % of the volume, leaving room for compaction."""
    lines = [
        f"port: {CLIENT_PORT}",
        f"http_port: {MONITOR_PORT}",
        "server_name: $POD_NAME",
        f"pid_file: {PID_FILE}",
        "lame_duck_grace_period: 10s",
        "lame_duck_duration: 30s",
        f"jetstream {{ store_dir: /data, max_file_store: {storage_gib * 9 // 10}G }}",
    ]
    if replicas > 1:
        routes = ", ".join(
            f"nats://{NAME}-{i}.{NAME}-headless.{namespace}.svc.cluster.local:{CLUSTER_PORT}"
            for i in range(replicas)
        )
        lines.append(f"cluster {{ name: {NAME}, port: {CLUSTER_PORT}, routes: [{routes}] }}")
    return "\n".join(lines) + "\n"


class NatsChart(cdk8s.Chart):
    def __init__(
        self,
        scope: Construct,
        chart_id: str,
        *,
        settings: NatsSettings,
        namespace: str,
        storage_class: str,
    ) -> None:
        super().__init__(scope, chart_id)
        labels = app_labels(NAME, "jetstream")
        meta: dict[str, Any] = {"namespace": namespace, "labels": labels}
        k8s.KubeConfigMap(
            self,
            "config",
            metadata=k8s.ObjectMeta(name=f"{NAME}-config", **meta),
            data={
                "nats.conf": server_config(
                    namespace=namespace, replicas=settings.replicas, storage_gib=settings.storage_gib
                )
            },
        )
        ports = [
            ("client", CLIENT_PORT),
            ("cluster", CLUSTER_PORT),
            ("monitor", MONITOR_PORT),
            ("metrics", METRICS_PORT),
        ]
        stateful_services(self, name=NAME, namespace=namespace, labels=labels, ports=ports)
        k8s.KubeStatefulSet(
            self,
            "statefulset",
            metadata=k8s.ObjectMeta(name=NAME, **meta),
            spec=k8s.StatefulSetSpec(
                service_name=f"{NAME}-headless",
                replicas=settings.replicas,
                pod_management_policy="Parallel",
                selector=k8s.LabelSelector(match_labels=labels),
                persistent_volume_claim_retention_policy=RETAIN_CLAIMS,
                template=k8s.PodTemplateSpec(
                    metadata=k8s.ObjectMeta(labels=labels),
                    spec=k8s.PodSpec(
                        security_context=pod_security(1000),
                        termination_grace_period_seconds=60,
                        topology_spread_constraints=zone_spread(labels, hard=settings.replicas > 1),
                        containers=[_server(), _exporter()],
                        volumes=[
                            k8s.Volume(
                                name="config", config_map=k8s.ConfigMapVolumeSource(name=f"{NAME}-config")
                            ),
                            k8s.Volume(name="pid", empty_dir=k8s.EmptyDirVolumeSource()),
                        ],
                    ),
                ),
                volume_claim_templates=[
                    data_volume_claim(storage_class=storage_class, gib=settings.storage_gib)
                ],
            ),
        )
        if settings.replicas > 1:
            pod_disruption_budget(self, name=NAME, namespace=namespace, labels=labels)
        service_monitor(self, name=NAME, namespace=namespace, labels=labels, port="metrics")


def _server() -> k8s.Container:
    return k8s.Container(
        name=NAME,
        image=NATS_SERVER.uri,
        args=["--config", "/etc/nats/nats.conf"],
        env=[
            k8s.EnvVar(
                name="POD_NAME",
                value_from=k8s.EnvVarSource(field_ref=k8s.ObjectFieldSelector(field_path="metadata.name")),
            )
        ],
        ports=[
            k8s.ContainerPort(name="client", container_port=CLIENT_PORT),
            k8s.ContainerPort(name="cluster", container_port=CLUSTER_PORT),
            k8s.ContainerPort(name="monitor", container_port=MONITOR_PORT),
        ],
        resources=resources({"cpu": "500m", "memory": "1Gi"}, {"cpu": "2", "memory": "2Gi"}),
        security_context=restricted_security_context(user=1000),
        startup_probe=http_probe("/healthz", "monitor", period=10, failures=90),
        liveness_probe=http_probe("/healthz?js-enabled-only=true", "monitor", period=30),
        readiness_probe=http_probe("/healthz?js-server-only=true", "monitor"),
        lifecycle=k8s.Lifecycle(
            pre_stop=k8s.LifecycleHandler(exec=k8s.ExecAction(command=["nats-server", f"-sl=ldm={PID_FILE}"]))
        ),
        volume_mounts=[
            k8s.VolumeMount(name="data", mount_path="/data"),
            k8s.VolumeMount(name="config", mount_path="/etc/nats", read_only=True),
            k8s.VolumeMount(name="pid", mount_path="/var/run/nats"),
        ],
    )


def _exporter() -> k8s.Container:
    return k8s.Container(
        name="metrics",
        image=NATS_EXPORTER.uri,
        args=[
            "-connz",
            "-routez",
            "-subz",
            "-varz",
            "-jsz=all",
            f"-port={METRICS_PORT}",
            f"http://localhost:{MONITOR_PORT}/",
        ],
        ports=[k8s.ContainerPort(name="metrics", container_port=METRICS_PORT)],
        resources=resources({"cpu": "20m", "memory": "32Mi"}, {"cpu": "200m", "memory": "128Mi"}),
        security_context=restricted_security_context(user=1000),
        liveness_probe=http_probe("/metrics", "metrics", period=30),
        readiness_probe=http_probe("/metrics", "metrics"),
    )
