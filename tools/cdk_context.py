"""The context `cdk synth` passes to the app, for building an ``App`` in process."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cdk_context() -> dict:
    """cdk.json's feature flags plus cdk.context.json."""
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    context.update(json.loads((ROOT / "cdk.context.json").read_text()))
    return context
