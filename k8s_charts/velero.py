"""Velero's objects: where backups go and when they run (``workloads.velero``).

- ``BackupStorageLocation`` ``default``: the Storage stack's backup bucket, through the AWS
  plugin, with the server's IRSA role (no credentials Secret);
- ``VolumeSnapshotLocation`` ``default``: EBS snapshots in the stage's region;
- a ``Schedule`` per stateful namespace: every object of the namespace and a snapshot of each
  of its volumes, at the stage's cron, kept ``retention_days`` (the backup's ``ttl``: Velero
  then deletes the backup, its bucket objects and its snapshots).

The Helm chart (``platform_constructs/operators.velero_values``) creates none of these, so
every one is ours and validated against the CRDs in ``k8s_charts/crds/``.
Plain ``ApiObject``s, like the Kueue objects.

With the stage's Prometheus (``monitored``), also a ServiceMonitor on the chart's metrics
Service and a PrometheusRule per Schedule (:func:`backup_alerts`). Ours rather than the chart's
``metrics.serviceMonitor``: the chart renders its monitor only if the CRD exists when Helm runs,
and the Velero release does not wait for kube-prometheus-stack; our manifests do.
"""

from __future__ import annotations

import datetime

import cdk8s
from constructs import Construct

from k8s_charts.baseline import app_labels, service_monitor
from k8s_charts.imports.monitoring_coreos_com_prometheusrules.com.coreos import monitoring
from k8s_charts.observability import Alert, alert_rules
from platform_config import cron, versions
from platform_config.velero import VeleroSettings

API_VERSION = "velero.io/v1"
LOCATION = "default"
PROVIDER = "aws"  # velero-plugin-for-aws: S3 object store and EBS volume snapshotter
BUCKET_PREFIX = "backups"  # the backup objects' key prefix in the bucket


# The chart's server pods and metrics Service (vmware-tanzu/helm-charts charts/velero/templates:
# deployment.yaml's pod labels and container port, service.yaml's port, both named
# http-monitoring, 8085); the release is named after the chart (platform_constructs/helm.py).
POD_LABELS = {
    "app.kubernetes.io/name": versions.VELERO.chart,
    "app.kubernetes.io/instance": versions.VELERO.chart,
}
METRICS_PORT, METRICS_PORT_NAME = 8085, "http-monitoring"
# How long a backup may take after its scheduled start before "no successful backup" fires.
BACKUP_GRACE = datetime.timedelta(hours=1)


def schedule_name(namespace: str) -> str:
    return f"{namespace}-daily"


def backup_alerts(schedule: str, cron_expression: str, namespace: str) -> tuple[Alert, Alert, Alert]:
    """A Schedule's backup failed, partially failed, or none succeeded within the schedule's
    longest gap plus :data:`BACKUP_GRACE`. Velero's server metrics, labelled by schedule
    (vmware-tanzu/velero pkg/metrics/metrics.go: ``velero_backup_failure_total``,
    ``velero_backup_partial_failure_total``, set to 0 for each Schedule at its creation, and
    the gauge ``velero_backup_last_successful_timestamp``, Unix seconds, recomputed from the
    stored backups every sync). A failure stays alerting for one period: until the next run
    can replace it. A Schedule that never succeeded has no timestamp series: it alerts once
    the Velero server has been up for the period without one."""
    window = cron.longest_interval(cron_expression) + BACKUP_GRACE
    limit = int(window.total_seconds())
    span = f"{limit // 60}m"
    selector = f'schedule="{schedule}"'
    last = f"velero_backup_last_successful_timestamp{{{selector}}}"
    server = f'namespace="{namespace}", service="{versions.VELERO.chart}"'  # the metrics Service's targets
    server_up = f"time() - min(process_start_time_seconds{{{server}}})"
    wait = f"{limit / 3600:g} h"
    return (
        Alert("VeleroBackupFailed", f"increase(velero_backup_failure_total{{{selector}}}[{span}]) > 0", "0m",
              "critical", f"A backup of Velero Schedule {schedule} failed; see README 'Backups' "
              f"(velero backup describe --details)"),
        Alert("VeleroBackupPartiallyFailed",
              f"increase(velero_backup_partial_failure_total{{{selector}}}[{span}]) > 0", "0m", "warning",
              f"A backup of Velero Schedule {schedule} partially failed: some items or volume "
              f"snapshots are missing; see README 'Backups'"),
        Alert("VeleroBackupMissing",
              f"time() - {last} > {limit} or (absent({last}) and on() {server_up} > {limit})", "0m",
              "critical", f"Velero Schedule {schedule} has no successful backup for over {wait} "
              f"(its cron {cron_expression!r} plus {BACKUP_GRACE.total_seconds() / 3600:g} h)"),
    )  # fmt: skip


class VeleroChart(cdk8s.Chart):
    def __init__(
        self,
        scope: Construct,
        chart_id: str,
        *,
        settings: VeleroSettings,
        namespace: str,
        bucket: str,
        region: str,
        backed_up: list[str],
        monitored: bool = False,
    ) -> None:
        """``backed_up``: the stateful namespaces, one Schedule each; ``monitored``: the stage
        runs Prometheus, which then scrapes the server and evaluates the backup alerts."""
        super().__init__(scope, chart_id)
        labels = app_labels(versions.VELERO.chart, "backup")

        def obj(kind: str, name: str, spec: dict) -> None:
            cdk8s.ApiObject(
                self, f"{kind}-{name}", api_version=API_VERSION, kind=kind,
                metadata=cdk8s.ApiObjectMetadata(name=name, namespace=namespace, labels=labels),
            ).add_json_patch(cdk8s.JsonPatch.add("/spec", spec))  # fmt: skip

        obj(
            "BackupStorageLocation",
            LOCATION,
            {
                "provider": PROVIDER,
                "default": True,
                "objectStorage": {"bucket": bucket, "prefix": BUCKET_PREFIX},
                # server-side encryption is the bucket's default (the stage key); no keys here
                "config": {"region": region},
                "accessMode": "ReadWrite",
            },
        )
        obj("VolumeSnapshotLocation", LOCATION, {"provider": PROVIDER, "config": {"region": region}})
        for backed in sorted(backed_up):
            obj(
                "Schedule",
                schedule_name(backed),
                {
                    "schedule": settings.schedule,
                    "useOwnerReferencesInBackup": False,
                    "template": {
                        "includedNamespaces": [backed],
                        "snapshotVolumes": True,
                        "storageLocation": LOCATION,
                        "volumeSnapshotLocations": [LOCATION],
                        "ttl": settings.ttl,
                    },
                },
            )
        if not monitored:
            return
        service_monitor(self, name=versions.VELERO.chart, namespace=namespace, labels=POD_LABELS,
                        port=METRICS_PORT_NAME)  # fmt: skip
        alerts = tuple(
            alert
            for backed in sorted(backed_up)
            for alert in backup_alerts(schedule_name(backed), settings.schedule, namespace)
        )
        monitoring.PrometheusRule(
            self,
            "alerts",
            metadata=cdk8s.ApiObjectMetadata(name="velero-backups", namespace=namespace, labels=labels),
            spec=monitoring.PrometheusRuleSpec(
                groups=[monitoring.PrometheusRuleSpecGroups(name="velero-backups", rules=alert_rules(alerts))]
            ),
        )
