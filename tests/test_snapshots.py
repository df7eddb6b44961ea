"""Snapshots of every stack of every stage, so no template change lands unreviewed.

Asset hashes (Lambda bundles, the token refresh image, the kubectl layer) change with code
that the assertion tests already cover; they are normalised out so that a snapshot diff
shows infrastructure changes only. Update with `make snapshots` and review the diff.
"""

from __future__ import annotations

import json
import re

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from tests.test_stacks import STAGES

STACKS = ["Network", "Registry", "Storage", "Cluster", "Nodes", "Workloads"]
CASES = (
    [(stage, stack) for stage in STAGES for stack in STACKS]
    + [(name, "Reservations") for name, stage in STAGES.items() if stage.reservations.enabled]
    + [(name, "JobApi") for name, stage in STAGES.items() if stage.job_api.enabled]
)
NORMALISE = [
    (re.compile(r"[0-9a-f]{64}"), "<asset-hash>"),
    # The install Jobs are named by a digest that includes the jobs image's asset hash.
    (re.compile(r"(ecr-token-refresh|secret-sync)-initial-[0-9a-f]{8}"), r"\1-initial-<content-hash>"),
]


def normalised(template: dict) -> dict:
    text = json.dumps(template, sort_keys=True)
    for pattern, replacement in NORMALISE:
        text = pattern.sub(replacement, text)
    return json.loads(text)


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize(("stage", "stack"), CASES)
def test_template_snapshot(synth, snapshot_json, stage, stack):
    assert normalised(synth.template(stage, stack)) == snapshot_json


def test_normalisation_removes_only_hashes():
    template = {"a": "x" * 3 + "0" * 64, "b": "ecr-token-refresh-initial-0123abcd", "c": "keep"}
    assert normalised(template) == {
        "a": "xxx<asset-hash>",
        "b": "ecr-token-refresh-initial-<content-hash>",
        "c": "keep",
    }
