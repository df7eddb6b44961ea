"""Reading a synthesized cloud assembly (with its nested stage assemblies) from disk."""

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
