"""What matters in the Kubernetes layer, asserted on the synthesized Workloads stacks: wiring
(IRSA role into Triton's service account, Dynamo onto our NATS), EFA on disaggregated
workers, JetStream storage, order of install and teardown, and no credential anywhere."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cdk8s
import promql_parser
import pytest
import yaml

from k8s_charts.observability import ObservabilityChart, ScheduledJob
from platform_config.contract import GPU_TAINT_KEY, POOL_LABEL
from platform_config.loader import parse_stage
from platform_config.workloads import WorkloadsSettings
from stacks.workloads_stack import watched_jobs
from tests.manifests import manifests_in_template, render

HELM = "Custom::AWSCDK-EKS-HelmChart"
MANIFEST = "Custom::AWSCDK-EKS-KubernetesResource"


def objects(synth, stage: str, kind: str) -> list[dict]:
    return [o for o in manifests_in_template(synth.template(stage, "Workloads")) if o["kind"] == kind]


def resource(synth, stage: str, prefix: str, resource_type: str) -> tuple[str, dict]:
    (found,) = [
        (k, r) for k, r in synth.resources(stage, "Workloads", resource_type).items() if k.startswith(prefix)
    ]
    return found


def helm_values(synth, stage: str, release: str) -> dict:
    _, chart = resource(synth, stage, release, HELM)
    return json.loads(render(chart["Properties"]["Values"]))


def test_triton_service_account_carries_the_irsa_role_that_may_only_read_its_prefix(synth):
    role_id, _ = resource(synth, "dev", "TritonRole", "AWS::IAM::Role")
    _, triton = resource(synth, "dev", "Triton", MANIFEST)
    manifest = json.dumps(triton["Properties"]["Manifest"])
    assert json.dumps({"Fn::GetAtt": [role_id, "Arn"]})[1:-1] in manifest.replace('\\"', '"')
    (account,) = [o for o in objects(synth, "dev", "ServiceAccount") if o["metadata"]["name"] == "triton"]
    assert "eks.amazonaws.com/role-arn" in account["metadata"]["annotations"]

    _, policy = resource(synth, "dev", "TritonRoleDefaultPolicy", "AWS::IAM::Policy")
    statements = {tuple(s["Action"]) if isinstance(s["Action"], list) else (s["Action"],): s
                  for s in policy["Properties"]["PolicyDocument"]["Statement"]}  # fmt: skip
    assert render(statements[("s3:GetObject",)]["Resource"], lambda _: "BUCKET") == "BUCKET/triton/*"
    assert statements[("s3:ListBucket",)]["Condition"] == {
        "StringLike": {"s3:prefix": ["triton", "triton/*"]}
    }
    assert not [a for actions in statements for a in actions if a.startswith("s3:") and a.endswith("*")]


def test_triton_runs_on_its_gpu_pool_with_health_probes_and_ports(synth):
    (deployment,) = [o for o in objects(synth, "dev", "Deployment") if o["metadata"]["name"] == "triton"]
    pod = deployment["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {POOL_LABEL: "l4-shared"}  # a time-slice: one nvidia.com/gpu
    assert pod["tolerations"][0]["key"] == GPU_TAINT_KEY
    (container,) = pod["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert {p["containerPort"] for p in container["ports"]} == {8000, 8001, 8002}
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] == 20 * 60
    assert any(a.startswith("--model-repository=s3://") for a in container["args"])
    (hpa,) = objects(synth, "dev", "HorizontalPodAutoscaler")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 2)


def graphs(synth, stage: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o["spec"] for o in objects(synth, stage, "DynamoGraphDeployment")}


def test_disaggregated_workers_request_efa_and_ipc_lock_and_aggregated_ones_do_not(synth):
    dev = graphs(synth, "dev")
    disagg = {c["name"]: c for c in dev["llama-disagg"]["components"]}
    assert set(disagg) == {"frontend", "prefill", "decode"}
    for role in ("prefill", "decode"):
        (main,) = disagg[role]["podTemplate"]["spec"]["containers"]
        assert main["resources"]["limits"]["vpc.amazonaws.com/efa"] == "1"  # p5.4xlarge has 1 per GPU
        assert main["securityContext"]["capabilities"]["add"] == ["IPC_LOCK"]
        assert ["--disaggregation-mode", role] == main["command"][
            main["command"].index("--disaggregation-mode") :
        ][:2]
        assert disagg[role]["podTemplate"]["spec"]["nodeSelector"] == {POOL_LABEL: "h100-efa"}
        # startup_minutes: 60 in config/dev.yaml, for a model download and load
        assert main["startupProbe"]["periodSeconds"] * main["startupProbe"]["failureThreshold"] == 3600
    agg = {c["name"]: c for c in dev["qwen-agg"]["components"]}
    (worker,) = agg["worker"]["podTemplate"]["spec"]["containers"]
    assert "vpc.amazonaws.com/efa" not in worker["resources"]["limits"]
    assert "add" not in worker["securityContext"]["capabilities"]
    # prod: 4 GPUs per worker on p4d (4 EFA for 8 GPUs) -> 2 EFA devices per worker
    prod = {c["name"]: c for c in graphs(synth, "prod")["llama-70b-disagg"]["components"]}
    (prefill,) = prod["prefill"]["podTemplate"]["spec"]["containers"]
    assert prefill["resources"]["limits"]["vpc.amazonaws.com/efa"] == "2"


def test_dynamo_reads_its_token_from_the_synced_secret_and_caches_weights_on_efs(synth):
    for spec in graphs(synth, "dev").values():
        for component in spec["components"]:
            pod = component["podTemplate"]["spec"]
            (main,) = pod["containers"]
            assert main["envFrom"] == [{"secretRef": {"name": "hf-token"}}]
            assert not [e for e in main["env"] if "TOKEN" in e["name"]]
            assert pod["volumes"] == [
                {"name": "model-cache", "persistentVolumeClaim": {"claimName": "model-cache"}}
            ]
    (cache,) = [
        o
        for o in objects(synth, "dev", "PersistentVolumeClaim")
        if o["metadata"]["name"] == "model-cache" and o["metadata"]["namespace"] == "dynamo-system"
    ]
    assert cache["spec"]["accessModes"] == ["ReadWriteMany"] and cache["spec"]["storageClassName"] == "efs"


def test_dynamo_operator_uses_our_nats_and_not_its_bundled_one(synth):
    values = helm_values(synth, "dev", "DynamoPlatformRelease")
    assert values["dynamo-operator"]["natsAddr"] == "nats://nats.nats.svc.cluster.local:4222"
    assert values["global"] == {"nats": {"install": False}, "etcd": {"install": False}}
    # The chart has no nodeSelector; its controller keeps to the CPU pool through an affinity.
    (term,) = values["dynamo-operator"]["controllerManager"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["nodeSelectorTerms"]
    assert term == {"matchExpressions": [{"key": POOL_LABEL, "operator": "In", "values": ["cpu"]}]}


@pytest.mark.parametrize("stage", ["dev", "staging", "prod"])
def test_jetstream_is_clustered_on_gp3_spread_across_zones(synth, stage):
    (nats,) = [o for o in objects(synth, stage, "StatefulSet") if o["metadata"]["name"] == "nats"]
    assert nats["spec"]["replicas"] == 3
    (claim,) = nats["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == "gp3"
    spread = nats["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert {(s["topologyKey"], s["whenUnsatisfiable"]) for s in spread} == {
        ("topology.kubernetes.io/zone", "DoNotSchedule"),
        ("kubernetes.io/hostname", "DoNotSchedule"),
    }
    (config,) = [o for o in objects(synth, stage, "ConfigMap") if o["metadata"]["name"] == "nats-config"]
    assert "jetstream {" in config["data"]["nats.conf"] and "routes: [" in config["data"]["nats.conf"]


def depends_on(synth, stage: str, prefix: str) -> set[str]:
    """What the release or manifest ``prefix`` of the Workloads stack waits for (ids without hash)."""
    workloads = synth.template(stage, "Workloads")["Resources"]
    (found,) = [r for k, r in workloads.items() if k.startswith(prefix) and r["Type"] in (HELM, MANIFEST)]
    return {d.rstrip("0123456789ABCDEF") for d in found.get("DependsOn", [])}


def test_custom_resources_follow_their_operators_and_helm_follows_the_namespaces(synth):
    def depends(prefix: str) -> set[str]:
        return depends_on(synth, "dev", prefix)

    assert "DynamoPlatformRelease" in depends("DynamoGraphs")
    assert "Nats" in depends("DynamoPlatformRelease")
    for name in ("Observability", "Nats", "Triton"):
        assert "KubePrometheusStackRelease" in depends(name)  # ServiceMonitor/PrometheusRule CRDs
    for release in ("KubePrometheusStackRelease", "LokiRelease", "AlloyRelease"):
        assert "Namespaces" in depends(release)
    assert "SecretSyncManifest" in depends("KubePrometheusStackRelease")  # grafana-admin exists first


def _passwords(values: object) -> list[str]:
    """Keys named like a password (``password``, ``adminPassword``) that carry a value; a key
    that names where a password is (``passwordKey: password``) is no credential."""
    if isinstance(values, list):
        return [found for item in values for found in _passwords(item)]
    if not isinstance(values, dict):
        return []
    found = [k for k, v in values.items() if k.lower() in ("password", "adminpassword") and v]
    return found + [f for v in values.values() for f in _passwords(v)]


def test_a_password_in_helm_values_is_found_and_a_key_naming_one_is_not():
    assert _passwords({"grafana": {"adminPassword": "hunter2"}, "db": [{"password": "x"}]}) == [
        "adminPassword",
        "password",
    ]
    assert _passwords({"existingSecret": {"passwordKey": "password"}, "auth": {"password": ""}}) == []


def test_grafana_admin_comes_from_the_synced_secret_and_no_credential_is_in_any_template(synth):
    grafana = helm_values(synth, "dev", "KubePrometheusStackRelease")["grafana"]
    assert grafana["admin"] == {
        "existingSecret": "grafana-admin",
        "userKey": "admin-user",
        "passwordKey": "admin-password",
    }
    (sync,) = objects(synth, "dev", "CronJob")
    pod = sync["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    targets = json.loads(next(e["value"] for e in pod["containers"][0]["env"] if e["name"] == "SECRETS"))
    assert {(t["namespace"], t["name"]) for t in targets} == {
        ("monitoring", "grafana-admin"),
        ("dynamo-system", "hf-token"),
        ("minio", "minio-root"),
        ("llm-serving", "hf-token-qwen-tgi"),  # the gated-model server's token
        ("mlflow", "mlflow-database"),  # MLflow's PostgreSQL login
    }
    # No Secret object is ever applied from a template, and no Helm value carries a password.
    for (stage, stack), template in synth.templates.items():
        assert not [o for o in manifests_in_template(template) if o["kind"] == "Secret"], (stage, stack)
        for chart in (r for r in template["Resources"].values() if r["Type"] == HELM):
            values = json.loads(render(chart["Properties"].get("Values", "{}")))
            assert not _passwords(values), (stage, stack)
    _, policy = resource(synth, "dev", "SecretSyncServiceAccountRoleDefaultPolicy", "AWS::IAM::Policy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    # the secrets, and the stage key MLflow's login (a Storage-stack secret) is encrypted with
    assert {s["Action"] for s in statements} == {"secretsmanager:GetSecretValue", "kms:Decrypt"}
    (read,) = [s for s in statements if s["Action"] == "secretsmanager:GetSecretValue"]
    named = {t["arn"] for t in targets if t["arn"].startswith("arn:")}  # the stage file's ARNs
    assert {r for r in read["Resource"] if isinstance(r, str)} == named
    assert len(read["Resource"]) == len({t["arn"] for t in targets})  # and MLflow's, imported from Storage


def test_the_alerts_a_gpu_on_call_wants_are_installed(synth):
    (rules,) = [o for o in objects(synth, "dev", "PrometheusRule") if o["metadata"]["name"] == "gpu-platform"]
    alerts = {r["alert"] for group in rules["spec"]["groups"] for r in group["rules"]}
    assert {
        "GpuXidError",
        "GpuTemperatureHigh",
        "GpuMemoryNearlyFull",
        "GpuNodeNotAllocatable",
        "TritonQueueTimeHigh",
        "TritonInferenceFailures",
        "JetStreamStorageFilling",
    } <= alerts
    dashboards = [
        o for o in objects(synth, "dev", "ConfigMap") if o["metadata"]["labels"].get("grafana_dashboard")
    ]
    titles = {json.loads(next(iter(d["data"].values())))["title"] for d in dashboards}
    assert titles == {"GPU fleet", "GPU sharing", "Triton Inference Server", "Dynamo"}
    monitors = {o["metadata"]["name"] for o in objects(synth, "dev", "ServiceMonitor")}
    assert monitors == {
        "nats",
        "triton",
        "minio",
        "qwen-vllm",
        "qwen-tgi",
        "nvidia-dcgm-exporter",  # the GPU Operator's exporter
        "velero",  # k8s_charts/velero.py, on the chart's metrics Service
    }


# The kube-state-metrics series the platform-job alerts may use, with their labels
# (kubernetes/kube-state-metrics docs/metrics/workload/cronjob-metrics.md and job-metrics.md).
KSM_SERIES = {
    "kube_cronjob_status_last_successful_time": {"namespace", "cronjob"},
    "kube_cronjob_created": {"namespace", "cronjob"},
    "kube_job_failed": {"namespace", "job_name", "condition"},
}
# Twice the longest gap of each shipped schedule, worked out by hand.
STALE_AFTER = {"0 */6 * * *": 12 * 3600, "*/15 * * * *": 30 * 60}
ROOT = Path(__file__).resolve().parent.parent
OPERATORS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}


def selectors_and_thresholds(expr: str) -> tuple[list[tuple[str, dict[str, tuple[str, str]]]], set[float]]:
    """Every series selector in ``expr`` (metric, label -> (operator, value)) and every number
    a comparison holds it to, from the PromQL parse tree."""
    selectors, thresholds = [], set()

    def visit(node):
        if isinstance(node, promql_parser.VectorSelector):
            matchers = {m.name: (OPERATORS[str(m.op)], m.value) for m in node.matchers.matchers}
            selectors.append((node.name, matchers))
        if isinstance(node, promql_parser.BinaryExpr) and isinstance(node.rhs, promql_parser.NumberLiteral):
            thresholds.add(node.rhs.val)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return selectors, thresholds


@pytest.mark.parametrize("stage", ["dev", "staging", "prod"])
def test_every_platform_cronjob_is_watched_by_its_real_name_and_schedule(synth, stage):
    """For each CronJob the stage applies (the token refresh in Cluster, the secret sync in
    Workloads): a staleness alert at twice its schedule's longest gap and a failed-Job alert
    whose name pattern takes both the CronJob's Jobs and the install-time Job."""
    applied = [
        o for (name, _), t in synth.templates.items() if name == stage for o in manifests_in_template(t)
    ]
    cronjobs = [o for o in applied if o["kind"] == "CronJob"]
    assert {c["metadata"]["name"] for c in cronjobs} == {"ecr-token-refresh", "secret-sync"}
    (rules,) = [o for o in objects(synth, stage, "PrometheusRule") if o["metadata"]["name"] == "gpu-platform"]
    (group,) = [g for g in rules["spec"]["groups"] if g["name"] == "platform-jobs"]
    alerts = {rule["alert"]: rule for rule in group["rules"]}
    assert len(alerts) == 2 * len(cronjobs)
    for cronjob in cronjobs:
        name, namespace = cronjob["metadata"]["name"], cronjob["metadata"]["namespace"]
        title = "".join(word.capitalize() for word in name.split("-"))
        stale, failed = alerts[f"{title}Stale"], alerts[f"{title}JobFailed"]

        selectors, thresholds = selectors_and_thresholds(stale["expr"])
        assert {metric for metric, _ in selectors} == {
            "kube_cronjob_status_last_successful_time", "kube_cronjob_created"
        }  # fmt: skip
        for _, matchers in selectors:
            assert matchers == {"namespace": ("=", namespace), "cronjob": ("=", name)}
        assert thresholds == {STALE_AFTER[cronjob["spec"]["schedule"]]}

        selectors, thresholds = selectors_and_thresholds(failed["expr"])
        ((metric, matchers),) = selectors
        assert metric == "kube_job_failed" and thresholds == {1}
        assert matchers["namespace"] == ("=", namespace) and matchers["condition"] == ("=", "true")
        operator, pattern = matchers["job_name"]
        jobs = [
            o["metadata"]["name"]
            for o in applied
            if o["kind"] == "Job" and o["metadata"]["namespace"] == namespace
        ]
        assert operator == "=~" and jobs and all(re.fullmatch(pattern, job) for job in jobs)
        assert re.fullmatch(pattern, f"{name}-29410560")  # a scheduled run (minutes since the epoch)
        assert not re.fullmatch(pattern, "other-29410560")

        for alert in (stale, failed):
            for metric, matchers in selectors_and_thresholds(alert["expr"])[0]:
                assert set(matchers) <= KSM_SERIES[metric], (alert["alert"], metric)
            runbook = re.search(r"see (docs/runbooks/\S+\.md)", alert["annotations"]["summary"])
            assert runbook and alert["alert"] in (ROOT / runbook.group(1)).read_text()
    assert alerts["EcrTokenRefreshStale"]["labels"] == {"severity": "critical"}
    assert alerts["SecretSyncJobFailed"]["labels"] == {"severity": "warning"}


