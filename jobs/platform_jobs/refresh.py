"""Refresh ``kubernetes.io/dockerconfigjson`` Secrets from an ECR authorization token.

ECR tokens live 12 hours. In-cluster builders and pushers (Dynamo's image builder, BuildKit)
cannot use the node role, so this job -- run by a CronJob every few hours and once at
install -- asks ECR for a token with its IRSA role and writes one pull/push Secret into each
target namespace.

Guarantees:
- nothing is written unless a fresh token was obtained, so a failed ECR call leaves every
  previous Secret as it was;
- each Secret is replaced in one API call (read, then update or create), so a failed write
  leaves that namespace's previous Secret untouched while the other namespaces still refresh;
- running it twice with the same token writes the same Secret (idempotent);
- any failure ends the process non-zero, so the Job shows Failed and alerts can fire.

Configuration comes from the environment the CronJob sets: ``TARGET_NAMESPACES`` (comma
separated), ``SECRET_NAME`` and optionally ``REGISTRY_IDS`` (comma separated account ids).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import sys
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlparse

MANAGED_BY = "ecr-token-refresh"
EXPIRES_ANNOTATION = "gpuplatform.io/token-expires-at"

log = logging.getLogger(MANAGED_BY)


class TokenUnavailable(RuntimeError):
    """ECR did not hand out a usable token; no Secret may be touched."""


@dataclass
class WriteResult:
    """What one run of a job wrote (namespaces or secrets) and what failed, with why; the
    secret sync reports the same way."""

    written: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


def docker_config(authorization_data: list[dict]) -> tuple[dict, datetime | None]:
    """Docker ``config.json`` content for every registry in an ECR token response."""
    auths: dict[str, dict[str, str]] = {}
    expires: datetime | None = None
    for item in authorization_data:
        token = item.get("authorizationToken")
        endpoint = item.get("proxyEndpoint")
        if not token or not endpoint:
            raise TokenUnavailable("ECR answered without authorizationToken/proxyEndpoint")
        try:
            username, password = base64.b64decode(token, validate=True).decode().split(":", 1)
        except (ValueError, UnicodeDecodeError) as exc:
            raise TokenUnavailable(f"ECR token is not base64 'user:password' ({exc})") from None
        host = urlparse(endpoint).netloc or endpoint
        auths[host] = {"username": username, "password": password, "auth": token}
        item_expiry = item.get("expiresAt")
        if item_expiry is not None and (expires is None or item_expiry < expires):
            expires = item_expiry
    if not auths:
        raise TokenUnavailable("ECR returned no authorization data")
    return {"auths": auths}, expires


def fetch_docker_config(ecr_client, registry_ids: list[str] | None = None) -> tuple[dict, datetime | None]:
    kwargs = {"registryIds": registry_ids} if registry_ids else {}
    try:
        response = ecr_client.get_authorization_token(**kwargs)
    except Exception as exc:  # botocore errors share no useful base beyond Exception
        raise TokenUnavailable(f"ecr:GetAuthorizationToken failed: {exc}") from exc
    return docker_config(response.get("authorizationData", []))


def secret_manifest(name: str, namespace: str, config: dict, expires: datetime | None) -> dict:
    payload = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    annotations = {EXPIRES_ANNOTATION: expires.isoformat()} if expires else {}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/dockerconfigjson",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": MANAGED_BY},
            "annotations": annotations,
        },
        "data": {".dockerconfigjson": base64.b64encode(payload).decode()},
    }


def write_secret(core_v1, manifest: dict) -> None:
    """Create the Secret, or replace it whole if it exists (one call either way)."""
    from kubernetes.client.exceptions import ApiException

    name = manifest["metadata"]["name"]
    namespace = manifest["metadata"]["namespace"]
    try:
        existing = core_v1.read_namespaced_secret(name, namespace)
    except ApiException as exc:
        if exc.status != 404:
            raise
        core_v1.create_namespaced_secret(namespace, manifest)
        return
    manifest["metadata"]["resourceVersion"] = existing.metadata.resource_version
    core_v1.replace_namespaced_secret(name, namespace, manifest)


def refresh(
    ecr_client,
    core_v1,
    *,
    namespaces: list[str],
    secret_name: str,
    registry_ids: list[str] | None = None,
) -> WriteResult:
    """Fetch one token, then write it to every namespace; raises TokenUnavailable first."""
    config, expires = fetch_docker_config(ecr_client, registry_ids)
    result = WriteResult()
    for namespace in namespaces:
        try:
            write_secret(core_v1, secret_manifest(secret_name, namespace, config, expires))
        except Exception as exc:  # one namespace failing must not stop the others
            result.failed[namespace] = _reason(exc)
            log.error(json.dumps({"event": "write_failed", "namespace": namespace, "error": _reason(exc)}))
        else:
            result.written.append(namespace)
            log.info(json.dumps({"event": "secret_written", "namespace": namespace, "secret": secret_name}))
    return result


def _reason(exc: Exception) -> str:
    status = getattr(exc, "status", None)
    reason = getattr(exc, "reason", None) or str(exc)
    return f"{status} {reason}" if status else reason


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def main(environ: dict[str, str] | None = None) -> int:
    import boto3
    from kubernetes import client, config

    env = os.environ if environ is None else environ
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    namespaces = _split(env.get("TARGET_NAMESPACES"))
    secret_name = env.get("SECRET_NAME", "")
    if not namespaces or not secret_name:
        log.error(
            json.dumps({"event": "misconfigured", "error": "TARGET_NAMESPACES and SECRET_NAME are required"})
        )
        return 2
    config.load_incluster_config()
    try:
        result = refresh(
            boto3.client("ecr"),
            client.CoreV1Api(),
            namespaces=namespaces,
            secret_name=secret_name,
            registry_ids=_split(env.get("REGISTRY_IDS")) or None,
        )
    except TokenUnavailable as exc:
        log.error(json.dumps({"event": "token_unavailable", "error": str(exc)}))
        return 1
    log.info(json.dumps({"event": "done", "written": result.written, "failed": result.failed}))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
