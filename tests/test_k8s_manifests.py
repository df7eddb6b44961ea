"""Every Kubernetes object the platform applies is valid for Kubernetes 1.35 (strict) or for
its CRD schema, both as each chart synthesizes on its own and as embedded in the templates."""

from __future__ import annotations

import collections

import cdk8s
import pytest
import yaml

from k8s_charts.dynamo_graphs import DynamoGraphsChart
from k8s_charts.ecr_token_refresh import EcrTokenRefreshChart
from k8s_charts.example_agent import ExampleAgentChart
from k8s_charts.karpenter_node_pools import KarpenterNodePoolsChart
from k8s_charts.kueue_queues import KueueQueuesChart
from k8s_charts.linkerd_identity import LinkerdIdentityChart
from k8s_charts.llm_servers import LlmServersChart
from k8s_charts.mesh_policy import MeshPolicyChart
from k8s_charts.minio import MinioChart
from k8s_charts.namespaces import NamespacesChart
from k8s_charts.nats import NatsChart
from k8s_charts.observability import ObservabilityChart
from k8s_charts.secret_sync import SecretSyncChart
from k8s_charts.storage_classes import StorageClassesChart
from k8s_charts.tenancy import TenancyChart
from k8s_charts.triton import TritonChart
from k8s_charts.velero import VeleroChart
from platform_config.loader import load_stages
from stacks.workloads_stack import backed_up_namespaces, protected_services, secret_targets, watched_jobs
from tests.manifests import manifests_in_template, validate

DEV = load_stages()[0]
TRITON_ROLE = "arn:aws:iam::111111111111:role/dev-triton"
DEV_POOLS = DEV.gpu_pool_capacity()
TRITON_POOL = DEV_POOLS[str(DEV.workloads.triton.gpu_pool)]


def charts() -> dict[str, cdk8s.Chart]:
    app = cdk8s.App()
    return {
        "storage-classes": StorageClassesChart(app, "storage-classes", file_system_id="fs-0123456789abcdef0"),
        "namespaces": NamespacesChart(app, "namespaces", namespaces=["gpu-dev", "dynamo-system"]),
        "ecr-token-refresh": EcrTokenRefreshChart(
            app,
            "ecr-token-refresh",
            namespace="ecr-token-refresh",
            service_account="ecr-token-refresh",
            image="111111111111.dkr.ecr.us-west-2.amazonaws.com/cdk-assets:abc123",
            region="us-west-2",
            target_namespaces=["dynamo-system", "gpu-dev"],
            secret_name="ecr-registry-credentials",
            schedule="0 */6 * * *",
            revision="abc123",
        ),
        "karpenter-node-pools": KarpenterNodePoolsChart(
            app,
            "karpenter-node-pools",
            pools=list(DEV.karpenter.node_pools),
            region=DEV.region,
            node_role_name="gpu-platform-dev-karpenter-node",
            discovery_value="gpu-platform-dev",
            cluster_security_group_id="sg-0123456789abcdef0",
            efa_security_group_id="sg-0fedcba9876543210",
        ),
        "nats": NatsChart(app, "nats", settings=DEV.workloads.nats, namespace="nats", storage_class="gp3"),
        "triton": TritonChart(
            app,
            "triton",
            settings=DEV.workloads.triton,
            namespace="inference",
            role_arn=TRITON_ROLE,
            model_bucket="dev-model-bucket",
            region="us-west-2",
            efs_storage_class="efs",
            capacity=TRITON_POOL,
        ),
        "triton-efs": TritonChart(
            app,
            "triton-efs",
            settings=DEV.workloads.triton.model_copy(update={"model_repository": "efs"}),
            namespace="inference",
            role_arn=TRITON_ROLE,
            model_bucket="",
            region="us-west-2",
            efs_storage_class="efs",
            capacity=TRITON_POOL,
        ),
        "dynamo-graphs": DynamoGraphsChart(
            app,
            "dynamo-graphs",
            settings=DEV.workloads.dynamo,
            namespace="dynamo-system",
            capacity=DEV_POOLS,
            efs_storage_class="efs",
        ),
        "observability": ObservabilityChart(
            app, "observability", namespace="monitoring", jobs=watched_jobs(DEV)
        ),
        "secret-sync": SecretSyncChart(
            app,
            "secret-sync",
            namespace="platform-secrets",
            service_account="secret-sync",
            image="111111111111.dkr.ecr.us-west-2.amazonaws.com/cdk-assets:abc123",
            region="us-west-2",
            targets=secret_targets(DEV),
            revision="abc123",
        ),
        "linkerd-identity": LinkerdIdentityChart(
            app,
            "linkerd-identity",
            settings=DEV.workloads.linkerd,
            cert_manager_namespace="cert-manager",
            linkerd_namespace="linkerd",
        ),
        "mesh-policy": MeshPolicyChart(app, "mesh-policy", services=protected_services(DEV)),
        "minio": MinioChart(
            app, "minio", settings=DEV.workloads.minio, namespace="minio", storage_class="gp3"
        ),
        "tenancy": TenancyChart(app, "tenancy", settings=DEV.tenancy, capacity=DEV_POOLS),
        "kueue-queues": KueueQueuesChart(app, "kueue-queues", settings=DEV.tenancy, capacity=DEV_POOLS),
        "llm-servers": LlmServersChart(
            app, "llm-servers", servers=list(DEV.workloads.llm_servers), capacity=DEV_POOLS,
            namespace="llm-serving",
            efs_storage_class="efs",
        ),
        "example-agent": ExampleAgentChart(
            app, "example-agent", namespace="team-agentic", server=DEV.workloads.llm_servers[0],
            server_namespace="llm-serving", priority_class="critical-agents", interval_seconds=300,
        ),
        "velero": VeleroChart(
            app, "velero", settings=DEV.workloads.velero, namespace="velero", bucket="dev-backup-bucket",
            region="us-west-2", backed_up=backed_up_namespaces(DEV),
        ),
    }  # fmt: skip


