"""The cost report prices what the templates hold, with the committed price table, and lists
what it cannot price instead of guessing."""

from __future__ import annotations

import json

import pytest
import yaml

from platform_config import cpu_catalog, gpu_catalog
from platform_config.contract import CAPACITY_METADATA_KEY
from platform_config.loader import load_stages
from platform_config.offerings import PRICED_REGIONS, offered
from tools.cost_report import (
    DEFAULT_PRICES,
    EXIT_OK,
    EXIT_UNPRICED,
    EXIT_USAGE,
    CostError,
    PriceTable,
    main,
    report,
    stage_costs,
)
from tools.synth_summary import summarize

MONTH = 730


@pytest.fixture(scope="module")
def prices() -> PriceTable:
    return PriceTable(DEFAULT_PRICES)


@pytest.fixture(scope="module")
def costs(synth, prices):
    return {cost.stage: cost for cost in stage_costs(synth.outdir, prices)}


def _table_without(tmp_path, region: str, section: str, key: str):
    table = yaml.safe_load(DEFAULT_PRICES.read_text())
    del table["regions"][region][section][key]
    path = tmp_path / "prices.yaml"
    path.write_text(yaml.safe_dump(table))
    return path


def _assembly(tmp_path, region: str, resources: dict, capacity: list[dict]):
    """A one-stack cloud assembly on disk, enough for the report to read."""
    template = {"Resources": resources, "Metadata": {CAPACITY_METADATA_KEY: capacity}}
    (tmp_path / "Test.template.json").write_text(json.dumps(template))
    stack = {
        "type": "aws:cloudformation:stack",
        "environment": f"aws://123456789012/{region}",
        "displayName": "test/Nodes",
        "properties": {"templateFile": "Test.template.json"},
    }
    (tmp_path / "manifest.json").write_text(json.dumps({"artifacts": {"test-Nodes": stack}}))
    return tmp_path


def test_dev_idle_is_the_sum_of_what_runs_with_nothing_scheduled(costs):
    gp3 = 0.08 / MONTH
    throughput_above_baseline = (250 - 125) * 0.04 / MONTH  # the launch templates ask for 250 MB/s
    expected = (
        2 * 3.912  # t4 pool: 2 x g4dn.12xlarge, seed 002's 8 x T4
        + 2 * 0.2016  # CPU group at its desired size: m7i.xlarge = 4 vCPUs x $0.0504
        + 0.10  # EKS control plane
        + 0.045
        + 0.005  # one NAT gateway and its public IPv4 address
        + 4 * 3 * 0.01  # ECR api, ECR dkr, STS and Logs endpoints in 3 AZs
        + 3 * 1.00 / MONTH  # KMS keys: registry, storage, cluster secrets
        + 2 * (300 * gp3 + throughput_above_baseline)
        + 2 * (100 * gp3 + throughput_above_baseline)
    )
    assert costs["dev"].idle_hour == pytest.approx(expected)
    assert costs["dev"].unpriced == []


def test_peak_fills_node_groups_to_max_and_node_pools_to_their_gpu_limit(costs):
    prod = {item.item: item for item in costs["prod"].items}
    karpenter = next(item for name, item in prod.items() if name.startswith("h100-efa: Karpenter"))
    assert karpenter.idle_hour == 0
    assert karpenter.peak_hour == pytest.approx(32 * 55.04 / 8)  # 32-GPU limit at p5's per-GPU rate
    cpu = next(item for name, item in prod.items() if name.startswith("cpu: m7i.2xlarge"))
    assert (cpu.idle_hour, cpu.peak_hour) == pytest.approx((3 * 0.4032, 9 * 0.4032))
    for cost in costs.values():
        assert cost.peak_hour > cost.idle_hour > 0


def test_karpenter_ceiling_uses_the_dearest_type_per_gpu_the_pool_allows(costs, prices):
    g5 = next(item for item in costs["dev"].items if item.item.startswith("g5: Karpenter"))
    g5_types = [t for t in gpu_catalog.GPU_INSTANCES if t.startswith("g5.")]
    per_gpu = {t: prices.instance("us-west-2", t) / gpu_catalog.lookup(t).gpus for t in g5_types}
    assert g5.peak_hour == pytest.approx(16 * max(per_gpu.values()))
    assert "as g5.16xlarge" in g5.item


