"""The job API's AWS and Kubernetes side (issue 14) as synthesized: the database in Storage,
the JobApi stack (identities, manifests, load balancer) in dev only, the settings document the
service reads, the Jobs the dispatcher creates (valid for Kubernetes 1.35, with Kueue's
labels), and the order ``cdk destroy`` takes."""

from __future__ import annotations

import json

import pytest
from aws_cdk import App, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from job_api.manifests import render_job
from job_api.settings import ServiceSettings
from k8s_charts import job_api as chart
from platform_config.contract import GPU_TAINT_KEY, POOL_LABEL
from platform_config.loader import load_stages
from platform_config.platform_database import PlatformDatabaseSettings
from platform_constructs.postgres import PORT, PlatformDatabase
from stacks.job_api_stack import service_settings
from tests.manifests import manifests_in_template, render, validate
from tests.test_config import error_of, stage_with

STAGES = {stage.name: stage for stage in load_stages()}
DB_CLUSTER = "AWS::RDS::DBCluster"
MANIFEST = "Custom::AWSCDK-EKS-KubernetesResource"
DEVELOPERS = "arn:aws:iam::111111111111:role/GpuDevelopers"


def objects(synth, stack: str = "JobApi") -> list[dict]:
    return manifests_in_template(synth.template("dev", stack))


def one(items: list[dict], kind: str, name: str, namespace: str | None = None) -> dict:
    found = [
        o
        for o in items
        if o["kind"] == kind
        and o["metadata"]["name"] == name
        and (namespace is None or o["metadata"].get("namespace") == namespace)
    ]
    assert len(found) == 1, f"{kind} {namespace}/{name}: {len(found)} found"
    return found[0]


# --- on in dev, off elsewhere -------------------------------------------------------------------


def test_on_in_dev_and_off_in_staging_and_prod(synth):
    assert STAGES["dev"].job_api.enabled
    assert "JobApi" in synth.stacks["dev"]
    assert synth.resources("dev", "Storage", DB_CLUSTER)
    for stage in ("staging", "prod"):
        assert not STAGES[stage].job_api.enabled
        assert "JobApi" not in synth.stacks[stage]
        # the platform's PostgreSQL stays there for MLflow's login only (tests/test_mlflow.py)
        has_database = bool(synth.resources(stage, "Storage", DB_CLUSTER))
        assert has_database is STAGES[stage].workloads.mlflow.enabled


# --- the database -------------------------------------------------------------------------------


def test_the_database_is_serverless_v2_encrypted_private_and_pauses_when_idle(synth):
    ((_, cluster),) = synth.resources("dev", "Storage", DB_CLUSTER).items()
    props = cluster["Properties"]
    assert props["Engine"] == "aurora-postgresql" and props["EngineVersion"].startswith("16.")
    assert props["StorageEncrypted"] is True
    key = props["KmsKeyId"]["Fn::GetAtt"][0]
    assert key.startswith("StorageKey")  # the Storage stack's stage key
    assert props["ServerlessV2ScalingConfiguration"] == {
        "MinCapacity": 0,
        "MaxCapacity": 4,
        "SecondsUntilAutoPause": 1800,
    }
    assert props["EnableIAMDatabaseAuthentication"] is True
    assert props["DeletionProtection"] is False and cluster["DeletionPolicy"] == "Delete"  # dev
    assert props["Port"] == PORT
    instances = synth.resources("dev", "Storage", "AWS::RDS::DBInstance")
    assert [i["Properties"]["DBInstanceClass"] for i in instances.values()] == ["db.serverless"]
    assert all(i["Properties"]["PubliclyAccessible"] is False for i in instances.values())
    # the subnet group names the private subnets only
    (group,) = synth.resources("dev", "Storage", "AWS::RDS::DBSubnetGroup").values()
    subnets = json.dumps(group["Properties"]["SubnetIds"])
    assert "PrivateSubnet" in subnets and "PublicSubnet" not in subnets
    (params,) = synth.resources("dev", "Storage", "AWS::RDS::DBClusterParameterGroup").values()
    assert params["Properties"]["Parameters"]["rds.force_ssl"] == "1"


