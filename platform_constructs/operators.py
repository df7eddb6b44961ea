"""Helm values for the third-party operators of the Kubernetes layer.

Each function maps typed stage settings to the values of one pinned chart
(``platform_config/versions.py``); the charts themselves install their Deployments, RBAC and
CRDs, which we do not hand-write. Nothing here holds a credential: Grafana reads its admin
user from the ``grafana-admin`` Secret that the secret sync writes.
"""

from __future__ import annotations

import json

from platform_config import namespaces
from platform_config.contract import (
    EFA_RESOURCE,
    GPU_MODEL_LABEL,
    GRAFANA_ADMIN_SECRET,
    MESH_INJECT,
    POOL_LABEL,
    TEAM_LABEL,
)
from platform_config.job_api import POSTGRES_PORT
from platform_config.mlflow import DATABASE as MLFLOW_DATABASE
from platform_config.model import CPU_POOL
from platform_config.versions import KUEUE_CONTROLLER, MLFLOW_SERVER, VELERO_PLUGIN_FOR_AWS
from platform_config.workloads import LinkerdSettings, ObservabilitySettings

LOKI_PUSH_PATH = "/loki/api/v1/push"
CPU_PLACEMENT = {"nodeSelector": {POOL_LABEL: CPU_POOL}}
# The same rule for charts whose pods take only an affinity (the Dynamo operator's controller).
CPU_NODES = {"matchExpressions": [{"key": POOL_LABEL, "operator": "In", "values": [CPU_POOL]}]}
CPU_AFFINITY = {
    "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [CPU_NODES]}}
}


def _claim(storage_class: str, gib: int) -> dict:
    return {
        "spec": {
            "storageClassName": storage_class,
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": f"{gib}Gi"}},
        }
    }


def kube_prometheus_stack_values(
    settings: ObservabilitySettings, *, storage_class: str, meshed: bool = False
) -> dict:
    """Prometheus selects every ServiceMonitor, PodMonitor and PrometheusRule in the cluster
    (ours carry no Helm release label); kube-state-metrics exports the GPU pool labels the
    alerts join on. ``meshed`` gives Prometheus a Linkerd proxy, so that its mesh identity
    may scrape ports that Linkerd policy protects."""
    mesh = {"podMetadata": {"annotations": MESH_INJECT}} if meshed else {}
    return {
        "grafana": {
            "admin": {
                "existingSecret": GRAFANA_ADMIN_SECRET,
                "userKey": "admin-user",
                "passwordKey": "admin-password",
            },
            "sidecar": {
                "dashboards": {"enabled": True, "label": "grafana_dashboard", "searchNamespace": "ALL"}
            },
            "persistence": {"enabled": True, "storageClassName": storage_class, "size": "10Gi"},
            **CPU_PLACEMENT,
        },
        "prometheus": {
            "prometheusSpec": {
                "retention": settings.prometheus_retention,
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "ruleSelectorNilUsesHelmValues": False,
                "storageSpec": {
                    "volumeClaimTemplate": _claim(storage_class, settings.prometheus_storage_gib)
                },
                **mesh,
                **CPU_PLACEMENT,
            }
        },
        "alertmanager": {
            "alertmanagerSpec": {
                "storage": {"volumeClaimTemplate": _claim(storage_class, 10)},
                **CPU_PLACEMENT,
            }
        },
        # Node labels the GPU alerts join on: pool and type (expected advertised counts) and the
        # MIG manager's state (k8s_charts/observability.py sharing_alerts).
        "kube-state-metrics": {
            "metricLabelsAllowlist": [
                f"nodes=[{GPU_MODEL_LABEL},{POOL_LABEL},node.kubernetes.io/instance-type,nvidia.com/mig.config.state]"
            ]
        },
    }


