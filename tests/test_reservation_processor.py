"""The reservation processor end to end: SQS messages (moto) -> DynamoDB records (moto) ->
dev pods on the fake Kubernetes API through the real client; plus the Lambda handler wiring
(environment, EKS token) and the pod's shape."""

from __future__ import annotations

import base64
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from reservations import dev_pod, processor
from reservations.kube import EksToken
from reservations.model import SUMMARY_KEY, Status, from_iso
from tests.reservation_fixtures import (
    CLUSTER,
    IMAGE,
    NAMESPACE,
    POLICY,
    REGION,
    SCHEDULED_EVENT,
    World,
    load_handler,
)


def run(world: World, event: dict) -> dict:
    return processor.handle(event, world.runtime)


def test_happy_path_message_to_preparing_to_active_with_ssh_command(world):
    rid = world.reserve(gpus=2, hours=3)
    assert world.store.get(rid) is None  # the CLI writes nothing; the processor creates it

    result = run(world, world.drain())

    assert result == {"batchItemFailures": []}
    record = world.record(rid)
    assert record.status == Status.PREPARING and record.node_name in ("t4-a", "t4-b")
    assert record.preparing_since == "2025-01-12T10:00:00.000Z"
    pod = world.kube.pod(NAMESPACE, f"gpu-dev-{rid}")
    assert pod is not None and pod["spec"]["nodeName"] == record.node_name

    world.clock.advance(minutes=1)
    run(world, SCHEDULED_EVENT)
    assert world.record(rid).status == Status.PREPARING  # not ready yet

    world.make_ready(rid)
    world.clock.advance(minutes=1)
    report = run(world, SCHEDULED_EVENT)

    record = world.record(rid)
    assert report["activated"] == 1
    assert record.status == Status.ACTIVE
    assert record.launched_at == "2025-01-12T10:02:00.000Z"
    assert from_iso(record.expires_at) - from_iso(record.launched_at) == timedelta(hours=3)
    service = world.kube.objects["services"][(NAMESPACE, f"gpu-dev-{rid}")]
    port = service["spec"]["ports"][0]["nodePort"]
    node_ip = world.kube.nodes[record.node_name]["status"]["addresses"][1]["address"]
    assert record.node_port == port and record.node_ip == node_ip
    assert record.ssh_command == f"ssh -p {port} dev@{node_ip}"


def test_the_pod_requests_gpus_on_the_planned_node_and_is_shaped_as_documented(world):
    rid = world.reserve(gpus=4, gpu_type="a100", github_user="octo-cat")
    run(world, world.drain())
    creates = [r for r in world.kube.requests if r.method == "POST" and r.path.endswith("/pods")]
    assert len(creates) == 1
    pod = creates[0].body
    spec = pod["spec"]
    dev = spec["containers"][0]
    assert dev["image"] == IMAGE and not IMAGE.endswith(":latest")
    assert (
        dev["resources"]["requests"]["nvidia.com/gpu"] == "4" == dev["resources"]["limits"]["nvidia.com/gpu"]
    )
    assert dev["resources"]["requests"]["cpu"] == str(4 * dev_pod.CPU_PER_GPU)
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    expressions = {e["key"]: e["values"] for e in terms[0]["matchExpressions"]}
    assert expressions == {"kubernetes.io/hostname": ["a100-a"], "gpuplatform.io/pool": ["a100"]}
    assert {"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"} in spec[
        "tolerations"
    ]
    assert dev["readinessProbe"]["tcpSocket"]["port"] == 2222
    assert "-p 2222" in dev["command"][-1] and "sshd" in dev["command"][-1]
    init = spec["initContainers"][0]
    assert {"name": "GITHUB_USER", "value": "octo-cat"} in init["env"]
    assert "https://github.com/%s.keys" in init["command"][-1] and "authorized_keys" in init["command"][-1]
    assert "0o700" in init["command"][-1] and "0o600" in init["command"][-1]
    assert init["securityContext"]["runAsNonRoot"] is True
    mounts = {m["mountPath"]: m["name"] for m in dev["volumeMounts"]}
    assert mounts["/home/dev"] == "home" and mounts["/workspace"] == "workspace"
    assert mounts["/etc/gpu-dev"] == "gpu-dev-info"
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["workspace"]["persistentVolumeClaim"]["claimName"] == "workspace"
    assert (
        volumes["gpu-dev-info"]["downwardAPI"]["items"][0]["fieldRef"]["fieldPath"] == "metadata.annotations"
    )
    assert spec["automountServiceAccountToken"] is False
    assert pod["metadata"]["labels"][dev_pod.RESERVATION_LABEL] == rid
    claim = world.kube.objects["persistentvolumeclaims"][(NAMESPACE, dev_pod.home_claim_name("alice"))]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert claim["spec"]["storageClassName"] == "efs-home"
    assert claim["spec"]["resources"]["requests"]["storage"] == "50Gi"
    service = world.kube.objects["services"][(NAMESPACE, f"gpu-dev-{rid}")]
    assert service["spec"]["type"] == "NodePort" and service["spec"]["ports"][0]["targetPort"] == 2222