def test_one_secret_per_consumer_each_encrypted_and_rotated(synth):
    secrets = synth.resources("dev", "Storage", "AWS::SecretsManager::Secret")
    assert len(secrets) == 3  # the master's, the job API's and MLflow's (tests/test_mlflow.py)
    for secret in secrets.values():
        assert secret["Properties"]["KmsKeyId"]["Fn::GetAtt"][0].startswith("StorageKey")
    templates = [
        render(s["Properties"]["GenerateSecretString"]["SecretStringTemplate"]) for s in secrets.values()
    ]
    users = {json.loads(t)["username"]: json.loads(t) for t in templates}
    assert set(users) == {"platform_admin", "job_api", "mlflow"}
    assert users["job_api"]["dbname"] == "job_api" and users["mlflow"]["dbname"] == "mlflow"
    assert "masterarn" in users["job_api"]  # the multi-user rotation logs in as the master
    # host, port, engine are added by the attachment: the RDS-generated shape the service reads
    assert len(synth.resources("dev", "Storage", "AWS::SecretsManager::SecretTargetAttachment")) == 3
    schedules = synth.resources("dev", "Storage", "AWS::SecretsManager::RotationSchedule")
    assert len(schedules) == 3
    for schedule in schedules.values():
        assert schedule["Properties"]["RotationRules"]["ScheduleExpression"] == "rate(30 days)"
    apps = synth.resources("dev", "Storage", "AWS::Serverless::Application")
    mappings = synth.template("dev", "Storage")["Mappings"]
    rotations = sorted(
        mappings[a["Properties"]["Location"]["ApplicationId"]["Fn::FindInMap"][0]]["aws"][
            "applicationId"
        ].rsplit("/", 1)[1]
        for a in apps.values()
    )
    assert rotations == [  # one application per rotation: the two consumers', the master's
        "SecretsManagerRDSPostgreSQLRotationMultiUser",
        "SecretsManagerRDSPostgreSQLRotationMultiUser",
        "SecretsManagerRDSPostgreSQLRotationSingleUser",
    ]
    for app in apps.values():  # in the private subnets: Secrets Manager through the NAT gateway
        subnets = app["Properties"]["Parameters"]["vpcSubnetIds"]
        assert "PrivateSubnet" in json.dumps(subnets) and "PublicSubnet" not in json.dumps(subnets)


def cluster_id(synth) -> str:
    (logical_id,) = synth.resources("dev", "Storage", DB_CLUSTER)
    return logical_id


def test_each_consumers_login_is_created_before_its_rotation_runs(synth):
    resources = synth.template("dev", "Storage")["Resources"]
    (login_id,) = [
        k
        for k, r in resources.items()
        if r["Type"] == "Custom::PostgresConsumer" and r["Properties"]["Consumer"] == "job_api"
    ]
    props = resources[login_id]["Properties"]
    assert props["Consumer"] == "job_api"
    assert props["ConsumerSecretArn"] == {"Ref": "DatabaseJobApiSecretF4C5A994"}
    assert props["ClusterArn"]["Fn::Join"] and cluster_id(synth) in json.dumps(props["ClusterArn"])
    assert resources[cluster_id(synth)]["Properties"]["EnableHttpEndpoint"] is True  # the Data API
    (rotation_app,) = [k for k in resources if k.startswith("DatabaseClusterJobApiRotation")
                       and resources[k]["Type"] == "AWS::Serverless::Application"]  # fmt: skip
    assert login_id in resources[rotation_app]["DependsOn"]
    # the function: the Data API on this cluster, the two secrets it reads, the key; no VPC
    (function,) = [
        r for r in resources.values()
        if r["Type"] == "AWS::Lambda::Function" and "consumer" in r["Properties"].get("Description", "")
    ]  # fmt: skip
    assert "VpcConfig" not in function["Properties"]
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = [
        r["Properties"]["PolicyDocument"]["Statement"]
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]
    ]
    actions = {
        a for st in policy for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
    }
    assert actions == {
        "rds-data:BeginTransaction", "rds-data:CommitTransaction", "rds-data:ExecuteStatement",
        "rds-data:RollbackTransaction", "kms:Decrypt", "secretsmanager:GetSecretValue",
    }  # fmt: skip
    assert "*" not in json.dumps([st["Resource"] for st in policy])
    (secrets,) = [st["Resource"] for st in policy if st["Action"] == "secretsmanager:GetSecretValue"]
    assert len(secrets) == 3  # the master's (the Data API reads it as its caller) and each consumer's


def _ingress(synth, stack: str) -> list[dict]:
    return [r["Properties"] for r in synth.resources("dev", stack, "AWS::EC2::SecurityGroupIngress").values()]


