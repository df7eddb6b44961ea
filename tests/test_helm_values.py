"""Every Helm release's values, as synthesized, are values its pinned chart knows.

Helm ignores a key its templates never read, so a misspelt or removed key deploys "fine" and
does nothing: ``installNamespace``, which neither Linkerd chart has any more, and a
``dynamo-operator.nodeSelector`` the Dynamo chart never had (so the operator was not held to
the CPU pool) were both deployed that way until this test found them.
This test reads each ``Custom::AWSCDK-EKS-HelmChart`` from the synthesized templates (not the
Python that built it) and checks its values against the chart's own defaults, copied with
their sources into ``k8s_charts/helm_defaults/`` (see its SOURCES.md): every key path must
exist there, and where the chart ships a ``values.schema.json`` the values merged onto the
defaults must validate against it, as ``helm install`` would.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path

import jsonschema
import pytest
import yaml

from platform_config import versions
from tests.manifests import render

DEFAULTS_DIR = Path(__file__).resolve().parent.parent / "k8s_charts" / "helm_defaults"
HELM = "Custom::AWSCDK-EKS-HelmChart"

# (chart, pinned version) -> the directory of defaults the check uses. Where the pin is newer
# than any copy available offline, the nearest earlier version (k8s_charts/helm_defaults/
# SOURCES.md says which); a chart bump fails test_every_pinned_chart_has_defaults until the
# defaults of the new version (or a stated nearest one) are copied and named here.
DEFAULTS: dict[tuple[str, str], str] = {
    ("karpenter", "1.12.1"): "karpenter/1.12.1",
    ("gpu-operator", "v26.7.0"): "gpu-operator/v26.7.0",
    ("aws-efa-k8s-device-plugin", "v0.5.15"): "aws-efa-k8s-device-plugin/v0.5.15",
    ("kube-prometheus-stack", "93.9.0"): "kube-prometheus-stack/88.5.3",
    ("loki", "18.13.7"): "loki/18.11.0",
    ("alloy", "1.13.0"): "alloy/1.11.1",
    ("cert-manager", "v1.21.2"): "cert-manager/v1.21.1",
    ("trust-manager", "v0.26.0"): "trust-manager/v0.24.0",
    ("linkerd-crds", "2026.9.1"): "linkerd-crds/2026.8.3",
    ("linkerd-control-plane", "2026.9.1"): "linkerd-control-plane/2026.8.3",
    ("dynamo-platform", "1.6.0"): "dynamo-platform/1.5.0-main",
    ("kueue", "0.19.2"): "kueue/0.19.2",
    ("kubeflow-trainer", "2.3.0"): "kubeflow-trainer/2.3.0",
    ("kuberay-operator", "1.7.0"): "kuberay-operator/1.7.0",
    ("network-operator", "26.4.1"): "network-operator/26.4.1",
    ("velero", "12.1.0"): "velero/12.1.0",
    ("mlflow", "1.11.5"): "mlflow/1.11.5",
}
# Charts no shipped stage installs, with the test that synthesizes a stage that does and checks
# its release's values there.
OTHER_STAGES = {("network-operator", "26.4.1"): "tests/test_training.py (the RDMA test stage)"}

# Maps whose keys are the user's (labels, selectors, Kubernetes objects passed through whole):
# the key itself must exist in the chart, what is under it is not the chart's to name.
FREE_FORM = frozenset(
    {
        "nodeSelector",
        "tolerations",
        "affinity",
        "podAnnotations",
        "podLabels",
        "annotations",
        "labels",
        "extraArgs",
        "resources",
        "env",
    }
)

# Keys that are valid for the chart but absent from its values.yaml defaults, per chart, each
# with the reason (never a blanket skip): nothing below an entry is checked.
ALLOWED: dict[str, dict[str, str]] = {
    "cert-manager": {
        "podDisruptionBudget.minAvailable": "documented in values.yaml as a commented `+docs:property` "
        "and defined in its values.schema.json (an integer or a percentage)",
    },
    "kube-prometheus-stack": {
        "grafana.persistence.storageClassName": "a commented example in the grafana subchart's values.yaml "
        "(`# storageClassName: default`); its templates/pvc.yaml reads .Values.persistence.storageClassName",
    },
    "mlflow": {
        "podSecurityContext.seccompProfile": "restricted Pod Security needs it and the chart's default sets "
        "none; templates/deployment.yaml renders podSecurityContext whole (`toYaml`) and its "
        "values.schema.json allows additional properties there",
    },
    "loki": {
        "loki.limits_config.retention_period": "loki.limits_config is copied into Loki's own limits_config "
        "(values.schema.json: additionalProperties true); retention_period is Loki's retention limit, "
        "applied by the compactor's retention_enabled",
    },
}


@cache
def chart_defaults(directory: str) -> dict:
    """The chart's values.yaml with each stored subchart's values.yaml merged under the
    subchart's key (the parent's overrides win), which is the tree Helm renders from."""
    root = DEFAULTS_DIR / directory
    values = yaml.safe_load((root / "values.yaml").read_text()) or {}
    for sub in sorted((root / "charts").glob("*/values.yaml")):
        name = sub.parent.name
        values[name] = merged(yaml.safe_load(sub.read_text()) or {}, values.get(name) or {})
    return values


def merged(defaults: dict, overrides: dict) -> dict:
    """Helm's coalescing: maps merge key by key, anything else replaces, null deletes."""
    result = copy.deepcopy(defaults)
    for key, value in overrides.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def unknown_keys(values: dict, defaults, allowed: dict[str, str], path: tuple[str, ...] = ()) -> list[str]:
    """Key paths of ``values`` that the chart's defaults do not have. Below a free-form map,
    a map the chart defaults to empty (``{}`` or null: it takes the object whole) or an
    allowed path, nothing is checked; a map where the chart has a scalar or list is reported."""
    problems = []
    for key, value in values.items():
        here = (*path, str(key))
        dotted = ".".join(here)
        if dotted in allowed:
            continue
        if not isinstance(defaults, dict) or key not in defaults:
            problems.append(dotted)
            continue
        default = defaults[key]
        if key in FREE_FORM or not isinstance(value, dict):
            continue
        if isinstance(default, dict) and default:
            problems += unknown_keys(value, default, allowed, here)
        elif default not in (None, {}):
            problems.append(f"{dotted} (a map, where the chart's default is {default!r})")
    return problems