def test_a_full_type_queues_fifo_with_position_and_eta_in_one_forecast_written_only_when_changed(world):
    first = world.reserve(gpus=8, gpu_type="a100", hours=2)
    run(world, world.drain())
    world.make_ready(first)
    world.clock.advance(minutes=1)
    run(world, SCHEDULED_EVENT)
    waiting = [world.reserve(gpus=8, gpu_type="a100", hours=1, user=u) for u in ("bob", "carol")]
    run(world, world.drain())
    records = [world.record(r) for r in waiting]
    assert [r.status for r in records] == [Status.QUEUED, Status.QUEUED]
    places = [world.place(r) for r in waiting]
    assert [p.position for p in places] == [1, 2]
    active = world.record(first)
    # stored to the minute, rounded down
    assert places[0].start_at >= from_iso(active.expires_at) - timedelta(minutes=1)
    assert places[0].start_at - world.clock.now > timedelta(minutes=100)
    assert places[1].start_at > places[0].start_at
    assert records[0].queue_position is None  # not on the records: one item per GPU type

    versions = [world.record(r).version for r in waiting]
    world.clock.advance(minutes=1)
    report = run(world, SCHEDULED_EVENT)
    assert report["forecasts_written"] == 0
    assert [world.record(r).version for r in waiting] == versions


def test_every_pass_writes_the_capacity_summary(world):
    world.reserve(gpus=4, gpu_type="t4")
    world.reserve(gpus=4, gpu_type="t4", user="bob")
    world.reserve(gpus=4, gpu_type="t4", user="carol")
    run(world, world.drain())
    summary = world.store.get_summary()
    assert summary["reservation_id"] == SUMMARY_KEY and "status" not in summary
    assert summary["updated_at"] == "2025-01-12T10:00:00.000Z"
    t4, a100 = summary["gpu_types"]["t4"], summary["gpu_types"]["a100"]
    assert (t4["gpu_model"], t4["total"], t4["free"], t4["queued"]) == ("T4", 8, 0, 1)
    assert t4["next_free_at"] is not None
    assert (a100["total"], a100["free"], a100["queued"], a100["next_free_at"]) == (8, 8, 0, None)


def test_per_user_open_limit_refuses_at_acceptance_the_latest_request(world):
    ids = [world.reserve(gpus=1, hours=1) for _ in range(POLICY.max_open_per_user + 1)]
    world.clock.advance(seconds=1)
    run(world, world.drain())
    statuses = [world.record(r).status for r in ids]
    assert Status.FAILED not in statuses[:-1]
    last = world.record(ids[-1])
    assert last.status == Status.FAILED and "limit is 4" in last.failure_reason
    assert last.reservation_ended is not None


def test_a_request_the_policy_cannot_grant_is_refused_with_a_reason(world):
    rid = world.reserve(gpus=8, gpu_type="t4")  # a t4 node holds 4
    run(world, world.drain())
    record = world.record(rid)
    assert record.status == Status.FAILED and record.failure_reason
    assert not world.kube.pods(NAMESPACE)


def test_the_record_is_created_from_the_message_already_queued(world):
    rid = world.reserve(gpus=8, gpu_type="a100")
    world.reserve(gpus=8, gpu_type="a100", user="bob")
    processor.apply_batch(world.drain()["Records"], world.runtime)  # accepted, not scheduled
    record = world.record(rid)
    assert (record.status, record.user_id, record.github_user) == (Status.QUEUED, "alice", "alice-gh")
    assert (record.gpu_type, record.gpu_count, record.duration_hours) == ("a100", 8, 2.0)
    assert record.version == 0 and record.last_queue_update == "2025-01-12T10:00:00.000Z"


def test_the_open_limit_holds_whatever_order_a_users_requests_arrive_in(world):
    ids = [world.reserve(gpus=1, hours=1) for _ in range(POLICY.max_open_per_user + 1)]
    event = world.drain()
    event["Records"].reverse()  # the latest request reaches the processor first
    run(world, event)
    statuses = [world.record(r).status for r in ids]
    assert statuses.count(Status.FAILED) == 1 and statuses[0] == Status.FAILED
    assert sum(s != Status.FAILED for s in statuses) == POLICY.max_open_per_user


