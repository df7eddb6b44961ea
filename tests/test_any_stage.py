"""Stages a team could write, not only the three we ship: every catalogued GPU type as a managed
pool and every GPU family as a Karpenter pool, on both AMI families, plus a CPU-only stage.

One app, synthesized once, in process: a stage per AMI family whose pools cover the whole GPU
catalogue (a stage per type would synthesize ~100 clusters for the same assertions), and a
CPU-only stage. The assertions read the templates, so a change in aws-cdk-lib's own GPU lists
or AMI validation that breaks a type shows up here.
"""

from __future__ import annotations

import json

import pytest

from platform_config import cpu_catalog, gpu_catalog, mig_catalog
from platform_config.loader import parse_stage
from platform_config.model import AmiFamily
from tests import cfn_lint
from tests.conftest import Synthesized, read_assembly
from tests.manifests import manifests_in_template, validate

FAMILY_AMI = {
    ("al2023", "x86_64"): "AL2023_x86_64_NVIDIA",
    ("al2023", "arm64"): "AL2023_ARM_64_NVIDIA",
    ("bottlerocket", "x86_64"): "BOTTLEROCKET_x86_64_NVIDIA",
    ("bottlerocket", "arm64"): "BOTTLEROCKET_ARM_64_NVIDIA",
}
SHORT = {AmiFamily.AL2023: "al", AmiFamily.BOTTLEROCKET: "br"}


def pool_name(instance_type: str, family: AmiFamily) -> str:
    return f"{instance_type.replace('.', '-')}-{SHORT[family]}"


def catalogue_stage(family: AmiFamily) -> dict:
    """A stage with one managed pool per catalogued GPU type (EFA on wherever the type has it),
    one Karpenter pool per GPU family, and a CPU Karpenter pool."""
    gpu_pools = [
        {
            "name": pool_name(t, family),
            "instance_type": t,
            "ami_family": family.value,
            "efa": gpu_catalog.lookup(t).supports_efa,
            "max_size": 2,
        }
        for t in gpu_catalog.known_types()
    ]
    karpenter_pools: list[dict[str, object]] = [
        {"name": f"k-{f}-{SHORT[family]}", "instance_families": [f], "ami_family": family.value}
        for f in gpu_catalog.known_families()
    ]
    karpenter_pools.append(
        {
            "name": f"cpu-jobs-{SHORT[family]}",
            "kind": "cpu",
            "instance_families": cpu_catalog.known_families(),
            "ami_family": family.value,
            "cpu_limit": 1024,
        }
    )
    return {
        "name": f"every-{SHORT[family]}",
        "tier": "dev",
        "account": "111111111111",
        "region": "us-west-2",
        "availability_zones": ["us-west-2a", "us-west-2b"],
        "storage": {"retention": "destroy"},
        "gpu_pools": gpu_pools,
        "karpenter": {"enabled": True, "node_pools": karpenter_pools},
        # a workload but no teams: the one generated stage with a Workloads stack and no tenancy
        **({"workloads": {"nats": {"enabled": True}}} if family is AmiFamily.AL2023 else {}),
    }