def loki_values(settings: ObservabilitySettings, *, storage_class: str) -> dict:
    """Single-binary Loki on a gp3 volume with retention; enough for a platform's own logs.
    Teams with heavy log volume switch to the chart's scalable mode on S3."""
    return {
        "deploymentMode": "SingleBinary",
        "loki": {
            "auth_enabled": False,
            "commonConfig": {"replication_factor": 1},
            "storage": {"type": "filesystem"},
            "schemaConfig": {
                "configs": [
                    {
                        "from": "2026-01-01",
                        "store": "tsdb",
                        "object_store": "filesystem",
                        "schema": "v13",
                        "index": {"prefix": "index_", "period": "24h"},
                    }
                ]
            },
            "limits_config": {"retention_period": settings.loki_retention},
            "compactor": {"retention_enabled": True, "delete_request_store": "filesystem"},
        },
        "singleBinary": {
            "replicas": 1,
            "persistence": {"storageClass": storage_class, "size": f"{settings.loki_storage_gib}Gi"},
            **CPU_PLACEMENT,
        },
        "backend": {"replicas": 0},
        "read": {"replicas": 0},
        "write": {"replicas": 0},
        "chunksCache": {"enabled": False},
        "resultsCache": {"enabled": False},
    }


def alloy_values(*, loki_url: str) -> dict:
    """One Alloy instance that tails every pod's log through the Kubernetes API and pushes
    to Loki, labelled by namespace, pod and container."""
    config = f"""
discovery.kubernetes "pods" {{
  role = "pod"
}}
discovery.relabel "pods" {{
  targets = discovery.kubernetes.pods.targets
  rule {{
    source_labels = ["__meta_kubernetes_namespace"]
    target_label  = "namespace"
  }}
  rule {{
    source_labels = ["__meta_kubernetes_pod_name"]
    target_label  = "pod"
  }}
  rule {{
    source_labels = ["__meta_kubernetes_pod_container_name"]
    target_label  = "container"
  }}
}}
loki.source.kubernetes "pods" {{
  targets    = discovery.relabel.pods.output
  forward_to = [loki.write.default.receiver]
}}
loki.write "default" {{
  endpoint {{
    url = "{loki_url}{LOKI_PUSH_PATH}"
  }}
}}
""".lstrip()
    return {
        "controller": {"type": "deployment", "replicas": 1, **CPU_PLACEMENT},
        "alloy": {"configMap": {"content": config}, "mounts": {"varlog": False}},
    }


def dynamo_platform_values(*, nats_url: str) -> dict:
    """The operator with Kubernetes-native discovery and our NATS JetStream; the chart's
    bundled NATS and etcd stay off (``global.*.install``, chart 1.4 and later). The chart has
    no ``nodeSelector``: its controller is held to the CPU pool by ``controllerManager.affinity``."""
    return {
        "global": {"nats": {"install": False}, "etcd": {"install": False}},
        "dynamo-operator": {
            "natsAddr": nats_url,
            "discoveryBackend": "kubernetes",
            "controllerManager": {"affinity": CPU_AFFINITY},
        },
    }


# --- Linkerd and its PKI ----------------------------------------------------------------------


def cert_manager_values() -> dict:
    """cert-manager with its CRDs (kept on uninstall, so certificates survive a rollback)."""
    return {
        "crds": {"enabled": True, "keep": True},
        "replicaCount": 2,
        "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
        **CPU_PLACEMENT,
        "webhook": {"replicaCount": 2, "podDisruptionBudget": {"enabled": True}, **CPU_PLACEMENT},
        "cainjector": CPU_PLACEMENT,
    }


def trust_manager_values(*, trust_namespace: str) -> dict:
    """trust-manager reads Bundle sources from cert-manager's namespace, where the trust
    anchor's Secret lives."""
    return {"app": {"trust": {"namespace": trust_namespace}}, **CPU_PLACEMENT}


def linkerd_control_plane_values(settings: LinkerdSettings) -> dict:
    """Identity from cert-manager (``externalCA``: the chart generates no key and reads the
    issuer Secret and the trust-roots ConfigMap); the values-ha.yaml settings when
    ``high_availability`` is on."""
    values: dict = {
        "identity": {"externalCA": True, "issuer": {"scheme": "kubernetes.io/tls"}},
        **CPU_PLACEMENT,
    }
    if settings.high_availability:
        values |= {
            "controllerReplicas": 3,
            "enablePodDisruptionBudget": True,
            "enablePodAntiAffinity": True,
            "webhookFailurePolicy": "Fail",
            "deploymentStrategy": {"rollingUpdate": {"maxUnavailable": 1, "maxSurge": "25%"}},
        }
    return values


# --- Kueue ----------------------------------------------------------------------------------

