"""Copy Secrets Manager secrets into Kubernetes Secrets, so that no credential is ever a
literal in a template, a Helm value or the repository.

``SECRETS`` (set by the CronJob) is a JSON list of ``{"namespace", "name", "arn"}``, each
optionally with ``"restart"``: a Deployment in the same namespace whose pods read the Secret
only at start (MLflow's server, whose database login the platform PostgreSQL rotates). Each
secret's SecretString must be a JSON object; its keys become the Kubernetes Secret's keys
(e.g. ``HF_TOKEN``, or ``admin-user``/``admin-password`` for Grafana).

A ``restart`` Deployment is rolled when the copy it runs with is not the secret's current
version: its pod template carries the Secrets Manager version it started with
(:data:`VERSION_ANNOTATION`, an id that says nothing of the value); when that differs from the
version just written, the job patches it, and the Deployment replaces its pods (a rolling
update). Level-triggered: a run whose patch failed is retried by the next one, not forgotten;
a Deployment not installed yet is skipped (its pods will start with the new copy). The first run
after the Deployment's install stamps the annotation, which rolls it once.

Guarantees, as for the ECR token refresh (refresh.py, whose single-call write it shares):
- a secret that cannot be read or is not a JSON object of strings is reported and skipped,
  and its previous Kubernetes Secret stays as it was;
- one failure never stops the other secrets;
- a second run with the same values writes the same Secrets (idempotent);
- any failure ends the process non-zero, so the Job shows Failed.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import sys

from refresh import WriteResult, _reason, write_secret

MANAGED_BY = "secret-sync"
VERSION_ANNOTATION = "gpuplatform.io/secret-version"
log = logging.getLogger(MANAGED_BY)


class UnusableSecret(ValueError):
    """The secret's value is not a JSON object of strings."""


def secret_data(secret_string: str) -> dict[str, str]:
    try:
        value = json.loads(secret_string)
    except json.JSONDecodeError as exc:
        raise UnusableSecret(f"SecretString is not JSON ({exc.msg})") from None
    if not isinstance(value, dict) or not value or not all(isinstance(v, str) for v in value.values()):
        raise UnusableSecret("SecretString must be a non-empty JSON object of string values")
    return {key: base64.b64encode(text.encode()).decode() for key, text in sorted(value.items())}


def secret_manifest(namespace: str, name: str, arn: str, data: dict[str, str]) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": MANAGED_BY},
            "annotations": {"gpuplatform.io/source": arn},
        },
        "data": data,
    }


def roll_out(apps_v1, namespace: str, name: str, version: str) -> bool:
    """Make ``name``'s pods run with ``version``: patch its pod template's annotation when it
    names another version (the Deployment then replaces its pods). False when nothing was to do:
    the pods have that version, or the Deployment does not exist (yet)."""
    from kubernetes.client.exceptions import ApiException

    try:
        deployment = apps_v1.read_namespaced_deployment(name, namespace)
    except ApiException as exc:
        if exc.status != 404:
            raise
        return False
    annotations = deployment.spec.template.metadata.annotations or {}
    if annotations.get(VERSION_ANNOTATION) == version:
        return False
    patch = {"spec": {"template": {"metadata": {"annotations": {VERSION_ANNOTATION: version}}}}}
    apps_v1.patch_namespaced_deployment(name, namespace, patch)
    return True


def sync(secrets_client, core_v1, targets: list[dict], apps_v1=None) -> WriteResult:
    """``apps_v1``: the client that rolls the targets' ``restart`` Deployments (needed when
    any target names one)."""
    result = WriteResult()
    for target in targets:
        where = f"{target['namespace']}/{target['name']}"
        try:
            value = secrets_client.get_secret_value(SecretId=target["arn"])
            data = secret_data(value.get("SecretString") or "")
            write_secret(core_v1, secret_manifest(target["namespace"], target["name"], target["arn"], data))
            restart = target.get("restart")
            if restart and roll_out(apps_v1, target["namespace"], restart, value["VersionId"]):
                log.info(
                    json.dumps({"event": "rolled_out", "deployment": f"{target['namespace']}/{restart}"})
                )
        except Exception as exc:  # one secret failing must not stop the others
            result.failed[where] = _reason(exc)
            log.error(json.dumps({"event": "sync_failed", "secret": where, "error": _reason(exc)}))
        else:
            result.written.append(where)
            log.info(json.dumps({"event": "secret_written", "secret": where}))
    return result


def main(environ: dict[str, str] | None = None) -> int:
    import boto3
    from kubernetes import client, config

    env = os.environ if environ is None else environ
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        targets = json.loads(env.get("SECRETS", ""))
        assert isinstance(targets, list) and all({"namespace", "name", "arn"} <= set(t) for t in targets)
    except (json.JSONDecodeError, AssertionError, TypeError):
        log.error(
            json.dumps(
                {"event": "misconfigured", "error": "SECRETS must be a JSON list of namespace/name/arn"}
            )
        )
        return 2
    config.load_incluster_config()
    result = sync(boto3.client("secretsmanager"), client.CoreV1Api(), targets, client.AppsV1Api())
    log.info(json.dumps({"event": "done", "written": result.written, "failed": result.failed}))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
