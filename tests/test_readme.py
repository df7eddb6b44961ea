"""The README stays honest: its diagram names every stack the app builds, and it shows the
two commands first."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_diagram_names_every_stack(synth):
    diagram = re.search(r"```mermaid\n(.*?)```", README, re.S).group(1)
    nodes = set(re.findall(r"^\s+(\w+)\[", diagram, re.M))
    stacks = {stack for stage_stacks in synth.stacks.values() for stack in stage_stacks}
    assert stacks == nodes


def test_the_two_commands_come_first():
    first_section = README.split("\n## ", 2)[1]
    assert first_section.startswith("The two commands")
    assert "make synth" in first_section and "make test" in first_section


def test_catalogue_tables_are_generated_from_the_catalogues():
    from tools.readme_tables import TABLES, tables_in

    found = tables_in(README)
    assert set(found) == set(TABLES), "a generated table's markers are missing from README.md"
    for name, render in TABLES.items():
        assert found[name] == render(), f"README table {name} is stale: run `python -m tools.readme_tables`"


def _model_settings(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every setting path of the stage model: ``a.b``, and ``a[]`` / ``a[].b`` for lists of
    settings blocks."""
    import typing

    paths = set()
    for name, field in model.model_fields.items():
        path, annotation = f"{prefix}{name}", field.annotation
        (item,) = typing.get_args(annotation)[:1] or (None,)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths |= _model_settings(annotation, f"{path}.")
        elif typing.get_origin(annotation) is list and isinstance(item, type) and issubclass(item, BaseModel):
            paths |= {f"{path}[]"} | _model_settings(item, f"{path}[].")
        else:
            paths.add(path)
    return paths


def _documented_settings() -> set[str]:
    """The setting paths in the first column of README's 'Every setting' table; a cell may
    name siblings after the first path (`a.b` / `c` means a.b and a.c)."""
    section = README.split("### Every setting", 1)[1].split("\n### ", 1)[0]
    paths = set()
    for row in re.findall(r"^\| (`[^|]+) \|", section, re.M):
        names = re.findall(r"`([^`]+)`", row)
        parent = names[0].rsplit(".", 1)[0] + "." if "." in names[0] else ""
        paths |= {names[0]} | {parent + sibling for sibling in names[1:]}
    return paths


def test_every_setting_is_documented_and_every_documented_setting_exists():
    from platform_config.model import StageConfig

    model, documented = _model_settings(StageConfig), _documented_settings()
    assert sorted(model - documented) == [], "settings missing from README 'Every setting'"
    assert sorted(documented - model) == [], "README 'Every setting' names settings the model lacks"