def test_the_database_admits_only_its_rotation_functions_and_the_cluster_pods(synth):
    groups = synth.resources("dev", "Storage", "AWS::EC2::SecurityGroup")
    (db_group,) = [
        k for k, g in groups.items() if "PostgreSQL of the platform" in g["Properties"]["GroupDescription"]
    ]
    db = db_group
    rules = [
        r
        for stack in ("Storage", "Workloads", "JobApi")  # the cluster pods' rule: Workloads (MLflow's too)
        for r in _ingress(synth, stack)
        if db in json.dumps(r["GroupId"])
    ]
    # CDK's rule for the rotation functions names the cluster's port attribute, ours the number
    ports = {json.dumps(r[p]) for r in rules for p in ("FromPort", "ToPort")}
    assert ports <= {str(PORT), json.dumps({"Fn::GetAtt": [cluster_id(synth), "Endpoint.Port"]})}
    assert {r["IpProtocol"] for r in rules} == {"tcp"}
    sources = sorted(json.dumps(r["SourceSecurityGroupId"]) for r in rules)
    assert len(sources) == 2
    assert any("RotationSecurityGroup" in s for s in sources)
    assert any("ClusterSecurityGroupId" in s for s in sources)  # the EKS cluster SG (imported)
    assert all("CidrIp" not in r for r in rules)
    # nothing leaves the database
    assert groups[db]["Properties"]["SecurityGroupEgress"][0]["CidrIp"] == "255.255.255.255/32"


def test_prod_would_retain_and_protect_the_database():
    stack = Stack(App(), "T")
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2)
    db = PlatformDatabase(
        stack, "Database", vpc=vpc, key=kms.Key(stack, "K"), settings=PlatformDatabaseSettings(readers=1),
        removal_policy=RemovalPolicy.RETAIN,
    )  # fmt: skip
    db.add_consumer("mlflow")  # issue 15's consumer: one more secret on the same cluster
    template = Template.from_stack(stack).to_json()["Resources"]
    (cluster,) = [r for r in template.values() if r["Type"] == DB_CLUSTER]
    assert cluster["DeletionPolicy"] == "Retain" and cluster["UpdateReplacePolicy"] == "Retain"
    assert cluster["Properties"]["DeletionProtection"] is True
    instances = [r for r in template.values() if r["Type"] == "AWS::RDS::DBInstance"]
    assert len(instances) == 2  # writer and one reader to fail over to
    with pytest.raises(ValueError, match="added twice"):
        db.add_consumer("mlflow")


# --- identities ---------------------------------------------------------------------------------


