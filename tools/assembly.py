"""Reading a synthesized cloud assembly (with its nested stage assemblies) from disk, and the
Kubernetes manifests its templates carry."""

from __future__ import annotations

import json
from pathlib import Path


def _stack_artifacts(out: Path) -> dict[str, dict]:
    """``Stage/Stack`` -> the stack's manifest artifact, with ``templateFile`` made absolute."""
    found: dict[str, dict] = {}
    manifest = json.loads((out / "manifest.json").read_text())
    for artifact in manifest.get("artifacts", {}).values():
        properties = artifact.get("properties", {})
        if artifact["type"] == "cdk:cloud-assembly":
            found.update(_stack_artifacts(out / properties["directoryName"]))
        elif artifact["type"] == "aws:cloudformation:stack":
            name = artifact.get("displayName", properties["templateFile"])
            found[name] = {**artifact, "templatePath": out / properties["templateFile"]}
    return found


def stack_templates(out: Path) -> dict[str, Path]:
    """``Stage/Stack`` -> template path for every stack, in the order the app defines them."""
    return {name: artifact["templatePath"] for name, artifact in _stack_artifacts(out).items()}


def stack_regions(out: Path) -> dict[str, str]:
    """``Stage/Stack`` -> the region of its ``aws://account/region`` environment."""
    artifacts = _stack_artifacts(out)
    return {name: artifact["environment"].rsplit("/", 1)[1] for name, artifact in artifacts.items()}


MANIFEST_TYPES = ("Custom::AWSCDK-EKS-KubernetesResource",)

# Stand-ins for values CloudFormation fills in at deploy time, shaped like the real thing so
# that schema patterns (sg-..., fs-...) still apply to them.
PLACEHOLDERS = (
    ("SecurityGroup", "sg-0123456789abcdef0"),
    ("FileSystem", "fs-0123456789abcdef0"),
    ("Subnet", "subnet-0123456789abcdef0"),
    ("Role", "gpu-platform-role"),
)


def placeholder(intrinsic: dict) -> str:
    text = json.dumps(intrinsic)
    for marker, value in PLACEHOLDERS:
        if marker in text:
            return value
    return "placeholder"


def render(value, placeholder_for=placeholder) -> str:
    """A CloudFormation string value with its Fn::Join flattened and every other intrinsic
    replaced by ``placeholder_for(intrinsic)`` (by default a plausible stand-in)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(render(part, placeholder_for) for part in parts)
    return placeholder_for(value)


def manifests_in_template(template: dict) -> list[dict]:
    objects = []
    for resource in template.get("Resources", {}).values():
        if resource["Type"] in MANIFEST_TYPES:
            objects.extend(json.loads(render(resource["Properties"]["Manifest"])))
    return objects
