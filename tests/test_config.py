"""Stage files: the shipped ones load, and every mistake the issue names fails with one message
that names the setting, the bad value and what is allowed."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from platform_config import gpu_catalog
from platform_config.loader import StageConfigError, load_stage_file, load_stages, parse_stage
from platform_config.model import Tier

ROOT = Path(__file__).resolve().parent.parent
DEV = yaml.safe_load((ROOT / "config" / "dev.yaml").read_text())


def stage_with(**changes) -> dict:
    """The dev stage file with nested ``changes`` ("a.b": value) applied."""
    data = copy.deepcopy(DEV)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        node[leaf] = value
    return data


def error_of(data: dict) -> str:
    with pytest.raises(StageConfigError) as excinfo:
        parse_stage(data, "test.yaml")
    return str(excinfo.value)


def test_shipped_stages_load_in_order():
    stages = load_stages()
    assert [s.name for s in stages] == ["dev", "staging", "prod"]
    assert [s.tier for s in stages] == [Tier.DEV, Tier.STAGING, Tier.PROD]
    assert {s.account for s in stages} == {"111111111111", "222222222222", "333333333333"}


def test_nat_defaults_follow_tier():
    dev, staging, prod = load_stages()
    assert dev.nat_gateway_count == 1
    assert staging.nat_gateway_count == 2  # set explicitly in the file
    assert prod.nat_gateway_count == len(prod.availability_zones) == 3


@pytest.mark.parametrize(
    ("instance_type", "model", "gpus", "efa"),
    [
        ("g4dn.12xlarge", "T4", 4, True),
        ("g4dn.xlarge", "T4", 1, False),
        ("g5.48xlarge", "A10G", 8, True),
        ("g6.xlarge", "L4", 1, False),
        ("g6e.12xlarge", "L40S", 4, True),
        ("p4d.24xlarge", "A100-40GB", 8, True),
        ("p4de.24xlarge", "A100-80GB", 8, True),
        ("p5.48xlarge", "H100", 8, True),
        ("p5e.48xlarge", "H200", 8, True),
        ("p5en.48xlarge", "H200", 8, True),
        ("p6-b200.48xlarge", "B200", 8, True),
    ],
)
def test_catalog_knows_the_gpu_behind_each_type(instance_type, model, gpus, efa):
    entry = gpu_catalog.lookup(instance_type)
    assert (entry.gpu_model, entry.gpus, entry.supports_efa) == (model, gpus, efa)


def test_hyphenated_family_is_a_family_and_a_valid_pool():
    assert gpu_catalog.lookup("p6-b200.48xlarge").family == "p6-b200"
    assert "p6-b200" in gpu_catalog.known_families()
    pools = [{"name": "b200", "instance_type": "p6-b200.48xlarge", "efa": True, "max_size": 2}]
    config = parse_stage(
        stage_with(gpu_pools=pools, workloads={}, reservations={}, tenancy={}, job_api={}), "t"
    )
    assert config.gpu_pools[0].gpu.efa_interfaces == 8
    karpenter = stage_with(
        workloads={},
        tenancy={},
        job_api={},
        **{"karpenter.node_pools": [{"name": "b200", "instance_families": ["p6-b200"]}]},
    )
    assert parse_stage(karpenter, "t").karpenter.node_pools[0].catalogued_types == ["p6-b200.48xlarge"]


def test_unknown_instance_type_names_setting_value_and_allowed():
    message = error_of(stage_with(**{"gpu_pools.0.instance_type": "g9.xlarge"}))
    assert "gpu_pools[0].instance_type" in message
    assert "'g9.xlarge'" in message
    assert "p6-b200.48xlarge" in message and "g4dn.12xlarge" in message


def test_unknown_karpenter_family():
    message = error_of(stage_with(**{"karpenter.node_pools.0.instance_families": ["g7"]}))
    assert "karpenter.node_pools[0].instance_families" in message and "'g7'" in message
    assert "allowed:" in message and "p6-b200" in message


def test_service_cidr_overlapping_vpc():
    message = error_of(stage_with(**{"cluster.service_ipv4_cidr": "10.10.128.0/20"}))
    assert "cluster.service_ipv4_cidr 10.10.128.0/20 overlaps network.vpc_cidr 10.10.0.0/16" in message


def test_vpc_too_small_for_its_subnets():
    message = error_of(stage_with(**{"network.vpc_cidr": "10.10.0.0/20", "network.private_subnet_mask": 21}))
    assert "network.vpc_cidr 10.10.0.0/20 is too small" in message
    # public_subnet_mask is not in dev.yaml: the message says its /24 is the default
    assert "3 AZs x (public /24 (default) + private /21) need 6912 addresses, the VPC has 4096" in message


def test_vpc_prefix_out_of_range_and_not_private():
    assert "allowed is /16 to /20" in error_of(stage_with(**{"network.vpc_cidr": "10.10.0.0/24"}))
    assert "not a private" in error_of(stage_with(**{"network.vpc_cidr": "8.8.0.0/16"}))
    assert "not an IPv4 network" in error_of(stage_with(**{"network.vpc_cidr": "10.10.0.1/16"}))


def test_subnet_mask_not_inside_vpc():
    message = error_of(stage_with(**{"network.private_subnet_mask": 16}))
    assert "network.private_subnet_mask /16 is not smaller than network.vpc_cidr" in message


def test_fewer_than_two_azs():
    message = error_of(stage_with(availability_zones=["us-west-2a"]))
    assert "availability_zones" in message and "at least 2" in message


def test_az_outside_region():
    message = error_of(stage_with(availability_zones=["us-west-2a", "us-east-1b"]))
    assert "'us-east-1b' is not a zone of region us-west-2" in message


def test_min_greater_than_max():
    message = error_of(stage_with(**{"gpu_pools.0.min_size": 3, "gpu_pools.0.max_size": 2}))
    assert "gpu_pools[0]" in message
    assert "min_size <= desired_size <= max_size" in message and "min_size=3" in message


def test_efa_on_type_without_efa():
    message = error_of(stage_with(**{"gpu_pools.0.instance_type": "g5.xlarge", "gpu_pools.0.efa": True}))
    assert "gpu_pools[0]" in message and "g5.xlarge has no EFA support" in message
    assert "p5.48xlarge" in message  # lists what is allowed


def test_prod_with_destroy_storage():
    prod = yaml.safe_load((ROOT / "config" / "prod.yaml").read_text())
    prod["storage"]["retention"] = "destroy"
    message = error_of(prod)
    assert "storage.retention is 'destroy' on a prod stage" in message and "'retain'" in message


def test_unknown_setting_and_wrong_literal():
    assert "network.vpc_cdir: unknown setting" in error_of(stage_with(**{"network.vpc_cdir": "10.0.0.0/16"}))
    message = error_of(stage_with(**{"storage.retention": "keep"}))
    assert "storage.retention: 'keep' is not allowed; allowed: 'retain' or 'destroy'" in message


def test_open_public_endpoint_refused():
    message = error_of(stage_with(**{"cluster.endpoint_public_access_cidrs": ["0.0.0.0/0"]}))
    assert "must not contain 0.0.0.0/0" in message


def test_pull_through_cache_needs_credentials_for_ghcr():
    rule = {"prefix": "ghcr", "upstream_registry_url": "ghcr.io"}
    message = error_of(stage_with(**{"registry.pull_through_cache": [rule]}))
    assert "requires credential_secret_arn" in message


def test_token_refresh_schedule_must_be_one_kubernetes_runs():
    """Its alerts are measured in the schedule's longest gap (tests/test_cron.py)."""
    message = error_of(stage_with(**{"registry.token_refresh.schedule": "0 0 31 2 *"}))
    assert "registry.token_refresh.schedule: schedule '0 0 31 2 *' names no date" in message
    message = error_of(stage_with(**{"registry.token_refresh.schedule": "0 */6 * * 7"}))
    assert "day of week '7': '7' is not in 0-6 or sun-sat" in message


