"""Every Helm chart, container image and EKS add-on the platform installs, pinned in one place.

Nothing else in the repository names a chart or image version: constructs and charts import
these constants, and ``tests/test_versions.py`` fails on a floating tag or an unpinned chart.
Bump a version here, run ``make test``, review the snapshot diff.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HelmChartPin:
    repository: str
    chart: str
    version: str


@dataclass(frozen=True)
class ImagePin:
    repository: str
    tag: str

    @property
    def uri(self) -> str:
        return f"{self.repository}:{self.tag}"


KARPENTER = HelmChartPin(
    repository="oci://public.ecr.aws/karpenter/karpenter",
    chart="karpenter",
    version="1.12.1",
)

# Base image of the in-cluster platform jobs, ECR token refresh and Secrets Manager sync
# (jobs/platform_jobs/Dockerfile reads it through a build argument, so the Dockerfile holds
# no version of its own).
PLATFORM_JOBS_BASE = ImagePin(
    repository="public.ecr.aws/docker/library/python",
    tag="3.12.12-slim-bookworm",
)

# GPU node software (platform_constructs/gpu_operator.py): device plugin, MIG manager, NFD,
# GFD and the DCGM exporter. v26.7.0 deploys mig-manager v0.15.0 and device plugin v0.20.0.
GPU_OPERATOR = HelmChartPin(
    repository="https://helm.ngc.nvidia.com/nvidia",
    chart="gpu-operator",
    version="v26.7.0",
)

EFA_DEVICE_PLUGIN = HelmChartPin(
    repository="https://aws.github.io/eks-charts",
    chart="aws-efa-k8s-device-plugin",
    version="v0.5.15",
)
# The plugin image needed per GPU family, where AWS names one. On p6-b200 the node's InfiniBand
# class also lists two mlx5 devices (ibp115s0f0, ibp116s0f0) beside the 8 EFA ones; a plugin that
# counts them advertises 10 `vpc.amazonaws.com/efa`, and pods asking for every interface break.
# AWS EKS User Guide, node-efa, Prerequisites: "For p6-b200 instances, you must use EFA Device
# Plugin version v0.5.6 or later" (added by the plugin's maintainers, awsdocs/amazon-eks-user-guide
# PR 1083, 2025-08); aws-ia/terraform-aws-eks-data-addons issue 53 (2025-07, on p6-b200) agrees.
# aws/sagemaker-hyperpod-cli PR 282 (2025-09) says "before 0.5.10", with no release note behind
# it (the plugin's source is not public); the chart's image, v0.5.8 (its values.yaml image.tag),
# meets AWS's floor. No source names a floor for p6-b300. tests/test_versions.py holds the image
# the release deploys to every floor of a catalogued family.
EFA_DEVICE_PLUGIN_MIN_IMAGE: dict[str, str] = {"p6-b200": "v0.5.6"}

# --- Kubernetes layer (stacks/workloads_stack.py) -------------------------------------------
KUBE_PROMETHEUS_STACK = HelmChartPin(
    repository="https://prometheus-community.github.io/helm-charts",
    chart="kube-prometheus-stack",
    version="93.9.0",
)
# Since 2026-03-16 the open-source Loki chart lives in grafana-community (grafana/loki#20705);
# the chart in grafana/helm-charts is for Grafana Enterprise Logs.
LOKI = HelmChartPin(
    repository="https://grafana-community.github.io/helm-charts", chart="loki", version="18.13.7"
)
# Promtail reached end of life on 2026-03-02; Grafana Alloy is its successor as log shipper.
ALLOY = HelmChartPin(repository="https://grafana.github.io/helm-charts", chart="alloy", version="1.13.0")
CERT_MANAGER = HelmChartPin(repository="https://charts.jetstack.io", chart="cert-manager", version="v1.21.2")
TRUST_MANAGER = HelmChartPin(
    repository="https://charts.jetstack.io", chart="trust-manager", version="v0.26.0"
)
# Open-source Linkerd publishes edge releases only (stable builds are Buoyant's).
LINKERD_CRDS = HelmChartPin(
    repository="https://helm.linkerd.io/edge", chart="linkerd-crds", version="2026.9.1"
)
LINKERD_CONTROL_PLANE = HelmChartPin(
    repository="https://helm.linkerd.io/edge",
    chart="linkerd-control-plane",
    version="2026.9.1",
)
DYNAMO_PLATFORM = HelmChartPin(
    repository="https://helm.ngc.nvidia.com/nvidia/ai-dynamo",
    chart="dynamo-platform",
    version="1.6.0",
)
# Kueue: GPU admission and team quotas (k8s_charts/kueue_queues.py). The chart's values in
# the source tree name a staging build; the release published to registry.k8s.io is this.
# Chart and image: kueue.sigs.k8s.io/docs/installation ("Install by Helm"), tag v0.19.2.
KUEUE = HelmChartPin(repository="oci://registry.k8s.io/kueue/charts/kueue", chart="kueue", version="0.19.2")
KUEUE_CONTROLLER = ImagePin(repository="registry.k8s.io/kueue/kueue", tag="v0.19.2")

NATS_SERVER = ImagePin(repository="docker.io/library/nats", tag="2.15.0-alpine")
NATS_EXPORTER = ImagePin(repository="docker.io/natsio/prometheus-nats-exporter", tag="0.20.2")
TRITON_SERVER = ImagePin(repository="nvcr.io/nvidia/tritonserver", tag="26.10-py3")
DYNAMO_VLLM_RUNTIME = ImagePin(repository="nvcr.io/nvidia/ai-dynamo/vllm-runtime", tag="1.6.0")
# MinIO stopped publishing community images in 10/2025 (source only) and archived its
# repository in 4/2026. This is the last published community image; it predates the fix for
# CVE-2025-62506 (a service account or STS session could exceed its session policy), so
# the platform uses only the root credentials and creates no service accounts (README).
MINIO = ImagePin(repository="quay.io/minio/minio", tag="RELEASE.2025-09-07T16-13-09Z")

# Base of the GPU developer pods (images/dev_pod adds sshd and sudo): seed 002's image.
DEV_POD_BASE = ImagePin(repository="docker.io/pytorch/pytorch", tag="2.8.0-cuda12.9-cudnn9-devel")

# OpenAI-compatible model servers (k8s_charts/llm_servers.py). vLLM v0.29.0, released
# 2026-09 (coreweave/ml-containers pull 225 "feat(vllm): v0.29.0", 2026-09-09); its image is
# published as vllm/vllm-openai:v<version>. TGI 3.3.6 is the last 3.3 release seen published
# (a 3.3.6-trtllm variant is in use); upstream has been in maintenance mode since late 2025, so
# prefer vLLM for new models.
VLLM_OPENAI = ImagePin(repository="docker.io/vllm/vllm-openai", tag="v0.29.0")
TGI = ImagePin(repository="ghcr.io/huggingface/text-generation-inference", tag="3.3.6")

# Backups (k8s_charts/velero.py): chart 12.1.0 runs Velero v1.18.1 (its appVersion, whose CRDs
# are in k8s_charts/crds). Plugin v1.14.x is the documented pair of Velero 1.18.x; v1.14.4
# (2026-09-28) carries CVE fixes (velero-io/velero discussion 10563).
VELERO = HelmChartPin(
    repository="https://vmware-tanzu.github.io/helm-charts", chart="velero", version="12.1.0"
)
VELERO_PLUGIN_FOR_AWS = ImagePin(repository="docker.io/velero/velero-plugin-for-aws", tag="v1.14.4")

# Experiment tracking and model registry (workloads.mlflow): community-charts' chart 1.11.5,
# appVersion 3.15.1; its server image is pinned to that version rather than left to the chart.
MLFLOW = HelmChartPin(
    repository="https://community-charts.github.io/helm-charts", chart="mlflow", version="1.11.5"
)
MLFLOW_SERVER = ImagePin(repository="docker.io/burakince/mlflow", tag="3.15.1")

# Aurora PostgreSQL engine of the platform's database (platform_constructs/postgres.py): the
# 16 line, whose 16.3 and later minors scale Serverless v2 to 0 ACU (AWS Aurora User Guide,
# "Aurora Serverless v2 capacity"); 16.9 is the newest 16 minor the pinned aws-cdk-lib names.
AURORA_POSTGRES = "16.9"

HELM_CHARTS: tuple[HelmChartPin, ...] = (
    KARPENTER,
    GPU_OPERATOR,
    EFA_DEVICE_PLUGIN,
    KUBE_PROMETHEUS_STACK,
    LOKI,
    ALLOY,
    CERT_MANAGER,
    TRUST_MANAGER,
    LINKERD_CRDS,
    LINKERD_CONTROL_PLANE,
    DYNAMO_PLATFORM,
    KUEUE,
    VELERO,
    MLFLOW,
)
IMAGES: tuple[ImagePin, ...] = (
    PLATFORM_JOBS_BASE,
    NATS_SERVER,
    NATS_EXPORTER,
    TRITON_SERVER,
    DYNAMO_VLLM_RUNTIME,
    MINIO,
    DEV_POD_BASE,
    KUEUE_CONTROLLER,
    VLLM_OPENAI,
    TGI,
    VELERO_PLUGIN_FOR_AWS,
    MLFLOW_SERVER,
)


@dataclass(frozen=True)
class AddonPin:
    """An EKS managed add-on build, the Kubernetes minor it was checked for, and where."""

    version: str
    kubernetes: str
    source: str


# EKS managed add-ons, each pinned to a build EKS offers for the cluster's Kubernetes version
# (AWS::EKS::Addon.AddonVersion): unpinned, EKS installs whatever it marks default on the day
# of the deploy, so two stages deployed a week apart would run different builds. Bump with the
# cluster version: `aws eks describe-addon-versions --kubernetes-version 1.35 --addon-name X`
# lists what EKS offers (tests/test_versions.py fails on an add-on without a pin, or a pin for
# another Kubernetes version). AWS's user guide tabulates builds for vpc-cni, coredns and
# kube-proxy only; the other three come from a project's upgrade to 1.35 that lists them.
_CONVOX_135 = (
    "github.com/convox/convox pull/1054 'Upgrade to k8s 1.35' (merged 2026-07-07), "
    "version table of the EKS add-ons it pins for 1.35"
)
EKS_ADDONS: dict[str, AddonPin] = {
    "vpc-cni": AddonPin(
        "v1.21.1-eksbuild.7",
        "1.35",
        "AWS EKS User Guide, 'Amazon VPC CNI versions' table, row 1.35 "
        "(docs.amazonaws.cn/eks/latest/userguide/managing-vpc-cni.md)",
    ),
    "coredns": AddonPin(
        "v1.14.3-eksbuild.3",
        "1.35",
        "AWS EKS User Guide, 'CoreDNS versions' table, row 1.35 "
        "(docs.aws.amazon.com/ja_jp/eks/latest/userguide/managing-coredns.md)",
    ),
    "kube-proxy": AddonPin(
        "v1.35.3-eksbuild.13",
        "1.35",
        "AWS EKS User Guide, 'kube-proxy versions' table, row 1.35 "
        "(docs.aws.amazon.com/ja_jp/eks/latest/userguide/managing-kube-proxy.md)",
    ),
    "aws-ebs-csi-driver": AddonPin("v1.62.0-eksbuild.1", "1.35", _CONVOX_135),
    "aws-efs-csi-driver": AddonPin("v3.3.0-eksbuild.1", "1.35", _CONVOX_135),
    "eks-pod-identity-agent": AddonPin("v1.3.10-eksbuild.3", "1.35", _CONVOX_135),
    # Community add-on (AWS EKS User Guide, "Community add-ons": name metrics-server, namespace
    # kube-system, no IAM); it listens on 10251, not upstream's 10250 (User Guide,
    # "metrics-server": "pre-configured to use port 10251"; aws/containers-roadmap#2589).
    # The HPA's resource metrics (metrics.k8s.io) come from it.
    "metrics-server": AddonPin(
        "v0.8.1-eksbuild.6",
        "1.35",
        "public EKS 1.35 add-on pins beside this list's kube-proxy/pod-identity builds "
        "(code search 'v0.8.1-eksbuild': 'v0.8.1-eksbuild.6 is in the compatibility list for "
        "K8s 1.35'); confirm with `aws eks describe-addon-versions --addon-name metrics-server "
        "--kubernetes-version 1.35` before deploying",
    ),
}

# AMI of Karpenter-launched nodes: an amazon-eks-ami release (github.com/awslabs/amazon-eks-ami
# releases). Pinned, because "@latest" makes Karpenter roll every GPU node whenever AWS
# publishes an AMI. Managed node groups keep the AMI they were created with until updated.
KARPENTER_AMI_ALIAS = "al2023@v20260818"
# The same for pools with ami_family: bottlerocket; Karpenter picks the NVIDIA variant on GPU
# types. v1.66.0 (2026-09): github.com/bottlerocket-os/bottlerocket pull 4946 (release notes).
KARPENTER_BOTTLEROCKET_ALIAS = "bottlerocket@v1.66.0"

# --- Training and RDMA (issue 15: k8s_charts/training.py, ray_clusters.py, efa_test.py, rdma.py) ---
# Kubeflow Trainer v2 (TrainJob, ClusterTrainingRuntime; installs JobSet 0.12.0 as a subchart).
# Chart and registry: kubeflow/trainer CHANGELOG (v2.2.0 "helm install kubeflow-trainer
# oci://ghcr.io/kubeflow/charts/kubeflow-trainer"); the controller image follows the chart version.
KUBEFLOW_TRAINER = HelmChartPin(
    repository="oci://ghcr.io/kubeflow/charts/kubeflow-trainer", chart="kubeflow-trainer", version="2.3.0"
)
KUBERAY_OPERATOR = HelmChartPin(
    repository="https://ray-project.github.io/kuberay-helm/", chart="kuberay-operator", version="1.7.0"
)
# NVIDIA Network Operator: 26.4.1, the newest stable release, not 26.7.0-rc.2 (a release candidate
# has no place in a production platform). The stored NicClusterPolicy CRD is rc.2's; the policy
# uses only components 26.4.1 ships too (README, "RDMA data plane", says how that was checked).
NETWORK_OPERATOR = HelmChartPin(
    repository="https://helm.ngc.nvidia.com/nvidia", chart="network-operator", version="26.4.1"
)
# Component images of the NicClusterPolicy: NVIDIA tags them with the operator's release.
NETWORK_OPERATOR_COMPONENTS = ImagePin(repository="nvcr.io/nvidia/mellanox", tag="network-operator-v26.4.1")
# The PyTorch examples (the dev pods' PyTorch line, runtime flavour: no compilers needed).
TRAINING_PYTORCH = ImagePin(repository="docker.io/pytorch/pytorch", tag="2.8.0-cuda12.9-cudnn9-runtime")
# AWS's nccl-tests image: CUDA, the EFA installer (libfabric, rdma-core), aws-ofi-nccl, NCCL,
# OpenMPI and nccl-tests, each version in the tag.
NCCL_TESTS = ImagePin(
    repository="public.ecr.aws/hpc-cloud/nccl-tests",
    tag="cuda13.0.2-efa1.48.0-ofiv1.19.0-ncclv2.30.4-1-testsv2.18.3",
)
RAY_GPU = ImagePin(repository="docker.io/rayproject/ray", tag="2.52.1-py312-gpu")
# The example TrainJob's image on EFA pools: AWS's Deep Learning Container, the same PyTorch 2.8.0
# and CUDA 12.9 line as TRAINING_PYTORCH plus the EFA installer 1.43.1 (libfabric, aws-ofi-nccl)
# and NCCL 2.27.3 (aws/deep-learning-containers, docs/releasenotes/pytorch/
# pytorch-training-2.8-gpu-ec2.md). AWS republishes patched builds under this tag.
TRAINING_PYTORCH_EFA = ImagePin(
    repository="public.ecr.aws/deep-learning-containers/pytorch-training",
    tag="2.8.0-gpu-py312-cu129-ubuntu22.04-ec2",
)

HELM_CHARTS += (KUBEFLOW_TRAINER, KUBERAY_OPERATOR, NETWORK_OPERATOR)
IMAGES += (NETWORK_OPERATOR_COMPONENTS, TRAINING_PYTORCH, NCCL_TESTS, RAY_GPU, TRAINING_PYTORCH_EFA)
