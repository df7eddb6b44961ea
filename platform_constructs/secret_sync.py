"""Secrets Manager -> Kubernetes Secrets with IRSA: a service account whose role may read
only the configured secrets, and the jobs that copy them (``jobs/platform_jobs``)."""

from __future__ import annotations

import cdk8s
from aws_cdk import Stack
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from constructs import Construct

from k8s_charts.secret_sync import SecretSyncChart
from platform_config.versions import SECRET_SYNC_BASE
from platform_constructs.ecr_token_refresh import JOB_SOURCE

SERVICE_ACCOUNT = "secret-sync"


class SecretSync(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: eks.Cluster,
        namespace: str,
        targets: list[dict[str, str]],
        namespaces_ready: Construct,
    ) -> None:
        """``targets``: ``{"namespace", "name", "arn"}`` per Kubernetes Secret."""
        super().__init__(scope, construct_id)
        self.service_account = eks.ServiceAccount(
            self,
            "ServiceAccount",
            cluster=cluster,
            name=SERVICE_ACCOUNT,
            namespace=namespace,
            identity_type=eks.IdentityType.IRSA,
        )
        self.service_account.node.add_dependency(namespaces_ready)
        # Secret ARNs from the console end in a random suffix; "-??????" matches it either way.
        arns = sorted({t["arn"] if t["arn"][-7:-6] == "-" else f"{t['arn']}-??????" for t in targets})
        self.service_account.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=arns)
        )
        image = ecr_assets.DockerImageAsset(
            self,
            "Image",
            directory=str(JOB_SOURCE),
            build_args={"BASE_IMAGE": SECRET_SYNC_BASE.uri},
            platform=ecr_assets.Platform.LINUX_AMD64,
        )
        chart = SecretSyncChart(
            cdk8s.App(),
            "secret-sync",
            namespace=namespace,
            service_account=SERVICE_ACCOUNT,
            image=image.image_uri,
            region=Stack.of(self).region,
            targets=targets,
            revision=image.asset_hash,
        )
        self.manifest = eks.KubernetesManifest(self, "Manifest", cluster=cluster, manifest=chart.to_json())
        self.manifest.node.add_dependency(self.service_account, namespaces_ready)