def test_duplicate_pool_names_across_groups_and_karpenter():
    pools = [{"name": "g6", "instance_type": "g6.xlarge"}]
    message = error_of(stage_with(gpu_pools=pools))
    assert "gpu_pools[0].name 'g6' is also karpenter.node_pools[0].name" in message


def test_several_mistakes_reported_together():
    message = error_of(
        stage_with(**{"gpu_pools.0.instance_type": "x1.large", "network.flow_log_retention_days": 3})
    )
    assert "gpu_pools[0].instance_type" in message and "network.flow_log_retention_days" in message


def test_file_errors_are_stage_config_errors(tmp_path):
    with pytest.raises(StageConfigError, match="cannot read stage file"):
        load_stage_file(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(StageConfigError, match="not valid YAML"):
        load_stage_file(broken)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just a string\n")
    with pytest.raises(StageConfigError, match="must be a YAML mapping"):
        load_stage_file(scalar)


def test_synth_with_bad_stage_file_prints_one_message_and_no_traceback(tmp_path):
    bad = tmp_path / "team.yaml"
    bad.write_text(yaml.safe_dump(stage_with(name="team", **{"gpu_pools.0.instance_type": "g9.xlarge"})))
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env={
            "CDK_CONTEXT_JSON": f'{{"stage_file": "{bad}"}}',
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
            "AWS_EC2_METADATA_DISABLED": "true",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"error: {bad}: invalid stage configuration" in result.stderr
    assert "gpu_pools[0].instance_type: 'g9.xlarge' is not a known GPU instance type" in result.stderr


def test_workloads_name_pools_that_exist_and_disaggregation_needs_efa():
    message = error_of(stage_with(**{"workloads.triton.gpu_pool": "a100"}))
    assert (
        "workloads.triton.gpu_pool is 'a100'; allowed: the stage's GPU pools "
        "['g5', 'g6', 'h100-efa', 'l4-shared', 't4']" in message
    )
    message = error_of(stage_with(**{"workloads.dynamo.models.1.gpu_pool": "g6"}))
    assert "workloads.dynamo.models[llama-disagg].gpu_pool is 'g6', which has no EFA" in message
    assert "['h100-efa']" in message


def test_components_refuse_to_start_without_their_secrets_or_dependencies():
    assert "grafana_admin_secret_arn is required" in error_of(
        stage_with(**{"workloads.observability.grafana_admin_secret_arn": None})
    )
    assert "hf_token_secret_arn is required" in error_of(
        stage_with(**{"workloads.dynamo.hf_token_secret_arn": None})
    )
    # A name without Secrets Manager's six-character suffix would make IAM grant too little.
    partial = "arn:aws:secretsmanager:us-west-2:111111111111:secret:gpu-platform/dev/hf-token"
    message = error_of(stage_with(**{"workloads.dynamo.hf_token_secret_arn": partial}))
    assert "workloads.dynamo.hf_token_secret_arn" in message
    assert "workloads.dynamo needs workloads.nats enabled" in error_of(
        stage_with(**{"workloads.nats.enabled": False})
    )
    assert "storage.model_bucket is false" in error_of(stage_with(**{"storage.model_bucket": False}))
    message = error_of(stage_with(**{"workloads.nats.replicas": 2}))
    assert "workloads.nats.replicas" in message and "1" in message and "3" in message and "5" in message


def test_workloads_are_off_by_default():
    data = stage_with()
    del data["workloads"], data["job_api"]  # the job API needs Linkerd's cert-manager
    workloads = parse_stage(data, "t").workloads
    assert not any(
        c.enabled for c in (workloads.observability, workloads.nats, workloads.triton, workloads.dynamo)
    )
