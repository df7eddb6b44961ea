"""Mutation testing of the stage files: every mutant is accepted and synthesizes, or is refused
with one message that names a setting -- never a traceback, never a template that only
CloudFormation would refuse.

Mutants come from the shipped stage files (``config/*.yaml``): for every key and list entry
there, each applicable kind of mistake a person makes (see ``KINDS``). Each runs the path
``app.py`` runs: the mutant is written to a stage file, loaded, and, when accepted,
synthesized by ``build_app`` on a fresh ``App`` with cdk-nag. ``tests/test_config_mutants.py``
runs a seeded sample in ``make test``; ``make mutants`` runs all of them:

    python -m tools.stage_mutants [--seed N] [--count N] [--synth N]
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import random
import re
import shutil
import sys
import tempfile
import typing
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from platform_config.loader import CONFIG_DIR, StageConfigError, load_stage_file, settings_block
from platform_config.model import StageConfig
from tools import jsii_transport
from tools.synth_summary import TEMPLATE_LIMIT_BYTES

KINDS = ("delete", "wrong_type", "negative", "empty", "huge", "duplicate", "rename")
SEED = 20260510
RESOURCE_LIMIT = 500  # resources per CloudFormation stack
LAMBDA_PAYLOAD_LIMIT = 262_144  # a manifest custom resource is sent to the kubectl Lambda
# Intrinsic functions whose argument lists may repeat items (``Fn::Join ["", [...]]``).
_INTRINSICS = {"Fn::Join", "Fn::Sub", "Fn::If", "Fn::Select", "Fn::Split", "Fn::FindInMap", "Fn::Cidr"}

Path_ = tuple[str | int, ...]


@dataclass
class Mutant:
    stage: str  # the shipped stage file it comes from
    kind: str
    path: Path_
    data: dict

    @property
    def label(self) -> str:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path).lstrip(".")
        return f"{self.stage}:{self.kind}:{where}"


@dataclass
class Outcome:
    mutant: Mutant
    result: str  # "accepted", "refused", or "unchanged" (accepted, same settings as the original)
    message: str = ""
    problems: list[str] = field(default_factory=list)


def _walk(node: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every (path, value) below ``node``: mapping keys and list entries, depth first."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield (*path, key), value
        yield from _walk(value, (*path, key))


def _parent(data: dict, path: Path_) -> Any:
    node: Any = data
    for part in path[:-1]:
        node = node[part]
    return node


def _misspell(key: str, rng: random.Random) -> str:
    """A typo a person makes: two letters swapped, one dropped, or one doubled."""
    i = rng.randrange(len(key) - 1) if len(key) > 1 else 0
    edits = [key[:i] + key[i + 1] + key[i] + key[i + 2 :], key[:i] + key[i + 1 :], key[:i] + key[i] + key[i:]]
    return next((e for e in rng.sample(edits, 3) if e != key and e), key + "s")


def _wrong_type(value: Any) -> Any:
    if isinstance(value, bool):
        return "sometimes"
    if isinstance(value, int | float):
        return "many"
    if isinstance(value, str):
        return 42
    if isinstance(value, list):
        return "one"
    return ["a", "list"]


def _huge(value: Any) -> Any:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return 10**12
    if isinstance(value, str):
        return (value or "x") * (2000 // max(len(value), 1))
    if isinstance(value, list) and value:
        return [_renamed_entry(value[i % len(value)], i) for i in range(64)]
    return None


def _renamed_entry(entry: Any, i: int) -> Any:
    """A distinct copy of a list entry (so that "huge" tests size, not duplicates)."""
    if isinstance(entry, str):
        return f"{entry}{i}"
    if isinstance(entry, dict):
        return {k: f"{v}{i}" if k in ("name", "prefix") else v for k, v in entry.items()}
    return entry


def _mutate(data: dict, kind: str, path: Path_, rng: random.Random) -> dict | None:
    """``data`` with one mistake of ``kind`` at ``path``, or None when the kind doesn't apply."""
    mutant = copy.deepcopy(data)
    parent, key = _parent(mutant, path), path[-1]
    value = parent[key]
    if kind == "delete" and isinstance(key, str):
        del parent[key]
    elif kind == "rename" and isinstance(key, str):
        typo = _misspell(key, rng)
        if typo in parent:
            return None
        parent[typo] = parent.pop(key)
    elif kind == "wrong_type":
        parent[key] = _wrong_type(value)
    elif kind == "negative" and isinstance(value, int | float) and not isinstance(value, bool):
        parent[key] = -abs(value) - 1
    elif kind == "empty" and isinstance(value, str | list | dict | int) and not isinstance(value, bool):
        parent[key] = type(value)()
    elif kind == "huge" and _huge(value) is not None:
        parent[key] = _huge(value)
    elif kind == "duplicate" and isinstance(value, list) and value:
        value.append(copy.deepcopy(value[rng.randrange(len(value))]))
    else:
        return None
    return mutant