def test_a_cpu_node_pool_peaks_at_its_vcpu_limit_at_the_dearest_type_per_vcpu(tmp_path, prices):
    pool = {
        "pool": "batch",
        "kind": "karpenter-cpu-node-pool",
        "instance_types": ["c7i.4xlarge", "m7i.2xlarge", "r7i.xlarge"],
        "vcpu_limit": 256,
    }
    out = _assembly(tmp_path, "us-east-1", {}, [pool])
    (cost,) = stage_costs(out, prices)
    (item,) = cost.items
    # us-east-1 list: c7i $0.044625, m7i $0.0504, r7i $0.06615 per vCPU-hour
    assert (item.idle_hour, item.peak_hour) == pytest.approx((0.0, 256 * 0.06615))
    assert "256 vCPUs as r7i.xlarge" in item.item
    assert cost.unpriced == []


def test_a_pool_allowing_an_unpriced_type_has_no_ceiling_and_says_which_type(tmp_path):
    without_r7i = PriceTable(_table_without(tmp_path, "us-west-1", "cpu_vcpu_hour", "r7i"))
    pool = {"pool": "batch", "kind": "karpenter-cpu-node-pool", "instance_types": ["c7i.large", "r7i.large"]}
    out = _assembly(tmp_path, "us-west-1", {}, [{**pool, "vcpu_limit": 64}])
    (cost,) = stage_costs(out, without_r7i)
    assert cost.items == []  # r7i is unpriced in this table: the dearest could be it
    assert cost.unpriced == ["r7i.large (no price for us-west-1 in prices.yaml)"]


def test_a_type_aws_does_not_offer_in_the_region_is_reported_as_such(tmp_path, prices):
    group = {
        "Type": "AWS::EKS::Nodegroup",
        "Properties": {
            "ScalingConfig": {"DesiredSize": 1, "MinSize": 1, "MaxSize": 2},
            "InstanceTypes": ["g5.12xlarge"],
            "Labels": {"gpuplatform.io/pool": "a10g"},
        },
    }
    out = _assembly(tmp_path, "us-west-1", {"A10g": group}, [])
    (cost,) = stage_costs(out, prices)
    assert "g5.12xlarge (not offered in us-west-1)" in cost.unpriced
    assert not any(item.item.startswith("a10g: g5") for item in cost.items)


def test_a_missing_price_is_listed_everything_else_printed_and_the_command_exits_3(synth, tmp_path, capsys):
    broken = _table_without(tmp_path, "us-west-2", "ec2", "g4dn.12xlarge")
    dev = next(cost for cost in stage_costs(synth.outdir, PriceTable(broken)) if cost.stage == "dev")
    assert dev.unpriced == ["g4dn.12xlarge (no price for us-west-2 in prices.yaml)"]
    assert not any(item.item.startswith("t4: g4dn") for item in dev.items)
    assert any(item.item.startswith("t4: EBS") for item in dev.items)  # the rest is still priced
    assert main(["cost_report", str(synth.outdir), "--prices", str(broken)]) == EXIT_UNPRICED
    text = capsys.readouterr().out
    assert "unpriced, left out of the totals above:\n    g4dn.12xlarge (no price for us-west-2" in text
    assert "stage prod (us-east-2): idle $" in text
    assert "without unpriced g4dn.12xlarge, list prices" in summarize(synth.outdir, broken)


def _network_and_nodes() -> dict:
    """A stage's fixed resources and one CPU node group whose launch template asks for a 300 GB
    gp3 volume at 4,000 IOPS and 250 MB/s (1,000 IOPS and 125 MB/s above gp3's baseline)."""
    endpoint = {"VpcEndpointType": "Interface", "SubnetIds": [{"Ref": f"Subnet{i}"} for i in range(3)]}
    volume = {"VolumeSize": 300, "VolumeType": "gp3", "Iops": 4000, "Throughput": 250}
    template = {"BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": volume}]}
    return {
        "Cluster": {"Type": "AWS::EKS::Cluster", "Properties": {}},
        "Nat": {"Type": "AWS::EC2::NatGateway", "Properties": {}},
        "NatIp": {"Type": "AWS::EC2::EIP", "Properties": {}},
        "Ecr": {"Type": "AWS::EC2::VPCEndpoint", "Properties": endpoint},
        "Template": {"Type": "AWS::EC2::LaunchTemplate", "Properties": {"LaunchTemplateData": template}},
        "Cpu": {
            "Type": "AWS::EKS::Nodegroup",
            "Properties": {
                "ScalingConfig": {"DesiredSize": 2, "MaxSize": 3},
                "InstanceTypes": ["m7i.xlarge"],
                "LaunchTemplate": {"Id": {"Ref": "Template"}},
            },
        },
    }


