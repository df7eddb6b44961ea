"""The cost report prices what the templates hold, with the committed price table."""

from __future__ import annotations

import pytest
import yaml

from platform_config import gpu_catalog
from platform_config.loader import load_stages
from tools.cost_report import DEFAULT_PRICES, CostError, PriceTable, main, report, stage_costs
from tools.synth_summary import summarize

MONTH = 730


@pytest.fixture(scope="module")
def prices() -> PriceTable:
    return PriceTable(DEFAULT_PRICES)


@pytest.fixture(scope="module")
def costs(synth, prices):
    return {cost.stage: cost for cost in stage_costs(synth.outdir, prices)}


def test_dev_idle_is_the_sum_of_what_runs_with_nothing_scheduled(costs):
    gp3 = 0.08 / MONTH
    throughput_above_baseline = (250 - 125) * 0.04 / MONTH  # the launch templates ask for 250 MB/s
    expected = (
        2 * 3.912  # t4 pool: 2 x g4dn.12xlarge, seed 002's 8 x T4
        + 2 * 0.2016  # CPU group at its desired size
        + 0.10  # EKS control plane
        + 0.045
        + 0.005  # one NAT gateway and its public IPv4 address
        + 4 * 3 * 0.01  # ECR api, ECR dkr, STS and Logs endpoints in 3 AZs
        + 3 * 1.00 / MONTH  # KMS keys: registry, storage, cluster secrets
        + 2 * (300 * gp3 + throughput_above_baseline)
        + 2 * (100 * gp3 + throughput_above_baseline)
    )
    assert costs["dev"].idle_hour == pytest.approx(expected)


def test_peak_fills_node_groups_to_max_and_node_pools_to_their_gpu_limit(costs):
    prod = {item.item: item for item in costs["prod"].items}
    karpenter = next(item for name, item in prod.items() if name.startswith("h100-efa: Karpenter"))
    assert karpenter.idle_hour == 0
    assert karpenter.peak_hour == pytest.approx(32 * 55.04 / 8)  # 32-GPU limit at p5's per-GPU rate
    cpu = next(item for name, item in prod.items() if name.startswith("cpu: m7i.2xlarge"))
    assert (cpu.idle_hour, cpu.peak_hour) == pytest.approx((3 * 0.4032, 9 * 0.4032))
    for cost in costs.values():
        assert cost.peak_hour > cost.idle_hour > 0


def test_karpenter_ceiling_uses_the_dearest_type_per_gpu_the_pool_allows(costs):
    g5 = next(item for item in costs["dev"].items if item.item.startswith("g5: Karpenter"))
    table = PriceTable(DEFAULT_PRICES)
    g5_types = [t for t in gpu_catalog.GPU_INSTANCES if t.startswith("g5.")]
    per_gpu = {t: table.instance("us-west-2", t) / gpu_catalog.lookup(t).gpus for t in g5_types}
    assert g5.peak_hour == pytest.approx(16 * max(per_gpu.values()))
    assert "as g5.16xlarge" in g5.item


def test_the_price_table_covers_every_instance_type_a_stage_can_launch(prices):
    for config in load_stages():
        wanted = set(config.cpu_nodes.instance_types) | {pool.instance_type for pool in config.gpu_pools}
        for pool in config.karpenter.node_pools:
            wanted |= set(pool.instance_types)
        for instance_type in sorted(wanted):
            assert prices.instance(config.region, instance_type) > 0, (config.name, instance_type)


def test_a_missing_price_names_the_type_and_region_and_the_command_exits_2(synth, tmp_path, capsys):
    table = yaml.safe_load(DEFAULT_PRICES.read_text())
    del table["regions"]["us-west-2"]["ec2"]["g4dn.12xlarge"]
    broken = tmp_path / "prices.yaml"
    broken.write_text(yaml.safe_dump(table))
    with pytest.raises(CostError, match=r"no on-demand price for g4dn\.12xlarge in us-west-2"):
        stage_costs(synth.outdir, PriceTable(broken))
    assert main(["cost_report", str(synth.outdir), "--prices", str(broken)]) == 2
    assert "g4dn.12xlarge" in capsys.readouterr().err
    assert "cost: not estimated" in summarize(synth.outdir, broken)


def test_report_is_itemised_dated_and_names_what_it_leaves_out(synth, prices):
    text = report(synth.outdir, prices)
    assert f"as of {prices.as_of}" in text
    assert "stage dev (us-west-2): idle $" in text and "stage prod (us-east-2)" in text
    assert "t4: g4dn.12xlarge x 2-2" in text
    assert "Not included (usage-based)" in text


def test_synth_summary_shows_idle_and_peak_per_stage(synth, costs):
    text = summarize(synth.outdir)
    dev = f"idle ${costs['dev'].idle_hour:,.2f}/h (${costs['dev'].idle_hour * MONTH:,.0f}/month)"
    assert dev in text
    assert text.count("  cost: idle $") == 3
