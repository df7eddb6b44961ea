"""Secrets Manager -> Kubernetes Secrets with IRSA: a service account whose role may read
only the configured secrets, and the jobs that copy them (``jobs/platform_jobs``)."""

from __future__ import annotations

from collections.abc import Sequence

import cdk8s
from aws_cdk import Stack
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from k8s_charts.secret_sync import SecretSyncChart
from platform_constructs.platform_jobs import attach, platform_jobs_image
from platform_constructs.workload_identity import irsa_service_account

SERVICE_ACCOUNT = "secret-sync"


class SecretSync(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: eks.ICluster,
        namespace: str,
        targets: list[dict[str, str]],
        namespaces_ready: Construct,
        keys: Sequence[kms.IKey] = (),
    ) -> None:
        """``targets``: ``{"namespace", "name", "arn"}`` per Kubernetes Secret; ``keys``: the
        customer keys some of those secrets are encrypted with (the platform PostgreSQL's)."""
        super().__init__(scope, construct_id)
        self.service_account = irsa_service_account(
            self,
            "ServiceAccount",
            cluster=cluster,
            name=SERVICE_ACCOUNT,
            namespace=namespace,
            after=namespaces_ready,
        )
        # Full ARNs (the stage model requires the random suffix): exactly these secrets.
        self.service_account.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"], resources=sorted({t["arn"] for t in targets})
            )
        )
        if keys:
            self.service_account.role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["kms:Decrypt"],
                    resources=[key.key_arn for key in keys],
                    conditions={
                        "StringEquals": {
                            "kms:ViaService": f"secretsmanager.{Stack.of(self).region}.amazonaws.com"
                        }
                    },
                )
            )
        image = platform_jobs_image(self, "Image")
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
        self.manifest = attach(self, "Manifest", cluster, chart)
        self.manifest.node.add_dependency(self.service_account, namespaces_ready)
