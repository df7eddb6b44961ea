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
"""

from __future__ import annotations

import cdk8s
from constructs import Construct

from k8s_charts.baseline import app_labels
from platform_config import versions
from platform_config.velero import VeleroSettings

API_VERSION = "velero.io/v1"
LOCATION = "default"
PROVIDER = "aws"  # velero-plugin-for-aws: S3 object store and EBS volume snapshotter
BUCKET_PREFIX = "backups"  # the backup objects' key prefix in the bucket


def schedule_name(namespace: str) -> str:
    return f"{namespace}-daily"


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
    ) -> None:
        """``backed_up``: the stateful namespaces, one Schedule each."""
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
