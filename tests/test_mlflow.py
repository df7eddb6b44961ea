"""MLflow (``workloads.mlflow``): its own login and database on the platform's PostgreSQL
(``platform_constructs/postgres.py``), whose secret never enters a template, artifacts in a
Storage-stack bucket that only the server's IRSA role may use,
no load balancer, and exactly the team namespaces (and Prometheus) reach it, asserted on the
settings and the synthesized stages."""

from __future__ import annotations

import json

import pytest

from platform_config.loader import load_stages
from platform_config.mlflow import MlflowSettings
from platform_constructs import operators
from stacks.workloads_stack import needs_secret_sync, secret_targets
from tests.manifests import manifests_in_template
from tests.test_config import error_of, stage_with
from tests.test_workloads import HELM, depends_on, resource
from tools.assembly import render
from tools.flow_matrix import StageFlows, stage_flows

STAGES = {stage.name: stage for stage in load_stages()}
DEV = STAGES["dev"]
ARTIFACT_BUCKET_ID = "MlflowArtifactBucket43798744"  # pinned: a new id would replace the bucket


def _intrinsic(value: dict) -> str:
    """An intrinsic inside a rendered string, kept recognisable (no double quotes)."""
    return json.dumps(value, sort_keys=True).replace('"', "'")


def helm_values(synth, stage: str, release: str) -> dict:
    _, chart = resource(synth, stage, release, HELM)
    return json.loads(render(chart["Properties"]["Values"], _intrinsic))


def test_the_database_is_the_platforms_not_a_setting():
    assert not MlflowSettings().enabled
    # the placeholder interface is gone: naming a database by hand is refused, naming the key
    assert "workloads.mlflow.database" in error_of(
        stage_with(**{"workloads.mlflow.database": {"host": "db.example.com", "secret_arn": "x"}})
    )


@pytest.mark.parametrize("stage", ["dev", "staging", "prod"])
def test_every_stage_with_mlflow_gets_its_own_login_and_database(synth, stage):
    """staging and prod run no job API: the platform's PostgreSQL exists there for MLflow."""
    logins = synth.resources(stage, "Storage", "Custom::PostgresConsumer").values()
    consumers = {r["Properties"]["Consumer"] for r in logins}
    assert "mlflow" in consumers
    assert ("job_api" in consumers) is STAGES[stage].job_api.enabled


def test_the_login_reaches_the_cluster_only_through_the_secret_sync(synth):
    assert needs_secret_sync(DEV)
    login = {"namespace": "mlflow", "name": "mlflow-database", "arn": "arn-token", "restart": "mlflow"}
    assert login in secret_targets(DEV, "arn-token")
    (policy,) = [
        r["Properties"]["PolicyDocument"]["Statement"]
        for k, r in synth.resources("dev", "Workloads", "AWS::IAM::Policy").items()
        if k.startswith("SecretSyncServiceAccountRole")
    ]
    reads = json.dumps([s["Resource"] for s in policy if s["Action"] == "secretsmanager:GetSecretValue"])
    assert "dev-Storage:ExportsOutputRefDatabaseMlflowSecret" in reads  # the consumer's own secret
    (decrypt,) = [s for s in policy if s["Action"] == "kms:Decrypt"]  # it is under the stage key
    via = {"kms:ViaService": "secretsmanager.us-west-2.amazonaws.com"}
    assert decrypt["Condition"] == {"StringEquals": via}


def test_the_release_uses_postgres_the_synced_login_and_its_bucket(synth):
    values = helm_values(synth, "dev", "MlflowRelease")
    postgres = values["backendStore"]["postgres"]
    assert postgres["port"] == 5432 and postgres["database"] == "mlflow" and postgres["enabled"] is True
    assert "DatabaseCluster" in postgres["host"] and "EndpointAddress" in postgres["host"]  # the writer
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
    # the login is synced and the database admits the cluster's pods before the server starts
    assert {"SecretSyncManifest", "MlflowRole", "PostgresFromClusterPods"} <= depends_on(
        synth, "dev", "MlflowRelease"
    )


