"""MLflow (``workloads.mlflow``): PostgreSQL through a typed database interface whose login never
enters a template, artifacts in a Storage-stack bucket that only the server's IRSA role may use,
no load balancer, and exactly the team namespaces (and Prometheus) reach it, asserted on the
settings and the synthesized stages."""

from __future__ import annotations

import json

import pytest

from platform_config.loader import load_stages
from platform_config.mlflow import MlflowSettings
from stacks.workloads_stack import secret_targets
from tests.test_config import error_of, stage_with
from tests.test_workloads import depends_on, helm_values
from tools.flow_matrix import StageFlows, stage_flows

STAGES = {stage.name: stage for stage in load_stages()}
DEV = STAGES["dev"]
ARTIFACT_BUCKET_ID = "MlflowArtifactBucket43798744"  # pinned: a new id would replace the bucket


def test_a_database_is_required_and_its_login_is_a_secret_arn():
    assert not MlflowSettings().enabled
    assert "workloads.mlflow.database is required when mlflow is enabled" in error_of(
        stage_with(**{"workloads.mlflow": {"enabled": True}})
    )
    bad_arn = stage_with(**{"workloads.mlflow.database.secret_arn": "username:password"})
    assert "workloads.mlflow.database.secret_arn" in error_of(bad_arn)
    assert "workloads.mlflow.database.port" in error_of(stage_with(**{"workloads.mlflow.database.port": 0}))


def test_the_login_reaches_the_cluster_only_through_the_secret_sync():
    database = DEV.workloads.mlflow.database
    assert database is not None
    assert {"namespace": "mlflow", "name": "mlflow-database", "arn": database.secret_arn} in secret_targets(
        DEV
    )


def test_the_release_uses_postgres_the_synced_login_and_its_bucket(synth):
    values = helm_values(synth, "dev", "MlflowRelease")
    postgres = values["backendStore"]["postgres"]
    assert postgres == {
        "enabled": True,
        "host": "platform-db.cluster-example.us-west-2.rds.amazonaws.com",
        "port": 5432,
        "database": "mlflow",
    }
    assert values["backendStore"]["existingDatabaseSecret"]["name"] == "mlflow-database"
    assert values["backendStore"]["databaseMigration"] is True
    assert "password" not in json.dumps(postgres) and "user" not in postgres
    artifacts = values["artifactRoot"]
    assert artifacts["proxiedArtifactStorage"] is True and artifacts["s3"]["enabled"] is True
    assert "awsAccessKeyId" not in artifacts["s3"]  # the IRSA role, no keys
    assert "eks.amazonaws.com/role-arn" in values["serviceAccount"]["annotations"]
    # no load balancer, no ingress: the UI is reached with kubectl port-forward
    assert values["service"]["type"] == "ClusterIP" and "ingress" not in values
    assert values["image"] == {"repository": "docker.io/burakince/mlflow", "tag": "3.15.1"}
    assert values["podSecurityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}  # restricted
    assert {"SecretSyncManifest", "MlflowRole"} <= depends_on(synth, "dev", "MlflowRelease")


@pytest.mark.parametrize("stage", ["dev", "staging", "prod"])
def test_the_artifact_bucket_is_versioned_encrypted_and_kept_where_data_is(synth, stage):
    bucket = synth.resources(stage, "Storage", "AWS::S3::Bucket")[ARTIFACT_BUCKET_ID]
    props = bucket["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert sse["KMSMasterKeyID"] == {"Fn::GetAtt": ["StorageKeyB6649B55", "Arn"]}
    assert (bucket.get("DeletionPolicy") == "Retain") is (stage != "dev")


def test_the_server_may_use_its_own_bucket_only(synth):
    (policy,) = [
        r["Properties"]["PolicyDocument"]["Statement"]
        for k, r in synth.resources("dev", "Workloads", "AWS::IAM::Policy").items()
        if k.startswith("MlflowRole")
    ]
    bucket = {"Fn::ImportValue": "dev-Storage-MlflowArtifactBucketArn"}
    resources = [s["Resource"] for s in policy if any(a.startswith("s3:") for a in _actions(s))]
    assert resources == [{"Fn::Join": ["", [bucket, "/*"]]}, bucket]
    assert {a.split(":")[0] for s in policy for a in _actions(s)} == {"s3", "kms"}
    assert all(s["Resource"] != "*" for s in policy)


def _actions(statement: dict) -> list[str]:
    return [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]


@pytest.fixture(scope="module")
def flows(synth) -> StageFlows:
    return stage_flows({stack: t for (stage, stack), t in synth.templates.items() if stage == "dev"})


def test_team_namespaces_and_prometheus_reach_mlflow_and_nobody_else(flows):
    c = flows.cluster
    mlflow = c.workload("mlflow/mlflow")
    for team in ("team-training", "team-inference", "team-agentic", "team-mlops"):
        assert c.allowed(c.workload(f"{team}/team-job"), mlflow, 5000), team
    assert c.allowed(c.workload("monitoring/prometheus"), mlflow, 5000)
    assert not c.allowed(c.workload("monitoring/grafana"), mlflow, 5000)
    assert not c.allowed(c.workload("gpu-dev/dev-pod"), mlflow, 5000)
    assert not c.allowed(flows.endpoint("internet"), mlflow, 5000)
    # the server reaches PostgreSQL in the VPC and S3, and no platform service
    assert c.allowed(mlflow, flows.endpoint("vpc"), 5432)
    assert c.allowed(mlflow, flows.endpoint("internet"), 443)
    assert not c.allowed(mlflow, c.workload("nats/nats"), 4222)