def test_each_process_reads_its_database_secret_and_nothing_else(synth):
    roles = {
        k: r
        for k, r in synth.resources("dev", "JobApi", "AWS::IAM::Role").items()
        if not k.startswith("AWSCDKCfnUtilsProvider")  # CDK's CfnJson function (the IRSA trust)
    }
    policies = synth.resources("dev", "JobApi", "AWS::IAM::Policy")
    assert len(roles) == 2 and len(policies) == 2
    for role in roles.values():
        trust = json.dumps(role["Properties"]["AssumeRolePolicyDocument"])
        assert "sts:AssumeRoleWithWebIdentity" in trust
    accounts = set()
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        actions = sorted(
            a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        )
        assert actions == ["kms:Decrypt", "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
        assert "*" not in json.dumps([s["Resource"] for s in statements])
        (kms_statement,) = [s for s in statements if s["Action"] == "kms:Decrypt"]
        assert "kms:ViaService" in json.dumps(kms_statement["Condition"])
        accounts.add(json.dumps(policy["Properties"]["Roles"]))
    assert len(accounts) == 2
    conditions = [
        r["Properties"]["Value"]
        for r in synth.template("dev", "JobApi")["Resources"].values()
        if r["Type"] == "Custom::AWSCDKCfnJson"
    ]
    subjects = sorted(v for c in conditions for k, v in json.loads(render(c)).items() if k.endswith(":sub"))
    assert subjects == [
        "system:serviceaccount:gpu-controlplane:job-api",
        "system:serviceaccount:gpu-controlplane:job-dispatcher",
    ]


# --- the manifests ------------------------------------------------------------------------------


def test_every_object_is_valid_for_kubernetes_1_35(synth):
    for obj in objects(synth):
        validate(obj)


def test_namespace_is_restricted_and_default_deny(synth):
    items = objects(synth)
    namespace = one(items, "Namespace", "gpu-controlplane")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert one(items, "NetworkPolicy", "default-deny", "gpu-controlplane")["spec"]["policyTypes"] == [
        "Ingress",
        "Egress",
    ]


@pytest.mark.parametrize("name", [chart.API, chart.DISPATCHER])
def test_deployments_are_replicated_restricted_and_read_only(synth, name):
    items = objects(synth)
    deployment = one(items, "Deployment", name, "gpu-controlplane")
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == name
    for container in pod["containers"] + pod.get("initContainers", []):
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True and context["runAsNonRoot"] is True
        assert context["allowPrivilegeEscalation"] is False and context["capabilities"]["drop"] == ["ALL"]
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
        env = {e["name"]: e["value"] for e in container["env"]}
        assert env["JOB_API_SETTINGS_FILE"] == "/etc/job-api/settings.json"
        assert env["AWS_REGION"] == "us-west-2" and env["JOB_API_DB_SECRET_ARN"]
    pdb = one(items, "PodDisruptionBudget", name, "gpu-controlplane")
    assert pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    account = one(items, "ServiceAccount", name, "gpu-controlplane")
    assert "eks.amazonaws.com/role-arn" in account["metadata"]["annotations"]


def test_the_api_migrates_first_and_serves_tls_with_health_probes(synth):
    pod = one(objects(synth), "Deployment", chart.API)["spec"]["template"]["spec"]
    (init,) = pod["initContainers"]
    assert init["args"] == ["migrate"]
    (server,) = pod["containers"]
    assert server["args"] == ["serve"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert server[probe]["httpGet"] == {"path": "/health", "port": "https", "scheme": "HTTPS"}
    env = {e["name"]: e["value"] for e in server["env"]}
    assert env["JOB_API_TLS_CERT_FILE"].endswith("tls.crt") and env["JOB_API_TLS_KEY_FILE"].endswith(
        "tls.key"
    )
    dispatcher = one(objects(synth), "Deployment", chart.DISPATCHER)["spec"]["template"]["spec"]
    (process,) = dispatcher["containers"]
    assert process["args"] == ["dispatch"] and chart.ALIVE_FILE in json.dumps(
        process["livenessProbe"]["exec"]
    )


def test_the_certificate_chains_to_the_platform_root_and_names_the_service(synth):
    items = objects(synth)
    ca = one(items, "Certificate", chart.CA_NAME, "cert-manager")
    assert ca["spec"]["isCA"] is True and ca["spec"]["issuerRef"]["kind"] == "ClusterIssuer"
    serving = one(items, "Certificate", chart.TLS_SECRET, "gpu-controlplane")
    assert serving["spec"]["issuerRef"]["name"] == chart.CA_NAME
    assert "job-api.gpu-controlplane.svc" in serving["spec"]["dnsNames"]


def test_the_load_balancer_is_an_internal_nlb_passing_tls_through(synth):
    service = one(objects(synth), "Service", chart.API, "gpu-controlplane")
    annotations = service["metadata"]["annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-type"] == "nlb"
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-internal"] == "true"
    assert service["spec"]["type"] == "LoadBalancer" and service["spec"]["externalTrafficPolicy"] == "Local"
    assert service["spec"]["ports"] == [
        {"name": "https", "port": 443, "protocol": "TCP", "targetPort": "https"}
    ]


def test_rbac_is_the_contracts_in_team_namespaces_only(synth):
    items = objects(synth)
    roles = [o for o in items if o["kind"] in ("Role", "ClusterRole")]
    assert {o["kind"] for o in roles} == {"Role"}
    assert {o["metadata"]["namespace"] for o in roles} == set(STAGES["dev"].tenancy.namespaces)
    dispatcher = one(items, "Role", chart.DISPATCHER, "team-training")["rules"]
    assert {(tuple(r["apiGroups"]), tuple(r["resources"])): r["verbs"] for r in dispatcher} == {
        (("batch",), ("jobs",)): ["create", "get", "list", "watch", "delete"],
        (("",), ("pods",)): ["get", "list", "watch"],
        (("",), ("pods/log",)): ["get"],
    }
    api = one(items, "Role", chart.API, "team-training")["rules"]
    assert all("create" not in r["verbs"] and "delete" not in r["verbs"] for r in api)
    binding = one(items, "RoleBinding", chart.API, "team-inference")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "job-api", "namespace": "gpu-controlplane"}
    ]


# --- the settings the service reads ---------------------------------------------------------------


