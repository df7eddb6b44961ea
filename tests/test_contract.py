"""The cluster contract holds (platform_config/contract.py and namespaces.py): the layers import
downward only, and no source outside the registry spells an owned namespace's name."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from platform_config import contract
from platform_config.namespaces import NAMESPACES
from reservations import dev_pod, kube

ROOT = Path(__file__).resolve().parent.parent

# package -> packages it must never import (directly or inside a function).
FORBIDDEN_IMPORTS = {
    "k8s_charts": ("platform_constructs", "stacks"),
    "platform_config": ("platform_constructs", "k8s_charts", "stacks", "aws_cdk", "cdk8s", "constructs"),
}

# Literals equal to an owned namespace's name that are not a namespace, counted per file, each
# with its reason. A new literal (in any file, or one more in these) fails the test: read the
# name from platform_config/namespaces.py instead.
NOT_A_NAMESPACE: dict[tuple[str, str], tuple[int, str]] = {
    ("gpu_dev/cli.py", "gpu-dev"): (1, "the CLI's program name"),
    ("gpu_dev/config.py", "gpu-dev"): (1, "the CLI's configuration directory"),
    ("jobs/platform_jobs/refresh.py", "ecr-token-refresh"): (1, "managed-by label value (own package)"),
    ("k8s_charts/ecr_token_refresh.py", "ecr-token-refresh"): (1, "the CronJob's name"),
    ("k8s_charts/minio.py", "minio"): (1, "the StatefulSet's and Service's name"),
    ("k8s_charts/nats.py", "nats"): (2, "the StatefulSet's and Service's name; the nats:// URL scheme"),
    ("k8s_charts/reservations_access.py", "gpu-dev"): (1, "app name label of the reservations RBAC"),
    ("reservations/dev_pod.py", "gpu-dev"): (1, "app name label of a dev pod (own package)"),
    ("platform_config/versions.py", "cert-manager"): (1, "the Helm chart's name"),
    ("platform_config/versions.py", "karpenter"): (1, "the Helm chart's name"),
    ("platform_constructs/operators.py", "karpenter"): (1, "the Karpenter chart's service account name"),
    ("platform_config/versions.py", "velero"): (1, "the Helm chart's name"),
    ("platform_config/versions.py", "mlflow"): (1, "the Helm chart's name"),
    ("platform_config/mlflow.py", "mlflow"): (1, "the PostgreSQL database's default name"),
    ("tools/flow_matrix.py", "mlflow"): (1, "the mlflow chart's container port name"),
    ("platform_constructs/operators.py", "velero"): (1, "the Velero server's service account name"),
    ("platform_config/versions.py", "gpu-operator"): (1, "the Helm chart's name"),
    ("platform_constructs/operators.py", "nats"): (1, "a key of the Dynamo chart's values"),
    ("tools/stage_mutants.py", "karpenter"): (1, "the stage file's setting key"),
}


def sources() -> list[Path]:
    """Every tracked Python file but the tests (which spell expected values on purpose), the
    registry itself and cdk8s's generated imports."""
    listed = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [
        ROOT / name
        for name in listed.stdout.split()
        if not name.startswith(("tests/", "k8s_charts/imports/"))
        and name != "platform_config/namespaces.py"
        and (ROOT / name).exists()
    ]


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def upward_imports(paths: list[Path]) -> list[str]:
    found = []
    for path in paths:
        relative = path.relative_to(ROOT)
        forbidden = FORBIDDEN_IMPORTS.get(relative.parts[0], ())
        for module in sorted(imported_modules(path)):
            if module.split(".")[0] in forbidden:
                found.append(f"{relative} imports {module}")
    return found


def namespace_literals(paths: list[Path]) -> Counter[tuple[str, str]]:
    found: Counter[tuple[str, str]] = Counter()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in NAMESPACES:
                found[(str(path.relative_to(ROOT)), node.value)] += 1
    return found


def test_layers_import_downward_only():
    assert upward_imports(sources()) == []


def test_the_import_check_sees_an_upward_import(tmp_path, monkeypatch):
    """The walk finds an import inside a function, as a chart's lazy import would be."""
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    chart = tmp_path / "k8s_charts" / "x.py"
    chart.parent.mkdir()
    chart.write_text("def f():\n    from platform_constructs.helm import pinned_chart\n")
    config = tmp_path / "platform_config" / "y.py"
    config.parent.mkdir()
    config.write_text("import stacks.workloads_stack\nfrom platform_config import versions\n")
    assert upward_imports([chart, config]) == [
        "k8s_charts/x.py imports platform_constructs.helm",
        "platform_config/y.py imports stacks.workloads_stack",
    ]


def test_no_namespace_literal_outside_the_registry():
    found = namespace_literals(sources())
    unexpected = {key: count for key, count in found.items() if count != NOT_A_NAMESPACE.get(key, (0, ""))[0]}
    assert unexpected == {}, "read owned namespaces from platform_config/namespaces.py"
    stale = set(NOT_A_NAMESPACE) - set(found)
    assert not stale, f"exceptions no longer needed: {sorted(stale)}"


def test_the_literal_check_sees_a_new_literal(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    source = tmp_path / "stacks" / "z.py"
    source.parent.mkdir()
    source.write_text('NAMESPACE = "kueue-system"\nOTHER = "kueue"\n')
    assert namespace_literals([source]) == {("stacks/z.py", "kueue-system"): 1}


@pytest.mark.parametrize("module", [dev_pod, kube])
def test_the_lambda_packages_spell_the_contract_s_names(module):
    """The reservations Lambdas ship without platform_config: their copies must agree."""
    assert module.POOL_LABEL == contract.POOL_LABEL
    assert module.GPU_RESOURCE == contract.GPU_RESOURCE


def helm_release_calls(paths: list[Path]) -> list[str]:
    """Where an ``eks.HelmChart`` (or ``cluster.add_helm_chart``) is made."""
    found = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
                if name in ("HelmChart", "add_helm_chart"):
                    found.append(str(path.relative_to(ROOT)))
    return found


def test_every_helm_release_is_made_in_one_place():
    """Every operator is a Release of platform_constructs/operators.py installed by
    platform_constructs/helm.py's install (pin, namespace, values and wait in one value)."""
    assert helm_release_calls(sources()) == ["platform_constructs/helm.py"]
