"""The GPU Operator receives, per sharing setting, a device plugin config and a MIG layout that
parse and match the settings; every GPU node group and NodePool selects its pool's by label;
Bottlerocket pools get the same setting as Bottlerocket settings instead."""

from __future__ import annotations

import json
import tomllib

import yaml

from platform_config.contract import DEVICE_PLUGIN_CONFIG_LABEL, MIG_CONFIG_LABEL
from platform_config.gpu_node_config import bottlerocket_settings, node_labels
from platform_config.loader import load_stages, parse_stage
from tests.manifests import manifests_in_template, render
from tests.test_pool_settings import BASE

STAGES = {stage.name: stage for stage in load_stages()}


def _operator_values(synth, stage: str) -> dict:
    (chart,) = [
        r for r in synth.resources(stage, "Nodes", "Custom::AWSCDK-EKS-HelmChart").values()
        if r["Properties"]["Chart"] == "gpu-operator"
    ]  # fmt: skip
    return json.loads(render(chart["Properties"]["Values"]))


def _node_pools(synth, stage: str) -> dict[str, dict]:
    return {
        o["metadata"]["name"]: o
        for o in manifests_in_template(synth.template(stage, "Nodes"))
        if o["kind"] == "NodePool"
    }


def test_every_pool_selects_a_device_plugin_config_the_operator_has(synth):
    for name, config in STAGES.items():
        values = _operator_values(synth, name)
        plugin = values["devicePlugin"]["config"]
        configs = {key: yaml.safe_load(text) for key, text in plugin["data"].items()}
        assert plugin["default"] == "none" and configs["none"] == {
            "version": "v1",
            "flags": {"migStrategy": "none"},
        }
        mig = yaml.safe_load(values["migManager"]["config"]["data"]["config.yaml"])["mig-configs"]
        labels = [
            g["Properties"]["Labels"] for g in synth.resources(name, "Nodes", "AWS::EKS::Nodegroup").values()
        ]
        labels += [p["spec"]["template"]["metadata"]["labels"] for p in _node_pools(synth, name).values()]
        gpu_labels = [lab for lab in labels if DEVICE_PLUGIN_CONFIG_LABEL in lab]
        assert len(gpu_labels) == len(config.gpu_pools) + len(config.karpenter.gpu_node_pools)
        for lab in gpu_labels:
            assert lab[DEVICE_PLUGIN_CONFIG_LABEL] in configs
            assert lab.get(MIG_CONFIG_LABEL, "all-disabled") in mig


def test_dev_time_slices_its_serving_pool_four_ways(synth):
    values = _operator_values(synth, "dev")
    config = yaml.safe_load(values["devicePlugin"]["config"]["data"]["time-slicing-4"])
    assert config["sharing"] == {"timeSlicing": {"resources": [{"name": "nvidia.com/gpu", "replicas": 4}]}}
    labels = _node_pools(synth, "dev")["l4-shared"]["spec"]["template"]["metadata"]["labels"]
    assert labels[DEVICE_PLUGIN_CONFIG_LABEL] == "time-slicing-4"


def test_prod_applies_its_mig_layout_through_the_mig_manager(synth):
    values = _operator_values(synth, "prod")
    mig = yaml.safe_load(values["migManager"]["config"]["data"]["config.yaml"])["mig-configs"]
    assert mig["mig-2x3g.40gb"] == [{"devices": "all", "mig-enabled": True, "mig-devices": {"3g.40gb": 2}}]
    assert mig["all-disabled"] == [{"devices": "all", "mig-enabled": False}]
    labels = _node_pools(synth, "prod")["h100-mig"]["spec"]["template"]["metadata"]["labels"]
    assert (labels[DEVICE_PLUGIN_CONFIG_LABEL], labels[MIG_CONFIG_LABEL]) == ("mig-single", "mig-2x3g.40gb")
    plugin = yaml.safe_load(values["devicePlugin"]["config"]["data"]["mig-single"])
    assert plugin["flags"]["migStrategy"] == "single"


