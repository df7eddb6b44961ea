"""Every Helm-installed operator of the platform, one function each: the node-level ones
(Karpenter, the NVIDIA GPU Operator and the EFA device plugin, installed by the Nodes stack)
and the Kubernetes layer's (installed by the Workloads stack).

Each function maps typed stage settings to a :class:`~platform_constructs.helm.Release`: the
pinned chart (``platform_config/versions.py``), its namespace (the contract's), the chart's
values and whether Helm waits (the pattern: ``platform_constructs/helm.py``). The charts
install their Deployments, RBAC and CRDs, which we do not hand-write. Nothing here holds a
credential: Grafana reads its admin user from the ``grafana-admin`` Secret that the secret
sync writes.
"""

from __future__ import annotations

import json

import yaml

from platform_config import gpu_catalog, versions
from platform_config import namespaces as ns
from platform_config.contract import (
    EFA_LABEL,
    EFA_RESOURCE,
    GPU_MODEL_LABEL,
    GPU_STARTUP_TAINT_KEY,
    GPU_TAINT_KEY,
    GRAFANA_ADMIN_SECRET,
    LOKI_PORT,
    MESH_INJECT,
    POOL_LABEL,
    TEAM_LABEL,
    service_url,
)
from platform_config.gpu_node_config import GpuPool, device_plugin_config, mig_parted_config
from platform_config.gpu_sharing import SharingSettings
from platform_config.mlflow import DATABASE as MLFLOW_DATABASE
from platform_config.model import CPU_POOL, AmiFamily, StageConfig
from platform_config.platform_database import POSTGRES_PORT
from platform_config.workloads import LinkerdSettings, ObservabilitySettings
from platform_constructs.helm import Release

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


