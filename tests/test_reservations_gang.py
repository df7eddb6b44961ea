"""End to end, a multi-node reservation: 16 GPUs on a p4d-like EFA pool of 8-GPU nodes is a gang
of two whole nodes. It waits while one node is partly taken (no partial start), starts as one
gang (one ledger hold naming both nodes, two pods with EFA, a headless Service, the peers in
their environment), shows and connects per node, and cancels without leaving a pod or Service.
The same CLI, processor and fake Kubernetes as ``test_reservations_e2e.py``."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from reservations import dev_pod
from reservations.model import Status
from reservations.policy import GpuType
from tests.reservation_fixtures import NAMESPACE, POLICY, World
from tests.test_reservations_e2e import gpu_dev, serve

# p4d.24xlarge: 8 A100s and 4 EFA interfaces (platform_config/gpu_catalog.py); l40s has no EFA.
GANG_POLICY = replace(
    POLICY,
    gpu_types=(GpuType("a100", "A100", 8, efa_interfaces=4), GpuType("l40s", "L40S", 4)),
    default_gpu_type="a100",
    allowed_gpu_counts=(1, 2, 4, 8, 16),
    max_gpus_per_user=24,
)
NODES = (("a100-a", "a100", 8), ("a100-b", "a100", 8), ("l40s-a", "l40s", 4), ("l40s-b", "l40s", 4))


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

    assert gpu_dev(capsys, "cancel", rid[:8])[0] == 0
    platform.tick(seconds=60)
    platform.tick(seconds=60)
    code, output = gpu_dev(capsys, "show", rid, "--json")
    assert (code, json.loads(output)["status"]) == (0, "cancelled")
    assert world.kube.pods(NAMESPACE) == []
    assert list(world.kube.objects["services"]) == []
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