def all_mutants(seed: int = SEED) -> list[Mutant]:
    """Every applicable (stage file, kind, path) mutant, in a fixed order."""
    rng = random.Random(seed)
    mutants = []
    for stage_file in sorted(CONFIG_DIR.glob("*.yaml")):
        data = yaml.safe_load(stage_file.read_text())
        for path, _ in _walk(data):
            for kind in KINDS:
                mutated = _mutate(data, kind, path, rng)
                if mutated is not None:
                    mutants.append(Mutant(stage_file.stem, kind, path, mutated))
    return mutants


def sample(count: int, seed: int = SEED) -> list[Mutant]:
    mutants = all_mutants(seed)
    return random.Random(seed).sample(mutants, min(count, len(mutants)))


def _names_a_setting(location: str, unknown: bool = False) -> bool:
    """``gpu_pools[0].name`` or ``workloads.dynamo.models[x].gpu_pool`` is a setting of the model
    (a suffix such as ``triton.max_replicas`` counts when some block holds it); with
    ``unknown``, a key that is not a setting of a block that is one."""
    parts: list[str | int] = [p for p in re.sub(r"\[[^\]]*\]", "", location).split(".") if p]
    if not parts:
        return False
    prefixes = [(), ("workloads",), ("registry",), ("karpenter",)]
    for prefix in prefixes:
        loc = (*prefix, *parts)
        block = settings_block(loc[:-1])
        if block is not None and (unknown or loc[-1] in block.model_fields):
            return True
        # a key of a map setting (``tenancy.teams[x].gpu_quota.g5``) names that map setting
        owner = settings_block(loc[:-2]) if len(loc) > 1 else None
        field = owner.model_fields.get(str(loc[-2])) if owner is not None else None
        if not unknown and field is not None and typing.get_origin(field.annotation) is dict:
            return True
    return False


_LOCATION = re.compile(r"[a-z_]+(?:\[[^\]\s]*\])?(?:\.[a-z_]+(?:\[[^\]\s]*\])?)*")


def refusal_problems(message: str, source: str) -> list[str]:
    """What is wrong with a refusal message: it must be one message about ``source`` whose
    every line names a setting, with no traceback or pydantic internals."""
    problems = []
    if not message.startswith(f"{source}: "):
        problems.append("does not start with the stage file's path")
    for leak in ("Traceback", "For further information", "type=", "pydantic", "jsii"):
        if leak in message:
            problems.append(f"leaks {leak!r}")
    lines = message.splitlines()
    if not lines[0].endswith("invalid stage configuration") or len(lines) < 2:
        return [*problems, "is not the loader's message"]
    for line in lines[1:]:
        text = line.removeprefix("  - ")
        head = text.split(": ", 1)[0]
        if text.startswith(f"{head}: unknown setting"):
            named = _names_a_setting(head, unknown=True) and "allowed here: " in text
        else:
            named = _names_a_setting(head) or any(_names_a_setting(m) for m in _LOCATION.findall(text))
        if not named:
            problems.append(f"names no setting: {text[:120]}")
    return problems


