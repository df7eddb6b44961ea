"""The Reservations stack and table as synthesized for dev: what the Lambdas are triggered by,
what they may do (in AWS and in the cluster), what the CLI is told, and what pages an operator."""

from __future__ import annotations

import json

import pytest
from aws_cdk import App, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from platform_config.contract import GPU_TAINT_KEY, GPU_TAINT_VALUE, POOL_LABEL
from platform_config.loader import StageConfigError, load_stages, parse_stage
from platform_constructs.reservations_table import reservations_table
from reservations.dev_pod import pod_manifest
from reservations.model import INDEXES, Reservation, Status
from reservations.policy import Policy
from stacks.reservations_stack import reservation_policy
from tests.iam_policy import allowed, dynamodb_request
from tests.manifests import manifests_in_template, render
from tests.test_config import stage_with

STAGES = {stage.name: stage for stage in load_stages()}


def resources(synth, resource_type: str) -> dict[str, dict]:
    return synth.resources("dev", "Reservations", resource_type)


def only(synth, resource_type: str) -> dict:
    (found,) = resources(synth, resource_type).values()
    return found["Properties"]


def functions(synth) -> dict[str, dict]:
    return {k: r["Properties"] for k, r in resources(synth, "AWS::Lambda::Function").items()}


def test_table_has_the_seed_schema_plus_the_per_type_queue_index(synth):
    (table,) = synth.resources("dev", "Storage", "AWS::DynamoDB::Table").values()
    props = table["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "reservation_id", "KeyType": "HASH"}]
    indexes = {i["IndexName"]: i for i in props["GlobalSecondaryIndexes"]}
    assert set(indexes) == {"StatusIndex", "UserIndex", "StatusGpuTypeIndex", "OwnerIndex"}
    assert INDEXES["OwnerIndex"] == ("owner_id", "reservation_id")  # a developer's own records, by id
    for name, (partition, sort) in INDEXES.items():
        assert indexes[name]["KeySchema"] == [
            {"AttributeName": partition, "KeyType": "HASH"},
            {"AttributeName": sort, "KeyType": "RANGE"},
        ]
        assert indexes[name]["Projection"] == {"ProjectionType": "ALL"}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert table["DeletionPolicy"] == "Delete"  # dev destroys its data


def test_prod_would_retain_the_table_and_protect_it():
    prod = STAGES["prod"]
    stack = Stack(App(), "T")
    reservations_table(stack, "ReservationsTable", config=prod, key=kms.Key(stack, "K"))
    template = Template.from_stack(stack).to_json()
    (table,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table"]
    assert table["DeletionPolicy"] == RemovalPolicy.RETAIN.value.capitalize()
    assert table["Properties"]["DeletionProtectionEnabled"] is True


def test_queue_redrives_to_the_dlq_after_three_receives_and_the_processor_reports_item_failures(synth):
    queues = resources(synth, "AWS::SQS::Queue")
    (request,) = [q["Properties"] for q in queues.values() if "RedrivePolicy" in q["Properties"]]
    assert request["RedrivePolicy"]["maxReceiveCount"] == 3
    assert request["VisibilityTimeout"] == 360  # six times the 60 s function timeout
    assert all(q["Properties"]["SqsManagedSseEnabled"] for q in queues.values())
    mapping = only(synth, "AWS::Lambda::EventSourceMapping")
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["FunctionName"]["Ref"].startswith("Processor")


def test_schedules_run_the_processor_every_minute_and_expiry_every_five(synth):
    rules = {
        r["Properties"]["ScheduleExpression"]: r["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0]
        for r in resources(synth, "AWS::Events::Rule").values()
    }
    assert rules["rate(1 minute)"].startswith("Processor")
    assert rules["rate(5 minutes)"].startswith("Expiry")


def test_functions_get_the_stage_policy_and_the_cluster_and_run_in_the_vpc(synth):
    for name, props in functions(synth).items():
        env = props["Environment"]["Variables"]
        assert set(env) == {
            "TABLE_NAME",
            "POLICY",
            "CLUSTER_NAME",
            "CLUSTER_ENDPOINT",
            "CLUSTER_CA",
            "MAX_RECEIVES",
            "DEAD_LETTER_QUEUE_URL",
        }, name
        assert env["MAX_RECEIVES"] == "3" and env["DEAD_LETTER_QUEUE_URL"]["Ref"].startswith(
            "DeadLetterQueue"
        )
        policy = Policy.from_json(render(env["POLICY"]))
        assert [(t.name, t.gpu_model, t.gpus_per_node) for t in policy.gpu_types] == [("t4", "T4", 4)]
        assert policy.allowed_gpu_counts == (1, 2, 4) and policy.max_hours == 24
        assert policy.dev_image  # the image CDK builds from images/dev_pod
        assert props["Runtime"] == "python3.14" and props["Handler"] == "handler.handler"
        assert props["VpcConfig"]["SubnetIds"], name
        assert len(props["Layers"]) == 1


def test_lambda_role_may_use_the_table_and_its_indexes_but_never_scan(synth):
    statements = [
        s
        for p in resources(synth, "AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = {
        a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert "dynamodb:Scan" not in actions and not [a for a in actions if a.endswith("*")]
    (table,) = [s for s in statements if "dynamodb:Query" in s["Action"]]
    rendered = sorted(render(r, lambda _: "TABLE") for r in table["Resource"])
    assert rendered == sorted(["TABLE", *(f"TABLE/index/{i}" for i in INDEXES)])
    # The DLQ: peeked by the expiry pass (receive with visibility 0), never deleted from.
    (dead_letters,) = [s for s in statements if s["Action"] == "sqs:ReceiveMessage"]
    assert dead_letters["Resource"]["Fn::GetAtt"][0].startswith("DeadLetterQueue")


def test_the_cluster_identity_is_a_group_bound_to_pods_services_and_claims_in_gpu_dev_only(synth):
    entry = only(synth, "AWS::EKS::AccessEntry")
    assert entry["KubernetesGroups"] == ["gpu-dev-reservations"]
    assert "AccessPolicies" not in entry  # no EKS access policy: RBAC alone decides
    objects = manifests_in_template(synth.template("dev", "Reservations"))
    by_kind = {o["kind"]: o for o in objects}
    rule, policies = by_kind["Role"]["rules"]
    assert by_kind["Role"]["metadata"]["namespace"] == "gpu-dev"
    assert set(rule["resources"]) == {"pods", "services", "persistentvolumeclaims"}
    assert "*" not in rule["verbs"]
    # a gang's NetworkPolicy: made, swept and removed, never read or changed
    # (tests/test_reservations_gang.py checks these are the verbs the Lambdas use)
    assert (policies["apiGroups"], policies["resources"]) == (["networking.k8s.io"], ["networkpolicies"])
    assert sorted(policies["verbs"]) == ["create", "delete", "list"]
    (node_rule,) = by_kind["ClusterRole"]["rules"]
    assert (node_rule["resources"], node_rule["verbs"]) == (["nodes"], ["get", "list"])
    for binding in ("RoleBinding", "ClusterRoleBinding"):
        assert by_kind[binding]["subjects"] == [
            {"kind": "Group", "name": "gpu-dev-reservations", "apiGroup": "rbac.authorization.k8s.io"}
        ]
    claim = by_kind["PersistentVolumeClaim"]
    assert (claim["metadata"]["name"], claim["spec"]["accessModes"]) == ("workspace", ["ReadWriteMany"])


def test_the_cli_finds_queue_table_and_rules_in_one_parameter(synth):
    parameter = only(synth, "AWS::SSM::Parameter")
    assert parameter["Name"] == "/gpu-platform/dev/reservations"
    value = json.loads(render(parameter["Value"]))
    assert set(value) == {"policy", "queue_url", "table_name", "region"}
    assert Policy.from_json(json.dumps(value["policy"])).stage == "dev"
    users = only(synth, "AWS::IAM::ManagedPolicy")["PolicyDocument"]["Statement"]
    allows = [s for s in users if s["Effect"] == "Allow"]
    actions = {a for s in allows for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions == {
        "ssm:GetParameter",
        "sqs:SendMessage",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "kms:Decrypt",
    }


def test_dead_letters_and_lambda_errors_page_through_the_topic(synth):
    alarms = [a["Properties"] for a in resources(synth, "AWS::CloudWatch::Alarm").values()]
    metrics = sorted(a["MetricName"] for a in alarms)
    assert metrics == ["ApproximateNumberOfMessagesVisible", "Errors", "Errors"]
    (topic,) = resources(synth, "AWS::SNS::Topic")
    for alarm in alarms:
        assert alarm["AlarmActions"] == [{"Ref": topic}]
        assert alarm["Threshold"] == 1


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"enabled": True, "gpu_pools": ["g6"]}, "'g6' is not a managed GPU pool; allowed: t4"),
        ({"enabled": True}, "reservations.gpu_pools is empty"),
        (
            {"enabled": True, "gpu_pools": ["t4"], "default_hours": 30},
            "default_hours 30.0 is above max_hours 24 (default)",
        ),
        (
            {"enabled": True, "gpu_pools": ["t4"], "allowed_gpu_counts": [3]},
            "allowed_gpu_counts[0]: 3 is not allowed; allowed: 1, 2, 4, 8 or 16",
        ),
    ],
)
def test_wrong_reservation_settings_fail_naming_the_setting(settings, message):
    with pytest.raises(StageConfigError) as error:
        parse_stage(stage_with(reservations=settings), "t")
    assert message in str(error.value)


def test_dev_pods_land_where_the_platform_labels_and_taints_gpu_nodes():
    """The bundle carries only ``reservations``, so it names the pool label and the GPU taint
    itself; they must be the ones the node groups set."""
    policy = reservation_policy(
        STAGES["dev"], dev_image="111111111111.dkr.ecr.us-west-2.amazonaws.com/dev:abc"
    )
    record = Reservation(
        reservation_id="0f0e0d0c-0b0a-4909-8807-060504030201", user_id="alice", github_user="alice",
        gpu_type="t4", gpu_count=2, duration_hours=4.0, status=Status.PREPARING,
        created_at="2026-11-25T10:00:00.000Z",
    )  # fmt: skip
    pod = pod_manifest(record, policy, "ip-10-10-1-5")["spec"]
    (toleration,) = pod["tolerations"]
    assert (toleration["key"], toleration["effect"]) == (GPU_TAINT_KEY, "NoSchedule")
    assert toleration["operator"] == "Exists" or toleration["value"] == GPU_TAINT_VALUE
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    keys = {e["key"]: e["values"] for term in terms for e in term["matchExpressions"]}
    assert keys[POOL_LABEL] == ["t4"] and keys["kubernetes.io/hostname"] == ["ip-10-10-1-5"]


# -- private records: the developers' policy, as synthesized, evaluated as IAM does ----------------

TABLE_ARN = "arn:aws:dynamodb:us-east-2:123456789012:table/reservations"
ALICE = "AROAEXAMPLEROLEID:alice"  # ${aws:userid} of alice's session of the developers' role
BOB = "AROAEXAMPLEROLEID:bob"
IAM_USER = "AIDAEXAMPLEUSERID"  # ${aws:userid} of an IAM user: its unique id
RECORD = "0b1b2b3b-0000-4000-8000-000000000000"


def users_policy(synth) -> list[dict]:
    statements: list[dict] = only(synth, "AWS::IAM::ManagedPolicy")["PolicyDocument"]["Statement"]
    return statements


def may(statements: list[dict], caller: str, operation: str, **body) -> bool:
    keys = {"": "reservation_id", **{name: pair[0] for name, pair in INDEXES.items()}}
    request = dynamodb_request(operation, body, TABLE_ARN, keys)
    return allowed(statements, request, {"aws:userid": caller}, lambda r: render(r, lambda _: TABLE_ARN))


def query(index: str, key: str, value: str) -> dict:
    return {
        "IndexName": index,
        "KeyConditionExpression": "#k = :v",
        "ExpressionAttributeNames": {"#k": key},
        "ExpressionAttributeValues": {":v": {"S": value}},
    }


def get(key: str) -> dict:
    return {"Key": {"reservation_id": {"S": key}}}


@pytest.mark.parametrize("caller", [ALICE, IAM_USER])
def test_a_developer_may_query_only_their_own_owner_key_and_get_only_the_aggregates(synth, caller):
    statements = users_policy(synth)
    assert may(statements, caller, "Query", **query("OwnerIndex", "owner_id", caller))
    assert not may(statements, caller, "Query", **query("OwnerIndex", "owner_id", BOB))
    assert may(statements, caller, "GetItem", **get("summary#capacity"))
    assert may(statements, caller, "GetItem", **get("forecast#t4"))
    assert not may(statements, caller, "GetItem", **get(RECORD))  # a record, by its id
    assert not may(statements, caller, "GetItem", **get("ledger#t4"))  # who holds which node
    for index, (key, _) in INDEXES.items():
        if index != "OwnerIndex":
            assert not may(
                statements, caller, "Query", **query(index, key, "bob" if key == "user_id" else "x")
            )
    assert not may(statements, caller, "Scan")
    assert not may(statements, caller, "Scan", IndexName="UserIndex")
    assert not may(statements, caller, "BatchGetItem")
    assert not may(statements, caller, "PutItem", Item={"reservation_id": {"S": RECORD}})


def test_the_denials_hold_when_another_policy_of_the_role_allows_every_read(synth):
    broad = {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}
    statements = [*users_policy(synth), broad]
    assert may(statements, ALICE, "Query", **query("OwnerIndex", "owner_id", ALICE))
    assert not may(statements, ALICE, "Query", **query("OwnerIndex", "owner_id", BOB))
    assert not may(statements, ALICE, "Query", **query("UserIndex", "user_id", "bob"))
    assert not may(statements, ALICE, "GetItem", **get(RECORD))
    assert not may(statements, ALICE, "Scan")
