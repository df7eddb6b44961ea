"""The cluster contract: every name that two parts of the platform must spell the same way.

One registry, in two files of this package:

* ``platform_config/namespaces.py``: every namespace the platform owns, its owning component
  and its Pod Security level with the reason for anything below ``restricted``;
* this module: the well-known labels, taints, extended resources, annotations, AWS tags and
  service names that stacks, constructs, charts and tools agree on.

Whoever sets one of these (a node group's labels, a chart's tolerations, Karpenter's
discovery tags) and whoever reads it (Kueue's flavors, the cost report, the NetworkPolicies)
import it from here; nothing in ``platform_config`` imports CDK, cdk8s or a chart, so every
layer may read it (``tests/test_contract.py`` walks the imports and greps for namespace
literals elsewhere).

Two parts stay outside by design, each checked against this module by a test: the
reservations Lambdas and the platform jobs are shipped as their own small packages (they
cannot import ``platform_config``), so ``reservations/kube.py``/``dev_pod.py`` repeat the pool
label and the GPU resource; and labels an upstream chart sets on its own pods
(``app.kubernetes.io/name: prometheus``) belong to that chart, next to the rule that selects
them.

The AWS-side names (the cluster name, Karpenter's discovery tag, the Nodes template's capacity
metadata) live here too rather than in a CDK module: the discovery tag is written by the
Network stack on subnets and read by Karpenter's EC2NodeClasses (a cdk8s chart), and the
capacity metadata is written by the Nodes stack and read by ``tools/cost_report.py``, which
must not import CDK.
"""

from __future__ import annotations

# --- Node labels and taints (node groups, Karpenter NodePools, every pod that targets them) --

LABEL_DOMAIN = "gpuplatform.io"
POOL_LABEL = f"{LABEL_DOMAIN}/pool"
GPU_MODEL_LABEL = f"{LABEL_DOMAIN}/gpu-model"
EFA_LABEL = f"{LABEL_DOMAIN}/efa"
AMI_FAMILY_LABEL = f"{LABEL_DOMAIN}/ami-family"
# GPU nodes carry this taint; only pods that ask for GPUs tolerate it.
GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_TAINT_VALUE = "true"
# ... and start with this one, which the GPU readiness DaemonSet (k8s_charts/gpu_ready.py)
# removes once the node advertises its GPUs and its MIG layout is applied. The GPU Operator's
# operands and the EFA device plugin tolerate it; nothing else does.
GPU_STARTUP_TAINT_KEY = f"{LABEL_DOMAIN}/gpu-not-ready"
GPU_STARTUP_TAINT_VALUE = "true"

# --- Extended resources the device plugins advertise ------------------------------------------

GPU_RESOURCE = "nvidia.com/gpu"
MIG_RESOURCE_PREFIX = "nvidia.com/mig-"  # + a MIG profile, under the mixed MIG strategy
EFA_RESOURCE = "vpc.amazonaws.com/efa"

# --- NVIDIA GPU Operator node labels (set by node groups and NodePools, read by the operator,
# the alerts and the runbook) -------------------------------------------------------------------

DEVICE_PLUGIN_CONFIG_LABEL = "nvidia.com/device-plugin.config"  # which device plugin config
MIG_CONFIG_LABEL = "nvidia.com/mig.config"  # which MIG layout the MIG manager applies
MIG_CONFIG_STATE_LABEL = "nvidia.com/mig.config.state"  # the MIG manager's progress
GPU_OPERATOR_DEPLOY_LABEL = "nvidia.com/gpu.deploy.{}"  # "false" keeps an operand off the node

# --- Namespace labels and annotations ----------------------------------------------------------

# Set by the API server on every namespace (NetworkPolicies select namespaces by it).
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
# Team namespaces carry their team's name (Kueue's ClusterQueues and its managed-namespace
# selector select them by it) and the team's default priority class.
TEAM_LABEL = f"{LABEL_DOMAIN}/team"
DEFAULT_PRIORITY_CLASS_ANNOTATION = f"{LABEL_DOMAIN}/default-priority-class"
# Pod or namespace annotation that makes Linkerd's injector add its proxy.
MESH_INJECT = {"linkerd.io/inject": "enabled"}

# --- Pod labels our own charts set ---------------------------------------------------------------

APP_NAME_LABEL = "app.kubernetes.io/name"

# --- Services of the Helm releases (the charts name them after the release) --------------------

PROMETHEUS_SERVICE_ACCOUNT = "kube-prometheus-stack-prometheus"
LOKI_PORT = 3100  # the Loki chart's gateway-less HTTP port
GRAFANA_ADMIN_SECRET = "grafana-admin"


def service_url(service: str, namespace: str, port: int, scheme: str = "http") -> str:
    """A Service's in-cluster address."""
    return f"{scheme}://{service}.{namespace}.svc.cluster.local:{port}"


# --- AWS side -----------------------------------------------------------------------------------

KARPENTER_DISCOVERY_TAG = "karpenter.sh/discovery"
# Key of the Nodes stack's template metadata that records GPU capacity per pool.
CAPACITY_METADATA_KEY = "GpuPlatformCapacity"


def cluster_name(stage_name: str) -> str:
    """The stage's EKS cluster name, which is also the value of the Karpenter discovery tag on
    its subnets and security groups (Karpenter's convention)."""
    return f"gpu-platform-{stage_name}"
