"""Backups with Velero (``workloads.velero``): a versioned, stage-key-encrypted backup bucket in the
Storage stack (kept in prod, under a logical id that never changes), a server whose IRSA role
reaches only that bucket and EBS snapshots, our own backup locations and one Schedule per
stateful namespace with the stage's retention, asserted on the settings and the synthesized
stages."""

from __future__ import annotations

import json

import cdk8s
import pytest

from k8s_charts.velero import LOCATION, METRICS_PORT, VeleroChart, schedule_name
from platform_config.loader import load_stages
from platform_config.velero import VeleroSettings
from stacks.workloads_stack import backed_up_namespaces
from tests.test_config import error_of, stage_with
from tests.test_workloads import depends_on, helm_values, objects, selectors_and_thresholds

STAGES = {stage.name: stage for stage in load_stages()}
BACKUP_BUCKET_ID = "BackupBucket26B8E51C"  # pinned: a new id would replace the bucket


def test_bad_schedule_and_retention_get_one_message():
    assert "workloads.velero.schedule" in error_of(stage_with(**{"workloads.velero.schedule": "0 25 * * *"}))
    assert "workloads.velero.retention_days" in error_of(stage_with(**{"workloads.velero.retention_days": 0}))


def test_off_by_default_and_retention_is_the_backups_ttl():
    assert not VeleroSettings().enabled
    assert VeleroSettings(retention_days=7).ttl == "168h0m0s"
    assert [STAGES[s].workloads.velero.retention_days for s in ("dev", "staging", "prod")] == [7, 14, 30]


def test_one_schedule_per_stateful_namespace_with_snapshots_and_retention():
    dev = STAGES["dev"]
    assert backed_up_namespaces(dev) == ["nats", "minio", "mlflow"]
    assert backed_up_namespaces(STAGES["prod"]) == ["nats", "mlflow"]  # prod runs no MinIO
    chart = VeleroChart(
        cdk8s.App(), "velero", settings=dev.workloads.velero, namespace="velero", bucket="b",
        region="us-west-2", backed_up=backed_up_namespaces(dev),
    )  # fmt: skip
    found = {(o["kind"], o["metadata"]["name"]): o["spec"] for o in chart.to_json()}
    location = found[("BackupStorageLocation", LOCATION)]
    assert location["default"] is True and location["provider"] == "aws"
    assert location["objectStorage"] == {"bucket": "b", "prefix": "backups"}
    assert found[("VolumeSnapshotLocation", LOCATION)]["config"] == {"region": "us-west-2"}
    schedules = {name: spec for (kind, name), spec in found.items() if kind == "Schedule"}
    assert set(schedules) == {schedule_name("nats"), schedule_name("minio"), schedule_name("mlflow")}
    nats = schedules["nats-daily"]
    assert nats["schedule"] == "0 3 * * *"
    assert nats["template"]["includedNamespaces"] == ["nats"]
    assert nats["template"]["snapshotVolumes"] is True
    assert nats["template"]["ttl"] == "168h0m0s"
    # PersistentVolumes are cluster-scoped: left to Velero's default, which backs up those the
    # namespace's claims use (False would drop them, and with them the snapshots)
    assert "includeClusterResources" not in nats["template"]