def problems_with(chart: str, version: str, values: dict) -> list[str]:
    """Everything wrong with ``values`` for the pinned ``chart``: unknown key paths, then the
    chart's values.schema.json (when it has one) on the merged values."""
    directory = DEFAULTS[(chart, version)]
    defaults = chart_defaults(directory)
    problems = unknown_keys(values, defaults, ALLOWED.get(chart, {}))
    schema_path = DEFAULTS_DIR / directory / "values.schema.json"
    if schema_path.exists():
        schema = json.loads(schema_path.read_text())
        validator = jsonschema.validators.validator_for(schema)(schema)
        for error in validator.iter_errors(merged(defaults, values)):
            problems.append(f"schema: {error.message} at {'.'.join(map(str, error.absolute_path))}")
    return problems


def releases(synth) -> list[tuple[str, str, str, str, dict]]:
    """(stage, logical id, chart, version, values) of every Helm release in every template,
    CloudFormation tokens in the values rendered as placeholders."""
    found = []
    for (stage, _), template in sorted(synth.templates.items()):
        for logical_id, resource in template.get("Resources", {}).items():
            if resource["Type"] == HELM:
                props = resource["Properties"]
                values = json.loads(render(props["Values"])) if "Values" in props else {}
                found.append((stage, logical_id, props["Chart"], props["Version"], values))
    return found


def test_every_pinned_chart_has_defaults():
    pinned = {(pin.chart, pin.version) for pin in versions.HELM_CHARTS}
    assert pinned == set(DEFAULTS), "k8s_charts/helm_defaults and DEFAULTS must follow the pins"
    for directory in DEFAULTS.values():
        assert (DEFAULTS_DIR / directory / "values.yaml").is_file(), directory


def test_every_release_sets_only_keys_its_chart_has(synth):
    found = releases(synth)
    # Every pinned chart is installed by some stage, so every one is checked here (or there).
    assert {(chart, version) for _, _, chart, version, _ in found} == set(DEFAULTS) - set(OTHER_STAGES)
    problems = [
        f"{stage} {logical_id} ({chart} {version}): {problem}"
        for stage, logical_id, chart, version, values in found
        for problem in problems_with(chart, version, values)
    ]
    assert not problems, "\n".join(problems)


def has_path(tree, dotted: str) -> bool:
    for key in dotted.split("."):
        if not isinstance(tree, dict) or key not in tree:
            return False
        tree = tree[key]
    return True


def test_allowed_keys_are_needed_and_used(synth):
    """An allow-list entry the defaults already have, or that no release sets, is stale."""
    found = releases(synth)
    for chart, paths in ALLOWED.items():
        (directory,) = [d for (c, _), d in DEFAULTS.items() if c == chart]
        for path in paths:
            assert not has_path(chart_defaults(directory), path), f"{chart} {path}: in the defaults now"
            assert any(c == chart and has_path(v, path) for _, _, c, _, v in found), f"{chart} {path}: unused"


@pytest.mark.parametrize(
    ("chart", "values", "expected"),
    [
        # The two findings this test was written for: both keys were silently ignored.
        ("dynamo-platform", {"dynamo-operator": {"nodeSelector": {}}}, "dynamo-operator.nodeSelector"),
        ("linkerd-crds", {"installNamespace": False}, "installNamespace"),
        ("linkerd-control-plane", {"installNamespace": False}, "installNamespace"),
        # A misspelling one level down, and a map where the chart takes a number.
        ("kube-prometheus-stack", {"grafana": {"persistance": {"enabled": True}}}, "grafana.persistance"),
        ("karpenter", {"replicas": {"min": 2}}, "replicas (a map"),
        # values.schema.json: keys the defaults have, with a type the schema refuses.
        ("cert-manager", {"cainjector": {"enabled": "yes"}}, "schema: 'yes' is not of type 'boolean'"),
        ("loki", {"deploymentMode": 3}, "schema: 3 is not of type 'string'"),
    ],
)
def test_checker_reports_what_helm_would_ignore_or_refuse(chart, values, expected):
    (version,) = [v for c, v in DEFAULTS if c == chart]
    problems = problems_with(chart, version, values)
    assert any(p.startswith(expected) for p in problems), problems


def test_free_form_maps_are_checked_for_existence_only():
    """Labels under nodeSelector are the user's; the nodeSelector key itself is the chart's."""
    assert problems_with("karpenter", "1.12.1", {"nodeSelector": {"any/label": "x"}}) == []
    assert problems_with("aws-efa-k8s-device-plugin", "v0.5.15", {"nodeSelectr": {}}) == ["nodeSelectr"]