def test_a_region_without_endpoint_and_gp3_prices_lists_them_and_prices_the_rest(tmp_path, prices):
    out = _assembly(tmp_path, "eu-north-1", _network_and_nodes(), [])
    (cost,) = stage_costs(out, prices)
    # Endpoint and gp3 prices differ by region and no cited source gives them for eu-north-1; NAT
    # (togen-2026-09-06, EUN1-NatGateway-Hours) does, and the control plane and public IPv4 are one
    # price everywhere.
    assert cost.unpriced == [
        "EBS gp3 (no price for eu-north-1 in on_demand_prices.yaml)",
        "interface endpoint AZs (no price for eu-north-1 in on_demand_prices.yaml)",
    ]
    m7i, nat = 4 * 0.05355, 0.046
    assert cost.idle_hour == pytest.approx(2 * m7i + 0.10 + nat + 0.005)  # nodes, EKS, NAT, its IPv4


@pytest.mark.parametrize(
    ("region", "m7i", "nat", "endpoint_az", "gb", "iops", "mbps"),
    [
        # us-east-1: togen-2026-09-06 (NAT), infracost-golden (endpoint, gp3)
        ("us-east-1", 4 * 0.0504, 0.045, 0.01, 0.08, 0.005, 0.04),
        # ap-northeast-1: togen-2026-09-06, ontap-playbook-2026-09-13, ontap-migration-2026-09-13
        ("ap-northeast-1", 4 * 0.0651, 0.062, 0.014, 0.096, 0.006, 49.152 / 1024),
    ],
)
def test_a_stage_in_a_region_with_sourced_service_prices_is_priced_in_full(
    tmp_path, prices, region, m7i, nat, endpoint_az, gb, iops, mbps
):
    out = _assembly(tmp_path, region, _network_and_nodes(), [])
    (cost,) = stage_costs(out, prices)
    assert cost.unpriced == []
    volume = (300 * gb + 1000 * iops + 125 * mbps) / MONTH
    expected = 2 * (m7i + volume) + 0.10 + nat + 0.005 + 3 * endpoint_az
    assert cost.idle_hour == pytest.approx(expected)
    assert main(["cost_report", str(out)]) == EXIT_OK


# The service charges whose price differs by region, and where a cited source prices each
# (cost/on_demand_prices.yaml, "Per-resource service charges"): NAT gateway hours in all nine
# regions; interface endpoints and gp3 in the four below. Deleting a row fails this test, and
# so does a new one until it is listed here.
REGIONAL_SERVICE_KEYS = (
    "nat_gateway_hour",
    "interface_endpoint_az_hour",
    "gp3_gb_month",
    "gp3_iops_month",
    "gp3_mbps_month",
)
ENDPOINT_AND_GP3_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "ap-northeast-1")
SOURCED_SERVICE_ROWS = {("nat_gateway_hour", region) for region in PRICED_REGIONS} | {
    (key, region) for key in REGIONAL_SERVICE_KEYS[1:] for region in ENDPOINT_AND_GP3_REGIONS
}


def test_regional_service_charges_are_priced_exactly_where_a_source_names_them(prices):
    priced = {
        (key, region)
        for key in REGIONAL_SERVICE_KEYS
        for region in PRICED_REGIONS
        if prices.rate(region, key) is not None
    }
    assert priced == SOURCED_SERVICE_ROWS


def test_exit_codes_all_priced_0_and_bad_input_2(synth, tmp_path, capsys):
    assert main(["cost_report", str(synth.outdir)]) == EXIT_OK
    assert main(["cost_report", str(tmp_path)]) == EXIT_USAGE
    table = yaml.safe_load(DEFAULT_PRICES.read_text())
    table["regions"]["us-west-2"]["ec2"]["g4dn.xlarge"] = [0.526, "a-blog-post"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(table))
    with pytest.raises(CostError, match="cites source 'a-blog-post'"):
        PriceTable(bad)
    assert main(["cost_report", str(synth.outdir), "--prices", str(bad)]) == EXIT_USAGE
    assert "a-blog-post" in capsys.readouterr().err


