"""The GitHub workflows cannot run here, so they are checked as far as this machine allows:
valid against the GitHub workflow schema, every action pinned, the jobs wired as the README
says; and the destroy order they rely on is checked on the synthesized assembly."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@(v\d+\.\d+\.\d+|[0-9a-f]{40})$")


def load(name: str) -> dict:
    # PyYAML reads the key `on` as True; normalise it back.
    data = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    data["on"] = data.pop(True, data.get("on"))
    return data


def steps(job: dict) -> list[dict]:
    return job["steps"]


def test_workflows_exist():
    assert [p.name for p in WORKFLOWS] == ["deploy.yml", "destroy.yml", "pull-request.yml"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_valid_against_the_github_workflow_schema(path):
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_and_no_long_lived_keys(path):
    text = path.read_text()
    uses = re.findall(r"uses:\s*(\S+)", text)
    assert uses
    for action in uses:
        assert PINNED.match(action), f"{path.name}: {action} is not pinned to vX.Y.Z or a commit"
    assert "AWS_ACCESS_KEY_ID" not in text and "aws-secret-access-key" not in text


def test_pull_request_tests_then_diffs_each_stage_into_one_comment():
    workflow = load("pull-request.yml")
    assert workflow["on"]["pull_request"]["branches"] == ["main"]
    test_job, diff_job = workflow["jobs"]["test"], workflow["jobs"]["diff"]
    assert [s["run"] for s in steps(test_job) if "run" in s] == ["make test", "make test-full"]
    assert diff_job["needs"] == "test"
    assert diff_job["strategy"]["matrix"]["stage"] == ["dev", "staging", "prod"]
    runs = "\n".join(s.get("run", "") for s in steps(diff_job))
    assert 'make diff BASE="origin/${{ github.base_ref }}"' in runs
    # make exits 2 for any failed recipe: the stateful verdict (exit 1) comes from the tool itself.
    assert "ALLOW_STATEFUL=1 > diff.md" in runs
    assert "-m tools.stack_diff --no-cdk .diff/base.out .diff/head.out" in runs
    assert runs.index("make install") < runs.index("make diff")  # install output stays out of the comment
    script = next(s for s in steps(diff_job) if s.get("uses", "").startswith("actions/github-script"))
    body = script["with"]["script"]
    assert "gpu-platform-diff:${stage}" in body and "updateComment" in body and "createComment" in body
    gate = steps(diff_job)[-1]
    assert "allow-stateful-change" in gate["if"] and gate["run"].strip().endswith("exit 1")


def test_deploy_chain_uses_environments_and_oidc():
    workflow = load("deploy.yml")
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert workflow["permissions"]["id-token"] == "write"
    jobs = workflow["jobs"]
    assert list(jobs) == ["dev", "staging", "prod"]
    assert (
        "needs" not in jobs["dev"]
        and jobs["staging"]["needs"] == "dev"
        and jobs["prod"]["needs"] == "staging"
    )
    for stage, job in jobs.items():
        assert job["environment"] == stage
        credentials = [
            s for s in steps(job) if s.get("uses", "").startswith("aws-actions/configure-aws-credentials")
        ]
        assert credentials and "role-to-assume" in credentials[0]["with"]
        assert steps(job)[-1]["run"] == f"make deploy STAGE={stage} APPROVAL=never"


def test_destroy_is_dev_only_and_confirmed():
    workflow = load("destroy.yml")
    assert workflow["on"]["workflow_dispatch"]["inputs"]["stage"]["options"] == ["dev"]
    first = steps(workflow["jobs"]["destroy"])[0]
    assert 'if [ "${STAGE}" != "dev" ]' in first["run"] and "CONFIRM" in first["run"]
    assert steps(workflow["jobs"]["destroy"])[-1]["run"] == "make destroy STAGE=dev"


def test_make_refuses_to_destroy_prod():
    result = subprocess.run(
        ["make", "-s", "destroy-guard", "STAGE=prod"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode != 0 and "refusing to destroy 'prod'" in result.stderr
    assert subprocess.run(["make", "-s", "destroy-guard", "STAGE=dev"], cwd=ROOT).returncode == 0


def _dependencies(synth, stage: str) -> dict[str, set[str]]:
    """Stack name -> names of the stacks it depends on, from the assembly manifest."""
    artifacts = json.loads((synth.outdir / f"assembly-{stage}" / "manifest.json").read_text())["artifacts"]
    names = {
        artifact_id: artifact["displayName"].split("/")[-1]
        for artifact_id, artifact in artifacts.items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    return {
        names[artifact_id]: {names[d] for d in artifacts[artifact_id].get("dependencies", []) if d in names}
        for artifact_id in names
    }


def test_destroy_order_removes_releases_before_cluster_and_cluster_before_network(synth):
    """cdk destroy deletes a stack only after every stack that depends on it."""
    deps = _dependencies(synth, "dev")
    # The Kubernetes layer goes first: its charts and releases before the nodes and cluster.
    assert deps["Workloads"] >= {"Nodes", "Cluster", "Storage"}
    assert deps["Nodes"] == {"Cluster", "Network"}
    assert deps["Cluster"] == {"Network", "Storage", "Registry"}
    assert deps["Storage"] == {"Network"}
    assert deps["Network"] == deps["Registry"] == set()
    # Inside Nodes, Helm releases and NodePools depend on the CPU node group, so CloudFormation
    # deletes them (uninstalling the releases) before the nodes they run on.
    resources = synth.template("dev", "Nodes")["Resources"]
    cpu = {k for k, r in resources.items() if r["Type"] == "AWS::EKS::Nodegroup" and "Cpu" in k}
    for logical_id, resource in resources.items():
        if resource["Type"] == "Custom::AWSCDK-EKS-HelmChart":
            assert cpu & set(resource.get("DependsOn", [])), logical_id