def _pool(sharing: dict, ami_family: str, instance_type: str = "p4d.24xlarge"):
    pool = {"name": "pp", "instance_type": instance_type, "ami_family": ami_family, "sharing": sharing}
    (parsed,) = parse_stage({**BASE, "gpu_pools": [pool]}, "t").gpu_pools
    return parsed


def test_one_setting_on_both_ami_families():
    """AL2023: labels that select the operator's configs. Bottlerocket: the same setting as
    Bottlerocket's kubelet-device-plugins settings, the operator's plugin and MIG manager off."""
    cases = {
        "time-slicing": ({"time_slicing": {"replicas": 3}}, "time-slicing-3", "time-slicing",
                         {"replicas": 3, "rename-by-default": False}),
        "mps": ({"mps": {"replicas": 4}}, "mps-4", "mps", {"replicas": 4, "rename-by-default": False}),
    }  # fmt: skip
    for sharing, config_name, strategy, expected in cases.values():
        al = _pool(sharing, "al2023")
        assert node_labels(al) == {DEVICE_PLUGIN_CONFIG_LABEL: config_name, MIG_CONFIG_LABEL: "all-disabled"}
        assert bottlerocket_settings(al) == bottlerocket_settings(_pool(sharing, "bottlerocket"))
        nvidia = tomllib.loads(bottlerocket_settings(_pool(sharing, "bottlerocket")))["settings"][
            "kubelet-device-plugins"
        ]["nvidia"]
        assert (nvidia["device-sharing-strategy"], nvidia[strategy]) == (strategy, expected)
    mig = {"mig": {"layout": ["3g.20gb", "3g.20gb"]}}
    assert node_labels(_pool(mig, "al2023")) == {
        DEVICE_PLUGIN_CONFIG_LABEL: "mig-single",
        MIG_CONFIG_LABEL: "mig-2x3g.20gb",
    }
    bottlerocket = _pool(mig, "bottlerocket")
    assert node_labels(bottlerocket) == {
        "nvidia.com/gpu.deploy.device-plugin": "false",
        "nvidia.com/gpu.deploy.mig-manager": "false",
    }
    nvidia = tomllib.loads(bottlerocket_settings(bottlerocket))["settings"]["kubelet-device-plugins"][
        "nvidia"
    ]
    assert nvidia == {"device-partitioning-strategy": "mig", "mig": {"profile": {"a100.40gb": "3g.20gb"}}}
    assert bottlerocket_settings(_pool("none", "bottlerocket")) == ""


def test_alerts_watch_the_mig_state_and_each_pools_advertised_count(synth):
    from tests.test_workloads import objects

    (rules,) = [
        o for o in objects(synth, "prod", "PrometheusRule") if o["metadata"]["name"] == "gpu-platform"
    ]
    (group,) = [g for g in rules["spec"]["groups"] if g["name"] == "gpu-sharing"]
    alerts = {rule["alert"]: rule for rule in group["rules"]}
    assert alerts["MigConfigFailed"]["expr"] == 'kube_node_labels{label_nvidia_com_mig_config_state="failed"}'
    assert alerts["MigConfigPending"]["for"] == "30m"
    capacity = STAGES["prod"].gpu_pool_capacity()
    assert {a for a in alerts if a.startswith("GpuPool")} == {
        f"GpuPool{''.join(p.capitalize() for p in pool.split('-'))}AdvertisesUnexpectedCount"
        for pool in capacity
    }
    expr = alerts["GpuPoolH100MigAdvertisesUnexpectedCount"]["expr"]
    for instance in capacity["h100-mig"].instances:  # the capacity function's figure per type
        count = capacity["h100-mig"].per_node(instance)["nvidia.com/gpu"]
        assert f'label_node_kubernetes_io_instance_type="{instance.instance_type}"}} != {count}' in expr