CONTRACT_KEYS = {
    "stage", "region", "allowed_principal_arns", "key_ttl_minutes", "allowed_registries",
    "max_runtime_minutes", "limits", "teams", "pools",
}  # fmt: skip


def test_the_settings_config_map_is_the_stage(synth):
    config_map = one(objects(synth), "ConfigMap", chart.SETTINGS_CONFIG_MAP, "gpu-controlplane")
    settings = json.loads(config_map["data"]["settings.json"])
    assert set(settings) == CONTRACT_KEYS
    assert settings == service_settings(STAGES["dev"])
    assert settings["allowed_registries"] == ["111111111111.dkr.ecr.us-west-2.amazonaws.com", "nvcr.io"]
    assert set(settings["teams"]) == {"training", "inference", "agentic"}  # mlops has no GPU quota
    training = settings["teams"]["training"]
    assert training == {
        "namespace": "team-training",
        "local_queue": "default",
        "priority_class": "training",
        "max_active_gpus": 20,
        "members": ["arn:aws:iam::111111111111:role/GpuDevelopers"],
    }
    # every GPU pool but the reservations' t4 (its GPUs are promised to developer servers)
    assert set(settings["pools"]) == {"g6", "g5", "h100-efa", "l4-shared"}
    g6, shared = settings["pools"]["g6"], settings["pools"]["l4-shared"]
    assert g6["gpu_type"] == "L4" and g6["gpus_per_node"] == 8 and g6["resource"] == "nvidia.com/gpu"
    assert g6["node_selector"] == {POOL_LABEL: "g6"}
    assert g6["tolerations"] == [{"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}]
    # a time-sliced pool offers what the capacity function says: 4 replicas of each of 8 L4s
    assert shared["gpu_type"] == "L4" and shared["gpus_per_node"] == 32


def test_settings_match_the_services_model(synth):
    config_map = one(objects(synth), "ConfigMap", chart.SETTINGS_CONFIG_MAP, "gpu-controlplane")
    ServiceSettings.model_validate_json(config_map["data"]["settings.json"])


# --- the Jobs the dispatcher creates --------------------------------------------------------------


def rendered_job(settings: dict) -> dict:
    """The Job the dispatcher creates for a 2-GPU training job on g6 (``job_api.manifests``)."""

    job = {
        "id": "0123456789ab4cdef0123456789abcde", "team": "training", "pool": "g6", "gpus": 2,
        "spec": {
            "image": f"{settings['allowed_registries'][0]}/training/trainer:1.0",
            "command": ["python", "train.py"], "args": [], "env": {}, "max_runtime_minutes": 60,
        },
    }  # fmt: skip
    return render_job(job, ServiceSettings.model_validate(settings))


def test_the_job_the_dispatcher_creates_is_valid_and_queued_by_kueue(synth):
    config_map = one(objects(synth), "ConfigMap", chart.SETTINGS_CONFIG_MAP, "gpu-controlplane")
    settings = json.loads(config_map["data"]["settings.json"])
    job = rendered_job(settings)
    validate(job)
    labels = job["metadata"]["labels"]
    assert labels["kueue.x-k8s.io/queue-name"] == "default"  # the team namespace's LocalQueue
    assert labels["kueue.x-k8s.io/priority-class"] == "training"  # a WorkloadPriorityClass of the stage
    assert job["metadata"]["namespace"] == "team-training"
    assert job["spec"]["suspend"] is True and job["spec"]["backoffLimit"] == 0
    pod = job["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {POOL_LABEL: "g6"}
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] in (2, "2")
    # the queue and priority class it names exist in the stage's manifests
    workloads = manifests_in_template(synth.template("dev", "Workloads"))
    queues = {
        (o["metadata"].get("namespace"), o["metadata"]["name"])
        for o in workloads
        if o["kind"] == "LocalQueue"
    }
    assert ("team-training", "default") in queues
    classes = {o["metadata"]["name"] for o in workloads if o["kind"] == "WorkloadPriorityClass"}
    assert "training" in classes


# --- destroy order ------------------------------------------------------------------------------


def _dependencies(synth) -> dict[str, set[str]]:
    """Stack -> the stacks it depends on, from the dev assembly's manifest."""
    (manifest,) = [p for p in synth.outdir.glob("assembly-*/manifest.json") if "dev" in p.parent.name]
    artifacts = json.loads(manifest.read_text())["artifacts"]
    names = {key: a.get("displayName", key).split("/")[-1] for key, a in artifacts.items()}
    return {
        names[key]: {names[d] for d in a.get("dependencies", []) if d in names and d != key}
        for key, a in artifacts.items()
        if a["type"] == "aws:cloudformation:stack"
    }


def test_the_load_balancer_is_destroyed_before_the_cluster_the_nodes_and_the_vpc(synth):
    """CloudFormation deletes a stack only after every stack that depends on it: JobApi (and
    with it the LoadBalancer Service, whose deletion waits for the NLB to go) goes first."""
    depends = _dependencies(synth)
    assert {"Network", "Cluster", "Nodes", "Storage", "Workloads"} <= depends["JobApi"]
    # nobody depends on JobApi: nothing keeps it alive after the cluster goes
    assert all("JobApi" not in d for d in depends.values())
    # the only LoadBalancer Service of the stage is in the JobApi stack
    balancers = [
        (stack, o["metadata"]["name"])
        for (stage, stack), template in synth.templates.items()
        if stage == "dev"
        for o in manifests_in_template(template)
        if o["kind"] == "Service" and o["spec"].get("type") == "LoadBalancer"
    ]
    assert balancers == [("JobApi", chart.API)]


def test_inside_the_stack_the_service_goes_before_its_namespace_policies_and_roles(synth):
    """The database rule that admits the cluster's pods is the Workloads stack's (MLflow's pods
    need it too), which this stack depends on (tests/test_mlflow.py: one rule in all)."""
    assert "Workloads" in _dependencies(synth)["JobApi"]
    resources = synth.template("dev", "JobApi")["Resources"]
    (service_id,) = [
        k
        for k, r in resources.items()
        if r["Type"] == MANIFEST and '"LoadBalancer"' in render(r["Properties"]["Manifest"])
    ]
    after = set(resources[service_id]["DependsOn"])
    kinds = {resources[k]["Type"] for k in after}
    assert {"AWS::IAM::Role", MANIFEST} <= kinds
    manifests = {k for k in after if resources[k]["Type"] == MANIFEST}
    names = {k.rstrip("0123456789ABCDEF") for k in manifests}
    assert {"Namespace", "NetworkPolicies"} <= names


# --- settings errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"job_api.allowed_principal_arns": []}, "job_api.allowed_principal_arns is empty"),
        (
            {
                "tenancy.teams": [],
                **{f"workloads.{name}": {} for name in ("training", "ray", "example_agent")},
            },
            "needs tenancy.teams",
        ),
        ({"workloads.linkerd": {"enabled": False}}, "job_api.enabled needs cert-manager"),
        ({"job_api.team_members": {"nobody": [DEVELOPERS]}}, "'nobody' is not a team"),
        ({"job_api.team_members": {"training": [f"{DEVELOPERS}2"]}}, "not in allowed_principal_arns"),
        ({"platform_database": {"min_capacity": 8, "max_capacity": 4}},
         "platform_database.min_capacity 8.0 is above max"),
        ({"job_api.allowed_principal_arns": ["GpuDevelopers"]}, "allowed_principal_arns"),
    ],
)  # fmt: skip
def test_bad_settings_fail_with_one_clear_message(changes, message):
    assert message in error_of(stage_with(**changes))