def test_platform_job_alerts_only_for_jobs_the_stage_runs():
    chart = ObservabilityChart(cdk8s.App(), "o", namespace="monitoring")
    (rules,) = [o for o in chart.to_json() if o["kind"] == "PrometheusRule"]
    assert [g["name"] for g in rules["spec"]["groups"]] == ["gpu", "serving"]
    weekly = ScheduledJob("nightly-report", "reports", "30 2 * * 1", "docs/runbooks/x.md")
    chart = ObservabilityChart(cdk8s.App(), "o", namespace="monitoring", jobs=[weekly])
    (rules,) = [o for o in chart.to_json() if o["kind"] == "PrometheusRule"]
    (group,) = [g for g in rules["spec"]["groups"] if g["name"] == "platform-jobs"]
    stale = next(r for r in group["rules"] if r["alert"] == "NightlyReportStale")
    assert selectors_and_thresholds(stale["expr"])[1] == {14 * 24 * 3600}
    assert "over 336 h" in stale["annotations"]["summary"]

    dev = yaml.safe_load((ROOT / "config" / "dev.yaml").read_text())
    dev["registry"]["token_refresh"]["enabled"] = False
    assert [job.name for job in watched_jobs(parse_stage(dev, "dev.yaml"))] == ["secret-sync"]