@pytest.mark.parametrize("stage", ["dev", "staging", "prod"])
def test_the_service_monitor_follows_the_prometheus_operator_crds(synth, stage):
    """The chart's ServiceMonitor is a custom resource: its release waits for the release that
    installs the CRD, as our charts' ServiceMonitors do (WorkloadsStack._manifest)."""
    assert STAGES[stage].workloads.observability.enabled
    assert helm_values(synth, stage, "MlflowRelease")["serviceMonitor"]["enabled"] is True
    assert "KubePrometheusStackRelease" in depends_on(synth, stage, "MlflowRelease")
    assert "KubePrometheusStackRelease" in depends_on(synth, stage, "VeleroBackups")  # the same rule


def test_without_observability_there_is_no_service_monitor():
    """No kube-prometheus-stack, no ServiceMonitor CRD: the chart must not render one."""
    release = operators.mlflow(replicas=1, database_host="db", role_arn="arn", bucket="b", monitored=False)
    assert release.values["serviceMonitor"]["enabled"] is False


@pytest.mark.parametrize("stage", ["dev", "staging", "prod"])
def test_a_rotated_login_rolls_the_server_and_the_sync_may_patch_that_deployment_only(synth, stage):
    """The sync rolls MLflow's Deployment when its login's version changes
    (tests/test_secret_sync.py runs that against a fake API server); here: it is told to, and
    its RBAC lets it read and patch that one Deployment, and no other Deployment anywhere."""
    objects = [o for o in manifests_in_template(synth.template(stage, "Workloads"))]
    (cronjob,) = [o for o in objects if o["kind"] == "CronJob" and o["metadata"]["name"] == "secret-sync"]
    env = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]
    targets = json.loads(next(e["value"] for e in env if e["name"] == "SECRETS"))
    restarts = {(t["namespace"], t["name"]): t.get("restart") for t in targets}
    assert {k: v for k, v in restarts.items() if v} == {("mlflow", "mlflow-database"): "mlflow"}
    assert helm_values(synth, stage, "MlflowRelease")["fullnameOverride"] == "mlflow"  # that Deployment
    rules = [
        (o["metadata"]["namespace"], rule)
        for o in objects
        if o["kind"] == "Role" and o["metadata"]["name"] == "secret-sync-writer"
        for rule in o["rules"]
        if "deployments" in rule["resources"]
    ]
    assert rules == [
        ("mlflow", {"apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["mlflow"],
                    "verbs": ["get", "patch"]})
    ]  # fmt: skip


@pytest.mark.parametrize("stage", ["dev", "staging", "prod"])
def test_one_security_group_rule_admits_the_cluster_pods_for_every_consumer(synth, stage):
    rules = [
        r["Properties"]
        for name in ("Workloads", "JobApi")
        if (stage, name) in synth.templates
        for r in synth.resources(stage, name, "AWS::EC2::SecurityGroupIngress").values()
        if "DatabaseSecurityGroup" in json.dumps(r["Properties"]["GroupId"])
    ]
    (rule,) = rules  # one, in Workloads (deployed first): a second identical rule would fail
    assert rule["FromPort"] == rule["ToPort"] == 5432
    assert "ClusterSecurityGroupId" in json.dumps(rule["SourceSecurityGroupId"])


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


@pytest.fixture(scope="module", params=["dev", "staging", "prod"])
def flows(synth, request) -> StageFlows:
    return stage_flows({stack: t for (stage, stack), t in synth.templates.items() if stage == request.param})


def test_team_namespaces_and_prometheus_reach_mlflow_and_nobody_else(flows):
    """In every stage: staging and prod have seed 003's teams too."""
    c = flows.cluster
    mlflow = c.workload("mlflow/mlflow")
    for team in ("team-training", "team-inference", "team-agentic", "team-mlops"):
        assert c.allowed(c.workload(f"{team}/team-job"), mlflow, 5000), team
    assert c.allowed(c.workload("monitoring/prometheus"), mlflow, 5000)
    assert not c.allowed(c.workload("monitoring/grafana"), mlflow, 5000)
    assert not c.allowed(c.workload("nats/nats"), mlflow, 5000)  # a platform service, not a team
    assert not c.allowed(flows.endpoint("internet"), mlflow, 5000)
    # the server reaches PostgreSQL in the VPC and S3, and no platform service
    assert c.allowed(mlflow, flows.endpoint("vpc"), 5432)
    assert c.allowed(mlflow, flows.endpoint("internet"), 443)
    assert not c.allowed(mlflow, c.workload("nats/nats"), 4222)