# The chart's own integrations list (values.yaml of the pinned chart): every framework Kueue
# can queue; those whose CRDs are not installed are skipped by Kueue until they are.
KUEUE_FRAMEWORKS = [
    "batch/job",
    "kubeflow.org/mpijob",
    "ray.io/rayjob",
    "ray.io/rayservice",
    "ray.io/raycluster",
    "jobset.x-k8s.io/jobset",
    "workload.codeflare.dev/appwrapper",
    "trainer.kubeflow.org/trainjob",
    "pod",
    "deployment",
    "statefulset",
    "leaderworkerset.x-k8s.io/leaderworkerset",
]


# All-or-nothing admission for multi-node jobs (Kueue's waitForPodsReady, config v1beta2: its
# presence enables it). An admitted workload whose pods are not all ready within the timeout is
# evicted and requeued with backoff, so two half-placed gangs never hold each other's GPUs. The
# timeout covers Karpenter launching a GPU node and pulling a multi-GB training image; after
# five requeues the workload is deactivated (a user reactivates it: README, "Distributed training").
# blockAdmission stays off: it would serialize every admission of a queue behind the slowest job.
KUEUE_WAIT_FOR_PODS_READY = {
    "timeout": "15m",
    "recoveryTimeout": "10m",
    "blockAdmission": False,
    "requeuingStrategy": {
        "timestamp": "Eviction",
        "backoffLimitCount": 5,
        "backoffBaseSeconds": 60,
        "backoffMaxSeconds": 1800,
    },
}

# Node devices Kueue has no quota for (a ClusterQueue covers CPU, memory and GPUs): Kueue leaves
# a workload that requests a resource no ClusterQueue covers pending for ever ("resource X
# unavailable in ClusterQueue"), so an EFA TrainJob or an RDMA job would never be admitted.
# The GPUs they come with are the quota; the scheduler fits the devices on the node.
KUEUE_EXCLUDED_RESOURCES = [EFA_RESOURCE, "hugepages-", "nvidia.com/rdma_", "rdma/"]


def kueue_configuration() -> dict:
    """Kueue's Configuration (config.kueue.x-k8s.io/v1beta2): the chart's defaults, plus
    - Kueue manages the team namespaces only (the team label), and there every job and pod,
      with or without a queue name (a pod cannot use a team's GPUs without being admitted);
      the platform's own namespaces are never touched;
    - gang admission (waitForPodsReady, above), and the node devices above left out of quota;
    - fair sharing on, with Kueue's default preemption strategies: pending work reclaims
      borrowed capacity until each team has its fair share."""
    return {
        "apiVersion": "config.kueue.x-k8s.io/v1beta2",
        "kind": "Configuration",
        "health": {"healthProbeBindAddress": ":8081"},
        "metrics": {"bindAddress": ":8443"},
        "webhook": {"port": 9443},
        "leaderElection": {"leaderElect": True, "resourceName": "c1f6bfd2.kueue.x-k8s.io"},
        "controller": {
            "groupKindConcurrency": {
                "Job.batch": 5,
                "Pod": 5,
                "Workload.kueue.x-k8s.io": 10,
                "LocalQueue.kueue.x-k8s.io": 5,
                "ClusterQueue.kueue.x-k8s.io": 5,
                "ResourceFlavor.kueue.x-k8s.io": 1,
            }
        },
        "clientConnection": {"qps": 300, "burst": 500},
        "manageJobsWithoutQueueName": True,
        "managedJobsNamespaceSelector": {"matchExpressions": [{"key": TEAM_LABEL, "operator": "Exists"}]},
        "waitForPodsReady": KUEUE_WAIT_FOR_PODS_READY,
        "resources": {"excludeResourcePrefixes": KUEUE_EXCLUDED_RESOURCES},
        "integrations": {"frameworks": KUEUE_FRAMEWORKS},
        "fairSharing": {"preemptionStrategies": ["LessThanOrEqualToFinalShare", "LessThanInitialShare"]},
    }