def test_minio_is_an_erasure_coded_pool_with_synced_credentials_and_metrics(synth):
    (minio,) = [o for o in objects(synth, "dev", "StatefulSet") if o["metadata"]["name"] == "minio"]
    replicas = minio["spec"]["replicas"]
    assert replicas == 4
    (container,) = minio["spec"]["template"]["spec"]["containers"]
    # Every pod names the whole pool, through the headless Service's per-pod DNS names.
    assert (
        f"http://minio-{{0...{replicas - 1}}}.minio-headless.minio.svc.cluster.local/data"
        in container["args"]
    )
    assert container["envFrom"] == [{"secretRef": {"name": "minio-root"}}]
    assert not [e for e in container.get("env", []) if "ROOT" in e["name"]]  # no literal credential
    (claim,) = minio["spec"]["volumeClaimTemplates"]
    assert (claim["spec"]["storageClassName"], claim["spec"]["resources"]["requests"]["storage"]) == (
        "gp3",
        "50Gi",
    )
    assert minio["spec"]["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Retain",
        "whenScaled": "Retain",
    }
    (pdb,) = [o for o in objects(synth, "dev", "PodDisruptionBudget") if o["metadata"]["name"] == "minio"]
    assert pdb["spec"]["maxUnavailable"] == 1
    (monitor,) = [o for o in objects(synth, "dev", "ServiceMonitor") if o["metadata"]["name"] == "minio"]
    assert monitor["spec"]["endpoints"][0]["path"] == "/minio/v2/metrics/cluster"
    # staging and prod leave it off: their object storage is S3.
    assert not [o for o in objects(synth, "prod", "StatefulSet") if o["metadata"]["name"] == "minio"]


def test_minio_without_a_root_secret_is_refused():
    with pytest.raises(ValueError, match=r"minio\.root_secret_arn is required"):
        WorkloadsSettings.model_validate({"minio": {"enabled": True}})
