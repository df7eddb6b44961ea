"""What we add to kube-prometheus-stack: the alerts a GPU on-call wants, alerts on the
platform's own CronJobs, and Grafana dashboards (GPU fleet, Triton, Dynamo) as ConfigMaps that
Grafana's sidecar loads.

The platform jobs' alerts live here rather than with each job: a PrometheusRule can only be
applied once kube-prometheus-stack has installed its CRD, which happens in the Workloads stack,
after the Cluster stack that runs the ECR token refresh.

The operators themselves (Prometheus, Alertmanager, Grafana, Loki, Alloy) come from their
pinned Helm charts (``platform_constructs/operators.py``); the DCGM exporter is the GPU
Operator's (``platform_constructs/gpu_operator.py``), scraped through a ServiceMonitor here,
since Prometheus's CRDs arrive with the Workloads stack, after the operator's Nodes stack.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import cdk8s
from cdk8s_plus_35 import k8s
from constructs import Construct

from k8s_charts.baseline import app_labels, service_monitor
from k8s_charts.imports.monitoring_coreos_com_prometheusrules.com.coreos import monitoring
from platform_config import cron
from platform_config import namespaces as ns

DASHBOARD_LABEL = "grafana_dashboard"  # kube-prometheus-stack's Grafana sidecar default
# The GPU Operator's DCGM exporter Service: its name, label and port name
# (NVIDIA/gpu-operator assets/state-dcgm-exporter/0700_service.yaml).
DCGM_EXPORTER_SERVICE = "nvidia-dcgm-exporter"
DCGM_EXPORTER_LABELS = {"app": "nvidia-dcgm-exporter"}
DCGM_EXPORTER_PORT_NAME, DCGM_EXPORTER_PORT = "gpu-metrics", 9400


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    for_: str
    severity: str
    summary: str


GPU_ALERTS = (
    Alert("GpuXidError", "increase(DCGM_FI_DEV_XID_ERRORS[10m]) > 0", "0m", "critical",
          "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} reported XID error {{ $value }}; "
          "see docs/runbooks/gpu-node-provisioning.md"),
    Alert("GpuTemperatureHigh", "DCGM_FI_DEV_GPU_TEMP > 85", "10m", "warning",
          "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} is at {{ $value }} C"),
    Alert("GpuMemoryNearlyFull",
          "DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE) > 0.95", "15m", "warning",
          "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} has used over 95 % of its memory for 15 minutes"),
    Alert("GpuNodeNotAllocatable",
          'kube_node_status_capacity{resource="nvidia_com_gpu"} > 0 '
          'unless kube_node_status_allocatable{resource="nvidia_com_gpu"} > 0', "10m", "critical",
          "Node {{ $labels.node }} has GPUs but none allocatable: device plugin or driver failure"),
    Alert("GpuNodeMissingDevicePlugin",
          'kube_node_labels{label_gpuplatform_io_gpu_model!=""} unless on(node) '
          'kube_node_status_capacity{resource="nvidia_com_gpu"}', "15m", "critical",
          "GPU node {{ $labels.node }} advertises no nvidia.com/gpu capacity"),
)  # fmt: skip

SERVING_ALERTS = (
    Alert("TritonQueueTimeHigh",
          "sum by (model) (rate(nv_inference_queue_duration_us[5m])) / "
          "clamp_min(sum by (model) (rate(nv_inference_request_success[5m])), 1) > 100000", "10m", "warning",
          "Triton model {{ $labels.model }} requests wait over 100 ms in queue"),
    Alert("TritonInferenceFailures",
          "sum by (model) (rate(nv_inference_request_failure[5m])) > 0", "5m", "critical",
          "Triton model {{ $labels.model }} is failing requests"),
    Alert("JetStreamStorageFilling",
          f'kubelet_volume_stats_used_bytes{{namespace="{ns.NATS}"}} '
          f'/ kubelet_volume_stats_capacity_bytes{{namespace="{ns.NATS}"}} > 0.8', "15m", "warning",
          "JetStream volume {{ $labels.persistentvolumeclaim }} is over 80 % full"),
    Alert("DynamoFrontendDown",
          f'up{{namespace="{ns.DYNAMO}", job=~".*frontend.*"}} == 0', "5m", "critical",
          "Dynamo frontend {{ $labels.pod }} is not answering scrapes"),
)  # fmt: skip


@dataclass(frozen=True)
class ScheduledJob:
    """A platform CronJob to watch. ``name`` is the CronJob's, and the prefix of every Job it
    starts (``<name>-<minute>``) and of its install-time Job (``<name>-initial-<digest>``)."""

    name: str
    namespace: str
    schedule: str
    runbook: str


def job_alerts(job: ScheduledJob) -> tuple[Alert, Alert]:
    """No success for two of the job's longest intervals (or, never having succeeded, a CronJob
    older than that), and any of its Jobs failed, from kube-state-metrics' CronJob and Job
    series. The threshold needs no ``for``: it already is the grace."""
    limit = int(2 * cron.longest_interval(job.schedule).total_seconds())
    cronjob = f'namespace="{job.namespace}", cronjob="{job.name}"'
    jobs = f'namespace="{job.namespace}", job_name=~"{job.name}-.+"'
    last_success = f"kube_cronjob_status_last_successful_time{{{cronjob}}}"
    title = "".join(word.capitalize() for word in job.name.split("-"))
    wait = f"{limit // 60} min" if limit < 7200 else f"{limit / 3600:g} h"
    return (
        Alert(f"{title}Stale",
              f"time() - {last_success} > {limit} or (time() - kube_cronjob_created{{{cronjob}}} > {limit} "
              f"unless on(namespace, cronjob) {last_success})", "0m", "critical",
              f"CronJob {job.namespace}/{job.name} has not succeeded for over {wait} "
              f"(twice the longest gap of {job.schedule!r}); see {job.runbook}"),
        Alert(f"{title}JobFailed",
              f'kube_job_failed{{{jobs}, condition="true"}} == 1',
              "0m", "warning",
              f"Job {job.namespace}/{{{{ $labels.job_name }}}} failed; see {job.runbook}"),
    )  # fmt: skip


def _metric(resource: str) -> str:
    """kube-state-metrics' name for a resource: ``nvidia.com/mig-3g.40gb`` -> ``nvidia_com_mig_3g_40gb``."""
    return "".join(c if c.isalnum() else "_" for c in resource)


