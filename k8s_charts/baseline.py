"""The workload baseline every container we write follows, in one place: pinned image,
requests and limits, probes, non-root without privilege escalation, read-only root file
system, and a PodDisruptionBudget for anything replicated. ``tests/test_workload_baseline.py``
checks every container of every chart against it."""

from __future__ import annotations

from typing import Any

import cdk8s
from cdk8s_plus_35 import k8s
from constructs import Construct

from k8s_charts.imports.monitoring_coreos_com_servicemonitors.com.coreos import monitoring
from platform_config.contract import APP_NAME_LABEL, GPU_TAINT_KEY, POOL_LABEL


def quantities(values: dict[str, str | int]) -> dict[str, k8s.Quantity]:
    return {
        key: k8s.Quantity.from_number(value) if isinstance(value, int) else k8s.Quantity.from_string(value)
        for key, value in values.items()
    }


def resources(requests: dict[str, str | int], limits: dict[str, str | int]) -> k8s.ResourceRequirements:
    return k8s.ResourceRequirements(requests=quantities(requests), limits=quantities(limits))


def restricted_security_context(
    *, user: int = 65532, read_only_root: bool = True, add_capabilities: list[str] | None = None
) -> k8s.SecurityContext:
    """Pod Security 'restricted' for one container; ``add_capabilities`` is the only way to
    widen it (IPC_LOCK for EFA memory registration), and the baseline test lists who does."""
    return k8s.SecurityContext(
        run_as_non_root=True,
        run_as_user=user,
        run_as_group=user,
        allow_privilege_escalation=False,
        read_only_root_filesystem=read_only_root,
        capabilities=k8s.Capabilities(drop=["ALL"], add=add_capabilities),
        seccomp_profile=k8s.SeccompProfile(type="RuntimeDefault"),
    )


def pod_security(user: int = 65532) -> k8s.PodSecurityContext:
    return k8s.PodSecurityContext(
        run_as_non_root=True,
        run_as_user=user,
        run_as_group=user,
        fs_group=user,
        fs_group_change_policy="OnRootMismatch",
        seccomp_profile=k8s.SeccompProfile(type="RuntimeDefault"),
    )


def http_probe(path: str, port: str | int, *, period: int = 10, failures: int = 3) -> k8s.Probe:
    target = k8s.IntOrString.from_string(port) if isinstance(port, str) else k8s.IntOrString.from_number(port)
    return k8s.Probe(
        http_get=k8s.HttpGetAction(path=path, port=target),
        period_seconds=period,
        failure_threshold=failures,
        timeout_seconds=5,
    )


def startup_probe(path: str, port: str | int, *, minutes: int) -> k8s.Probe:
    """A startup probe that allows ``minutes`` before liveness applies: model loads take long."""
    return http_probe(path, port, period=10, failures=max(1, minutes * 6))


def gpu_scheduling(pool: str) -> dict:
    """Node selector and toleration that put a pod on the named GPU pool's tainted nodes."""
    return {
        "node_selector": {POOL_LABEL: pool},
        "tolerations": [k8s.Toleration(key=GPU_TAINT_KEY, operator="Exists", effect="NoSchedule")],
    }


def zone_spread(labels: dict[str, str], *, hard: bool) -> list[k8s.TopologySpreadConstraint]:
    """Spread replicas across AZs (and hosts), so one zone outage keeps a quorum."""
    selector = k8s.LabelSelector(match_labels=labels)
    return [
        k8s.TopologySpreadConstraint(
            max_skew=1,
            topology_key="topology.kubernetes.io/zone",
            when_unsatisfiable="DoNotSchedule" if hard else "ScheduleAnyway",
            label_selector=selector,
        ),
        k8s.TopologySpreadConstraint(
            max_skew=1,
            topology_key="kubernetes.io/hostname",
            when_unsatisfiable="DoNotSchedule" if hard else "ScheduleAnyway",
            label_selector=selector,
        ),
    ]


def pod_disruption_budget(
    scope: Construct, *, name: str, namespace: str, labels: dict[str, str], max_unavailable: int = 1
) -> k8s.KubePodDisruptionBudget:
    return k8s.KubePodDisruptionBudget(
        scope,
        f"{name}-pdb",
        metadata=k8s.ObjectMeta(name=name, namespace=namespace, labels=labels),
        spec=k8s.PodDisruptionBudgetSpec(
            max_unavailable=k8s.IntOrString.from_number(max_unavailable),
            selector=k8s.LabelSelector(match_labels=labels),
        ),
    )


def app_labels(name: str, component: str | None = None) -> dict[str, str]:
    labels = {APP_NAME_LABEL: name, "app.kubernetes.io/part-of": "gpu-platform"}
    if component:
        labels["app.kubernetes.io/component"] = component
    return labels


def service_monitor(
    scope: Construct, *, name: str, namespace: str, labels: dict[str, str], port: str, path: str = "/metrics"
) -> monitoring.ServiceMonitor:
    """A ServiceMonitor for the Service carrying ``labels``; kube-prometheus-stack's Prometheus
    is configured to select ServiceMonitors in every namespace."""
    return monitoring.ServiceMonitor(
        scope,
        f"{name}-servicemonitor",
        metadata=cdk8s.ApiObjectMetadata(name=name, namespace=namespace, labels=labels),
        spec=monitoring.ServiceMonitorSpec(
            selector=monitoring.ServiceMonitorSpecSelector(match_labels=labels),
            namespace_selector=monitoring.ServiceMonitorSpecNamespaceSelector(match_names=[namespace]),
            endpoints=[monitoring.ServiceMonitorSpecEndpoints(port=port, path=path, interval="30s")],
        ),
    )


def stateful_services(
    scope: Construct, *, name: str, namespace: str, labels: dict[str, str], ports: list[tuple[str, int]]
) -> None:
    """The two Services of a clustered StatefulSet: ``<name>-headless`` gives each pod the
    stable DNS name its peers dial (also before it is ready), ``<name>`` spreads clients."""
    service_ports = [
        k8s.ServicePort(name=n, port=p, target_port=k8s.IntOrString.from_string(n)) for n, p in ports
    ]
    meta: dict[str, Any] = {"namespace": namespace, "labels": labels}
    k8s.KubeService(
        scope,
        "headless",
        metadata=k8s.ObjectMeta(name=f"{name}-headless", **meta),
        spec=k8s.ServiceSpec(
            cluster_ip="None", publish_not_ready_addresses=True, selector=labels, ports=service_ports
        ),
    )
    k8s.KubeService(
        scope,
        "client",
        metadata=k8s.ObjectMeta(name=name, **meta),
        spec=k8s.ServiceSpec(selector=labels, ports=service_ports),
    )


def data_volume_claim(*, storage_class: str, gib: int) -> k8s.KubePersistentVolumeClaimProps:
    """The ``data`` volume claim template of a StatefulSet: one RWO volume per pod."""
    return k8s.KubePersistentVolumeClaimProps(
        metadata=k8s.ObjectMeta(name="data"),
        spec=k8s.PersistentVolumeClaimSpec(
            access_modes=["ReadWriteOnce"],
            storage_class_name=storage_class,
            resources=k8s.VolumeResourceRequirements(
                requests={"storage": k8s.Quantity.from_string(f"{gib}Gi")}
            ),
        ),
    )


# Volumes outlive their pods: deleting or scaling down a StatefulSet never deletes data.
RETAIN_CLAIMS = k8s.StatefulSetPersistentVolumeClaimRetentionPolicy(
    when_deleted="Retain", when_scaled="Retain"
)
