"""`make diff` on its real path, and how its base worktree is installed.

The real path runs in a temporary git repository holding this working tree: commit one is the
base, commit two changes the stage file, and ``make diff BASE=<commit one>`` adds the base
worktree, installs it (``tools/base_install.py``), synthesizes both sides and diffs them. The
stage is small (STAGE_FILE) but carries the reservations feature, whose Lambda layer the base
must have built: a build step the base needs is exercised here, not assumed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tools.base_install import Plan, main, plan

ROOT = Path(__file__).resolve().parent.parent
LAYER = "build/layers/kubernetes.zip"
STAGE_FILE = "config/diff-test.yaml"
STAGE = {
    "name": "difftest",
    "tier": "dev",
    "account": "111111111111",
    "region": "us-west-2",
    "availability_zones": ["us-west-2a", "us-west-2b"],
    "network": {"flow_log_retention_days": 14},
    "gpu_pools": [{"name": "t4", "instance_type": "g4dn.xlarge", "min_size": 1, "desired_size": 1}],
    "reservations": {"enabled": True, "gpu_pools": ["t4"]},
}
# The caller's make (`make test`) must not reach the commands run here.
ENV = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}


def git(repo: Path, *args: str) -> str:
    identity = ["-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"]
    done = subprocess.run(["git", *identity, *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "--no-verify", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path) -> Path:
    """This working tree as a fresh repository, with this tree's installed artefacts: the
    environments linked, the layer copied with its time, so its `make install` is up to date."""
    repo = tmp_path / "repo"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    for name in filter(None, listed.stdout.split("\0")):
        if (ROOT / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, repo / name)  # times kept: make sees no newer inputs
    for environment in (".venv", "node_modules"):
        (repo / environment).symlink_to(ROOT / environment, target_is_directory=True)
    (repo / LAYER).parent.mkdir(parents=True)
    shutil.copy2(ROOT / LAYER, repo / LAYER)
    git(repo, "init", "--quiet", "--initial-branch=main")
    # .gitignore's `.venv/` and `node_modules/` match directories, not these links.
    (repo / ".git" / "info" / "exclude").write_text("/.venv\n/node_modules\n")
    return repo


@pytest.mark.full  # two synths and a base worktree: `make test-full` and CI, not `make test`
def test_make_diff_between_two_commits(repo):
    (repo / STAGE_FILE).write_text(yaml.safe_dump(STAGE))
    base = commit(repo, "base")
    changed = {**STAGE, "network": {"flow_log_retention_days": 30}}
    (repo / STAGE_FILE).write_text(yaml.safe_dump(changed))
    commit(repo, "head")

    # `-o install`: the head's artefacts are this tree's (linked), never rebuilt from here.
    result = subprocess.run(
        ["make", "-o", "install", "diff", f"BASE={base}", f"STAGE_FILE={STAGE_FILE}"],
        cwd=repo,
        capture_output=True,
        text=True,
        env=ENV,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        f"base install: reused .venv/.installed, node_modules/.installed, {LAYER}; built nothing"
        in result.stderr
    )
    report = result.stdout
    assert report.startswith("### difftest/Network\n")  # the report alone: it is the PR comment
    assert [line for line in report.splitlines() if line.startswith("### ")] == ["### difftest/Network"]
    assert "[~] RetentionInDays" in report and "[-] 14" in report and "[+] 30" in report  # CDK CLI's
    assert "Stateful resources" not in report
    assert not (repo / ".diff" / "base").exists() and git(repo, "worktree", "list").count("\n") == 0
    for side in ("base.out", "head.out"):  # kept for CI's diff against the deployed stacks
        assert (repo / ".diff" / side / "manifest.json").is_file()
        assert not (repo / ".diff" / f"{side}.partial").exists()


def base_and_head(repo: Path, tmp_path: Path, edit) -> tuple[Path, Path]:
    """A base worktree of the repository's commit, and the head with ``edit`` applied."""
    commit(repo, "base")
    edit(repo)
    base = tmp_path / "base"
    git(repo, "worktree", "add", "--quiet", "--detach", str(base), "HEAD")
    return base, repo


def test_identical_inputs_reuse_every_artefact(repo, tmp_path):
    base, head = base_and_head(repo, tmp_path, lambda head: None)
    assert plan(base, head) == Plan(reused=(".venv/.installed", "node_modules/.installed", LAYER), built=())


def test_changed_layer_requirements_build_the_layer_in_the_base(repo, tmp_path):
    def bump(head: Path) -> None:
        with (head / "lambda/layers/kubernetes/requirements.txt").open("a") as requirements:
            requirements.write("six==1.17.0\n")

    base, head = base_and_head(repo, tmp_path, bump)
    assert plan(base, head) == Plan(reused=(".venv/.installed", "node_modules/.installed"), built=(LAYER,))


def test_changed_python_requirements_rebuild_everything_after_them(repo, tmp_path):
    """As make would: the Node tools and the layer are built after (with) the base's .venv."""

    def bump(head: Path) -> None:
        with (head / "requirements.txt").open("a") as requirements:
            requirements.write("six==1.17.0\n")

    base, head = base_and_head(repo, tmp_path, bump)
    assert plan(base, head) == Plan(reused=(), built=(".venv/.installed", "node_modules/.installed", LAYER))


def test_a_base_without_an_install_target_is_one_message(tmp_path, capsys):
    base = tmp_path / "base"
    base.mkdir()
    git(base, "init", "--quiet")
    (base / "Makefile").write_text("synth:\n\ttrue\n")
    assert main([str(base), "--head", str(ROOT)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "has no `install` target" in err and "Traceback" not in err


def test_a_failing_base_build_is_one_message(tmp_path, capfd):
    base = tmp_path / "base"
    base.mkdir()
    git(base, "init", "--quiet")
    (base / "Makefile").write_text(
        ".PHONY: install\ninstall: build/tool\nbuild/tool:\n\t@echo no network >&2; false\n"
    )
    assert main([str(base), "--head", str(ROOT)]) == 2
    err = capfd.readouterr().err
    assert "error: `make install` failed in the base worktree" in err and "while building build/tool" in err
    assert "no network" in err and "Traceback" not in err  # the base's own log, streamed