CHART_NAMES = [
    "storage-classes",
    "namespaces",
    "ecr-token-refresh",
    "karpenter-node-pools",
    "nats",
    "triton",
    "triton-efs",
    "dynamo-graphs",
    "observability",
    "secret-sync",
    "linkerd-identity",
    "mesh-policy",
    "minio",
    "tenancy",
    "kueue-queues",
    "llm-servers",
    "example-agent",
    "velero",
]


@pytest.mark.parametrize("name", CHART_NAMES)
def test_each_chart_synthesizes_valid_objects(name):
    objects = charts()[name].to_json()
    assert objects
    for obj in objects:
        validate(obj)


@pytest.mark.parametrize("name", CHART_NAMES)
def test_chart_yaml_snapshot(name, snapshot):
    """Each chart's YAML, keys sorted, as reviewed: a change to any chart shows up here as a
    readable diff (`make snapshots` rewrites after review)."""
    assert yaml.safe_dump_all(charts()[name].to_json(), sort_keys=True) == snapshot


def test_manifests_embedded_in_templates_are_valid(synth):
    counts: collections.Counter = collections.Counter()
    for template in synth.templates.values():
        for obj in manifests_in_template(template):
            validate(obj)
            counts[obj["kind"]] += 1
    # dev enables everything in this layer; these are the kinds it must apply.
    assert {
        "StorageClass",
        "Namespace",
        "Role",
        "RoleBinding",
        "CronJob",
        "Job",
        "ServiceAccount",
        "NodePool",
        "EC2NodeClass",
        "StatefulSet",
        "Deployment",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "ServiceMonitor",
        "PrometheusRule",
        "DynamoGraphDeployment",
        "ConfigMap",
        "Server",
        "AuthorizationPolicy",
        "MeshTLSAuthentication",
        "ClusterIssuer",
        "Certificate",
        "Bundle",
        "PriorityClass",
        "ResourceQuota",
        "LimitRange",
        "ResourceFlavor",
        "ClusterQueue",
        "LocalQueue",
        "WorkloadPriorityClass",
        "BackupStorageLocation",
        "VolumeSnapshotLocation",
        "Schedule",
    } <= set(counts)
    print("validated manifests per kind:", dict(sorted(counts.items())))


