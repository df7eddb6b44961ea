"""ECR token refresh with IRSA: a service account whose role may only get an authorization
token and push/pull the platform's repositories, and the CronJob that keeps a
``kubernetes.io/dockerconfigjson`` Secret fresh in each configured namespace."""

from __future__ import annotations

from collections.abc import Sequence

import cdk8s
from aws_cdk import Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from constructs import Construct

from k8s_charts.ecr_token_refresh import NAME, EcrTokenRefreshChart
from platform_config import namespaces
from platform_config.model import TokenRefreshSettings
from platform_constructs.nag import acknowledge
from platform_constructs.platform_jobs import platform_jobs_image
from platform_constructs.workload_identity import irsa_service_account

SERVICE_ACCOUNT = NAME


class EcrTokenRefresh(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: eks.ICluster,
        repositories: Sequence[ecr.IRepository],
        settings: TokenRefreshSettings,
        namespaces_ready: Construct,
    ) -> None:
        super().__init__(scope, construct_id)
        self.service_account = irsa_service_account(
            self,
            "ServiceAccount",
            cluster=cluster,
            name=SERVICE_ACCOUNT,
            namespace=namespaces.ECR_TOKEN_REFRESH,
            after=namespaces_ready,
        )
        role = self.service_account.role
        # GetAuthorizationToken has no resource-level permissions: "*" is the only form.
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"])
        )
        acknowledge(
            role,
            "ecr:GetAuthorizationToken supports no resource-level permission, so its statement "
            "must name '*'; push and pull are granted only on the platform's repositories.",
            "AwsSolutions-IAM5[Resource::*]",
        )
        for repository in repositories:
            repository.grant_pull_push(role)

        image = platform_jobs_image(self, "Image")
        chart = EcrTokenRefreshChart(
            cdk8s.App(),
            NAME,
            namespace=namespaces.ECR_TOKEN_REFRESH,
            service_account=SERVICE_ACCOUNT,
            image=image.image_uri,
            region=Stack.of(self).region,
            target_namespaces=list(settings.namespaces),
            secret_name=settings.secret_name,
            schedule=settings.schedule,
            revision=image.asset_hash,
        )
        self.manifest = cluster.add_cdk8s_chart("EcrTokenRefreshManifest", chart)
        self.manifest.node.add_dependency(self.service_account)
        self.manifest.node.add_dependency(namespaces_ready)
