"""End to end, a multi-node reservation: 16 GPUs on a p4d-like EFA pool of 8-GPU nodes is a gang
of two whole nodes. It waits while one node is partly taken (no partial start), starts as one
gang (one ledger hold naming both nodes, two pods with EFA, a headless Service, its own
NetworkPolicy, the peers in their environment), shows and connects per node, and cancels without
leaving a pod, Service or policy. The same CLI, processor and fake Kubernetes as
``test_reservations_e2e.py``; what the policies allow is judged by ``tools/reachability.py``."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from dataclasses import replace
from datetime import timedelta

import cdk8s
import pytest

from k8s_charts.network_policies import NetworkPoliciesChart
from k8s_charts.reservations_access import NETWORK_POLICY_VERBS
from reservations import dev_pod, expiry, processor
from reservations.model import Status, from_iso
from reservations.policy import GpuType
from tests.fake_kube import FakeKube
from tests.manifests import validate
from tests.reservation_fixtures import NAMESPACE, POLICY, SCHEDULED_EVENT, World
from tests.test_reservations_e2e import Platform, gpu_dev, serve
from tools.reachability import Cluster

# p4d.24xlarge: 8 A100s and 4 EFA interfaces (platform_config/gpu_catalog.py); l40s has no EFA.
GANG_POLICY = replace(
    POLICY,
    gpu_types=(GpuType("a100", "A100", 8, efa_interfaces=4), GpuType("l40s", "L40S", 4)),
    default_gpu_type="a100",
    allowed_gpu_counts=(1, 2, 4, 8, 16),
    max_gpus_per_user=24,
)
NODES = (("a100-a", "a100", 8), ("a100-b", "a100", 8), ("l40s-a", "l40s", 4), ("l40s-b", "l40s", 4))
TWO_GANGS = (*((f"a100-{n}", "a100", 8) for n in "abcd"), ("l40s-a", "l40s", 4))
# (HTTP method, on the collection?) -> the RBAC verb it needs
RBAC_VERBS = {
    ("POST", True): "create",
    ("GET", True): "list",
    ("GET", False): "get",
    ("PATCH", False): "patch",
    ("PUT", False): "update",
    ("DELETE", False): "delete",
}
VPC = "10.0.0.0/16"  # pod addresses are the VPC's (the VPC CNI), as tools/flow_matrix.py assumes


@pytest.fixture
def platform(monkeypatch, tmp_path):
    yield from serve(World(policy=GANG_POLICY, nodes=NODES), monkeypatch, tmp_path)


def reservation(world: World, gpus: int):
    (record,) = [r for r in world.store.by_user("moto") if r.gpu_count == gpus]
    return world.record(record.reservation_id)


def test_a_16_gpu_reservation_waits_for_two_whole_nodes_starts_as_one_gang_and_cancels(platform, capsys):
    world = platform.world
    assert gpu_dev(capsys, "config", "set", "github_user", "octocat")[0] == 0
    code, output = gpu_dev(capsys, "reserve", "--gpus", "1", "--hours", "2")
    assert code == 0, output
    small = reservation(world, 1)

    # One a100 node holds a GPU: the gang waits, with nothing of it started.
    assert gpu_dev(capsys, "reserve", "--gpus", "16", "--hours", "2", "--no-wait")[0] == 0
    for _ in range(3):
        platform.tick(seconds=60)
    gang = reservation(world, 16)
    assert gang.status is Status.QUEUED and gang.gang_nodes == []
    assert [p["metadata"]["name"] for p in world.kube.pods(NAMESPACE)] == [
        dev_pod.pod_name(small.reservation_id)
    ]
    assert set(world.store.ledgers(["a100"])["a100"].holds) == {small.reservation_id}

    # The small one ends: both nodes are whole again and the gang starts on both at once.
    assert gpu_dev(capsys, "cancel", small.reservation_id[:8])[0] == 0
    for _ in range(4):
        platform.tick(seconds=60)
    gang = reservation(world, 16)
    assert gang.status is Status.ACTIVE, gang
    assert sorted(gang.gang_nodes) == ["a100-a", "a100-b"] and gang.node_name == gang.gang_nodes[0]
    hold = world.store.ledgers(["a100"])["a100"].holds[gang.reservation_id]
    assert (hold.gang, hold.gpus) == (tuple(gang.gang_nodes), 8)
    rid = gang.reservation_id
    pods = {p["metadata"]["name"]: p for p in world.kube.pods(NAMESPACE)}
    assert sorted(pods) == sorted(dev_pod.pod_names(gang))
    hosts = [dev_pod.peer_host(rid, rank, NAMESPACE) for rank in range(2)]
    for rank, node in enumerate(gang.gang_nodes):
        pod = pods[dev_pod.member_pod_name(rid, rank)]
        assert pod["spec"]["nodeName"] == node
        assert (pod["spec"]["hostname"], pod["spec"]["subdomain"]) == (
            dev_pod.member_pod_name(rid, rank),
            dev_pod.peers_service_name(rid),
        )
        (dev,) = [c for c in pod["spec"]["containers"] if c["name"] == "dev"]
        limits = {k: str(v) for k, v in dev["resources"]["limits"].items()}
        assert limits == {"nvidia.com/gpu": "8", "vpc.amazonaws.com/efa": "4"}
        env = {e["name"]: e["value"] for e in dev["env"]}
        assert (env["RANK"], env["WORLD_SIZE"], env["MASTER_ADDR"]) == (str(rank), "2", hosts[0])
        assert env["GPU_DEV_PEERS"] == ",".join(hosts)
    services = {name: body for (_, name), body in world.kube.objects["services"].items()}
    assert sorted(services) == sorted(dev_pod.service_names(gang))
    assert services[dev_pod.peers_service_name(rid)]["spec"]["clusterIP"] == "None"
    assert services[dev_pod.service_name(rid)]["spec"]["selector"][dev_pod.RANK_LABEL] == "0"

    code, output = gpu_dev(capsys, "show", rid[:8])
    assert code == 0 and "SSH node 0" in output and "SSH node 1" in output, output
    assert gang.ssh_command.startswith("ssh -A -p ")
    code, output = gpu_dev(capsys, "connect", rid[:8], "--node", "1", "--print")
    jump = f"ssh -A -J dev@{gang.node_ip}:{gang.node_port} -p 2222 dev@{hosts[1]}"
    assert (code, output.strip()) == (0, jump)
    code, output = gpu_dev(capsys, "connect", rid[:8], "--node", "2", "--print")
    assert code != 0 and "has nodes 0 to 1" in output

    (peers,) = world.kube.network_policies(NAMESPACE)
    assert peers["metadata"]["name"] == dev_pod.peers_service_name(rid)
    assert peers["spec"] == dev_pod.peers_policy_manifest(gang, GANG_POLICY)["spec"]
    assert all(p["metadata"]["labels"][dev_pod.GANG_LABEL] == rid for p in pods.values())

    assert gpu_dev(capsys, "cancel", rid[:8])[0] == 0
    platform.tick(seconds=60)
    platform.tick(seconds=60)
    code, output = gpu_dev(capsys, "show", rid, "--json")
    assert (code, json.loads(output)["status"]) == (0, "cancelled")
    assert world.kube.pods(NAMESPACE) == []
    assert list(world.kube.objects["services"]) == []
    assert world.kube.network_policies() == []
    assert world.store.ledgers(["a100"])["a100"].holds == {}


def test_16_gpus_on_a_pool_without_efa_is_refused_naming_the_pool(platform, capsys):
    assert gpu_dev(capsys, "config", "set", "github_user", "octocat")[0] == 0
    code, output = gpu_dev(capsys, "reserve", "--gpus", "8", "--gpu-type", "l40s", "--no-wait")
    assert code != 0
    assert "--gpus 8 is not possible for l40s: 8 GPUs spans 2 l40s nodes (4 GPUs each)" in output
    assert "pool l40s has no EFA" in output and "ask for at most 4" in output
    assert platform.world.store.by_user("moto") == []


def test_the_processor_refuses_a_gang_on_a_pool_without_efa_too(platform):
    world = platform.world  # a request that skipped the CLI's check (an older CLI, a raw message)
    rid = world.reserve(user="moto", gpu_type="l40s", gpus=8)
    platform.tick(seconds=60)
    record = world.record(rid)
    assert record.status is Status.FAILED
    assert "8 GPUs spans 2 l40s nodes (4 GPUs each), and pool l40s has no EFA" in str(record.failure_reason)
    assert world.kube.pods(NAMESPACE) == []


# -- one NetworkPolicy per gang -----------------------------------------------------------------


def gpu_dev_cluster(kube: FakeKube, policies: list[dict] | None = None) -> Cluster:
    """The dev-pod namespace as the cluster would hold it: the platform chart's policies for it
    (default deny, DNS, ``allow-workstation``), the pods and NetworkPolicies the processor
    created (``policies``: instead of those), every pod at an address of the VPC."""
    chart = NetworkPoliciesChart(cdk8s.App(), "policies", namespaces=[NAMESPACE], vpc_cidr=VPC)
    created = kube.network_policies(NAMESPACE) if policies is None else policies
    base = Cluster.from_manifests([*chart.to_json(), *created, *kube.pods(NAMESPACE)])
    pod_ips = ipaddress.ip_network(VPC)
    workloads = tuple(dataclasses.replace(w, ip=str(pod_ips[100 + i])) for i, w in enumerate(base.workloads))
    return Cluster(base.namespaces, workloads, base.policies)


def started(world: World, *reservations: str) -> list[str]:
    """Deliver the Reserves and run passes (every pod Ready) until all are active."""
    driver = Platform(world)
    for _ in range(3):
        driver.tick(seconds=60)
    assert [world.record(rid).status for rid in reservations] == [Status.ACTIVE] * len(reservations)
    return list(reservations)


def test_a_gangs_pods_reach_each_other_on_every_port_and_no_other_reservations_pods():
    with World(policy=GANG_POLICY, nodes=TWO_GANGS) as world:
        a, b, solo = started(
            world,
            world.reserve(user="alice", gpu_type="a100", gpus=16),
            world.reserve(user="bob", gpu_type="a100", gpus=16),
            world.reserve(user="carol", gpu_type="l40s", gpus=1),
        )
        made = world.kube.network_policies(NAMESPACE)
        assert sorted(p["metadata"]["name"] for p in made) == sorted(map(dev_pod.peers_service_name, (a, b)))
        for policy in made:
            validate(policy)  # a NetworkPolicy Kubernetes 1.35 accepts
        cluster = gpu_dev_cluster(world.kube)
        without_a = gpu_dev_cluster(
            world.kube, [p for p in made if p["metadata"]["name"] != dev_pod.peers_service_name(a)]
        )

    def pod(rid: str, rank: int = 0):
        return cluster.workload(f"{NAMESPACE}/{dev_pod.member_pod_name(rid, rank)}")

    ports = (dev_pod.SSH_PORT, dev_pod.MASTER_PORT, 43_117)  # sshd, torchrun's rendezvous, an NCCL port
    for rid in (a, b):
        for src, dst in ((pod(rid, 0), pod(rid, 1)), (pod(rid, 1), pod(rid, 0))):
            for port in ports:
                verdict = cluster.check(src, dst, port)
                assert verdict, verdict
                assert dev_pod.peers_service_name(rid) in verdict.egress, verdict  # nothing else lets out
    strangers = [(pod(a, r), pod(b, q)) for r in (0, 1) for q in (0, 1)]
    strangers += [(dst, src) for src, dst in strangers]
    strangers += [(pod(solo), pod(a)), (pod(a), pod(solo)), (pod(b, 1), pod(solo))]
    allowed = [str(v) for src, dst in strangers for port in ports if (v := cluster.check(src, dst, port))]
    assert allowed == []

    # Without its policy, a gang's own pods are cut off from each other: the policy is what allows.
    assert not without_a.check(pod(a, 0), pod(a, 1), dev_pod.MASTER_PORT)
    assert without_a.check(pod(b, 0), pod(b, 1), dev_pod.MASTER_PORT)


def test_a_failed_or_expired_gang_loses_its_policy_and_the_sweep_removes_a_leftover():
    with World(policy=GANG_POLICY, nodes=TWO_GANGS) as world:
        (a,) = started(world, world.reserve(user="alice", gpu_type="a100", gpus=16, hours=1))
        b = world.reserve(user="bob", gpu_type="a100", gpus=16, hours=8)
        processor.handle(world.drain(), world.runtime)  # the batch's pass starts b
        assert world.record(b).status is Status.PREPARING
        names = {p["metadata"]["name"] for p in world.kube.network_policies(NAMESPACE)}
        assert names == {dev_pod.peers_service_name(a), dev_pod.peers_service_name(b)}

        # b's rank 1 fails to start: b fails, and the pass releasing its hold removes its policy.
        world.kube.set_pod_failed(NAMESPACE, dev_pod.member_pod_name(b, 1), "Evicted")
        world.clock.advance(minutes=1)
        processor.handle(SCHEDULED_EVENT, world.runtime)
        assert world.record(b).status is Status.FAILED
        world.clock.advance(minutes=1)
        processor.handle(SCHEDULED_EVENT, world.runtime)
        assert [p["metadata"]["name"] for p in world.kube.network_policies()] == [
            dev_pod.peers_service_name(a)
        ]
        assert b not in world.store.ledgers(["a100"])["a100"].holds

        # a expires: its pods, Services and policy go.
        world.clock.now = from_iso(world.record(a).expires_at) + timedelta(minutes=GANG_POLICY.grace_minutes)
        expiry.run(world.runtime)
        assert world.record(a).status is Status.EXPIRED
        assert world.kube.network_policies() == [] and world.kube.pods() == []

        # A leftover: b's policy made again behind the processor's back (a create that was
        # answered after its cleanup); the expiry sweep finds it by its labels and removes it.
        leftover = dev_pod.peers_policy_manifest(world.record(b), GANG_POLICY)
        assert world.runtime.kube.create("networkpolicies", NAMESPACE, leftover)
        assert expiry.run(world.runtime).swept == [b]
        assert world.kube.network_policies() == []

        # What the Lambdas did with NetworkPolicies is exactly what their Role grants.
        calls = {
            (r.method, r.path.endswith("/networkpolicies"))
            for r in world.kube.requests
            if "/networkpolicies" in r.path
        }
        assert {RBAC_VERBS[call] for call in calls} == set(NETWORK_POLICY_VERBS)


def test_a_policy_create_or_delete_that_fails_is_retried_before_pods_start_or_gpus_are_freed():
    with World(policy=GANG_POLICY, nodes=TWO_GANGS) as world:
        world.kube.inject("/networkpolicies$", method="POST", status=503, times=1)
        rid = world.reserve(user="alice", gpu_type="a100", gpus=16)
        processor.handle(world.drain(), world.runtime)
        assert world.record(rid).status is Status.PREPARING
        assert world.kube.network_policies() == [] and world.kube.pods() == []  # no pod without it
        world.clock.advance(minutes=1)
        processor.handle(SCHEDULED_EVENT, world.runtime)  # the check of the holders creates both
        assert len(world.kube.network_policies()) == 1 and len(world.kube.pods()) == 2

        world.kube.inject("/networkpolicies/", method="DELETE", status=503, times=1)
        world.cancel(rid, user="alice")
        processor.handle(world.drain(), world.runtime)
        assert world.record(rid).status is Status.CANCELLED
        assert len(world.kube.network_policies()) == 1  # its delete failed: the hold stays
        assert rid in world.store.ledgers(["a100"])["a100"].holds
        world.clock.advance(minutes=1)
        processor.handle(SCHEDULED_EVENT, world.runtime)
        assert world.kube.network_policies() == [] and world.kube.pods() == []
        assert world.store.ledgers(["a100"])["a100"].holds == {}