def kube_prometheus_stack(
    settings: ObservabilitySettings, *, storage_class: str, meshed: bool = False
) -> Release:
    """Prometheus selects every ServiceMonitor, PodMonitor and PrometheusRule in the cluster
    (ours carry no Helm release label); kube-state-metrics exports the GPU pool labels the
    alerts join on. ``meshed`` gives Prometheus a Linkerd proxy, so that its mesh identity
    may scrape ports that Linkerd policy protects."""
    mesh = {"podMetadata": {"annotations": MESH_INJECT}} if meshed else {}
    values = {
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
    return Release(versions.KUBE_PROMETHEUS_STACK, ns.MONITORING, values)


def loki(settings: ObservabilitySettings, *, storage_class: str) -> Release:
    """Single-binary Loki on a gp3 volume with retention; enough for a platform's own logs.
    Teams with heavy log volume switch to the chart's scalable mode on S3."""
    values = {
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
    return Release(versions.LOKI, ns.MONITORING, values)


def alloy() -> Release:
    """One Alloy instance that tails every pod's log through the Kubernetes API and pushes
    to Loki (its Service is named after its release), labelled by namespace, pod and container."""
    loki_url = service_url(versions.LOKI.chart, ns.MONITORING, LOKI_PORT)
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
    values = {
        "controller": {"type": "deployment", "replicas": 1, **CPU_PLACEMENT},
        "alloy": {"configMap": {"content": config}, "mounts": {"varlog": False}},
    }
    return Release(versions.ALLOY, ns.MONITORING, values)


def dynamo_platform(*, nats_url: str) -> Release:
    """The operator with Kubernetes-native discovery and our NATS JetStream; the chart's
    bundled NATS and etcd stay off (``global.*.install``, chart 1.4 and later). The chart has
    no ``nodeSelector``: its controller is held to the CPU pool by ``controllerManager.affinity``."""
    values = {
        "global": {"nats": {"install": False}, "etcd": {"install": False}},
        "dynamo-operator": {
            "natsAddr": nats_url,
            "discoveryBackend": "kubernetes",
            "controllerManager": {"affinity": CPU_AFFINITY},
        },
    }
    return Release(versions.DYNAMO_PLATFORM, ns.DYNAMO, values)


# --- Linkerd and its PKI ----------------------------------------------------------------------


def cert_manager() -> Release:
    """cert-manager with its CRDs (kept on uninstall, so certificates survive a rollback)."""
    values = {
        "crds": {"enabled": True, "keep": True},
        "replicaCount": 2,
        "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
        **CPU_PLACEMENT,
        "webhook": {"replicaCount": 2, "podDisruptionBudget": {"enabled": True}, **CPU_PLACEMENT},
        "cainjector": CPU_PLACEMENT,
    }
    return Release(versions.CERT_MANAGER, ns.CERT_MANAGER, values)


def trust_manager() -> Release:
    """trust-manager, next to cert-manager, reads Bundle sources from cert-manager's namespace,
    where the trust anchor's Secret lives."""
    values = {"app": {"trust": {"namespace": ns.CERT_MANAGER}}, **CPU_PLACEMENT}
    return Release(versions.TRUST_MANAGER, ns.CERT_MANAGER, values)


def linkerd_crds() -> Release:
    """Linkerd's CRDs, a chart of their own (the control plane's needs them installed first)."""
    return Release(versions.LINKERD_CRDS, ns.LINKERD)


def linkerd_control_plane(settings: LinkerdSettings) -> Release:
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
    return Release(versions.LINKERD_CONTROL_PLANE, ns.LINKERD, values)


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


# The chart's kueue.selectorLabels (templates/_helpers.tpl; the release is named after the chart).
KUEUE_POD_LABELS = {
    "app.kubernetes.io/name": "kueue",
    "app.kubernetes.io/instance": versions.KUEUE.chart,
    "control-plane": "controller-manager",
}
KUEUE_REPLICAS = 2


def kueue() -> Release:
    """The released controller image (the chart's values name a staging build), on the CPU
    pool, with the configuration above (JSON is YAML, which the chart passes through).

    Highly available: Kueue's pod and job webhooks are fail-closed for every pod and Job of a
    team namespace (and every Job of the cluster), so one controller down would stop pod
    creation there. Two replicas on different CPU nodes (a hard spread over hostnames: the
    0.19.2 chart takes no affinity, only ``topologySpreadConstraints``; the stage model requires
    two CPU nodes with teams), spread over zones where it can, and a PodDisruptionBudget of one.
    Every replica serves the webhooks and the visibility API; only the leader reconciles
    (kubernetes-sigs/kueue#1445, #1554)."""
    image = {
        "repository": versions.KUEUE_CONTROLLER.repository,
        "tag": versions.KUEUE_CONTROLLER.tag,
        "pullPolicy": "IfNotPresent",
    }
    values = {
        "controllerManager": {
            "manager": {"image": image},
            "replicas": KUEUE_REPLICAS,
            "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": key,
                    "whenUnsatisfiable": when,
                    "labelSelector": {"matchLabels": KUEUE_POD_LABELS},
                }
                for key, when in (
                    ("kubernetes.io/hostname", "DoNotSchedule"),
                    ("topology.kubernetes.io/zone", "ScheduleAnyway"),
                )
            ],
            **CPU_PLACEMENT,
        },
        "managerConfig": {"controllerManagerConfigYaml": json.dumps(kueue_configuration(), indent=2)},
    }
    return Release(versions.KUEUE, ns.KUEUE, values)


# --- Node level (the Nodes stack) -------------------------------------------------------------

KARPENTER_SERVICE_ACCOUNT = "karpenter"


def karpenter(*, cluster_name: str, interruption_queue: str) -> Release:
    """The controller, two replicas on the CPU pool (Karpenter must never run on capacity it
    manages), with the service account its Pod Identity role is bound to."""
    values = {
        "settings": {"clusterName": cluster_name, "interruptionQueue": interruption_queue},
        "serviceAccount": {"name": KARPENTER_SERVICE_ACCOUNT},
        "replicas": 2,
        "nodeSelector": {POOL_LABEL: CPU_POOL},
        "controller": {
            "resources": {
                "requests": {"cpu": "500m", "memory": "1Gi"},
                "limits": {"cpu": "1", "memory": "1Gi"},
            }
        },
    }
    return Release(versions.KARPENTER, ns.KARPENTER, values, timeout_minutes=10)


# The GPU node software does not wait: its DaemonSets run on GPU nodes, and scale-to-zero pools
# may have none (why the operator runs what it runs: platform_constructs/gpu_operator.py).
DEVICE_PLUGIN_CONFIG_MAP = "platform-device-plugin-configs"
MIG_CONFIG_MAP = "platform-mig-configs"


