"""GPU sharing: every catalogued GPU x every mode, the MIG catalogue against NVIDIA's data,
and the two unappliable layouts of a public blueprint refused at synth."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from platform_config import gpu_catalog, mig_catalog
from platform_config.gpu_sharing import MAX_MPS_CLIENTS, MAX_TIME_SLICES
from platform_config.loader import StageConfigError, parse_stage
from tests.test_pool_settings import BASE

NVIDIA = Path(__file__).resolve().parent.parent / "platform_config" / "nvidia"
# One catalogued type per GPU model (its largest size), so every model is tried.
BY_MODEL = {
    entry.gpu_model: entry for entry in sorted(gpu_catalog.GPU_INSTANCES.values(), key=lambda e: e.gpus)
}


def pool(instance: gpu_catalog.GpuInstance, sharing: object, **extra: object) -> dict:
    return {"name": "pp", "instance_type": instance.instance_type, "sharing": sharing, **extra}


def managed(*pools: dict) -> object:
    return parse_stage({**BASE, "gpu_pools": list(pools)}, "t.yaml")


def error_of(*pools: dict) -> str:
    with pytest.raises(StageConfigError) as exc:
        managed(*pools)
    return str(exc.value)


def _full_layout(model: str) -> list[str]:
    """A valid mixed layout for every MIG GPU: 3g + 2g + 2 x 1g (the 1/8-memory 1g)."""
    names = list(mig_catalog.MIG_GPUS[model].profiles)
    return [names[4], names[3], names[0], names[0]]


def _modes(model: str) -> list[tuple[str, object, dict[str, int] | None]]:
    """(mode, sharing setting, expected per-GPU advertisement or None when refused)."""
    mig = model in mig_catalog.MIG_GPUS
    mixed = _full_layout(model) if mig else ["1g.10gb", "2g.20gb"]
    single = [mixed[0]] * 2
    return [
        ("none", "none", {"nvidia.com/gpu": 1}),
        ("time-slicing", {"time_slicing": {"replicas": 3}}, {"nvidia.com/gpu": 3}),
        ("mps", {"mps": {"replicas": 4}}, {"nvidia.com/gpu": 4}),
        (
            "mig-single",
            {"mig": {"strategy": "single", "layout": single}},
            {"nvidia.com/gpu": 2} if mig else None,
        ),
        (
            "mig-mixed",
            {"mig": {"strategy": "mixed", "layout": mixed}},
            {f"nvidia.com/mig-{p}": mixed.count(p) for p in dict.fromkeys(mixed)} if mig else None,
        ),
    ]


MATRIX = [(model, *mode) for model in sorted(BY_MODEL) for mode in _modes(model)]


@pytest.mark.parametrize(
    ("model", "mode", "sharing", "per_gpu"), MATRIX, ids=[f"{m[0]}-{m[1]}" for m in MATRIX]
)
def test_every_gpu_in_every_mode(model, mode, sharing, per_gpu):
    instance = BY_MODEL[model]
    if per_gpu is None:
        message = error_of(pool(instance, sharing))
        assert f"pool pp: sharing.mig layout: {model} has no MIG; MIG-capable GPUs: " in message
        assert ", ".join(mig_catalog.mig_capable()) in message
        return
    (parsed,) = managed(pool(instance, sharing)).gpu_pools
    assert parsed.sharing.mode == mode
    assert parsed.advertised == {r: n * instance.gpus for r, n in per_gpu.items()}


def test_karpenter_pools_take_the_same_setting_on_every_gpu_model_they_launch():
    karpenter = {
        "enabled": True,
        "node_pools": [
            {
                "name": "hh",
                "instance_families": ["p5"],
                "sharing": {"mig": {"layout": ["3g.40gb", "3g.40gb"]}},
            }
        ],
    }
    (nodepool,) = parse_stage({**BASE, "karpenter": karpenter}, "t").karpenter.node_pools
    assert {t: nodepool.advertised(t) for t in nodepool.catalogued_types} == {
        "p5.4xlarge": {"nvidia.com/gpu": 2},
        "p5.48xlarge": {"nvidia.com/gpu": 16},
    }
    karpenter["node_pools"][0]["instance_families"] = ["p5", "p4d"]
    with pytest.raises(
        StageConfigError, match=r"pool hh: sharing.mig layout: 3g.40gb is not a A100-40GB profile"
    ):
        parse_stage({**BASE, "karpenter": karpenter}, "t")


def test_the_blueprint_layouts_that_fail_on_hardware_are_refused_at_synth():
    a100 = gpu_catalog.lookup("p4de.24xlarge")
    layout = ["1g.10gb"] * 3 + ["2g.20gb", "3g.40gb"]
    assert (
        "gpu_pools[0]: pool pp: sharing.mig layout: "
        "3 x 1g.10gb + 2g.20gb + 3g.40gb needs 8 compute slices; A100-80GB has 7"
        in error_of(pool(a100, {"mig": {"strategy": "mixed", "layout": layout}}))
    )
    b200 = gpu_catalog.lookup("p6-b200.48xlarge")
    assert (
        "pool pp: sharing.mig layout: 2g.40gb is not a B200 profile; B200's profiles: "
        "1g.23gb, 1g.23gb+me, 1g.45gb, 2g.45gb, 3g.90gb, 4g.90gb, 7g.180gb"
    ) in error_of(pool(b200, {"mig": {"strategy": "mixed", "layout": ["2g.40gb", "3g.90gb"]}}))


@pytest.mark.parametrize(
    ("sharing", "expected"),
    [
        (
            {"mig": {"strategy": "mixed", "layout": ["1g.10gb"] * 3 + ["1g.5gb"] * 3}},
            "needs 9 memory slices; A100-40GB has 8",
        ),
        (
            {"mig": {"strategy": "mixed", "layout": ["1g.5gb+me"] * 2}},
            "has 2 x 1g.5gb+me; A100-40GB takes at most 1",
        ),
        (
            {"mig": {"strategy": "single", "layout": ["3g.20gb", "1g.5gb"]}},
            "its layout must be one profile repeated, got 3g.20gb + 1g.5gb",
        ),
        (
            {"mig": {"strategy": "single", "layout": []}},
            "sharing.mig.layout: has 0 entries; allowed: at least 1",
        ),
        (
            {"time_slicing": {"replicas": 3}, "mps": {"replicas": 2}},
            "sets time_slicing and mps; allowed: one of",
        ),
        ({"time_slicing": {"replicas": 1}}, "greater than or equal to 2"),
        ({"time_slicing": {"replicas": MAX_TIME_SLICES + 1}}, f"less than or equal to {MAX_TIME_SLICES}"),
        ({"mps": {"replicas": MAX_MPS_CLIENTS + 1}}, f"less than or equal to {MAX_MPS_CLIENTS}"),
        ("some", "sharing: should be a block of settings"),
    ],
)
def test_bad_sharing_names_the_setting_and_what_fits(sharing, expected):
    assert expected in error_of(pool(gpu_catalog.lookup("p4d.24xlarge"), sharing))


def test_bottlerocket_mig_is_one_profile_filling_the_gpu():
    a100 = gpu_catalog.lookup("p4d.24xlarge")
    message = error_of(pool(a100, {"mig": {"layout": ["3g.20gb"]}}, ami_family="bottlerocket"))
    assert "sharing.mig on Bottlerocket applies one profile filling each GPU" in message
    assert "allowed: strategy single with 2 x 3g.20gb, or ami_family al2023" in message
    (ok,) = managed(pool(a100, {"mig": {"layout": ["3g.20gb"] * 2}}, ami_family="bottlerocket")).gpu_pools
    assert ok.advertised == {"nvidia.com/gpu": 16}


def test_sharing_on_a_cpu_pool_is_refused():
    karpenter = {
        "enabled": True,
        "node_pools": [
            {
                "name": "cc",
                "kind": "cpu",
                "instance_families": ["c7i"],
                "sharing": {"time_slicing": {"replicas": 2}},
            }
        ],
    }
    with pytest.raises(StageConfigError, match="sharing is set on a CPU pool"):
        parse_stage({**BASE, "karpenter": karpenter}, "t")


def test_catalogue_matches_nvidias_tables_and_mig_parted():
    """Every profile's max-instance count equals mig-parted's ``all-<profile>`` count, and
    every profile name of the catalogue is a row of NVIDIA's table for that GPU."""
    configs = yaml.safe_load((NVIDIA / "mig-parted-config-default.yaml").read_text())["mig-configs"]
    counts: dict[str, set[int]] = {}
    for config in configs.values():
        for entry in config:
            for profile, count in (entry.get("mig-devices") or {}).items():
                counts.setdefault(profile, set()).add(count)
    tables = (NVIDIA / "mig-profiles.md").read_text()
    for gpu in mig_catalog.MIG_GPUS.values():
        for profile in gpu.profiles.values():
            assert profile.max_instances in counts[profile.name], (gpu.gpu_model, profile.name)
            name, most = re.escape(profile.name), profile.max_instances
            row = rf"\| {name} \| {profile.compute}/7[^|]* \| {profile.memory}/8 \| {most} \|"
            assert re.search(row, tables), (gpu.gpu_model, profile.name)
    assert set(mig_catalog.MIG_GPUS) <= {e.gpu_model for e in gpu_catalog.GPU_INSTANCES.values()}


def test_every_profile_at_its_max_count_is_placeable_and_one_more_is_not():
    for gpu in mig_catalog.MIG_GPUS.values():
        for name, profile in gpu.profiles.items():
            assert mig_catalog.layout_error(gpu.gpu_model, [name] * profile.max_instances) is None
            assert mig_catalog.layout_error(gpu.gpu_model, [name] * (profile.max_instances + 1))


def test_placement_refuses_overlapping_starts():
    """Two 4g instances fit no GPU: both may only start on memory slice 0."""
    four = mig_catalog.MIG_GPUS["H100"].profiles["4g.40gb"]
    assert mig_catalog._place([four, four], frozenset()) is None
    assert mig_catalog._place([four], frozenset()) == [0]