# Offered, yet with no source price: AWS offers p5e.48xlarge (skypilot-v9 lists its zones) but
# its On-Demand Price column is empty in every region, and Karpenter's us-east-1 list has no p5e
# either. Anything else offered and unpriced fails the test below, as does a gap that closes.
NO_SOURCE_PRICE = {("p5e.48xlarge", r) for r in ("us-east-2", "us-west-2", "eu-north-1", "ap-southeast-2")}
CATALOGUED = [*gpu_catalog.GPU_INSTANCES, *cpu_catalog.CPU_INSTANCES]


def test_every_catalogued_type_is_priced_in_every_listed_region_that_offers_it(prices):
    """The coverage the issue asks for: every (GPU or CPU type x listed region) that AWS
    offers per platform_config/offerings.py has a list price in the table."""
    missing = {
        (t, region)
        for t in CATALOGUED
        for region in PRICED_REGIONS
        if offered(t, region) and prices.instance(region, t) is None
    }
    assert missing == NO_SOURCE_PRICE


def test_offerings_know_every_catalogued_type_and_the_table_prices_only_offered_pairs(prices):
    """offered() answers for every catalogued type in every listed region (None would let a
    missing price pass the coverage test), and no row prices a pair AWS does not sell."""
    for t in CATALOGUED:
        for region in PRICED_REGIONS:
            assert offered(t, region) is not None, (t, region)
            if not offered(t, region):
                assert prices.instance(region, t) is None, (t, region)


def test_the_price_table_covers_every_instance_type_the_shipped_stages_launch(prices):
    for config in load_stages():
        wanted = set(config.cpu_nodes.instance_types) | {pool.instance_type for pool in config.gpu_pools}
        for pool in config.karpenter.node_pools:
            wanted |= set(pool.instance_types_in(config.region))
        for instance_type in sorted(wanted):
            assert prices.instance(config.region, instance_type), (config.name, instance_type)


def test_offered_answers_only_what_its_source_says():
    assert offered("c7a.xlarge", "eu-north-1") is True
    assert offered("c7a.xlarge", "ap-southeast-2") is False
    assert offered("g5.48xlarge", "us-west-1") is False
    assert offered("p5.48xlarge", "eu-north-1") is True
    assert offered("p5.4xlarge", "eu-north-1") is False  # a size with its own regions wins
    assert offered("g6.xlarge", "eu-west-1") is False
    assert offered("t3.micro", "us-east-1") is None  # a family no source here lists: no guess
    assert offered("c6i.xlarge", "sa-east-1") is None  # outside the priced regions


def test_cpu_family_rates_reproduce_the_listed_prices_of_every_size(prices):
    """us-east-1 rows of karpenter-2026-01-19 (its listing holds every size), and rows of
    skypilot-v9 in other regions."""
    listed = {
        ("us-east-1", "c7i.48xlarge"): 8.568,
        ("us-east-1", "m7i.2xlarge"): 0.4032,
        ("us-east-1", "m6i.32xlarge"): 6.144,
        ("us-east-1", "r7a.large"): 0.15215,
        ("us-west-1", "m6i.12xlarge"): 2.688,
        ("eu-west-1", "r7i.12xlarge"): 3.5532,
        ("ap-northeast-1", "m7a.xlarge"): 0.29946,
        ("eu-north-1", "r7a.32xlarge"): 10.3552,
        ("ap-southeast-2", "r6i.8xlarge"): 2.416,
    }
    for (region, instance_type), price in listed.items():
        got = prices.instance(region, instance_type)
        assert got == pytest.approx(price, abs=1e-9), (region, instance_type)


def test_report_is_itemised_dated_and_names_what_it_leaves_out(synth, prices):
    text = report(synth.outdir, prices)
    assert f"reviewed {prices.as_of}" in text
    assert "stage dev (us-west-2): idle $" in text and "stage prod (us-east-2)" in text
    assert "t4: g4dn.12xlarge x 2-2" in text
    assert "Not included (usage-based)" in text


def test_synth_summary_shows_idle_and_peak_per_stage(synth, costs):
    text = summarize(synth.outdir)
    dev = f"idle ${costs['dev'].idle_hour:,.2f}/h (${costs['dev'].idle_hour * MONTH:,.0f}/month)"
    assert dev in text
    assert text.count("  cost: idle $") == 3
    assert "unpriced" not in text
