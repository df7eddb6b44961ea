"""The README stays honest: its diagram names every stack the app builds, and it shows the
two commands first."""

from __future__ import annotations

import re
from pathlib import Path

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