def kueue_values() -> dict:
    """The released controller image (the chart's values name a staging build), on the CPU
    pool, with the configuration above (JSON is YAML, which the chart passes through)."""
    image = {
        "repository": KUEUE_CONTROLLER.repository,
        "tag": KUEUE_CONTROLLER.tag,
        "pullPolicy": "IfNotPresent",
    }
    return {
        "controllerManager": {"manager": {"image": image}, **CPU_PLACEMENT},
        "managerConfig": {"controllerManagerConfigYaml": json.dumps(kueue_configuration(), indent=2)},
    }


# --- Velero ---------------------------------------------------------------------------------

VELERO_SERVICE_ACCOUNT = "velero"
# Pod Security "restricted" for the server and its plugin init container (the chart sets none).
_VELERO_CONTAINER_SECURITY = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}


def velero_values(*, role_arn: str) -> dict:
    """The server only, on the CPU pool, as a non-root user, with the AWS plugin (pinned) and
    the IRSA role on its service account instead of a credentials Secret. No node agent: volume
    data is backed up as EBS snapshots, not file copies (the node agent needs host paths). The
    chart's own BackupStorageLocation and VolumeSnapshotLocation lists are emptied: ours are in
    ``k8s_charts/velero.py``, validated against the CRDs. CRDs come with the chart at install;
    ``upgradeCRDs`` (a kubectl Job on every upgrade) is off, so a chart bump that changes them
    applies its ``crds/`` by hand (README "Backups")."""
    plugin = {
        "name": "velero-plugin-for-aws",
        "image": VELERO_PLUGIN_FOR_AWS.uri,
        "imagePullPolicy": "IfNotPresent",
        "volumeMounts": [{"mountPath": "/target", "name": "plugins"}],
        "securityContext": _VELERO_CONTAINER_SECURITY,
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
    }
    return {
        "initContainers": [plugin],
        "credentials": {"useSecret": False},
        "serviceAccount": {
            "server": {
                "name": VELERO_SERVICE_ACCOUNT,
                "annotations": {"eks.amazonaws.com/role-arn": role_arn},
            }
        },
        "configuration": {"backupStorageLocation": [], "volumeSnapshotLocation": []},
        "upgradeCRDs": False,
        "podSecurityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "runAsGroup": 65532,
            "fsGroup": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containerSecurityContext": _VELERO_CONTAINER_SECURITY,
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        **CPU_PLACEMENT,
    }


# --- MLflow ---------------------------------------------------------------------------------

MLFLOW_SERVICE_ACCOUNT = "mlflow-server"
MLFLOW_DATABASE_SECRET = "mlflow-database"  # the secret sync's copy of its login's secret


def mlflow_values(*, replicas: int, database_host: str, role_arn: str, bucket: str) -> dict:
    """The tracking server on the CPU pool: PostgreSQL for runs and the registry (the login
    from the synced Secret; the chart's migration init container creates and upgrades the
    schema), artifacts proxied to its S3 bucket under the IRSA role, a ClusterIP Service and
    no ingress, a ServiceMonitor on its /metrics. The image is the pinned one, not whatever
    the chart's appVersion names; restricted Pod Security (the chart leaves seccomp unset)."""
    image = {"repository": MLFLOW_SERVER.repository, "tag": MLFLOW_SERVER.tag}
    return {
        "replicaCount": replicas,
        "image": image,
        "initImages": {"mlflowDbMigration": image},
        "serviceAccount": {
            "create": True,
            "name": MLFLOW_SERVICE_ACCOUNT,
            "annotations": {"eks.amazonaws.com/role-arn": role_arn},
        },
        "backendStore": {
            "databaseMigration": True,
            "postgres": {
                "enabled": True,
                "host": database_host,
                "port": POSTGRES_PORT,
                "database": MLFLOW_DATABASE,
            },
            "existingDatabaseSecret": {
                "name": MLFLOW_DATABASE_SECRET,
                "usernameKey": "username",
                "passwordKey": "password",
            },
        },
        "artifactRoot": {
            "proxiedArtifactStorage": True,
            "s3": {"enabled": True, "bucket": bucket},
        },
        "service": {"type": "ClusterIP"},
        "serviceMonitor": {"enabled": True, "namespace": namespaces.MLFLOW, "labels": {}},
        "podSecurityContext": {
            "fsGroup": 1001,
            "fsGroupChangePolicy": "OnRootMismatch",
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
        **CPU_PLACEMENT,
    }
