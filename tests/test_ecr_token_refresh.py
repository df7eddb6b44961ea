"""The ECR token refresh job against moto's ECR and the real Kubernetes client talking to
an in-process fake API server (tests/fake_kube.py)."""

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
import refresh

REGION = "us-west-2"
SECRET = "ecr-registry-credentials"
NAMESPACES = ["dynamo-system", "gpu-dev"]


@pytest.fixture
def ecr():
    with mock_aws():
        yield boto3.client("ecr", region_name=REGION)


def docker_config_of(secret: dict) -> dict:
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    return json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))


def test_writes_a_docker_config_for_the_registry_host(ecr):
    with FakeKube(namespaces=set(NAMESPACES)) as kube:
        result = refresh.refresh(ecr, kube.core_v1(), namespaces=NAMESPACES, secret_name=SECRET)
    assert result.ok and result.written == NAMESPACES
    for namespace in NAMESPACES:
        secret = kube.secrets[(namespace, SECRET)]
        auth = docker_config_of(secret)["auths"]["123456789012.dkr.ecr.us-west-2.amazonaws.com"]
        assert auth["username"] == "AWS"
        assert base64.b64decode(auth["auth"]).decode() == f"AWS:{auth['password']}"
        assert secret["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "ecr-token-refresh"}
        assert refresh.EXPIRES_ANNOTATION in secret["metadata"]["annotations"]
    assert [(r.method, r.path) for r in kube.requests][:2] == [
        ("GET", f"/api/v1/namespaces/dynamo-system/secrets/{SECRET}"),
        ("POST", "/api/v1/namespaces/dynamo-system/secrets"),
    ]


def test_registry_ids_select_the_registry(ecr):
    with FakeKube(namespaces={"gpu-dev"}) as kube:
        refresh.refresh(
            ecr, kube.core_v1(), namespaces=["gpu-dev"], secret_name=SECRET, registry_ids=["111111111111"]
        )
    assert list(docker_config_of(kube.secrets[("gpu-dev", SECRET)])["auths"]) == [
        "111111111111.dkr.ecr.us-west-2.amazonaws.com"
    ]


def test_idempotent_second_run_replaces_in_place(ecr):
    with FakeKube(namespaces=set(NAMESPACES)) as kube:
        core = kube.core_v1()
        refresh.refresh(ecr, core, namespaces=NAMESPACES, secret_name=SECRET)
        first = {k: v["data"] for k, v in kube.secrets.items()}
        versions = {k: v["metadata"]["resourceVersion"] for k, v in kube.secrets.items()}
        result = refresh.refresh(ecr, core, namespaces=NAMESPACES, secret_name=SECRET)
    assert result.ok
    assert {k: v["data"] for k, v in kube.secrets.items()} == first
    assert len(kube.secrets) == len(NAMESPACES)
    assert all(kube.secrets[k]["metadata"]["resourceVersion"] != versions[k] for k in versions)
    second_run = kube.requests[len(NAMESPACES) * 2 :]
    assert [r.method for r in second_run] == ["GET", "PUT", "GET", "PUT"]
    assert all(
        r.body["metadata"]["resourceVersion"] == versions[(r.body["metadata"]["namespace"], SECRET)]
        for r in second_run
        if r.method == "PUT"
    )


class FailingEcr:
    def get_authorization_token(self, **kwargs):
        from botocore.exceptions import ClientError

        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "denied"}}, "GetAuthorizationToken"
        )


def test_token_failure_writes_nothing_and_raises(ecr):
    with FakeKube(namespaces=set(NAMESPACES)) as kube:
        refresh.refresh(ecr, kube.core_v1(), namespaces=NAMESPACES, secret_name=SECRET)
        before = json.dumps(sorted(kube.secrets.items()), sort_keys=True)
        requests_before = len(kube.requests)
        with pytest.raises(refresh.TokenUnavailable, match="AccessDeniedException"):
            refresh.refresh(FailingEcr(), kube.core_v1(), namespaces=NAMESPACES, secret_name=SECRET)
        assert json.dumps(sorted(kube.secrets.items()), sort_keys=True) == before
        assert len(kube.requests) == requests_before


@pytest.mark.parametrize(
    "authorization_data",
    [
        [],
        [{"authorizationToken": "bm90LWEtcGFpcg==", "proxyEndpoint": "https://x"}],
        [{"proxyEndpoint": "https://x"}],
    ],
)
def test_unusable_token_is_refused(authorization_data):
    with pytest.raises(refresh.TokenUnavailable):
        refresh.docker_config(authorization_data)


def test_one_failing_namespace_leaves_its_secret_and_others_refresh(ecr):
    with FakeKube(namespaces=set(NAMESPACES)) as kube:
        refresh.refresh(ecr, kube.core_v1(), namespaces=NAMESPACES, secret_name=SECRET)
        kept = json.dumps(kube.secrets[("dynamo-system", SECRET)], sort_keys=True)
        kube.fail_namespaces["dynamo-system"] = 500
        result = refresh.refresh(ecr, kube.core_v1(), namespaces=NAMESPACES, secret_name=SECRET)
    assert not result.ok
    assert result.written == ["gpu-dev"] and list(result.failed) == ["dynamo-system"]
    assert result.failed["dynamo-system"].startswith("500")
    assert json.dumps(kube.secrets[("dynamo-system", SECRET)], sort_keys=True) == kept


def test_missing_namespace_is_a_failure_not_a_crash(ecr):
    with FakeKube(namespaces={"gpu-dev"}) as kube:
        result = refresh.refresh(ecr, kube.core_v1(), namespaces=["absent", "gpu-dev"], secret_name=SECRET)
    assert result.written == ["gpu-dev"] and result.failed["absent"].startswith("404")


def test_main_exit_codes(ecr, monkeypatch):
    from kubernetes import config

    assert refresh.main({"TARGET_NAMESPACES": "", "SECRET_NAME": SECRET}) == 2
    with FakeKube(namespaces={"gpu-dev"}) as kube:
        monkeypatch.setattr(config, "load_incluster_config", lambda: None)
        core = kube.core_v1()
        monkeypatch.setattr("kubernetes.client.CoreV1Api", lambda: core)
        monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
        assert refresh.main({"TARGET_NAMESPACES": "gpu-dev", "SECRET_NAME": SECRET}) == 0
        assert refresh.main({"TARGET_NAMESPACES": "gpu-dev,absent", "SECRET_NAME": SECRET}) == 1
        monkeypatch.setattr(boto3, "client", lambda *a, **k: FailingEcr())
        assert refresh.main({"TARGET_NAMESPACES": "gpu-dev", "SECRET_NAME": SECRET}) == 1
