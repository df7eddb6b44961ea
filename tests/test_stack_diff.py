"""The offline diff: two assemblies that differ by one ordinary property change and one
stateful replacement; the report names both and the exit code gates the stateful one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tools.assembly import stack_templates
from tools.stack_diff import main, report, stateful_changes

# A base assembly needs only its manifests and templates; asset bundles are tens of MB.
ASSETS = shutil.ignore_patterns("asset.*")


def _edit(out: Path, stack: str, resource_type: str, prop: str, value) -> None:
    path = stack_templates(out)[stack]
    template = json.loads(path.read_text())
    for resource in template["Resources"].values():
        if resource["Type"] == resource_type:
            resource["Properties"][prop] = value
    path.write_text(json.dumps(template))


@pytest.fixture(scope="module")
def base_out(synth, tmp_path_factory) -> Path:
    """A copy of the session assembly as the 'base branch': flow logs kept 30 days instead of
    14, and the EFS file system created with maxIO (a create-only property)."""
    base = tmp_path_factory.mktemp("base") / "cdk.out"
    shutil.copytree(synth.outdir, base, ignore=ASSETS)
    _edit(base, "dev/Network", "AWS::Logs::LogGroup", "RetentionInDays", 30)
    _edit(base, "dev/Storage", "AWS::EFS::FileSystem", "PerformanceMode", "maxIO")
    return base


def test_identical_assemblies_have_no_changes(synth):
    text, stateful = report(synth.outdir, synth.outdir, render_cdk=False)
    assert text == "No stack changes." and stateful == []
    assert main([str(synth.outdir), str(synth.outdir), "--no-cdk"]) == 0


def test_report_shows_both_changes_and_names_the_stateful_one(synth, base_out):
    text, stateful = report(base_out, synth.outdir, render_cdk=True)
    assert "### dev/Network" in text and "### dev/Storage" in text
    assert "RetentionInDays" in text  # the CDK CLI's own rendering of the ordinary change
    assert "PerformanceMode (requires replacement)" in text
    assert [c.describe() for c in stateful] == [
        "dev/Storage: AWS::EFS::FileSystem SharedFileSystemAD4B2CC6 would be replaced "
        "(create-only PerformanceMode changed)"
    ]


def test_exit_code_gates_stateful_changes_unless_allowed(synth, base_out, capsys):
    assert main([str(base_out), str(synth.outdir), "--no-cdk"]) == 1
    assert "1 stateful resource(s) would be replaced or deleted" in capsys.readouterr().err
    assert main([str(base_out), str(synth.outdir), "--no-cdk", "--allow-stateful-changes"]) == 0


def test_ordinary_change_alone_passes(synth, tmp_path):
    base = tmp_path / "cdk.out"
    shutil.copytree(synth.outdir, base, ignore=ASSETS)
    _edit(base, "prod/Network", "AWS::Logs::LogGroup", "RetentionInDays", 90)
    assert main([str(base), str(synth.outdir), "--no-cdk"]) == 0


def test_deleted_and_type_changed_stateful_resources():
    bucket = {"Type": "AWS::S3::Bucket", "Properties": {}, "DeletionPolicy": "Retain"}
    table = {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "a"}}
    base = {"Resources": {"Bucket": bucket, "Table": table, "Queue": {"Type": "AWS::SQS::Queue"}}}
    head = {"Resources": {"Table": {**table, "Properties": {"TableName": "b"}}}}
    changes = {c.logical_id: c for c in stateful_changes("s/S", base, head)}
    assert changes["Bucket"].action == "delete" and "retained" in changes["Bucket"].reason
    assert changes["Table"].action == "replace" and "TableName" in changes["Table"].reason
    assert "Queue" not in changes  # not stateful
    renamed = {"Resources": {"Table": {"Type": "AWS::DynamoDB::GlobalTable", "Properties": {}}}}
    assert stateful_changes("s/S", {"Resources": {"Table": table}}, renamed)[0].action == "replace"


def test_missing_assembly_is_a_usage_error(tmp_path, capsys):
    assert main([str(tmp_path), str(tmp_path)]) == 2
    assert "holds no cloud assembly" in capsys.readouterr().err
