"""Every chart, image, tool and package version is pinned, and pinned in one place."""

from __future__ import annotations

import json
import re
from pathlib import Path

from platform_config import gpu_catalog, versions
from platform_config.model import KUBERNETES_VERSION
from tests.test_helm_values import DEFAULTS, chart_defaults, merged, releases

ROOT = Path(__file__).resolve().parent.parent
SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
SOURCE_DIRS = ["app.py", "stacks", "platform_constructs", "k8s_charts", "platform_config", "jobs", "tools"]


def test_helm_charts_pinned_to_exact_versions():
    assert versions.HELM_CHARTS
    for pin in versions.HELM_CHARTS:
        # eks-charts publishes versions with a "v" prefix (v0.5.15); the rest plain semver.
        assert SEMVER.match(pin.version.removeprefix("v")), pin


def test_images_pinned_to_exact_tags():
    for pin in versions.IMAGES:
        # a version (1.2, 26.10-py3) or MinIO's dated release form (RELEASE.2025-09-07T16-13-09Z)
        assert pin.tag not in ("latest", "") and re.search(r"\d+\.\d+|RELEASE\.\d{4}-\d\d-\d\dT", pin.tag), (
            pin
        )


EKSBUILD = re.compile(r"^v\d+\.\d+\.\d+-eksbuild\.\d+$")


def test_eks_addons_pinned_to_builds_for_the_cluster_version():
    assert set(versions.EKS_ADDONS) == {
        "vpc-cni",
        "coredns",
        "kube-proxy",
        "aws-ebs-csi-driver",
        "aws-efs-csi-driver",
        "eks-pod-identity-agent",
        "metrics-server",
    }
    for name, pin in versions.EKS_ADDONS.items():
        assert EKSBUILD.match(pin.version), (name, pin)
        assert pin.kubernetes == KUBERNETES_VERSION, f"{name} was pinned for {pin.kubernetes}: re-pin it"
        assert pin.source.strip(), name
    # kube-proxy is built per Kubernetes minor: its build must be the cluster's.
    assert versions.EKS_ADDONS["kube-proxy"].version.startswith(f"v{KUBERNETES_VERSION}.")


def test_every_synthesized_addon_carries_its_pin(synth):
    """Read back from the templates: no AWS::EKS::Addon without AddonVersion (EKS would pick
    its default on the day), none that the versions module does not pin, all seven installed."""
    installed: dict[str, set] = {}
    for (stage, stack), template in synth.templates.items():
        for logical_id, resource in template.get("Resources", {}).items():
            if resource["Type"] == "AWS::EKS::Addon":
                props = resource["Properties"]
                name = props["AddonName"]
                assert name in versions.EKS_ADDONS, f"{stage}/{stack} {logical_id}: {name} is not pinned"
                assert props.get("AddonVersion") == versions.EKS_ADDONS[name].version, (stage, logical_id)
                installed.setdefault(name, set()).add(stage)
    assert installed == {name: set(synth.stacks) for name in versions.EKS_ADDONS}


def test_karpenter_ami_aliases_are_releases_not_latest():
    assert re.fullmatch(r"al2023@v\d{8}", versions.KARPENTER_AMI_ALIAS)
    assert re.fullmatch(r"bottlerocket@v\d+\.\d+\.\d+", versions.KARPENTER_BOTTLEROCKET_ALIAS)


def test_no_version_literals_outside_the_versions_module():
    """Chart versions and image tags appear in platform_config/versions.py only."""
    pinned = (
        {pin.version for pin in versions.HELM_CHARTS}
        | {pin.tag for pin in versions.IMAGES}
        | {pin.version for pin in versions.EKS_ADDONS.values()}
    )
    for entry in SOURCE_DIRS:
        paths = [ROOT / entry] if entry.endswith(".py") else (ROOT / entry).rglob("*")
        for path in paths:
            if path.is_file() and path.suffix in (".py", "") and path.name != "versions.py":
                text = path.read_text(errors="ignore")
                for value in pinned:
                    assert f'"{value}"' not in text, f"{path} repeats pinned version {value}"
                assert ":latest" not in text, path


def test_token_refresh_dockerfile_takes_its_base_from_the_pin():
    dockerfile = (ROOT / "jobs" / "platform_jobs" / "Dockerfile").read_text()
    assert "ARG BASE_IMAGE" in dockerfile and "FROM ${BASE_IMAGE}" in dockerfile
    assert re.search(r"^USER \d+", dockerfile, re.M)


def test_python_requirements_are_exact_pins():
    for name in ("requirements.txt", "requirements-dev.txt", "jobs/platform_jobs/requirements.txt"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith("-r"):
                assert re.fullmatch(r"[A-Za-z0-9_.\-\[\],]+==[\w.]+", line), f"{name}: {line}"


def test_cdk_cli_pinned_on_the_v2_line():
    dev_dependencies = json.loads((ROOT / "package.json").read_text())["devDependencies"]
    major, minor, _ = (int(p) for p in dev_dependencies["aws-cdk"].split("."))
    assert major == 2 and minor >= 1148  # aws-cdk@3.0.0 on npm is a deprecated mistake
    assert SEMVER.match(dev_dependencies["cdk8s-cli"])
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/aws-cdk"]["version"] == dev_dependencies["aws-cdk"]


def plugin_release(tag: str) -> tuple[int, ...]:
    """``v0.5.8`` -> ``(0, 5, 8)``, so ``v0.5.10`` sorts after it; an EKS build suffix
    (``v0.5.21-eksbuild.13``) does not count."""
    match = re.match(r"v?(\d+)\.(\d+)\.(\d+)", tag)
    assert match, f"not a plugin release tag: {tag!r}"
    return tuple(int(part) for part in match.groups())


def test_efa_plugin_image_meets_the_floor_of_every_catalogued_family(synth):
    """The EFA device plugin image every stage deploys (the release's ``image.tag`` over the
    pinned chart's default, merged as Helm does, read from the templates) is at least the floor
    ``EFA_DEVICE_PLUGIN_MIN_IMAGE`` names for a catalogued family (p6-b200: below v0.5.6 the
    plugin counts its two mlx5 devices as EFA). A floor for a family no longer catalogued is stale."""
    floors = versions.EFA_DEVICE_PLUGIN_MIN_IMAGE
    assert set(floors) <= set(gpu_catalog.known_families()), "a floor for a family not catalogued"
    deployed = [
        (stage, merged(chart_defaults(DEFAULTS[(chart, version)]), values)["image"]["tag"])
        for stage, _, chart, version, values in releases(synth)
        if chart == versions.EFA_DEVICE_PLUGIN.chart
    ]
    assert deployed, "no stage installs the EFA device plugin: nothing checked"
    for stage, tag in deployed:
        # An empty tag would deploy the chart's appVersion, which the stored defaults don't hold.
        assert tag, f"{stage}: the EFA device plugin image has no tag"
        for family, floor in floors.items():
            assert plugin_release(tag) >= plugin_release(floor), (
                f"{stage}: EFA device plugin image {tag} is below {floor}, the floor for {family}"
            )


def test_plugin_tags_compare_as_release_numbers():
    assert plugin_release("v0.5.10") > plugin_release("v0.5.8")  # as strings, "v0.5.10" < "v0.5.8"
    assert plugin_release("v0.5.21-eksbuild.13") == (0, 5, 21)
