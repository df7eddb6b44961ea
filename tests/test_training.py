"""Distributed training, the EFA acceptance test, KubeRay and the RDMA data plane (issue 15):
settings refused with one clear message, every manifest valid against Kubernetes 1.35 or its
CRD, jobs queued through the team's LocalQueue, the EFA test asking for every EFA interface of
its type and landing on its pool, and the RDMA networks generated from ``workloads.rdma`` in a
stage of their own (synthesized here, since no shipped stage has RDMA nodes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from aws_cdk import App

from k8s_charts.efa_test import INSTANCE_TYPE_LABEL, EfaTest
from k8s_charts.kueue_queues import LOCAL_QUEUE
from k8s_charts.ray_clusters import CLUSTER_LABEL, ray_cluster, ray_pools
from k8s_charts.rdma import network_name, rdma_test_pod, resource_name, training_pod_template
from k8s_charts.training import (
    CHECKPOINT_CLAIM,
    CHECKPOINT_PATH,
    JOBSET_NAME_LABEL,
    QUEUE_LABEL,
    TORCH_RUNTIME,
    example_trainjob,
)
from platform_config import gpu_catalog, versions
from platform_config.contract import EFA_RESOURCE, GPU_RESOURCE, GPU_TAINT_KEY, POOL_LABEL
from platform_config.loader import StageConfigError, load_stages, parse_stage
from platform_config.model import CPU_POOL
from platform_constructs.operators import KUEUE_FRAMEWORKS
from stacks.platform_stage import PlatformStage
from tests.conftest import read_assembly
from tests.manifests import manifests_in_template, validate
from tests.test_helm_values import DEFAULTS, chart_defaults, problems_with, releases, unknown_keys
from tools import training_templates
from tools.cdk_context import cdk_context

DEV = load_stages()[0]
SEED_004_INTERFACES = [
    {"name": f"lan{i}", "subnet": f"192.168.{i}.0/24", "hca": f"mlx5_{i}"} for i in range(2, 6)
]
HYBRID = {
    "node_cidrs": ["10.200.0.0/16"],
    "pod_cidrs": ["10.201.0.0/16"],
    "role_arn": "arn:aws:iam::111111111111:role/hybrid-nodes",
}
BARE_STAGE = {
    "name": "bare",
    "tier": "dev",
    "account": "111111111111",
    "region": "us-west-2",
    "availability_zones": ["us-west-2a", "us-west-2b"],
    "storage": {"retention": "destroy"},
}
# A stage no shipped stage resembles: RDMA nodes (seed 004's lan2 to lan5) and a managed EFA pool
# with training, synthesized once here.
TEST_STAGE = {
    **BARE_STAGE,
    "name": "rdma-test",
    "gpu_pools": [{"name": "p4", "instance_type": "p4d.24xlarge", "efa": True, "max_size": 2}],
    "tenancy": {"teams": [{"name": "research", "namespaces": ["team-research"], "cpu": 8, "memory_gib": 32}]},
    "workloads": {
        "training": {"enabled": True},
        "rdma": {"enabled": True, "interfaces": SEED_004_INTERFACES, "hybrid_nodes": HYBRID, "nodes": 4},
    },
}


def dev_with(**workloads) -> dict:
    import yaml

    data = yaml.safe_load(Path("config/dev.yaml").read_text())
    for key, value in workloads.items():
        data["workloads"][key] = value
    return data


def objects(synth, stage: str) -> list[dict]:
    return [o for (s, _), t in synth.templates.items() if s == stage for o in manifests_in_template(t)]


# --- settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"tenancy": {"teams": []}}, "workloads.training.enabled is true but tenancy.teams is empty"),
        (
            {"workloads.rdma": {"enabled": True, "device_plugin": "shared",
                                "interfaces": SEED_004_INTERFACES, "hybrid_nodes": HYBRID}},
            "device_plugin is 'shared' with link_layer 'infiniband'",
        ),
        ({"workloads.rdma": {"enabled": True}}, "workloads.rdma.interfaces is empty but rdma is enabled"),
        (
            {"workloads.rdma": {"enabled": True, "hybrid_nodes": HYBRID, "interfaces": [
                {"name": "lan2", "subnet": "192.168.0.0/16"}, {"name": "lan3", "subnet": "192.168.3.0/24"}]}},
            "lan2 192.168.0.0/16 overlaps lan3 192.168.3.0/24",
        ),
        (
            {"workloads.rdma": {"enabled": True, "hybrid_nodes": HYBRID,
                                "interfaces": [{"name": "lan2", "subnet": "10.10.8.0/24"}]}},
            "interfaces[lan2].subnet 10.10.8.0/24 overlaps network.vpc_cidr 10.10.0.0/16",
        ),
        (
            {"workloads.rdma": {"enabled": True, "interfaces": SEED_004_INTERFACES}},
            "workloads.rdma.hybrid_nodes is not set but rdma is enabled",
        ),
        (
            {"workloads.rdma": {"enabled": True, "interfaces": SEED_004_INTERFACES,
                                "hybrid_nodes": {**HYBRID, "node_cidrs": ["10.10.128.0/20"]}}},
            "workloads.rdma.hybrid_nodes.node_cidrs[0] 10.10.128.0/20 overlaps network.vpc_cidr 10.10.0.0/16",
        ),
        (
            {"workloads.rdma": {"enabled": True, "interfaces": SEED_004_INTERFACES,
                                "hybrid_nodes": {**HYBRID, "pod_cidrs": ["172.20.0.0/24"]}}},
            "hybrid_nodes.pod_cidrs[0] 172.20.0.0/24 overlaps cluster.service_ipv4_cidr 172.20.0.0/16",
        ),
        (
            {"workloads.rdma": {"enabled": True, "interfaces": SEED_004_INTERFACES,
                                "hybrid_nodes": {**HYBRID, "pod_cidrs": ["10.200.64.0/18"]}}},
            "node_cidrs[0] 10.200.0.0/16 overlaps workloads.rdma.hybrid_nodes.pod_cidrs[0] 10.200.64.0/18",
        ),
        (
            {"workloads.rdma": {"enabled": True, "interfaces": SEED_004_INTERFACES,
                                "hybrid_nodes": {**HYBRID, "node_cidrs": ["100.64.0.0/16"]}}},
            "hybrid_nodes.node_cidrs[0] '100.64.0.0/16' is not allowed; allowed: a range inside 10.0.0.0/8",
        ),
        (
            {"workloads.rdma": {"enabled": True, "interfaces": [{"name": "lan2", "subnet": "10.201.2.0/24"}],
                                "hybrid_nodes": HYBRID}},
            "subnet 10.201.2.0/24 overlaps workloads.rdma.hybrid_nodes.pod_cidrs[0] 10.201.0.0/16",
        ),
        (
            {"workloads.rdma": {"enabled": True, "hybrid_nodes": HYBRID, "interfaces": [
                {"name": "lan2", "subnet": "192.168.2.0/30", "per_node_block_size": 4}]}},
            "per_node_block_size 4 leaves room for fewer than 2 nodes",
        ),
    ],
)  # fmt: skip
def test_bad_training_and_rdma_settings_are_refused_naming_the_setting(change, expected):
    data = dev_with()
    for key, value in change.items():
        if key == "tenancy":
            data["tenancy"] = value
        else:
            data["workloads"][key.split(".", 1)[1]] = value
    with pytest.raises(StageConfigError) as caught:
        parse_stage(data, "dev.yaml")
    assert expected in str(caught.value)


def test_everything_is_off_by_default():
    workloads = parse_stage(BARE_STAGE, "x").workloads
    assert not (workloads.training.enabled or workloads.ray.enabled or workloads.rdma.enabled)


# --- Kubeflow Trainer ---------------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["dev", "staging", "prod"])
def test_every_stage_installs_trainer_and_kuberay_after_kueue_whose_integrations_queue_their_kinds(
    synth, stage
):
    """Every shipped stage has teams, and runs training and Ray as they would."""
    found = {chart: values for name, _, chart, _, values in releases(synth) if name == stage}
    assert {"kubeflow-trainer", "kuberay-operator", "kueue"} <= set(found)
    assert {"trainer.kubeflow.org/trainjob", "ray.io/raycluster"} <= set(KUEUE_FRAMEWORKS)
    kueue = found["kueue"]["managerConfig"]["controllerManagerConfigYaml"]
    assert {"trainer.kubeflow.org/trainjob", "ray.io/raycluster"} <= set(
        json.loads(kueue)["integrations"]["frameworks"]
    )
    workloads = synth.template(stage, "Workloads")["Resources"]
    for release in ("KubeflowTrainerRelease", "KubeRayOperatorRelease"):
        operator = next(r for k, r in workloads.items() if k.startswith(release))
        assert any(str(dep).startswith("KueueRelease") for dep in operator.get("DependsOn", [])), release


def chart_wait_for_pods_ready() -> dict:
    """The ``waitForPodsReady`` block the pinned Kueue chart documents (commented out) in its
    default manager configuration, uncommented: the key paths the chart's Kueue knows."""
    config = chart_defaults(DEFAULTS[("kueue", versions.KUEUE.version)])["managerConfig"]
    lines = config["controllerManagerConfigYaml"].splitlines()
    start = lines.index("#waitForPodsReady:")
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith("#  "):
            break
        block.append(line)
    return yaml.safe_load("\n".join(line[1:] for line in block))["waitForPodsReady"]


