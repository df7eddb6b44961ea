"""Kubernetes side of the ECR token refresh: a CronJob (default every 6 hours; tokens live
12), a Job at install, and RBAC to write one dockerconfigjson Secret per target namespace."""

from __future__ import annotations

from constructs import Construct

from k8s_charts.secret_writer_job import SecretWriterJobChart

NAME = "ecr-token-refresh"


class EcrTokenRefreshChart(SecretWriterJobChart):
    def __init__(
        self,
        scope: Construct,
        chart_id: str,
        *,
        namespace: str,
        service_account: str,
        image: str,
        region: str,
        target_namespaces: list[str],
        secret_name: str,
        schedule: str,
        revision: str,
    ) -> None:
        """``revision``: the image asset hash (see ``SecretWriterJobChart``)."""
        super().__init__(
            scope,
            chart_id,
            name=NAME,
            namespace=namespace,
            service_account=service_account,
            image=image,
            env={
                "AWS_REGION": region,
                "AWS_STS_REGIONAL_ENDPOINTS": "regional",
                "TARGET_NAMESPACES": ",".join(target_namespaces),
                "SECRET_NAME": secret_name,
            },
            grants={target: [secret_name] for target in target_namespaces},
            schedule=schedule,
            revision=revision,
            container="refresh",
        )
