"""The Secrets Manager -> Kubernetes Secret sync job against moto's Secrets Manager and the
real Kubernetes client talking to the in-process fake API server (tests/fake_kube.py)."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from tests.fake_kube import FakeKube

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "jobs" / "platform_jobs"))
import sync_secrets

REGION = "us-west-2"


@pytest.fixture
def secrets():
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=REGION)


def decoded(secret: dict) -> dict[str, str]:
    return {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}


def test_copies_each_key_of_a_json_secret_into_the_target_namespace(secrets):
    arn = secrets.create_secret(
        Name="grafana-admin", SecretString='{"admin-user": "ops", "admin-password": "s3"}'
    )["ARN"]
    with FakeKube(namespaces={"monitoring"}) as kube:
        result = sync_secrets.sync(
            secrets, kube.core_v1(), [{"namespace": "monitoring", "name": "grafana-admin", "arn": arn}]
        )
        stored = kube.secrets[("monitoring", "grafana-admin")]
    assert result.ok and result.written == ["monitoring/grafana-admin"]
    assert decoded(stored) == {"admin-user": "ops", "admin-password": "s3"}
    assert stored["metadata"]["annotations"]["gpuplatform.io/source"] == arn


def test_second_run_replaces_in_place_and_picks_up_a_rotation(secrets):
    arn = secrets.create_secret(Name="hf", SecretString='{"HF_TOKEN": "old"}')["ARN"]
    target = [{"namespace": "dynamo-system", "name": "hf-token", "arn": arn}]
    with FakeKube(namespaces={"dynamo-system"}) as kube:
        sync_secrets.sync(secrets, kube.core_v1(), target)
        secrets.put_secret_value(SecretId=arn, SecretString='{"HF_TOKEN": "new"}')
        assert sync_secrets.sync(secrets, kube.core_v1(), target).ok
        stored = kube.secrets[("dynamo-system", "hf-token")]
        methods = [r.method for r in kube.requests if r.path.endswith("/secrets/hf-token")]
    assert decoded(stored) == {"HF_TOKEN": "new"}
    assert "PUT" in methods  # replaced, with the resourceVersion it read


@pytest.mark.parametrize("value", ["not json", '["a list"]', '{"n": 1}', "{}"])
def test_a_malformed_secret_is_skipped_keeps_its_old_copy_and_does_not_stop_the_rest(secrets, value):
    bad = secrets.create_secret(Name="bad", SecretString='{"HF_TOKEN": "kept"}')["ARN"]
    good = secrets.create_secret(Name="good", SecretString='{"rootUser": "u", "rootPassword": "p"}')["ARN"]
    targets = [
        {"namespace": "dynamo-system", "name": "hf-token", "arn": bad},
        {"namespace": "minio", "name": "minio-root", "arn": good},
    ]
    with FakeKube(namespaces={"dynamo-system", "minio"}) as kube:
        sync_secrets.sync(secrets, kube.core_v1(), targets)
        secrets.put_secret_value(SecretId=bad, SecretString=value)
        result = sync_secrets.sync(secrets, kube.core_v1(), targets)
        kept = kube.secrets[("dynamo-system", "hf-token")]
    assert not result.ok and list(result.failed) == ["dynamo-system/hf-token"]
    assert result.written == ["minio/minio-root"]
    assert decoded(kept) == {"HF_TOKEN": "kept"}


def test_an_unreadable_secret_fails_that_target_only(secrets):
    good = secrets.create_secret(Name="good", SecretString='{"HF_TOKEN": "t"}')["ARN"]
    missing = good.replace("good", "missing")
    targets = [
        {"namespace": "minio", "name": "minio-root", "arn": missing},
        {"namespace": "dynamo-system", "name": "hf-token", "arn": good},
    ]
    with FakeKube(namespaces={"dynamo-system", "minio"}) as kube:
        result = sync_secrets.sync(secrets, kube.core_v1(), targets)
    assert list(result.failed) == ["minio/minio-root"] and result.written == ["dynamo-system/hf-token"]


def test_main_refuses_a_malformed_configuration():
    assert sync_secrets.main({"SECRETS": "nope"}) == 2
    assert sync_secrets.main({"SECRETS": json.dumps([{"namespace": "x"}])}) == 2


# --- a rotation reaches the pods that read the Secret only at start (MLflow) ----------------------


def deployment(version: str | None = None) -> dict:
    annotations = {sync_secrets.VERSION_ANNOTATION: version} if version else {}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "mlflow", "namespace": "mlflow", "resourceVersion": "1"},
        "spec": {
            "selector": {"matchLabels": {"app": "mlflow"}},
            "template": {
                "metadata": {"labels": {"app": "mlflow"}, "annotations": annotations},
                "spec": {"containers": [{"name": "mlflow", "image": "mlflow"}]},
            },
        },
    }


def rotate(secrets, arn: str, password: str) -> str:
    """What the multi-user rotation leaves: a new current version with the other login."""
    value = json.dumps({"username": "mlflow_clone", "password": password})
    return secrets.put_secret_value(SecretId=arn, SecretString=value)["VersionId"]


def template_version(kube: FakeKube) -> str | None:
    return kube.deployments[("mlflow", "mlflow")]["spec"]["template"]["metadata"]["annotations"].get(
        sync_secrets.VERSION_ANNOTATION
    )


def test_a_rotated_login_rolls_the_deployment_that_reads_it_and_an_unchanged_one_does_not(secrets):
    created = secrets.create_secret(Name="mlflow-db", SecretString='{"username": "mlflow", "password": "a"}')
    arn = created["ARN"]
    target = [{"namespace": "mlflow", "name": "mlflow-database", "arn": arn, "restart": "mlflow"}]
    with FakeKube(namespaces={"mlflow"}) as kube:
        kube.deployments[("mlflow", "mlflow")] = deployment(created["VersionId"])  # runs the current copy
        assert sync_secrets.sync(secrets, kube.core_v1(), target, kube.apps_v1()).ok
        patches = [r for r in kube.requests if r.method == "PATCH"]
        assert patches == []  # nothing changed: no restart

        rotated = rotate(secrets, arn, "b")
        assert sync_secrets.sync(secrets, kube.core_v1(), target, kube.apps_v1()).ok
        assert decoded(kube.secrets[("mlflow", "mlflow-database")])["password"] == "b"
        assert template_version(kube) == rotated  # a new pod template: the Deployment rolls
        (patch,) = [r for r in kube.requests if r.method == "PATCH"]
        assert patch.path == "/apis/apps/v1/namespaces/mlflow/deployments/mlflow"
        assert "b" not in json.dumps(patch.body).replace(rotated, "")  # the version id, not the value

        assert sync_secrets.sync(secrets, kube.core_v1(), target, kube.apps_v1()).ok
        assert len([r for r in kube.requests if r.method == "PATCH"]) == 1  # rolled once per version


def test_a_failed_roll_fails_the_run_and_the_next_run_rolls(secrets):
    """Level-triggered: the Secret was already written when the patch failed, and the next run
    compares the pods' version, not the Secret's, so the rotation is not lost."""
    created = secrets.create_secret(Name="mlflow-db", SecretString='{"username": "mlflow", "password": "a"}')
    arn = created["ARN"]
    target = [{"namespace": "mlflow", "name": "mlflow-database", "arn": arn, "restart": "mlflow"}]
    with FakeKube(namespaces={"mlflow"}) as kube:
        kube.deployments[("mlflow", "mlflow")] = deployment(created["VersionId"])
        rotated = rotate(secrets, arn, "b")
        kube.inject("deployments/mlflow", method="PATCH", status=500, times=1)
        result = sync_secrets.sync(secrets, kube.core_v1(), target, kube.apps_v1())
        assert list(result.failed) == ["mlflow/mlflow-database"]
        assert template_version(kube) == created["VersionId"]
        assert sync_secrets.sync(secrets, kube.core_v1(), target, kube.apps_v1()).ok
        assert template_version(kube) == rotated


def test_a_deployment_not_installed_yet_is_skipped(secrets):
    """At install the sync runs before MLflow's release: its pods will start with this copy."""
    login = '{"username": "mlflow", "password": "a"}'
    arn = secrets.create_secret(Name="mlflow-db", SecretString=login)["ARN"]
    target = [{"namespace": "mlflow", "name": "mlflow-database", "arn": arn, "restart": "mlflow"}]
    with FakeKube(namespaces={"mlflow"}) as kube:
        assert sync_secrets.sync(secrets, kube.core_v1(), target, kube.apps_v1()).ok
        assert ("mlflow", "mlflow-database") in kube.secrets
