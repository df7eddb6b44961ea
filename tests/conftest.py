"""Shared fixtures: the whole app is synthesized once per test session.

`make test` synthesizes once, with the CDK CLI and CDK's built-in CloudFormation validation
(`make cli-synth`), and hands that assembly to pytest in ``GPU_PLATFORM_ASSEMBLY``: every worker
reads the same templates instead of synthesizing the app again. Run alone (`pytest tests/...`),
the fixture synthesizes in process, with CDK_VALIDATION=false (set by `make unit`, and here as a
fallback) keeping CDK's CloudFormation validation out of it. cdk-nag runs either way, because
the app itself registers it.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path

import botocore.session
import pytest

from tools import jsii_transport
from tools.cdk_context import cdk_context

jsii_transport.install()  # before any test module's aws_cdk import starts the jsii kernel

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("CDK_VALIDATION", "false")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

# Every botocore Session parses its JSON service models (DynamoDB, SQS, the endpoint rules)
# into its own loader, and moto gives each mock a fresh default session: each moto test paid
# for the parse again (about two thirds of a reservations world's setup). One loader per
# process: its caches hold the parsed models; what a test does with a client is unchanged.
botocore.session.create_loader = functools.cache(botocore.session.create_loader)


@dataclass
class Synthesized:
    outdir: Path
    templates: dict[tuple[str, str], dict]  # (stage, stack) -> template
    termination_protection: dict[tuple[str, str], bool]

    @property
    def stacks(self) -> dict[str, list[str]]:
        """Stage name -> the ids of its stacks."""
        result: dict[str, list[str]] = {}
        for stage, stack in self.templates:
            result.setdefault(stage, []).append(stack)
        return result

    def template(self, stage: str, stack: str) -> dict:
        return self.templates[(stage, stack)]

    def resources(self, stage: str, stack: str, resource_type: str) -> dict[str, dict]:
        return {
            logical_id: resource
            for logical_id, resource in self.template(stage, stack)["Resources"].items()
            if resource["Type"] == resource_type
        }


def read_assembly(outdir: Path) -> Synthesized:
    """Every stack template of a cloud assembly with one nested assembly per stage."""
    templates, protection = {}, {}
    for manifest_path in sorted(outdir.glob("assembly-*/manifest.json")):
        for artifact in json.loads(manifest_path.read_text())["artifacts"].values():
            if artifact["type"] != "aws:cloudformation:stack":
                continue
            stage, stack = artifact["displayName"].split("/")
            properties = artifact["properties"]
            template_path = manifest_path.parent / properties["templateFile"]
            templates[(stage, stack)] = json.loads(template_path.read_text())
            protection[(stage, stack)] = properties.get("terminationProtection", False)
    return Synthesized(outdir=outdir, templates=templates, termination_protection=protection)


@pytest.fixture(scope="session")
def synth(tmp_path_factory) -> Synthesized:
    prebuilt = os.environ.get("GPU_PLATFORM_ASSEMBLY")
    if prebuilt:
        return read_assembly(Path(prebuilt).resolve())

    from aws_cdk import App

    from app import build_app

    outdir = tmp_path_factory.mktemp("cdk.out")
    app = App(outdir=str(outdir), context=cdk_context())
    build_app(app)
    app.synth()
    return read_assembly(outdir)


@pytest.fixture
def world():
    """A reservations world: moto, the fake Kubernetes API and a processor runtime
    (``tests/reservation_fixtures.py``), fresh for each test."""
    from tests.reservation_fixtures import World

    with World() as w:
        yield w
