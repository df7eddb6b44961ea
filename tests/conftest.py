"""Shared fixtures: the whole app is synthesized once per test session.

CDK_VALIDATION=false (set by `make unit`, and here as a fallback) keeps CDK's built-in
CloudFormation validation out of this synth; it runs once, in `make cli-synth`. cdk-nag runs
here, because it is registered by the app itself.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("CDK_VALIDATION", "false")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


def cdk_context() -> dict:
    """The context `cdk synth` would pass: cdk.json's feature flags plus cdk.context.json."""
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    context.update(json.loads((ROOT / "cdk.context.json").read_text()))
    return context


@dataclass
class Synthesized:
    stages: dict  # stage name -> PlatformStage
    outdir: Path
    templates: dict[tuple[str, str], dict]  # (stage, stack) -> template

    def template(self, stage: str, stack: str) -> dict:
        return self.templates[(stage, stack)]

    def resources(self, stage: str, stack: str, resource_type: str) -> dict[str, dict]:
        return {
            logical_id: resource
            for logical_id, resource in self.template(stage, stack)["Resources"].items()
            if resource["Type"] == resource_type
        }


@pytest.fixture(scope="session")
def synth(tmp_path_factory) -> Synthesized:
    from aws_cdk import App

    from app import build_app

    outdir = tmp_path_factory.mktemp("cdk.out")
    app = App(outdir=str(outdir), context=cdk_context())
    stages = {stage.stage_name: stage for stage in build_app(app)}
    app.synth()
    templates = {}
    for name, stage in stages.items():
        for stack in stage.stacks:
            path = outdir / f"assembly-{name}" / stack.template_file
            templates[(name, stack.node.id)] = json.loads(path.read_text())
    return Synthesized(stages=stages, outdir=outdir, templates=templates)


@pytest.fixture
def world():
    """A reservations world: moto, the fake Kubernetes API and a processor runtime
    (``tests/reservation_fixtures.py``), fresh for each test."""
    from tests.reservation_fixtures import World

    with World() as w:
        yield w
