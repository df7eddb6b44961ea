"""What the in-cluster platform jobs (ECR token refresh, Secrets Manager sync) share: the
image CDK builds from ``jobs/platform_jobs`` and the way their cdk8s charts are applied."""

from __future__ import annotations

from pathlib import Path

import cdk8s
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_eks_v2 as eks
from constructs import Construct

from platform_config.versions import PLATFORM_JOBS_BASE

JOB_SOURCE = Path(__file__).resolve().parent.parent / "jobs" / "platform_jobs"


def platform_jobs_image(scope: Construct, construct_id: str) -> ecr_assets.DockerImageAsset:
    """The jobs' image; both jobs build the same directory, so CDK publishes it once."""
    return ecr_assets.DockerImageAsset(
        scope,
        construct_id,
        directory=str(JOB_SOURCE),
        build_args={"BASE_IMAGE": PLATFORM_JOBS_BASE.uri},
        platform=ecr_assets.Platform.LINUX_AMD64,
    )


def attach(
    scope: Construct, construct_id: str, cluster: eks.ICluster, chart: cdk8s.Chart
) -> eks.KubernetesManifest:
    """A cdk8s chart as one manifest in ``scope``'s stack (``cluster.add_cdk8s_chart`` would
    put it into the cluster's stack)."""
    return eks.KubernetesManifest(scope, construct_id, cluster=cluster, manifest=chart.to_json())