# Every operand on GPU nodes runs before the node is ready for GPU pods (it is what makes it
# ready, k8s_charts/gpu_ready.py), so it tolerates the startup taint as well as the GPU taint.
GPU_NODE_TOLERATIONS = [
    {"key": key, "operator": "Exists", "effect": "NoSchedule"}
    for key in (GPU_TAINT_KEY, GPU_STARTUP_TAINT_KEY)
]
# The NFD worker runs on every node, control planes included (the chart's default toleration).
NFD_WORKER_TOLERATIONS = [
    {
        "key": "node-role.kubernetes.io/control-plane",
        "operator": "Equal",
        "value": "",
        "effect": "NoSchedule",
    },
    *GPU_NODE_TOLERATIONS,
]


def _al2023_pools(config: StageConfig) -> list[GpuPool]:
    pools: list[GpuPool] = [*config.gpu_pools, *config.karpenter.gpu_node_pools]
    return [p for p in pools if p.ami_family is AmiFamily.AL2023]


def gpu_operator(config: StageConfig) -> Release:
    """The NVIDIA GPU Operator: one device plugin config per sharing setting of the stage's
    AL2023 pools and one MIG layout per pool, as YAML documents inside the ConfigMaps the chart
    creates; driver, toolkit and CDI off (pre-installed on the EKS NVIDIA AMIs)."""
    sharings = [p.sharing for p in _al2023_pools(config)]
    plugin_configs = {s.device_plugin_config: device_plugin_config(s) for s in [SharingSettings(), *sharings]}
    values = {
        "operator": {**CPU_PLACEMENT},
        "node-feature-discovery": {
            "master": {**CPU_PLACEMENT},
            "gc": {**CPU_PLACEMENT},
            "worker": {"tolerations": NFD_WORKER_TOLERATIONS},
        },
        "daemonsets": {"tolerations": GPU_NODE_TOLERATIONS},
        # Pre-installed on the EKS NVIDIA AMIs; CDI specs would come from the operator's toolkit.
        "driver": {"enabled": False},
        "toolkit": {"enabled": False},
        "cdi": {"enabled": False},
        "devicePlugin": {
            "config": {
                "create": True,
                "name": DEVICE_PLUGIN_CONFIG_MAP,
                "default": SharingSettings().device_plugin_config,
                "data": {
                    name: yaml.safe_dump(c, sort_keys=False) for name, c in sorted(plugin_configs.items())
                },
            }
        },
        "migManager": {
            "env": [{"name": "WITH_REBOOT", "value": "true"}],
            "config": {
                "create": True,
                "name": MIG_CONFIG_MAP,
                "default": "all-disabled",
                "data": {"config.yaml": yaml.safe_dump(mig_parted_config(sharings), sort_keys=False)},
            },
        },
        # The exporter's metrics are scraped by the observability chart's own ServiceMonitor
        # (k8s_charts/observability.py); the Workloads stack that holds Prometheus comes later.
        "dcgmExporter": {"serviceMonitor": {"enabled": False}},
    }
    return Release(versions.GPU_OPERATOR, ns.GPU_OPERATOR, values, wait=False, timeout_minutes=10)


def efa_device_plugin() -> Release:
    """On EFA nodes, in ``kube-system`` as the chart's own default (AWS's node-level add-on
    convention; it is no namespace the platform owns).

    The chart also requires the node's instance type to be in ``supportedInstanceLabels.values``
    (a required node affinity); the pinned chart's own list predates g7e and p6-b300, so the
    plugin would never start there. The list is the catalogue's EFA-capable types instead."""
    efa_types = sorted(t for t, i in gpu_catalog.GPU_INSTANCES.items() if i.supports_efa)
    values = {
        "nodeSelector": {EFA_LABEL: "true"},
        "tolerations": GPU_NODE_TOLERATIONS,
        "supportedInstanceLabels": {"values": efa_types},
    }
    return Release(versions.EFA_DEVICE_PLUGIN, ns.KUBE_SYSTEM, values, wait=False, timeout_minutes=5)


# --- Training and RDMA (checked against each pinned chart's values by tests/test_helm_values.py):
# controllers on the CPU pool, nothing optional turned on --------------------------------------


