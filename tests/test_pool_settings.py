"""Pool settings a team may write: AMI families, CPU Karpenter pools, catalogued CPU types."""

from __future__ import annotations

import cdk8s
import pytest

from k8s_charts.karpenter_node_pools import KarpenterNodePoolsChart
from platform_config import cpu_catalog, gpu_catalog
from platform_config.loader import StageConfigError, parse_stage
from platform_config.offerings import PRICED_REGIONS, offered

BASE = {
    "name": "tt",
    "tier": "dev",
    "account": "111111111111",
    "region": "us-west-2",
    "availability_zones": ["us-west-2a", "us-west-2b"],
}


def stage(**settings) -> dict:
    return {**BASE, **settings}


def karpenter(*pools: dict) -> dict:
    return {"karpenter": {"enabled": True, "node_pools": list(pools)}}


def error_of(data: dict) -> str:
    with pytest.raises(StageConfigError) as exc:
        parse_stage(data, "t.yaml")
    return str(exc.value)


def test_cpu_pool_launches_its_catalogued_sizes_with_a_vcpu_limit():
    config = parse_stage(
        stage(**karpenter({"name": "batch", "kind": "cpu", "instance_families": ["c7i"], "cpu_limit": 64})),
        "t",
    )
    (pool,) = config.karpenter.node_pools
    assert pool.instance_types_in(config.region) == sorted(
        t for t in cpu_catalog.known_types() if t.startswith("c7i.")
    )
    assert (pool.vcpus_limit, pool.gpus_limit, pool.volume_gib) == (64, 0, 100)
    assert not config.has_gpus


def test_gpu_pool_defaults_are_unchanged():
    (pool,) = parse_stage(
        stage(**karpenter({"name": "g6", "instance_families": ["g6"]})), "t"
    ).karpenter.node_pools
    assert (pool.gpus_limit, pool.vcpus_limit, pool.volume_gib, pool.architectures_in("us-west-2")) == (
        16,
        None,
        300,
        ["amd64"],
    )


@pytest.mark.parametrize(
    ("pool", "expected"),
    [
        (
            {"name": "xx", "instance_families": ["c7i"]},
            "'c7i' is not a known GPU instance family (c7i is a CPU family: set kind: cpu)",
        ),
        (
            {"name": "xx", "kind": "cpu", "instance_families": ["g6"]},
            "'g6' is not a known CPU instance family (g6 is a GPU family: set kind: gpu)",
        ),
        (
            {"name": "xx", "kind": "cpu", "instance_families": ["t3"]},
            "'t3' is not a known CPU instance family;",
        ),
        (
            {"name": "xx", "kind": "cpu", "instance_families": ["c7i"], "gpu_limit": 8},
            "gpu_limit is set on a CPU pool (kind: cpu); allowed: cpu_limit",
        ),
        (
            {"name": "xx", "instance_families": ["g6"], "cpu_limit": 8},
            "cpu_limit is set on a GPU pool (kind: gpu); allowed: gpu_limit",
        ),
        (
            {"name": "xx", "kind": "cpu", "instance_families": ["c7i"], "efa": True},
            "efa is true on a CPU pool",
        ),
        (
            {"name": "xx", "kind": "tpu", "instance_families": ["g6"]},
            "'tpu' is not allowed; allowed: 'gpu' or 'cpu'",
        ),
    ],
)
def test_pool_kind_mistakes_name_the_setting_and_what_is_allowed(pool, expected):
    message = error_of(stage(**karpenter(pool)))
    assert "karpenter.node_pools[0]" in message
    assert expected in message


def test_ami_family_is_al2023_or_bottlerocket():
    message = error_of(
        stage(gpu_pools=[{"name": "t4", "instance_type": "g4dn.xlarge", "ami_family": "ubuntu"}])
    )
    assert "gpu_pools[0].ami_family: 'ubuntu' is not allowed; allowed: 'al2023' or 'bottlerocket'" in message


def test_cpu_nodes_take_catalogued_cpu_types_only():
    message = error_of(stage(cpu_nodes={"instance_types": ["t3.large"]}))
    assert "cpu_nodes.instance_types: 't3.large' is not a catalogued CPU instance type" in message
    assert "m7i" in message
    assert "is a GPU type" in error_of(stage(cpu_nodes={"instance_types": ["g5.xlarge"]}))


def test_the_cpu_pool_name_is_reserved():
    message = error_of(stage(**karpenter({"name": "cpu", "kind": "cpu", "instance_families": ["m7i"]})))
    assert "karpenter.node_pools[0].name 'cpu' is reserved for the managed CPU node group" in message


