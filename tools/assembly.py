"""Reading a synthesized cloud assembly (with its nested stage assemblies) from disk."""

from __future__ import annotations

import json
from pathlib import Path


def stack_templates(out: Path) -> dict[str, Path]:
    """``Stage/Stack`` -> template path for every stack, in the order the app defines them."""
    found: dict[str, Path] = {}
    manifest = json.loads((out / "manifest.json").read_text())
    for artifact in manifest.get("artifacts", {}).values():
        properties = artifact.get("properties", {})
        if artifact["type"] == "cdk:cloud-assembly":
            found.update(stack_templates(out / properties["directoryName"]))
        elif artifact["type"] == "aws:cloudformation:stack":
            found[artifact.get("displayName", properties["templateFile"])] = out / properties["templateFile"]
    return found