def duplicate_arrays(template: dict) -> list[str]:
    """Arrays in resource properties that repeat an item: CloudFormation refuses many of them
    ("Array items are not unique") only when the stack is validated or deployed."""
    found = []

    def visit(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key not in _INTRINSICS:
                    visit(value, f"{where}.{key}")
        elif isinstance(node, list):
            dumped = [json.dumps(item, sort_keys=True) for item in node]
            if len(set(dumped)) != len(dumped):
                found.append(where)
            for index, item in enumerate(node):
                visit(item, f"{where}[{index}]")

    for logical_id, resource in template.get("Resources", {}).items():
        visit(resource.get("Properties", {}), logical_id)
    return found


@functools.cache
def _original(stage: str) -> StageConfig:
    return load_stage_file(CONFIG_DIR / f"{stage}.yaml")


def load(mutant: Mutant, directory: Path, index: int) -> Outcome:
    """Load the mutant as ``app.py`` would: from a stage file on disk."""
    path = directory / f"{mutant.stage}-{index}.yaml"
    path.write_text(yaml.safe_dump(mutant.data, sort_keys=False))
    original = _original(mutant.stage)
    try:
        config = load_stage_file(path)
    except StageConfigError as exc:
        message = str(exc)
        return Outcome(mutant, "refused", message, refusal_problems(message, str(path)))
    except Exception as exc:  # any other exception is the defect under test
        return Outcome(mutant, "refused", repr(exc), [f"raised {type(exc).__name__}, not StageConfigError"])
    return Outcome(mutant, "unchanged" if config == original else "accepted")


def synthesize(outcomes: list[Outcome], directory: Path, batch: int = 8) -> None:
    """Synthesize accepted mutants through ``build_app`` with cdk-nag, each under its own
    stage name so that a few share one App (a stage costs seconds, an App's start more).
    When an App fails, each of its mutants is retried alone so the failure lands on the one
    that caused it."""
    for index, outcome in enumerate(outcomes):
        outcome.mutant.data = {**outcome.mutant.data, "name": f"mutant{index}"}
    for start in range(0, len(outcomes), batch):
        group = outcomes[start : start + batch]
        error = _synth_app(group, directory / f"batch{start}")
        for index, outcome in enumerate(group if error else []):
            outcome.problems += _synth_app([outcome], directory / f"alone{start + index}") or []


def _synth_app(outcomes: list[Outcome], outdir: Path) -> list[str] | None:
    """One App holding ``outcomes``' stages: the error when building or synthesizing it
    raised, else None (each stage's findings are recorded on its outcome)."""
    from aws_cdk import App

    from app import build_app
    from tools.cdk_context import cdk_context

    outdir.mkdir(parents=True)
    files = []
    for index, outcome in enumerate(outcomes):
        files.append(outdir / f"{index}.yaml")
        files[-1].write_text(yaml.safe_dump(outcome.mutant.data, sort_keys=False))
    context = {**cdk_context(), "stage_file": ",".join(map(str, files))}
    app = App(outdir=str(outdir / "cdk.out"), context=context)
    try:
        build_app(app)
        app.synth()
    except Exception as exc:  # a construct or synth error is the defect under test
        return [f"synth raised {type(exc).__name__}: {str(exc).splitlines()[0][:300]}"]
    report = json.loads((outdir / "cdk.out" / "validation-report.json").read_text())
    plugins = {p["pluginName"]: p for p in report["pluginReports"]}
    for outcome in outcomes:
        stage = outcome.mutant.data["name"]
        outcome.problems += [
            f"{plugin} {v['ruleName']} at {c['constructPath']}"
            for plugin, found in plugins.items()
            for v in found["violations"]
            for c in v["violatingConstructs"]
            if c["constructPath"].startswith(f"{stage}/")
        ]
        for template in sorted((outdir / "cdk.out" / f"assembly-{stage}").glob("*.template.json")):
            outcome.problems += [f"{template.name}: {p}" for p in deploy_problems(template)]
    shutil.rmtree(outdir)
    return None


def deploy_problems(template_path: Path) -> list[str]:
    """What a synthesized template would fail on only in CloudFormation: repeated array
    items, more than 500 resources, a body over 1 MB, a manifest over the kubectl Lambda's
    payload limit."""
    template = json.loads(template_path.read_text())
    resources = template.get("Resources", {})
    problems = [f"repeated array item at {where}" for where in duplicate_arrays(template)]
    if len(resources) > RESOURCE_LIMIT:
        problems.append(f"{len(resources)} resources, over CloudFormation's {RESOURCE_LIMIT}")
    if template_path.stat().st_size > TEMPLATE_LIMIT_BYTES:
        problems.append(f"{template_path.stat().st_size} bytes, over {TEMPLATE_LIMIT_BYTES}")
    for logical_id, resource in resources.items():
        manifest = resource.get("Properties", {}).get("Manifest")
        if manifest is not None and len(json.dumps(manifest)) > LAMBDA_PAYLOAD_LIMIT:
            problems.append(f"{logical_id}: manifest over the {LAMBDA_PAYLOAD_LIMIT}-byte Lambda payload")
    return problems


def run(mutants: list[Mutant], synth_limit: int | None, seed: int = SEED) -> list[Outcome]:
    """Load every mutant; synthesize the accepted ones (at most ``synth_limit``, chosen by seed,
    one per distinct mutated setting first)."""
    with tempfile.TemporaryDirectory(prefix="mutants-") as tmp:
        directory = Path(tmp)
        outcomes = [load(mutant, directory, index) for index, mutant in enumerate(mutants)]
        accepted = [o for o in outcomes if o.result == "accepted"]
        chosen = _distinct_settings_first(accepted, random.Random(seed))[:synth_limit]
        if chosen:
            synthesize(chosen, directory)
        for outcome in chosen:
            outcome.result = "synthesized"
    return outcomes


def _distinct_settings_first(accepted: list[Outcome], rng: random.Random) -> list[Outcome]:
    shuffled = rng.sample(accepted, len(accepted))
    seen: set[str] = set()
    first: list[Outcome] = []
    rest: list[Outcome] = []
    for outcome in shuffled:
        setting = re.sub(r"\[\d+\]", "[]", outcome.mutant.label.split(":", 1)[1])
        (rest if setting in seen else first).append(outcome)
        seen.add(setting)
    return first + rest


def summary(outcomes: list[Outcome]) -> str:
    table = Counter((o.mutant.kind, o.result) for o in outcomes)
    results = ("refused", "synthesized", "accepted", "unchanged")
    lines = [f"{'kind':<12}" + "".join(f"{r:>13}" for r in results)]
    for kind in KINDS:
        lines.append(f"{kind:<12}" + "".join(f"{table[(kind, r)]:>13}" for r in results))
    totals = Counter(o.result for o in outcomes)
    lines.append(f"{'all':<12}" + "".join(f"{totals[r]:>13}" for r in results))
    lines.append(
        "refused: a clean StageConfigError; synthesized: accepted and synthesized with cdk-nag; "
        "accepted: accepted, not synthesized (over --synth); unchanged: same settings as the original"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--count", type=int, default=None, help="a seeded sample of this many (default: all)")
    parser.add_argument("--synth", type=int, default=None, help="synthesize at most this many accepted")
    args = parser.parse_args(argv)
    jsii_transport.install()  # as app.py does; aws_cdk is imported later, per batch
    mutants = sample(args.count, args.seed) if args.count else all_mutants(args.seed)
    outcomes = run(mutants, args.synth, args.seed)
    print(summary(outcomes))
    bad = [o for o in outcomes if o.problems]
    for outcome in bad:
        print(f"\n{outcome.mutant.label}: {'; '.join(outcome.problems)}\n  {outcome.message[:400]}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
