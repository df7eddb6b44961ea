"""Kubernetes side of the Secrets Manager sync: copies each configured secret into its
Kubernetes Secret every 15 minutes (so rotations arrive) and once at install, and rolls the
Deployment a target names as ``restart`` when its pods run with an older copy."""

from __future__ import annotations

import json

from constructs import Construct

from k8s_charts.secret_writer_job import SecretWriterJobChart

NAME = "secret-sync"
SCHEDULE = "*/15 * * * *"


class SecretSyncChart(SecretWriterJobChart):
    def __init__(
        self,
        scope: Construct,
        chart_id: str,
        *,
        namespace: str,
        service_account: str,
        image: str,
        region: str,
        targets: list[dict[str, str]],
        revision: str,
    ) -> None:
        """``targets``: ``{"namespace", "name", "arn"}`` per Kubernetes Secret to keep in step
        with a Secrets Manager secret, with ``"restart"``: the Deployment to roll on a change."""
        grants: dict[str, list[str]] = {}
        restarts: dict[str, list[str]] = {}
        for target in targets:
            grants.setdefault(target["namespace"], []).append(target["name"])
            if "restart" in target:
                restarts.setdefault(target["namespace"], []).append(target["restart"])
        secrets = json.dumps(targets, sort_keys=True)
        super().__init__(
            scope,
            chart_id,
            name=NAME,
            namespace=namespace,
            service_account=service_account,
            image=image,
            env={"AWS_REGION": region, "AWS_STS_REGIONAL_ENDPOINTS": "regional", "SECRETS": secrets},
            grants=grants,
            schedule=SCHEDULE,
            revision=revision,
            container="sync",
            command=["python", "/app/sync_secrets.py"],
            restarts=restarts,
        )