def test_multi_node_jobs_are_admitted_as_a_gang_with_a_timeout_and_bounded_requeues(synth):
    found = {chart: values for stage, _, chart, _, values in releases(synth) if stage == "dev"}
    config = json.loads(found["kueue"]["managerConfig"]["controllerManagerConfigYaml"])
    wait = config["waitForPodsReady"]
    assert wait["timeout"] == "15m" and wait["recoveryTimeout"] == "10m"
    assert wait["blockAdmission"] is False
    assert wait["requeuingStrategy"]["backoffLimitCount"] == 5  # then deactivated, not requeued forever
    # Every key is one the pinned chart's Kueue documents for config v1beta2 (no ``enable``:
    # v1beta2 enables the feature by the block's presence).
    assert unknown_keys(wait, chart_wait_for_pods_ready(), {}) == []
    assert "enable" not in wait


def test_kueue_leaves_out_of_quota_the_node_devices_efa_and_rdma_jobs_request(test_stage):
    """A resource no ClusterQueue covers keeps a workload pending for ever, so every device an
    EFA TrainJob or an RDMA pod asks for beside CPU, memory and GPUs is excluded from quota."""
    config, synth = test_stage
    found = {chart: values for _, _, chart, _, values in releases(synth)}
    excluded = json.loads(found["kueue"]["managerConfig"]["controllerManagerConfigYaml"])["resources"][
        "excludeResourcePrefixes"
    ]
    covered = {"cpu", "memory", GPU_RESOURCE}
    efa_job = example_trainjob("p4", config.gpu_pool_instances()["p4"], efa=True)
    requested = set(efa_job["spec"]["trainer"]["resourcesPerNode"]["limits"])
    requested |= set(EfaTest("p5", gpu_catalog.lookup("p5.48xlarge")).node_resources()["limits"])
    rdma = config.workloads.rdma
    for pod in (rdma_test_pod(rdma)["spec"], training_pod_template(rdma)["template"]["spec"]):
        requested |= set(pod["containers"][0]["resources"]["limits"])
    assert EFA_RESOURCE in requested and "hugepages-2Mi" in requested
    uncovered = requested - covered
    assert uncovered and all(r.startswith(tuple(excluded)) for r in uncovered), uncovered
    assert not any(r.startswith(tuple(excluded)) for r in covered)