def test_cancel_of_a_queued_request_ends_it_and_frees_its_place(world):
    first = world.reserve(gpus=8, gpu_type="a100")
    second = world.reserve(gpus=8, gpu_type="a100", user="bob")
    third = world.reserve(gpus=8, gpu_type="a100", user="carol")
    run(world, world.drain())
    assert world.place(third).position == 2
    world.cancel(second, user="bob")
    run(world, world.drain())
    assert world.record(second).status == Status.CANCELLED
    assert world.record(second).cancelled_at is not None
    assert world.place(third).position == 1 and world.place(second) is None
    assert world.record(first).status == Status.PREPARING


def test_cancel_by_another_user_is_dropped(world):
    rid = world.reserve()
    run(world, world.drain())
    world.cancel(rid, user="mallory")
    assert run(world, world.drain()) == {"batchItemFailures": []}
    assert world.record(rid).status == Status.PREPARING


def test_extension_beyond_max_hours_is_recorded_as_a_refusal(world):
    rid = world.reserve(hours=20)
    run(world, world.drain())
    world.extend(rid, 5)
    assert run(world, world.drain()) == {"batchItemFailures": []}
    record = world.record(rid)
    assert record.duration_hours == 20 and "limit is 24 h" in record.extension_refusal


def test_extension_of_a_queued_request_is_refused(world):
    world.reserve(gpus=8, gpu_type="a100", user="bob")
    rid = world.reserve(gpus=8, gpu_type="a100")
    run(world, world.drain())
    world.extend(rid, 1)
    run(world, world.drain())
    record = world.record(rid)
    assert (
        record.status == Status.QUEUED and "queued reservation cannot be extended" in record.extension_refusal
    )


def test_lambda_handler_from_environment_authenticates_with_an_eks_token(world, monkeypatch):
    env = {
        "TABLE_NAME": "gpu-dev-reservations",
        "POLICY": POLICY.to_json(),
        "CLUSTER_NAME": CLUSTER,
        "CLUSTER_ENDPOINT": world.kube.url,
        "CLUSTER_CA": base64.b64encode(b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n").decode(),
        "AWS_REGION": REGION,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    module = load_handler("reservation_processor")
    rid = world.reserve()
    result = module.handler(world.drain(), None)
    assert result == {"batchItemFailures": []}
    assert world.record(rid).status == Status.PREPARING
    assert module.handler(SCHEDULED_EVENT, None)["lease"] is True
    tokens = {r.authorization for r in world.kube.requests}
    assert len(tokens) == 1  # one cached token for every call
    (token,) = tokens
    assert token.startswith("Bearer k8s-aws-v1.")
    encoded = token.removeprefix("Bearer k8s-aws-v1.")
    url = urlparse(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode())
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert url.netloc == f"sts.{REGION}.amazonaws.com"
    assert query["Action"] == "GetCallerIdentity" and query["X-Amz-Expires"] == "60"
    assert "x-k8s-aws-id" in query["X-Amz-SignedHeaders"].split(";")


def test_eks_token_is_cached_for_ten_minutes(world):
    now = [1000.0]
    token = EksToken(CLUSTER, REGION, clock=lambda: now[0])
    made = []
    original = token._make
    token._make = lambda: made.append(1) or original()
    first = token()
    now[0] += 599
    assert token() == first and len(made) == 1
    now[0] += 2
    assert token().startswith("k8s-aws-v1.") and len(made) == 2


def test_unknown_event_is_refused(world):
    with pytest.raises(ValueError):
        run(world, {"hello": "world"})


def test_when_the_head_starts_the_queue_behind_it_costs_one_write(world):
    running = world.reserve(gpus=8, gpu_type="a100")
    waiting = [world.reserve(gpus=8, gpu_type="a100", user=f"u{n}") for n in range(4)]
    run(world, world.drain())
    assert [world.place(r).position for r in waiting] == [1, 2, 3, 4]
    versions = [world.record(r).version for r in waiting]
    processor.end(world.runtime, world.record(running), Status.CANCELLED, cancelled=True)  # no pass yet
    world.clock.advance(minutes=1)
    report = run(world, SCHEDULED_EVENT)
    assert report["started"] == 1 and world.record(waiting[0]).status == Status.PREPARING
    assert report["forecasts_written"] == 1  # the a100 queue's item; every place moved up
    assert [world.place(r).position for r in waiting[1:]] == [1, 2, 3]
    assert [world.record(r).version for r in waiting[1:]] == versions[1:]  # no record written
