"""Helpers to validate the Kubernetes manifests of synthesized CloudFormation (which
``tools.assembly`` pulls out; re-exported here for the tests): built-in kinds against the
Kubernetes 1.35 schema (kubernetes-validate, strict), custom resources against the
openAPIV3Schema of their CRD in k8s_charts/crds with unknown fields rejected."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
import yaml

from tools.assembly import MANIFEST_TYPES, manifests_in_template, render  # noqa: F401 (re-exported)

KUBERNETES_VERSION = "1.35.0"
CRD_DIR = Path(__file__).resolve().parent.parent / "k8s_charts" / "crds"

# kubernetes-validate reads and parses a kind's schema and the multi-megabyte _definitions.json
# for every object it checks (about 60 ms an object); the files are the package's own and do
# not change, so each is parsed once per process. The schemas and the checks are unchanged.
kubernetes_validate.utils.schema_contents = cache(kubernetes_validate.utils.schema_contents)


def _python_pattern(pattern: str) -> str:
    """Go's regexp allows an inline flag after ``^`` (``^(?i)...``); Python wants it first."""
    if "(?i)" in pattern and not pattern.startswith("(?i)"):
        return "(?i)" + pattern.replace("(?i)", "", 1)
    return pattern


def _strict(schema):
    """Reject unknown fields wherever the CRD lists properties and does not opt out."""
    if isinstance(schema, dict):
        schema = {
            key: _python_pattern(value) if key == "pattern" and isinstance(value, str) else _strict(value)
            for key, value in schema.items()
        }
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


@cache
def crd_schemas() -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> strict JSON schema, for every CRD copied into the repo."""
    schemas = {}
    for path in sorted(CRD_DIR.glob("*.yaml")):
        # libyaml's parser (same safe constructors, same data): 5.7 MB of CRDs parse in about
        # 1 CPU-s instead of 6, once per test process.
        for crd in yaml.load_all(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
                # The API server always accepts these at the root, listed or not (Linkerd's
                # CRDs list only spec).
                root = schema.setdefault("properties", {})
                root.setdefault("apiVersion", {"type": "string"})
                root.setdefault("kind", {"type": "string"})
                root.setdefault("metadata", {"type": "object"})
                schemas[(f"{group}/{version['name']}", kind)] = _strict(schema)
    return schemas


@cache
def _crd_validator(key: tuple[str, str]) -> jsonschema.protocols.Validator:
    """What ``jsonschema.validate`` builds for the CRD's schema, built once per process: it
    checks the schema against its metaschema first (0.4 to 0.8 CPU-s for the Trainer CRDs,
    which embed whole pod templates), and the schema does not change between objects."""
    schema = crd_schemas()[key]
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate(obj: dict) -> None:
    """Raise with a message naming the object when it is not valid for Kubernetes 1.35."""
    key = (obj.get("apiVersion"), obj.get("kind"))
    name = f"{key[1]} {obj.get('metadata', {}).get('namespace', '')}/{obj.get('metadata', {}).get('name')}"
    if key in crd_schemas():
        # jsonschema.validate's own steps (best match of every error) on the cached validator
        error = jsonschema.exceptions.best_match(_crd_validator(key).iter_errors(obj))
        if error is not None:
            raise AssertionError(f"{name}: {error.message} at {list(error.absolute_path)}")
        return
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        raise AssertionError(f"{name}: {exc.message} at {list(exc.path)}") from None