@pytest.mark.parametrize("stage", ["dev", "staging", "prod"])
def test_the_backup_bucket_is_versioned_encrypted_with_the_stage_key_and_kept_where_data_is(synth, stage):
    buckets = synth.resources(stage, "Storage", "AWS::S3::Bucket")
    bucket = buckets[BACKUP_BUCKET_ID]
    props = bucket["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert sse["SSEAlgorithm"] == "aws:kms"
    assert sse["KMSMasterKeyID"] == {"Fn::GetAtt": ["StorageKeyB6649B55", "Arn"]}
    assert props["LoggingConfiguration"]["LogFilePrefix"] == "backup-bucket/"
    retained = stage != "dev"
    assert (bucket.get("DeletionPolicy") == "Retain") is retained


def test_velero_may_use_its_bucket_and_ebs_snapshots_only(synth):
    (policy,) = [
        r["Properties"]["PolicyDocument"]["Statement"]
        for k, r in synth.resources("dev", "Workloads", "AWS::IAM::Policy").items()
        if k.startswith("VeleroRole")
    ]
    by_action = {
        a: s for s in policy for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    bucket = {"Fn::ImportValue": "dev-Storage-BackupBucketArn"}
    assert by_action["s3:PutObject"]["Resource"] == {"Fn::Join": ["", [bucket, "/*"]]}
    assert by_action["s3:ListBucket"]["Resource"] == bucket
    assert by_action["ec2:CreateSnapshot"]["Resource"] == [
        "arn:aws:ec2:us-west-2:111111111111:volume/*",
        "arn:aws:ec2:us-west-2::snapshot/*",
    ]
    assert {a.split(":")[0] for a in by_action} == {"s3", "ec2", "kms"}
    assert by_action["ec2:DescribeVolumes"]["Resource"] == "*"  # no resource-level permissions
    wildcard = [s for s in policy if s["Resource"] == "*"]
    assert {a for s in wildcard for a in s["Action"]} == {"ec2:DescribeVolumes", "ec2:DescribeSnapshots"}
    (conditions,) = [
        r for k, r in synth.template("dev", "Workloads")["Resources"].items()
        if k.startswith("VeleroRoleTrustConditions")
    ]  # fmt: skip
    assert "system:serviceaccount:velero:velero" in json.dumps(conditions["Properties"])


def test_the_release_runs_the_server_with_its_role_and_no_credentials(synth):
    values = helm_values(synth, "dev", "VeleroRelease")
    assert values["credentials"] == {"useSecret": False}
    assert "eks.amazonaws.com/role-arn" in values["serviceAccount"]["server"]["annotations"]
    assert values["configuration"] == {"backupStorageLocation": [], "volumeSnapshotLocation": []}
    assert values["initContainers"][0]["image"].startswith("docker.io/velero/velero-plugin-for-aws:v1.14")
    assert values["podSecurityContext"]["runAsNonRoot"] is True
    assert "VeleroRelease" in depends_on(synth, "dev", "VeleroBackups")


def test_locations_and_schedules_are_applied_to_the_velero_namespace(synth):
    for kind in ("BackupStorageLocation", "VolumeSnapshotLocation", "Schedule"):
        assert {o["metadata"]["namespace"] for o in objects(synth, "dev", kind)} == {"velero"}
    (location,) = objects(synth, "dev", "BackupStorageLocation")
    assert location["spec"]["objectStorage"]["bucket"]  # the Storage stack's bucket name
    schedules = {o["metadata"]["name"] for o in objects(synth, "dev", "Schedule")}
    assert schedules == {"nats-daily", "minio-daily", "mlflow-daily"}


# Velero's server metrics the alerts read, as vmware-tanzu/velero pkg/metrics/metrics.go names
# them (namespace "velero", label "schedule").
FAILED, PARTIAL = "velero_backup_failure_total", "velero_backup_partial_failure_total"
LAST_SUCCESS = "velero_backup_last_successful_timestamp"


def _chart(monitored: bool) -> dict[tuple[str, str], dict]:
    dev = STAGES["dev"]
    chart = VeleroChart(
        cdk8s.App(), "velero", settings=dev.workloads.velero, namespace="velero", bucket="b",
        region="us-west-2", backed_up=backed_up_namespaces(dev), monitored=monitored,
    )  # fmt: skip
    return {(o["kind"], o["metadata"]["name"]): o for o in chart.to_json()}


def test_without_prometheus_no_monitor_and_no_rules():
    kinds = {kind for kind, _ in _chart(monitored=False)}
    assert kinds == {"BackupStorageLocation", "VolumeSnapshotLocation", "Schedule"}


def test_each_schedule_alerts_on_failure_partial_failure_and_no_success_within_its_period():
    found = _chart(monitored=True)
    monitor = found[("ServiceMonitor", "velero")]["spec"]
    # the chart's metrics Service: labels of service.yaml, port http-monitoring -> 8085
    assert monitor["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "velero", "app.kubernetes.io/instance": "velero",
    }  # fmt: skip
    assert [e["port"] for e in monitor["endpoints"]] == ["http-monitoring"] and METRICS_PORT == 8085
    (group,) = found[("PrometheusRule", "velero-backups")]["spec"]["groups"]
    by_schedule: dict[str, dict[str, dict]] = {}
    for rule in group["rules"]:
        selectors, thresholds = selectors_and_thresholds(rule["expr"])
        schedules = {m["schedule"] for _, m in selectors if "schedule" in m}
        (schedule,) = schedules
        by_schedule.setdefault(schedule[1], {})[rule["alert"]] = (rule, selectors, thresholds)
    assert set(by_schedule) == {"nats-daily", "minio-daily", "mlflow-daily"}
    for alerts in by_schedule.values():
        assert set(alerts) == {"VeleroBackupFailed", "VeleroBackupPartiallyFailed", "VeleroBackupMissing"}
        failed, partial = alerts["VeleroBackupFailed"], alerts["VeleroBackupPartiallyFailed"]
        assert {m for m, _ in failed[1]} == {FAILED} and failed[2] == {0.0}
        assert {m for m, _ in partial[1]} == {PARTIAL} and partial[2] == {0.0}
        # the failure window is the schedule's period plus the grace: 24 h + 1 h, in minutes
        assert "[1500m]" in failed[0]["expr"] and failed[0]["labels"]["severity"] == "critical"
        missing = alerts["VeleroBackupMissing"]
        assert {m for m, _ in missing[1]} == {LAST_SUCCESS, "process_start_time_seconds"}
        assert missing[2] == {25 * 3600.0}  # "0 3 * * *": one day between runs, plus an hour
        assert "absent(" in missing[0]["expr"]  # a Schedule that never succeeded alerts too


def test_a_weekly_schedule_waits_a_week():
    from k8s_charts.velero import backup_alerts

    missing = {a.name: a for a in backup_alerts("nats-weekly", "0 3 * * 0", "velero")}["VeleroBackupMissing"]
    assert selectors_and_thresholds(missing.expr)[1] == {(7 * 24 + 1) * 3600.0}


def test_the_stage_applies_the_rules_for_the_schedules_it_applies(synth):
    schedules = {o["metadata"]["name"] for o in objects(synth, "dev", "Schedule")}
    (rules,) = [o for o in objects(synth, "dev", "PrometheusRule") if o["metadata"]["name"] != "gpu-platform"]
    assert rules["metadata"]["namespace"] == "velero"
    watched = {
        m["schedule"][1]
        for rule in rules["spec"]["groups"][0]["rules"]
        for _, m in selectors_and_thresholds(rule["expr"])[0]
        if "schedule" in m
    }
    assert watched == schedules
    assert any(o["metadata"]["name"] == "velero" for o in objects(synth, "dev", "ServiceMonitor"))