def test_validator_rejects_unknown_fields():
    chart = charts()["karpenter-node-pools"]
    pool = next(o for o in chart.to_json() if o["kind"] == "NodePool")
    pool["spec"]["wieght"] = 10
    with pytest.raises(AssertionError, match="wieght"):
        validate(pool)
    # cert-manager's and trust-manager's objects are held to their CRDs like the rest.
    identity = {o["kind"]: o for o in charts()["linkerd-identity"].to_json()}
    identity["Certificate"]["spec"]["renewBeforePercentage"] = "half"
    with pytest.raises(AssertionError, match="'half' is not of type 'integer'"):
        validate(identity["Certificate"])
    identity["Bundle"]["spec"]["target"]["configmap"] = {"key": "ca.crt"}
    with pytest.raises(AssertionError, match="configmap"):
        validate(identity["Bundle"])
    # Kueue's objects are held to the v1beta2 schema: v1beta1's `cohort` is not a field there.
    queue = next(o for o in charts()["kueue-queues"].to_json() if o["kind"] == "ClusterQueue")
    queue["spec"]["cohort"] = queue["spec"].pop("cohortName")
    with pytest.raises(AssertionError, match="cohort"):
        validate(queue)
    storage_class = charts()["storage-classes"].to_json()[0]
    storage_class["provisoner"] = "ebs.csi.aws.com"
    with pytest.raises(AssertionError, match="provisoner"):
        validate(storage_class)


def test_gp3_is_the_only_default_class_and_efs_uses_the_file_system():
    objects = {o["metadata"]["name"]: o for o in charts()["storage-classes"].to_json()}
    default = "storageclass.kubernetes.io/is-default-class"
    assert objects["gp3"]["metadata"]["annotations"][default] == "true"
    assert default not in objects["efs"]["metadata"].get("annotations", {})
    assert objects["gp3"]["parameters"] == {"type": "gp3", "encrypted": "true", "fsType": "ext4"}
    assert objects["gp3"]["volumeBindingMode"] == "WaitForFirstConsumer"
    assert objects["efs"]["parameters"]["fileSystemId"] == "fs-0123456789abcdef0"
    assert objects["efs"]["parameters"]["provisioningMode"] == "efs-ap"


def _pods(obj: dict) -> list[dict]:
    """Pod specs inside a workload object, including Dynamo's per-component pod templates."""
    spec = obj.get("spec", {})
    if obj["kind"] == "CronJob":
        return [spec["jobTemplate"]["spec"]["template"]["spec"]]
    if obj["kind"] in ("Job", "Deployment", "StatefulSet", "DaemonSet"):
        return [spec["template"]["spec"]]
    if obj["kind"] == "DynamoGraphDeployment":
        return [component["podTemplate"]["spec"] for component in spec["components"]]
    return []


# Containers that cannot meet the whole baseline, and why. The test fails if a listed
# exception disappears (so the list stays true) or an unlisted one appears.
BASELINE_EXCEPTIONS = {
    ("DynamoGraphDeployment", "non-root"): "the vllm-runtime image keeps its workspace and caches "
    "under root-owned paths; it runs as the image's user, with escalation off and capabilities dropped",
    ("DynamoGraphDeployment", "read-only root"): "vLLM and NIXL write compilation caches and sockets "
    "under the image's own directories",
    ("DynamoGraphDeployment", "capabilities"): "disaggregated workers add IPC_LOCK, which EFA needs "
    "to register (pin) memory for RDMA",
}


def test_workload_baseline_for_containers_we_write():
    """Requests and limits, a pinned image, probes on long-running containers, non-root, no
    privilege escalation, read-only root, all capabilities dropped; exceptions are listed.
    Jobs need no probes: they run to completion and their exit code is the health signal."""
    found, exceptions = 0, set()
    for chart in charts().values():
        for obj in chart.to_json():
            for pod in _pods(obj):
                for container in pod.get("containers", []) + pod.get("initContainers", []):
                    found += 1
                    kind = obj["kind"]
                    resources = container["resources"]
                    assert set(resources["requests"]) >= {"cpu", "memory"}, (kind, container["name"])
                    assert set(resources["limits"]) >= {"cpu", "memory"}, (kind, container["name"])
                    image = container["image"]
                    assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest")
                    if kind not in ("Job", "CronJob"):
                        assert {"livenessProbe", "readinessProbe"} <= set(container), (
                            kind,
                            container["name"],
                        )
                    security = container["securityContext"]
                    assert security["allowPrivilegeEscalation"] is False
                    assert security["capabilities"]["drop"] == ["ALL"]
                    if security["capabilities"].get("add"):
                        exceptions.add((kind, "capabilities"))
                    if pod.get("securityContext", {}).get("runAsNonRoot") is not True:
                        exceptions.add((kind, "non-root"))
                    if security.get("readOnlyRootFilesystem") is not True:
                        exceptions.add((kind, "read-only root"))
    assert exceptions == set(BASELINE_EXCEPTIONS)
    assert found >= 10


