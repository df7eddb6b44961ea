"""Every Helm chart and container image the platform installs, pinned in one place.

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

# Base image of the in-cluster ECR token refresh job (jobs/ecr_token_refresh/Dockerfile
# reads this through a build argument, so the Dockerfile holds no version of its own).
ECR_TOKEN_REFRESH_BASE = ImagePin(
    repository="public.ecr.aws/docker/library/python",
    tag="3.12.12-slim-bookworm",
)

NVIDIA_DEVICE_PLUGIN = HelmChartPin(
    repository="https://nvidia.github.io/k8s-device-plugin",
    chart="nvidia-device-plugin",
    version="0.19.0",
)

EFA_DEVICE_PLUGIN = HelmChartPin(
    repository="https://aws.github.io/eks-charts",
    chart="aws-efa-k8s-device-plugin",
    version="v0.5.15",
)

HELM_CHARTS: tuple[HelmChartPin, ...] = (KARPENTER, NVIDIA_DEVICE_PLUGIN, EFA_DEVICE_PLUGIN)
IMAGES: tuple[ImagePin, ...] = (ECR_TOKEN_REFRESH_BASE,)

# EKS managed add-ons. ``None`` lets EKS install its default build for the cluster's
# Kubernetes version (what `aws eks describe-addon-versions --kubernetes-version 1.35`
# marks defaultVersion), which EKS keeps compatible. Pin a build here, e.g.
# "v1.20.4-eksbuild.1", to freeze it; the value is passed to AWS::EKS::Addon.AddonVersion.
EKS_ADDON_VERSIONS: dict[str, str | None] = {
    "vpc-cni": None,
    "coredns": None,
    "kube-proxy": None,
    "aws-ebs-csi-driver": None,
    "aws-efs-csi-driver": None,
}

# AMI of Karpenter-launched nodes: an amazon-eks-ami release (github.com/awslabs/amazon-eks-ami
# releases). Pinned, because "@latest" makes Karpenter roll every GPU node whenever AWS
# publishes an AMI. Managed node groups keep the AMI they were created with until updated.
KARPENTER_AMI_ALIAS = "al2023@v20260818"