def kubeflow_trainer() -> Release:
    """The controller on the CPU pool; the chart's JobSet subchart installs JobSet (Trainer
    runs every TrainJob as a JobSet). No built-in runtimes: the platform deploys its own
    (k8s_charts/training.py)."""
    values = {"manager": CPU_PLACEMENT, "runtimes": {"defaultEnabled": False}}
    return Release(versions.KUBEFLOW_TRAINER, ns.TRAINER, values)


def kuberay_operator() -> Release:
    return Release(versions.KUBERAY_OPERATOR, ns.KUBERAY, dict(CPU_PLACEMENT))


def network_operator() -> Release:
    """The operator on the CPU pool. Node Feature Discovery stays off: the NicClusterPolicy
    selects RDMA nodes by the label they join with, not by a discovered PCI vendor; the SR-IOV
    Network Operator stays off: no VFs are configured through it (the SR-IOV device plugin
    hands out the devices the host already has)."""
    values = {
        "operator": CPU_PLACEMENT,
        "nfd": {"enabled": False},
        "sriovNetworkOperator": {"enabled": False},
    }
    return Release(versions.NETWORK_OPERATOR, ns.NETWORK_OPERATOR, values)


# --- Velero ---------------------------------------------------------------------------------

VELERO_SERVICE_ACCOUNT = "velero"
# Pod Security "restricted" for the server and its plugin init container (the chart sets none).
_VELERO_CONTAINER_SECURITY = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}


def velero(*, role_arn: str) -> Release:
    """The server only, on the CPU pool, as a non-root user, with the AWS plugin (pinned) and
    the IRSA role on its service account instead of a credentials Secret. No node agent: volume
    data is backed up as EBS snapshots, not file copies (the node agent needs host paths). The
    chart's own BackupStorageLocation and VolumeSnapshotLocation lists are emptied: ours are in
    ``k8s_charts/velero.py``, validated against the CRDs. CRDs come with the chart at install;
    ``upgradeCRDs`` (a kubectl Job on every upgrade) is off, so a chart bump that changes them
    applies its ``crds/`` by hand (README "Backups")."""
    plugin = {
        "name": "velero-plugin-for-aws",
        "image": versions.VELERO_PLUGIN_FOR_AWS.uri,
        "imagePullPolicy": "IfNotPresent",
        "volumeMounts": [{"mountPath": "/target", "name": "plugins"}],
        "securityContext": _VELERO_CONTAINER_SECURITY,
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
    }
    values = {
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
    return Release(versions.VELERO, ns.VELERO, values)


# --- MLflow ---------------------------------------------------------------------------------

MLFLOW_SERVICE_ACCOUNT = "mlflow-server"
MLFLOW_DATABASE_SECRET = "mlflow-database"  # the secret sync's copy of its login's secret
# The server's Deployment (the chart's fullname, set in its values); the secret sync rolls it when
# the login rotates.
MLFLOW_DEPLOYMENT = versions.MLFLOW.chart


def mlflow(*, replicas: int, database_host: str, role_arn: str, bucket: str, monitored: bool) -> Release:
    """The tracking server on the CPU pool: PostgreSQL for runs and the registry (the login
    from the synced Secret; the chart's migration init container creates and upgrades the
    schema), artifacts proxied to its S3 bucket under the IRSA role, a ClusterIP Service and
    no ingress, and when ``monitored`` (the stage runs kube-prometheus-stack, whose CRDs the
    release must then follow) a ServiceMonitor on its /metrics. The image is the pinned one,
    not whatever the chart's appVersion names; restricted Pod Security (the chart leaves
    seccomp unset)."""
    image = {"repository": versions.MLFLOW_SERVER.repository, "tag": versions.MLFLOW_SERVER.tag}
    values = {
        "fullnameOverride": MLFLOW_DEPLOYMENT,  # what the chart derives anyway, stated: the sync rolls it
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
        "serviceMonitor": {"enabled": monitored, "namespace": ns.MLFLOW, "labels": {}},
        "podSecurityContext": {
            "fsGroup": 1001,
            "fsGroupChangePolicy": "OnRootMismatch",
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
        **CPU_PLACEMENT,
    }
    return Release(versions.MLFLOW, ns.MLFLOW, values)