def sharing_alerts(expected: dict[str, dict[str, dict[str, int]]]) -> tuple[Alert, ...]:
    """A MIG layout that failed or stays pending (the MIG manager's ``nvidia.com/mig.config.state``
    label), and per GPU pool a node advertising other than its pool's expected count.
    ``expected``: pool -> instance type -> resource -> count per node (the model's capacity
    function)."""
    state = "kube_node_labels{label_nvidia_com_mig_config_state=%s}"
    alerts = [
        Alert("MigConfigFailed", state % '"failed"', "0m", "critical",
              "MIG manager failed to apply {{ $labels.node }}'s layout; see docs/runbooks/gpu-sharing.md"),
        Alert("MigConfigPending", state % '"pending"', "30m", "warning",
              "{{ $labels.node }}'s MIG layout has been pending for 30 minutes; "
              "see docs/runbooks/gpu-sharing.md"),
    ]  # fmt: skip
    for pool, types in sorted(expected.items()):
        terms = [
            f'kube_node_status_capacity{{resource="{_metric(resource)}"}} * on(node) group_left() '
            f'kube_node_labels{{label_gpuplatform_io_pool="{pool}", '
            f'label_node_kubernetes_io_instance_type="{instance_type}"}} != {count}'
            for instance_type, resources in sorted(types.items())
            for resource, count in resources.items()
        ]
        title = "".join(part.capitalize() for part in pool.split("-"))
        alerts.append(
            Alert(f"GpuPool{title}AdvertisesUnexpectedCount", " or ".join(terms), "15m", "warning",
                  f"Node {{{{ $labels.node }}}} of pool {pool} advertises {{{{ $value }}}} "
                  "{{ $labels.resource }}, not what its sharing setting gives; "
                  "see docs/runbooks/gpu-sharing.md")
        )  # fmt: skip
    return tuple(alerts)


DASHBOARDS = {
    "gpu-sharing": ("GPU sharing", [
        # one row per mode: time-slicing, MPS, MIG
        ("Time-slicing/MPS: nvidia.com/gpu allocatable per pool",
         'sum by (label_gpuplatform_io_pool) (kube_node_status_allocatable{resource="nvidia_com_gpu"} '
         "* on(node) group_left(label_gpuplatform_io_pool) kube_node_labels)"),
        ("Time-slicing/MPS: pods per GPU", 'count by (Hostname, gpu) (DCGM_FI_DEV_GPU_UTIL{pod!=""})'),
        ("MPS: GPU utilisation %", "avg by (Hostname, gpu) (DCGM_FI_DEV_GPU_UTIL)"),
        ("MPS: GPU memory used %", "DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE) * 100"),
        ("MIG: devices allocatable by profile",
         'sum by (resource) (kube_node_status_allocatable{resource=~"nvidia_com_mig_.*"})'),
        ("MIG: engine activity per instance",
         "avg by (Hostname, gpu, GPU_I_PROFILE, GPU_I_ID) (DCGM_FI_PROF_GR_ENGINE_ACTIVE)"),
        ("MIG: layout state per node", 'kube_node_labels{label_nvidia_com_mig_config_state!=""}'),
    ]),
    "gpu-fleet": ("GPU fleet", [
        ("GPU utilisation %", "avg by (Hostname, gpu) (DCGM_FI_DEV_GPU_UTIL)"),
        ("GPU memory used %", "DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE) * 100"),
        ("GPU temperature C", "DCGM_FI_DEV_GPU_TEMP"),
        ("GPU power W", "DCGM_FI_DEV_POWER_USAGE"),
        ("XID errors", "increase(DCGM_FI_DEV_XID_ERRORS[1h])"),
        ("Allocatable GPUs per node", 'kube_node_status_allocatable{resource="nvidia_com_gpu"}'),
    ]),
    "triton": ("Triton Inference Server", [
        ("Requests/s by model", "sum by (model) (rate(nv_inference_request_success[5m]))"),
        ("Failures/s by model", "sum by (model) (rate(nv_inference_request_failure[5m]))"),
        ("Queue time ms", "sum by (model) (rate(nv_inference_queue_duration_us[5m])) / "
                          "clamp_min(sum by (model) (rate(nv_inference_request_success[5m])), 1) / 1000"),
        ("Compute time ms", "sum by (model) (rate(nv_inference_compute_infer_duration_us[5m])) / "
                            "clamp_min(sum by (model) (rate(nv_inference_exec_count[5m])), 1) / 1000"),
    ]),
    "dynamo": ("Dynamo", [
        ("Frontend requests/s", 'sum by (model) (rate(dynamo_frontend_requests_total[5m]))'),
        ("Time to first token p95 s",
         "histogram_quantile(0.95, sum by (le, model) "
         "(rate(dynamo_frontend_time_to_first_token_seconds_bucket[5m])))"),
        ("Inter-token latency p95 s",
         "histogram_quantile(0.95, sum by (le, model) "
         "(rate(dynamo_frontend_inter_token_latency_seconds_bucket[5m])))"),
        ("Inflight requests", "sum by (model) (dynamo_frontend_inflight_requests)"),
    ]),
}  # fmt: skip