def test_the_runtime_and_a_checkpoint_volume_per_team_namespace_are_deployed(synth):
    deployed = objects(synth, "dev")
    (runtime,) = [o for o in deployed if o["kind"] == "ClusterTrainingRuntime"]
    assert runtime["metadata"]["name"] == TORCH_RUNTIME
    pod = runtime["spec"]["template"]["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert {"name": CHECKPOINT_CLAIM, "mountPath": CHECKPOINT_PATH} in container["volumeMounts"]
    assert container["securityContext"]["runAsNonRoot"] and container["securityContext"]["capabilities"] == {
        "drop": ["ALL"]
    }
    claims = {o["metadata"]["namespace"]: o for o in deployed if o["kind"] == "PersistentVolumeClaim"
              and o["metadata"]["name"] == CHECKPOINT_CLAIM}  # fmt: skip
    assert set(claims) == set(DEV.tenancy.namespaces)
    assert all(c["spec"]["storageClassName"] == "efs" and c["spec"]["accessModes"] == ["ReadWriteMany"]
               for c in claims.values())  # fmt: skip


@pytest.mark.parametrize("pool", sorted(DEV.gpu_pool_instances()))
def test_example_trainjob_is_a_two_node_gang_of_the_pool_queued_to_the_team(pool):
    instances = DEV.gpu_pool_instances()[pool]
    efa = pool == "h100-efa"
    job = example_trainjob(pool, instances, efa=efa)
    validate(job)
    assert job["metadata"]["labels"][QUEUE_LABEL] == LOCAL_QUEUE
    trainer = job["spec"]["trainer"]
    assert trainer["numNodes"] == 2
    limits = trainer["resourcesPerNode"]["limits"]
    assert limits[GPU_RESOURCE] == min(i.gpus for i in instances)
    assert (EFA_RESOURCE in limits) == efa
    # An EFA pool's job runs an image with aws-ofi-nccl (else NCCL falls back to sockets); the
    # others keep the runtime's image.
    assert trainer.get("image") == (versions.TRAINING_PYTORCH_EFA.uri if efa else None)
    patch = job["spec"]["runtimePatches"][0]["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"][0]
    pod = patch["template"]["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {POOL_LABEL: pool}
    assert pod["tolerations"][0]["key"] == GPU_TAINT_KEY
    script = trainer["args"][0]
    assert "torchrun" in script and "latest.pt" in script and "resumed from step" in script


def test_team_namespaces_let_a_trainjobs_pods_and_a_ray_clusters_pods_reach_each_other(synth):
    policies = {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in objects(synth, "dev")
                if o["kind"] == "NetworkPolicy"}  # fmt: skip
    for namespace in DEV.tenancy.namespaces:
        peers = policies[(namespace, "allow-trainjob-peers")]["spec"]
        assert peers["podSelector"] == {
            "matchExpressions": [{"key": JOBSET_NAME_LABEL, "operator": "Exists"}]
        }
        assert peers["ingress"] == [{"from": [{"podSelector": peers["podSelector"]}]}]
        ray = policies[(namespace, "allow-ray-cluster-peers")]["spec"]
        assert ray["podSelector"]["matchExpressions"][0]["key"] == CLUSTER_LABEL


# --- EFA acceptance test ------------------------------------------------------------------------

EFA_TYPES = sorted(t for t, i in gpu_catalog.GPU_INSTANCES.items() if i.supports_efa)


def test_every_efa_type_has_a_cited_bandwidth_and_a_pass_mark():
    assert set(gpu_catalog.EFA_NETWORK_GBPS) == set(EFA_TYPES)
    assert gpu_catalog.nccl_pass_mark_gbs("p5.48xlarge") == 320.0
    assert gpu_catalog.nccl_pass_mark_gbs("p4d.24xlarge") == 40.0  # below the 57.2 GB/s measured


@pytest.mark.parametrize("instance_type", EFA_TYPES)
def test_efa_test_asks_for_every_gpu_and_efa_interface_of_its_type_on_two_nodes(instance_type):
    instance = gpu_catalog.lookup(instance_type)
    test = EfaTest("pool-x", instance)
    for manifest in test.manifests():
        validate(manifest)
    runtime, job = test.manifests()
    assert runtime["spec"]["mlPolicy"]["numNodes"] == 2 and job["spec"]["trainer"]["numNodes"] == 2
    assert runtime["spec"]["mlPolicy"]["mpi"]["numProcPerNode"] == instance.gpus
    launcher, node = runtime["spec"]["template"]["spec"]["replicatedJobs"]
    node_pod = node["template"]["spec"]["template"]["spec"]
    limits = node_pod["containers"][0]["resources"]["limits"]
    assert limits[EFA_RESOURCE] == instance.efa_interfaces and limits[GPU_RESOURCE] == instance.gpus
    assert ("hugepages-2Mi" in limits) == (instance.family in gpu_catalog.GPUDIRECT_RDMA_FAMILIES)
    assert node_pod["nodeSelector"] == {POOL_LABEL: "pool-x", INSTANCE_TYPE_LABEL: instance_type}
    env = {e["name"]: e["value"] for e in node_pod["containers"][0]["env"]}
    assert env["FI_PROVIDER"] == "efa"
    assert launcher["template"]["spec"]["template"]["spec"]["nodeSelector"] == {POOL_LABEL: CPU_POOL}
    assert (
        "all_reduce_perf" in launcher["template"]["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    )


def test_dev_efa_test_lands_on_a_node_the_karpenter_pool_can_launch(synth):
    """The test's node selector is satisfiable by the pool's NodePool as synthesized: its
    template labels carry the pool, its instance types include the tested one."""
    test = training_templates.efa_test(DEV, "h100-efa")
    assert test.instance.instance_type == "p5.48xlarge"  # the pool's size with the most EFA interfaces
    (node_pool,) = [
        o for o in objects(synth, "dev") if o["kind"] == "NodePool" and o["metadata"]["name"] == "h100-efa"
    ]
    selector = test.runtime()["spec"]["template"]["spec"]["replicatedJobs"][1]["template"]["spec"][
        "template"
    ]["spec"]
    selector = selector["nodeSelector"]
    template = node_pool["spec"]["template"]
    assert template["metadata"]["labels"][POOL_LABEL] == selector[POOL_LABEL]
    types = next(r["values"] for r in template["spec"]["requirements"] if r["key"] == INSTANCE_TYPE_LABEL)
    assert selector[INSTANCE_TYPE_LABEL] in types


def node_selector(test: EfaTest) -> dict[str, str]:
    node = test.runtime()["spec"]["template"]["spec"]["replicatedJobs"][1]
    return node["template"]["spec"]["template"]["spec"]["nodeSelector"]


def test_efa_test_of_a_managed_pool_lands_on_its_nodes_in_its_placement_group(test_stage):
    config, synth = test_stage
    test = training_templates.efa_test(config, "p4")
    assert test.instance.instance_type == "p4d.24xlarge" and test.pass_mark_gbs == 40.0
    nodes = synth.template("rdma-test", "Nodes")["Resources"]
    (group,) = [r for r in nodes.values() if r["Type"] == "AWS::EKS::Nodegroup"
                and r["Properties"]["Labels"].get(POOL_LABEL) == "p4"]  # fmt: skip
    assert group["Properties"]["InstanceTypes"] == [node_selector(test)[INSTANCE_TYPE_LABEL]]
    template_id = group["Properties"]["LaunchTemplate"]["Id"]["Ref"]
    placement = nodes[template_id]["Properties"]["LaunchTemplateData"]["Placement"]["GroupName"]["Ref"]
    assert nodes[placement]["Properties"]["Strategy"] == "cluster"
    interfaces = nodes[template_id]["Properties"]["LaunchTemplateData"]["NetworkInterfaces"]
    assert sum(i.get("InterfaceType") == "efa" for i in interfaces) == test.instance.efa_interfaces


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pool", "g6"], "POOL='g6' has no EFA (efa: false); allowed: the stage's EFA pools ['h100-efa']"),
        (["--pool", "nope"], "POOL='nope' is not a GPU pool of stage dev"),
        (
            ["--pool", "h100-efa", "--instance-type", "g6.xlarge"],
            "TYPE='g6.xlarge' is not an EFA type of pool",
        ),
        ([], "POOL is required"),
    ],
)
def test_make_efa_test_refuses_bad_input_in_one_line(args, message, capsys, tmp_path):
    assert training_templates.main(["acceptance", "--stage", "dev", "--out", str(tmp_path), *args]) == 2
    assert message in capsys.readouterr().err


def test_make_efa_test_writes_the_test_and_prints_commands_that_judge_it(capsys, tmp_path):
    assert (
        training_templates.main(
            ["acceptance", "--stage", "dev", "--pool", "h100-efa", "--out", str(tmp_path)]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "pass mark: average bus bandwidth >= 320.0 GB/s" in printed
    assert f"kubectl apply -f {tmp_path}/efa/dev-h100-efa.yaml" in printed
    assert "awk -v mark=320.0" in printed and "kubectl -n efa-test wait trainjob/efa-test-h100-efa" in printed
    assert (tmp_path / "efa" / "dev-h100-efa.yaml").is_file()


# --- KubeRay --------------------------------------------------------------------------------------


def test_a_ray_cluster_per_gpu_pool_with_head_on_cpu_and_bounded_gpu_workers():
    bounds = {p.name: p.max_nodes for p in ray_pools(DEV)}
    # max_size; gpu_limit / 1 GPU
    assert bounds == {"t4": 2, "g6": 16, "g5": 16, "h100-efa": 8, "l4-shared": 2}
    for pool in ray_pools(DEV):
        cluster = ray_cluster(pool, DEV.workloads.ray)
        validate(cluster)
        assert cluster["metadata"]["labels"][QUEUE_LABEL] == LOCAL_QUEUE
        head = cluster["spec"]["headGroupSpec"]["template"]["spec"]
        assert head["nodeSelector"] == {POOL_LABEL: CPU_POOL} and "tolerations" not in head
        (workers,) = cluster["spec"]["workerGroupSpecs"]
        assert (workers["minReplicas"], workers["maxReplicas"]) == (0, pool.max_nodes)
        spec = workers["template"]["spec"]
        assert (
            spec["nodeSelector"] == {POOL_LABEL: pool.name} and spec["tolerations"][0]["key"] == GPU_TAINT_KEY
        )
        assert spec["containers"][0]["resources"]["limits"][GPU_RESOURCE] == pool.smallest.gpus


def test_make_templates_writes_a_trainjob_and_a_raycluster_per_pool(tmp_path, capsys):
    assert training_templates.main(["templates", "--stage", "dev", "--out", str(tmp_path)]) == 0
    written = sorted(p.name for p in (tmp_path / "templates" / "dev").iterdir())
    pools = sorted(DEV.gpu_pool_instances())
    assert written == sorted([f"raycluster-{p}.yaml" for p in pools] + [f"trainjob-{p}.yaml" for p in pools])


# --- RDMA (a stage of its own) ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def test_stage(tmp_path_factory):
    config = parse_stage(TEST_STAGE, "rdma-test")
    app = App(outdir=str(tmp_path_factory.mktemp("rdma.out")), context=cdk_context())
    PlatformStage(app, config.name, config=config)
    app.synth()
    return config, read_assembly(Path(app.outdir))


def test_rdma_stage_manifests_are_valid_and_its_release_values_known(test_stage):
    _, synth = test_stage
    deployed = objects(synth, "rdma-test")
    for obj in deployed:
        validate(obj)
    found = {(chart, version): values for _, _, chart, version, values in releases(synth)}
    assert ("network-operator", "26.4.1") in found
    for (chart, version), values in found.items():
        assert problems_with(chart, version, values) == [], chart
    kinds = sorted(o["kind"] for o in deployed if o["apiVersion"].startswith(("mellanox", "nv-ipam")))
    assert kinds == ["HostDeviceNetwork"] * 4 + ["IPPool"] * 4 + ["NicClusterPolicy"]


def test_rdma_networks_follow_the_interfaces_seed_004_names(test_stage):
    config, synth = test_stage
    deployed = {(o["kind"], o["metadata"]["name"]): o for o in objects(synth, "rdma-test")}
    policy = deployed[("NicClusterPolicy", "nic-cluster-policy")]["spec"]
    resources = json.loads(policy["sriovDevicePlugin"]["config"])["resourceList"]
    assert [r["selectors"]["ifNames"] for r in resources] == [["lan2"], ["lan3"], ["lan4"], ["lan5"]]
    assert {"multus", "cniPlugins"} <= set(policy["secondaryNetwork"]) and "nvIpam" in policy
    for interface in config.workloads.rdma.interfaces:
        pool = deployed[("IPPool", network_name(interface))]["spec"]
        assert pool["subnet"] == interface.subnet
        network = deployed[("HostDeviceNetwork", network_name(interface))]["spec"]
        assert json.loads(network["ipam"]) == {"type": "nv-ipam", "poolName": network_name(interface)}
        assert network["networkNamespace"] == "rdma-jobs"
    template = deployed[("PodTemplate", "rdma-training")]["template"]
    assert (
        template["metadata"]["annotations"]["k8s.v1.cni.cncf.io/networks"]
        == "rdma-lan2,rdma-lan3,rdma-lan4,rdma-lan5"
    )
    (container,) = template["spec"]["containers"]
    limits = container["resources"]["limits"]
    assert all(limits[resource_name(config.workloads.rdma, i)] == 1 for i in config.workloads.rdma.interfaces)
    assert container["resources"]["requests"] == limits  # Guaranteed: the topology manager aligns NUMA
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["NCCL_IB_HCA"] == "=mlx5_2,mlx5_3,mlx5_4,mlx5_5"
    assert env["NCCL_NET"] == "IB" and env["NCCL_NET_GDR_LEVEL"] == "PHB" and env["NCCL_P2P_LEVEL"] == "NVL"
    assert container["securityContext"]["capabilities"]["add"] == ["IPC_LOCK"]


def test_rdma_shared_mode_on_roce_uses_macvlan_and_the_shared_plugin():
    from k8s_charts.rdma import nccl_env, nic_cluster_policy, secondary_network

    rdma = {
        "enabled": True,
        "link_layer": "ethernet",
        "device_plugin": "shared",
        "interfaces": SEED_004_INTERFACES,
        "hybrid_nodes": HYBRID,
    }
    settings = parse_stage({**BARE_STAGE, "workloads": {"rdma": rdma}}, "x").workloads.rdma
    policy = nic_cluster_policy(settings)
    validate(policy)
    assert "rdmaSharedDevicePlugin" in policy["spec"] and "sriovDevicePlugin" not in policy["spec"]
    network = secondary_network(settings, settings.interfaces[0])
    validate(network)
    assert network["kind"] == "MacvlanNetwork" and network["spec"]["master"] == "lan2"
    assert nccl_env(settings)["NCCL_IB_GID_INDEX"] == "3"
    pod = rdma_test_pod(settings)
    validate(pod)
    assert pod["spec"]["containers"][0]["resources"]["limits"]["rdma/rdma_shared_lan2"] == 1


def test_rdma_jobs_are_queued_on_a_flavor_of_the_rdma_nodes_with_their_gpus_as_quota(test_stage):
    config, synth = test_stage
    deployed = {(o["kind"], o["metadata"]["name"]): o for o in objects(synth, "rdma-test")}
    flavor = deployed[("ResourceFlavor", "rdma")]["spec"]
    assert flavor["nodeLabels"] == {"gpuplatform.io/rdma": "true"}
    assert flavor["tolerations"][0]["key"] == GPU_TAINT_KEY
    queue = deployed[("ClusterQueue", "rdma-jobs")]["spec"]
    assert "cohortName" not in queue  # the RDMA nodes are not lent to the teams
    assert queue["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "rdma-jobs"}}
    (group,) = queue["resourceGroups"]
    quota = {r["name"]: r["nominalQuota"] for r in group["flavors"][0]["resources"]}
    rdma = config.workloads.rdma
    assert quota[GPU_RESOURCE] == 4 * 8 == rdma.nodes * rdma.gpus_per_node
    # The training pod template fits the quota exactly once per node.
    limits = training_pod_template(rdma)["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert quota["cpu"] == rdma.nodes * limits["cpu"]
    assert quota["memory"] == f"{rdma.nodes * int(limits['memory'].removesuffix('Gi'))}Gi"
    local = [o for o in objects(synth, "rdma-test") if o["kind"] == "LocalQueue"]
    assert {"namespace": "rdma-jobs", "name": LOCAL_QUEUE} in [
        {"namespace": o["metadata"]["namespace"], "name": o["metadata"]["name"]} for o in local
    ]
    assert next(o for o in local if o["metadata"]["namespace"] == "rdma-jobs")["spec"] == {
        "clusterQueue": "rdma-jobs"
    }
    workloads = synth.template("rdma-test", "Workloads")["Resources"]
    rdma_manifest = next(r for k, r in workloads.items() if k.startswith("Rdma") and "DependsOn" in r)
    assert any(str(dep).startswith("KueueRelease") for dep in rdma_manifest["DependsOn"])


def test_hybrid_nodes_join_through_the_clusters_remote_networks_and_a_hybrid_access_entry(test_stage):
    _, synth = test_stage
    resources = synth.template("rdma-test", "Cluster")["Resources"].values()
    (cluster,) = [r for r in resources if r["Type"] == "AWS::EKS::Cluster"]
    assert cluster["Properties"]["RemoteNetworkConfig"] == {
        "RemoteNodeNetworks": [{"Cidrs": HYBRID["node_cidrs"]}],
        "RemotePodNetworks": [{"Cidrs": HYBRID["pod_cidrs"]}],
    }
    (entry,) = [
        r for r in resources
        if r["Type"] == "AWS::EKS::AccessEntry" and r["Properties"].get("Type") == "HYBRID_LINUX"
    ]  # fmt: skip
    assert entry["Properties"]["PrincipalArn"] == HYBRID["role_arn"]
    assert not entry["Properties"].get("AccessPolicies")  # EKS refuses policies on HYBRID_LINUX


def test_stages_without_rdma_have_no_remote_networks(synth):
    for stage in ("dev", "staging", "prod"):
        resources = synth.template(stage, "Cluster")["Resources"].values()
        (cluster,) = [r for r in resources if r["Type"] == "AWS::EKS::Cluster"]
        assert "RemoteNetworkConfig" not in cluster["Properties"]
        assert not any(r["Properties"].get("Type") == "HYBRID_LINUX" for r in resources
                       if r["Type"] == "AWS::EKS::AccessEntry")  # fmt: skip