@pytest.mark.parametrize("instance_type", gpu_catalog.known_types())
def test_every_catalogued_gpu_type_is_a_valid_managed_pool(instance_type):
    efa = gpu_catalog.lookup(instance_type).supports_efa
    pool = {"name": "pp", "instance_type": instance_type, "efa": efa, "ami_family": "bottlerocket"}
    config = parse_stage(stage(gpu_pools=[pool]), "t")
    assert config.gpu_pool_instances() == {"pp": [gpu_catalog.lookup(instance_type)]}


def test_a_type_aws_does_not_sell_in_the_region_is_refused_before_cloudformation():
    west1 = {"region": "us-west-1", "availability_zones": ["us-west-1a", "us-west-1c"]}
    message = error_of(stage(**west1, gpu_pools=[{"name": "l40s", "instance_type": "g6e.12xlarge"}]))
    assert "gpu_pools[0].instance_type: g6e.12xlarge is not offered in us-west-1" in message
    assert "us-west-2" in message  # where it is sold
    message = error_of(stage(**west1, **karpenter({"name": "b200", "instance_families": ["p6-b200"]})))
    assert (
        "karpenter.node_pools[0].instance_families: p6-b200.48xlarge is not offered in us-west-1" in message
    )
    assert parse_stage(stage(**west1, gpu_pools=[{"name": "h200", "instance_type": "p5en.48xlarge"}]), "t")


def test_a_region_the_offerings_table_does_not_cover_is_accepted():
    sa = {"region": "sa-east-1", "availability_zones": ["sa-east-1a", "sa-east-1b"]}
    assert parse_stage(stage(**sa, gpu_pools=[{"name": "b200", "instance_type": "p6-b200.48xlarge"}]), "t")


def _pool(family: str) -> dict:
    kind = "gpu" if family in gpu_catalog.known_families() else "cpu"
    return {"name": f"k-{family}", "kind": kind, "instance_families": [family]}


def _sizes(family: str) -> list[str]:
    catalog = (
        gpu_catalog.known_types() if family in gpu_catalog.known_families() else cpu_catalog.known_types()
    )
    return [t for t in catalog if t.split(".", 1)[0] == family]


FAMILIES = [*gpu_catalog.known_families(), *cpu_catalog.known_families()]


def _in_region(region: str) -> dict:
    return {"region": region, "availability_zones": [f"{region}a", f"{region}b"]}


@pytest.mark.parametrize("region", PRICED_REGIONS)
def test_every_family_in_every_priced_region_launches_only_sizes_sold_there(region):
    """The generated region x family matrix: a Karpenter pool keeps exactly its family's sizes
    that AWS sells in the stage's region, in the model and in the rendered NodePool; a family
    with no size sold there is refused, naming the setting and where it is sold."""
    accepted = []
    for family in FAMILIES:
        sold = [t for t in _sizes(family) if offered(t, region)]
        if not sold:
            message = error_of(stage(**_in_region(region), **karpenter(_pool(family))))
            assert (
                "karpenter.node_pools[0].instance_families" in message
                and f"not offered in {region}" in message
            )
            continue
        (pool,) = parse_stage(
            stage(**_in_region(region), **karpenter(_pool(family))), "t"
        ).karpenter.node_pools
        assert pool.instance_types_in(region) == sold, (region, family)
        accepted.append(_pool(family))
    config = parse_stage(stage(**_in_region(region), **karpenter(*accepted)), "t")
    chart = KarpenterNodePoolsChart(
        cdk8s.App(),
        "pools",
        pools=list(config.karpenter.node_pools),
        region=region,
        node_role_name="node-role",
        discovery_value="cluster",
        cluster_security_group_id="sg-0123456789abcdef0",
        efa_security_group_id="sg-0fedcba9876543210",
    )
    launched = {
        manifest["metadata"]["name"]: requirement["values"]
        for manifest in chart.to_json()
        if manifest["kind"] == "NodePool"
        for requirement in manifest["spec"]["template"]["spec"]["requirements"]
        if requirement["key"] == "node.kubernetes.io/instance-type"
    }
    assert launched == {
        f"k-{family}": [t for t in _sizes(family) if offered(t, region)]
        for family in FAMILIES
        if any(offered(t, region) for t in _sizes(family))
    }
    assert all(offered(t, region) for sizes in launched.values() for t in sizes)


def test_a_p5_pool_in_eu_north_1_drops_the_size_aws_does_not_sell_there():
    config = parse_stage(stage(**_in_region("eu-north-1"), **karpenter(_pool("p5"))), "t")
    (pool,) = config.karpenter.node_pools
    assert "p5.4xlarge" in pool.catalogued_types
    assert pool.instance_types_in("eu-north-1") == ["p5.48xlarge"]
    assert pool.instance_types_in("us-east-1") == ["p5.48xlarge", "p5.4xlarge"]
    assert [t.instance_type for t in config.gpu_pool_instances()["k-p5"]] == ["p5.48xlarge"]
    # outside the offerings table nothing is dropped on a guess
    assert pool.instance_types_in("sa-east-1") == pool.catalogued_types