CPU_ONLY = {
    "name": "cpu-only",
    "tier": "dev",
    "account": "111111111111",
    "region": "us-west-2",
    "availability_zones": ["us-west-2a", "us-west-2b"],
    "storage": {"retention": "destroy"},
    "karpenter": {
        "enabled": True,
        "node_pools": [{"name": "batch", "kind": "cpu", "instance_families": ["c7i", "m7i"]}],
    },
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Synthesized:
    from aws_cdk import App, Validations
    from cdk_nag import AwsSolutionsChecks

    from stacks.platform_stage import PlatformStage
    from tools.cdk_context import cdk_context

    outdir = tmp_path_factory.mktemp("any-stage")
    app = App(outdir=str(outdir), context=cdk_context())
    for config in [catalogue_stage(f) for f in AmiFamily] + [CPU_ONLY]:
        PlatformStage(app, config["name"], config=parse_stage(config, config["name"]))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()
    return read_assembly(outdir)


@pytest.fixture(scope="module")
def templates(generated) -> dict[tuple[str, str], dict]:
    return generated.templates


def _resources(template: dict, kind: str) -> dict[str, dict]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def _pools(template: dict) -> dict[str, tuple[dict, dict]]:
    """pool label -> (Nodegroup properties, its launch template data)."""
    templates = _resources(template, "AWS::EC2::LaunchTemplate")
    result = {}
    for group in _resources(template, "AWS::EKS::Nodegroup").values():
        props = group["Properties"]
        launch = templates[props["LaunchTemplate"]["Id"]["Ref"]]["Properties"]["LaunchTemplateData"]
        result[props["Labels"]["gpuplatform.io/pool"]] = (props, launch)
    return result


@pytest.mark.parametrize("family", list(AmiFamily))
def test_every_catalogued_type_is_a_managed_pool(templates, family):
    pools = _pools(templates[(f"every-{SHORT[family]}", "Nodes")])
    for instance_type in gpu_catalog.known_types():
        gpu = gpu_catalog.lookup(instance_type)
        group, launch = pools[pool_name(instance_type, family)]
        assert group["AmiType"] == FAMILY_AMI[(family.value, gpu.architecture)], instance_type
        assert group["InstanceTypes"] == [instance_type]
        # how the GPU Operator serves the node: its device plugin config and MIG layout on
        # AL2023; its device plugin and MIG manager off on Bottlerocket (host services there)
        operator = (
            {"nvidia.com/device-plugin.config": "none"}
            | ({"nvidia.com/mig.config": "all-disabled"} if gpu.gpu_model in mig_catalog.MIG_GPUS else {})
            if family is AmiFamily.AL2023
            else {
                "nvidia.com/gpu.deploy.device-plugin": "false",
                "nvidia.com/gpu.deploy.mig-manager": "false",
            }
        )
        assert group["Labels"] == {
            "gpuplatform.io/pool": pool_name(instance_type, family),
            "gpuplatform.io/gpu-model": gpu.gpu_model,
            "gpuplatform.io/efa": str(gpu.supports_efa).lower(),
            "gpuplatform.io/ami-family": family.value,
            **operator,
        }
        assert group["Taints"] == [
            {"Effect": "NO_SCHEDULE", "Key": "nvidia.com/gpu", "Value": "true"},
            {"Effect": "NO_SCHEDULE", "Key": "gpuplatform.io/gpu-not-ready", "Value": "true"},  # startup
        ]
        volumes = {m["DeviceName"]: m["Ebs"] for m in launch["BlockDeviceMappings"]}
        data = "/dev/xvda" if family is AmiFamily.AL2023 else "/dev/xvdb"
        assert volumes[data]["VolumeSize"] == 300, instance_type
        assert all(v["Encrypted"] is True and v["VolumeType"] == "gp3" for v in volumes.values())
        if family is AmiFamily.BOTTLEROCKET:
            assert set(volumes) == {"/dev/xvda", "/dev/xvdb"}
            assert "VolumeSize" not in volumes["/dev/xvda"]  # the OS volume keeps the AMI's size
        else:
            assert set(volumes) == {"/dev/xvda"}
        interfaces = launch.get("NetworkInterfaces", [])
        efa = [i["NetworkCardIndex"] for i in interfaces if i.get("InterfaceType") == "efa"]
        first = gpu.first_efa_card
        assert efa == list(range(first, first + gpu.efa_interfaces)), instance_type
        # a card 0 without EFA still carries the primary interface, a plain ENA one
        ena = [(i["NetworkCardIndex"], i["DeviceIndex"]) for i in interfaces if "InterfaceType" not in i]
        assert ena == ([(0, 0)] if gpu.supports_efa and first else []), instance_type
        assert ("Placement" in launch) is gpu.supports_efa
        if gpu.supports_efa:
            assert len(group["Subnets"]) == 1, "EFA pools live in one AZ"


@pytest.mark.parametrize("family", list(AmiFamily))
def test_every_family_is_a_karpenter_pool(templates, family):
    objects = [
        o
        for t in [templates[(f"every-{SHORT[family]}", "Nodes")]]
        for o in manifests_in_template(t)
        if o["kind"] in ("NodePool", "EC2NodeClass")
    ]
    for obj in objects:
        validate(obj)
    pools = {o["metadata"]["name"]: o for o in objects if o["kind"] == "NodePool"}
    classes = {o["metadata"]["name"]: o for o in objects if o["kind"] == "EC2NodeClass"}
    alias = "al2023@" if family is AmiFamily.AL2023 else "bottlerocket@"
    for gpu_family in gpu_catalog.known_families():
        name = f"k-{gpu_family}-{SHORT[family]}"
        spec = pools[name]["spec"]
        requirements = {r["key"]: r["values"] for r in spec["template"]["spec"]["requirements"]}
        types = sorted(t for t in gpu_catalog.known_types() if gpu_catalog.lookup(t).family == gpu_family)
        assert requirements["node.kubernetes.io/instance-type"] == types
        arches = {gpu_catalog.lookup(t).architecture for t in types}
        assert requirements["kubernetes.io/arch"] == sorted(
            {"x86_64": "amd64", "arm64": "arm64"}[a] for a in arches
        )
        assert spec["template"]["spec"]["taints"] == [
            {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
        ]
        assert spec["limits"] == {"nvidia.com/gpu": 16}
        assert spec["template"]["metadata"]["labels"]["gpuplatform.io/ami-family"] == family.value
        node_class = classes[name]["spec"]
        assert node_class["amiSelectorTerms"][0]["alias"].startswith(alias)
        devices = {d["deviceName"]: d for d in node_class["blockDeviceMappings"]}
        data = devices["/dev/xvda" if family is AmiFamily.AL2023 else "/dev/xvdb"]
        assert data["ebs"]["volumeSize"] == "300Gi" and data["rootVolume"] is True


@pytest.mark.parametrize("family", list(AmiFamily))
def test_cpu_karpenter_pool_is_untainted_and_limited_in_vcpus(templates, family):
    objects = manifests_in_template(templates[(f"every-{SHORT[family]}", "Nodes")])
    (pool,) = [o for o in objects if o["kind"] == "NodePool" and o["metadata"]["name"].startswith("cpu-jobs")]
    spec = pool["spec"]
    assert spec["limits"] == {"cpu": 1024}
    assert "taints" not in spec["template"]["spec"]
    requirements = {r["key"]: r["values"] for r in spec["template"]["spec"]["requirements"]}
    assert requirements["node.kubernetes.io/instance-type"] == cpu_catalog.known_types()
    assert requirements["kubernetes.io/arch"] == ["amd64"]
    assert "gpuplatform.io/efa" not in spec["template"]["metadata"]["labels"]


def _helm_charts(template: dict) -> list[str]:
    return [r["Properties"]["Chart"] for r in _resources(template, "Custom::AWSCDK-EKS-HelmChart").values()]


def test_bottlerocket_pools_use_their_own_device_plugin(templates):
    """One operator for both AMI families; on Bottlerocket its device plugin and MIG manager
    are off per node (Bottlerocket runs its own as host services)."""
    for stage in ("every-br", "every-al"):
        assert "gpu-operator" in _helm_charts(templates[(stage, "Nodes")])
        assert "nvidia-device-plugin" not in _helm_charts(templates[(stage, "Nodes")])
    for group in _resources(templates[("every-br", "Nodes")], "AWS::EKS::Nodegroup").values():
        labels = group["Properties"]["Labels"]
        if "gpuplatform.io/gpu-model" in labels:
            assert labels["nvidia.com/gpu.deploy.device-plugin"] == "false"
            assert labels["nvidia.com/gpu.deploy.mig-manager"] == "false"
            assert "nvidia.com/device-plugin.config" not in labels
    for group in _resources(templates[("every-al", "Nodes")], "AWS::EKS::Nodegroup").values():
        labels = group["Properties"]["Labels"]
        if "gpuplatform.io/gpu-model" in labels:
            assert labels["nvidia.com/device-plugin.config"] == "none"
            assert "nvidia.com/gpu.deploy.device-plugin" not in labels


def test_cpu_only_stage_installs_nothing_gpu_specific(templates):
    stacks = {stack for stage, stack in templates if stage == "cpu-only"}
    assert stacks == {"Network", "Registry", "Storage", "Cluster", "Nodes"}, "no empty Workloads stack"
    nodes = templates[("cpu-only", "Nodes")]
    assert _helm_charts(nodes) == ["karpenter"]
    assert not _resources(nodes, "AWS::EC2::PlacementGroup")
    assert "nvidia.com/gpu" not in json.dumps(manifests_in_template(nodes))
    capacity = nodes["Metadata"]["GpuPlatformCapacity"]
    assert capacity == [
        {
            "pool": "batch",
            "kind": "karpenter-cpu-node-pool",
            "instance_types": sorted(
                t for t in cpu_catalog.known_types() if cpu_catalog.CPU_INSTANCES[t].family in ("c7i", "m7i")
            ),
            "min_nodes": 0,
            "vcpu_limit": 256,
            "weight": 10,
        }
    ]


def test_generated_stages_pass_cfn_lint_and_cdk_nag(generated):
    outdir = generated.outdir
    report = json.loads((outdir / "validation-report.json").read_text())
    (nag,) = [p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    assert [v["ruleName"] for v in nag["violations"]] == []
    paths = sorted(outdir.glob("assembly-*/*Nodes*.template.json"))
    assert len(paths) == 3
    errors = [f for f in cfn_lint.findings(paths) if f["Level"] == "Error"]
    assert errors == [], errors[:5]


def test_a_stage_without_teams_installs_no_kueue(templates):
    """The shipped stages all have teams; Kueue (a fail-closed webhook on every Job) comes with
    them and not otherwise."""
    workloads = templates[("every-al", "Workloads")]
    assert "nats" in json.dumps(workloads)
    assert _helm_charts(workloads) == []
    assert not any(key.startswith("Kueue") for key in workloads["Resources"])