def dashboard(uid: str, title: str, panels: list[tuple[str, str]]) -> dict:
    """A Grafana dashboard of time series panels, two per row, on the default Prometheus."""
    return {
        "uid": f"gpu-platform-{uid}",
        "title": title,
        "tags": ["gpu-platform"],
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "panels": [
            {
                "id": index + 1,
                "type": "timeseries",
                "title": panel_title,
                "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
                "datasource": {"type": "prometheus", "uid": "prometheus"},
                "targets": [{"refId": "A", "expr": expr}],
            }
            for index, (panel_title, expr) in enumerate(panels)
        ],
    }


def alert_rules(alerts: tuple[Alert, ...]) -> list[monitoring.PrometheusRuleSpecGroupsRules]:
    return [
        monitoring.PrometheusRuleSpecGroupsRules(
            alert=alert.name,
            expr=monitoring.PrometheusRuleSpecGroupsRulesExpr.from_string(alert.expr),
            for_=alert.for_,
            labels={"severity": alert.severity},
            annotations={"summary": alert.summary},
        )
        for alert in alerts
    ]


class ObservabilityChart(cdk8s.Chart):
    def __init__(
        self,
        scope: Construct,
        chart_id: str,
        *,
        namespace: str,
        jobs: Sequence[ScheduledJob] = (),
        gpu_operator_namespace: str | None = None,
        expected_capacity: dict[str, dict[str, dict[str, int]]] | None = None,
    ) -> None:
        """``jobs``: the platform CronJobs the stage runs, each watched by ``job_alerts``;
        ``gpu_operator_namespace``: where the GPU Operator's DCGM exporter runs (None: no GPUs);
        ``expected_capacity``: per GPU pool and instance type, what a node advertises."""
        super().__init__(scope, chart_id)
        if gpu_operator_namespace:
            service_monitor(
                self, name=DCGM_EXPORTER_SERVICE, namespace=gpu_operator_namespace,
                labels=DCGM_EXPORTER_LABELS, port=DCGM_EXPORTER_PORT_NAME,
            )  # fmt: skip
        labels = app_labels("gpu-platform-observability")
        groups = [
            monitoring.PrometheusRuleSpecGroups(name="gpu", rules=alert_rules(GPU_ALERTS)),
            monitoring.PrometheusRuleSpecGroups(name="serving", rules=alert_rules(SERVING_ALERTS)),
        ]
        if expected_capacity:
            groups.append(
                monitoring.PrometheusRuleSpecGroups(
                    name="gpu-sharing", rules=alert_rules(sharing_alerts(expected_capacity))
                )
            )
        if jobs:
            job_rules = tuple(alert for job in jobs for alert in job_alerts(job))
            groups.append(
                monitoring.PrometheusRuleSpecGroups(name="platform-jobs", rules=alert_rules(job_rules))
            )
        monitoring.PrometheusRule(
            self,
            "rules",
            metadata=cdk8s.ApiObjectMetadata(name="gpu-platform", namespace=namespace, labels=labels),
            spec=monitoring.PrometheusRuleSpec(groups=groups),
        )
        for uid, (title, panels) in DASHBOARDS.items():
            k8s.KubeConfigMap(
                self,
                f"dashboard-{uid}",
                metadata=k8s.ObjectMeta(
                    name=f"dashboard-{uid}", namespace=namespace, labels={**labels, DASHBOARD_LABEL: "1"}
                ),
                data={f"{uid}.json": json.dumps(dashboard(uid, title, panels), sort_keys=True)},
            )