def test_replicated_stateful_services_have_a_pdb():
    for name in ("nats", "triton"):
        objects = charts()[name].to_json()
        pdbs = [o for o in objects if o["kind"] == "PodDisruptionBudget"]
        workloads = [o for o in objects if o["kind"] in ("StatefulSet", "Deployment")]
        assert len(pdbs) == 1 and workloads
        assert pdbs[0]["spec"]["selector"]["matchLabels"] == workloads[0]["spec"]["selector"]["matchLabels"]


def test_token_refresh_rbac_is_limited_to_its_secret():
    objects = charts()["ecr-token-refresh"].to_json()
    roles = [o for o in objects if o["kind"] == "Role"]
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["dynamo-system", "gpu-dev"]
    for role in roles:
        named = [r for r in role["rules"] if r.get("resourceNames")]
        assert named == [
            {
                "apiGroups": [""],
                "resources": ["secrets"],
                "resourceNames": ["ecr-registry-credentials"],
                "verbs": ["get", "update", "patch"],
            }
        ]
        unnamed = [r for r in role["rules"] if not r.get("resourceNames")]
        assert unnamed == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]}]
    assert not [o for o in objects if o["kind"] in ("ClusterRole", "ClusterRoleBinding")]


def test_token_refresh_runs_every_six_hours_and_once_at_install():
    objects = charts()["ecr-token-refresh"].to_json()
    (cron,) = [o for o in objects if o["kind"] == "CronJob"]
    (job,) = [o for o in objects if o["kind"] == "Job"]
    assert cron["spec"]["schedule"] == "0 */6 * * *"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert job["metadata"]["name"].startswith("ecr-token-refresh-initial-")
    assert job["spec"] == cron["spec"]["jobTemplate"]["spec"]
    env = {e["name"]: e["value"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["TARGET_NAMESPACES"] == "dynamo-system,gpu-dev"
    assert env["SECRET_NAME"] == "ecr-registry-credentials"


def test_install_job_name_changes_with_its_content():
    """Job specs are immutable: any change to the image or to the Job's settings must give
    the install-time Job a new name, or the apply fails."""

    def job_name(revision: str = "one", secret_name: str = "x", schedule: str = "0 */6 * * *") -> str:
        chart = EcrTokenRefreshChart(
            cdk8s.App(),
            "c",
            namespace="n",
            service_account="s",
            image="i:1",
            region="us-west-2",
            target_namespaces=["a"],
            secret_name=secret_name,
            schedule=schedule,
            revision=revision,
        )
        return next(o for o in chart.to_json() if o["kind"] == "Job")["metadata"]["name"]

    assert job_name() == job_name()
    assert job_name() != job_name(revision="two")
    assert job_name() != job_name(secret_name="y")
    assert job_name() == job_name(schedule="0 * * * *")  # the schedule is the CronJob's, not the Job's

    def sync_job_name(arn: str) -> str:
        target = {"namespace": "monitoring", "name": "grafana-admin", "arn": arn}
        chart = SecretSyncChart(
            cdk8s.App(), "s", namespace="n", service_account="s", image="i:1", region="us-west-2",
            targets=[target], revision="one",
        )  # fmt: skip
        return next(o for o in chart.to_json() if o["kind"] == "Job")["metadata"]["name"]

    assert sync_job_name("arn:a") != sync_job_name("arn:b")
    # A secret from another stack is a CDK token, numbered in the order the app made its
    # tokens, which differs between synths: the name must not follow that number, or every
    # synth renames the Job (a diff on every `cdk diff`, a new Job on every deploy).
    assert sync_job_name("${Token[TOKEN.1587]}") == sync_job_name("${Token[TOKEN.1589]}")
    assert sync_job_name("${Token[TOKEN.1587]}") != sync_job_name("arn:a")