# --- network flows ------------------------------------------------------------------------------


def test_only_the_job_api_pods_reach_postgres_and_developers_reach_the_api(synth):
    from tools.flow_matrix import JOB_API_ID, MLFLOW_ID, POSTGRES, stage_flows

    flows = stage_flows({stack: t for (stage, stack), t in synth.templates.items() if stage == "dev"})
    c = flows.cluster
    to_db = [f for f in flows.required if f.port == POSTGRES]
    # the database's consumers: the job API's two processes and MLflow's server (tests/test_mlflow.py)
    assert {f.src.id for f in to_db} == {JOB_API_ID, "gpu-controlplane/job-dispatcher", MLFLOW_ID}
    assert all(c.check(f.src, f.dst, f.port.number) for f in to_db)
    (developers,) = [f for f in flows.required if f.dst.id == JOB_API_ID]
    assert c.check(developers.src, developers.dst, developers.port.number)
    assert not c.check(flows.endpoint("internet"), developers.dst, developers.port.number)
    others = [f for f in flows.forbidden if f.port == POSTGRES]
    assert {"gpu-dev/dev-pod", "monitoring/prometheus", "team-training/team-job"} <= {
        f.src.id for f in others
    }
    assert [str(v) for f in others if (v := c.check(f.src, f.dst, f.port.number))] == []
