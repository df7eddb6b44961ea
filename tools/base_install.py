"""Install the base worktree of ``make diff`` as its own ``make install`` would, offline where
the head's artefacts can stand in.

Usage: ``python -m tools.base_install BASE_DIR`` (from the head's root; ``make diff`` calls it).

The base's own Makefile says what its synth needs: every file target ``install`` depends on,
with the files each is built from (read from ``make -pq install``, so a build step added to
``install`` later is covered without touching this tool). An artefact the head has already
built is reused when every file it is built from is byte-identical in the two trees and every
artefact it depends on is reused too, the rule make itself applies; ``<dir>/.installed`` stands
for the whole ``<dir>`` (``.venv``, ``node_modules``: linked), any other target for its file
(copied). The base's ``make install`` then runs with the reused targets marked done (``-o``),
so it builds exactly what differs, with the base's own recipes, its log on stderr. A failure
ends in one message, exit 2.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

INSTALL = "install"
STAMP = ".installed"  # the Makefile's mark of a directory installed as a whole
NOT_A_TARGET = "# Not a target:"  # how make's database marks a file it only mentions
RULE = re.compile(r"^([^\s#:=][^\s:=]*):(?!=)\s*(.*)$")
STDERR = 2  # the file descriptor, so the base's build log is streamed as it is written
# Flags and variables of the calling `make diff` (BASE=, STAGE_FILE=, -o, jobserver) are not
# the base's business.
MAKE_ENV = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")


class BaseInstallError(Exception):
    pass


@dataclass(frozen=True)
class Plan:
    reused: tuple[str, ...]  # targets taken from the head
    built: tuple[str, ...]  # targets the base's make install builds


def _make(base: Path, *args: str, log=subprocess.PIPE) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in MAKE_ENV}
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(base), *args],
        stdout=log,
        stderr=log,
        text=True,
        env=env,
        timeout=1800,
    )


def rules(base: Path) -> tuple[dict[str, list[str]], set[str]]:
    """The base Makefile's file rules (target -> prerequisites) and its phony targets."""
    database = _make(base, "-pq", INSTALL).stdout  # -q: nothing runs; exit 1 means "not up to date"
    found: dict[str, list[str]] = {}
    previous = ""
    for line in database.splitlines():
        match = RULE.match(line)
        if match and "=" not in match[2] and previous != NOT_A_TARGET:
            found.setdefault(match[1], [p for p in match[2].split() if p != "|"])
        previous = line
    if INSTALL not in found:
        raise BaseInstallError(f"{base}/Makefile has no `{INSTALL}` target")
    return found, set(found.get(".PHONY", []))


def _tracked(base: Path) -> set[str]:
    listed = subprocess.run(["git", "-C", str(base), "ls-files"], capture_output=True, text=True, check=True)
    return set(listed.stdout.splitlines())


def plan(base: Path, head: Path) -> Plan:
    graph, phony = rules(base)
    tracked = _tracked(base)
    reusable: dict[str, bool] = {}

    def visit(target: str) -> bool:
        if target not in reusable:
            reusable[target] = False  # a cycle (make refuses those anyway) reuses nothing
            ok = target not in phony and (head / target).exists()
            for prerequisite in graph.get(target, []):
                if prerequisite in tracked:
                    ok &= (head / prerequisite).is_file() and filecmp.cmp(
                        base / prerequisite, head / prerequisite, shallow=False
                    )
                else:
                    ok &= visit(prerequisite)
            reusable[target] = ok
        return reusable[target]

    targets = [t for t in graph[INSTALL] if t not in tracked]
    for target in targets:
        visit(target)
    artefacts = [t for t in reusable if t not in phony]
    return Plan(
        reused=tuple(t for t in artefacts if reusable[t]),
        built=tuple(t for t in artefacts if not reusable[t]),
    )


def seed(base: Path, head: Path, target: str) -> None:
    """Put the head's ``target`` into the base: a directory install as a link, a file as a copy."""
    source, destination = head / target, base / target
    if source.name == STAMP:
        source, destination = source.parent, destination.parent
        if destination.is_symlink() or destination.exists():
            raise BaseInstallError(f"{destination} already exists in the base worktree")
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.symlink_to(source.resolve(), target_is_directory=True)
    elif source.is_dir():
        shutil.copytree(source, destination, symlinks=True)
    else:
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)


def install(base: Path, head: Path) -> Plan:
    steps = plan(base, head)
    for target in steps.reused:
        seed(base, head, target)
    marked_done = [arg for target in steps.reused for arg in ("-o", target)]
    # The build log goes to stderr as it happens: a base's own .venv takes minutes.
    if _make(base, *marked_done, INSTALL, log=STDERR).returncode != 0:
        raise BaseInstallError(
            f"`make {INSTALL}` failed in the base worktree {base} while building "
            f"{', '.join(steps.built)} (its output is above)"
        )
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="the base worktree")
    parser.add_argument("--head", type=Path, default=Path.cwd(), help="the head's root (default: here)")
    args = parser.parse_args(argv)
    try:
        steps = install(args.base.resolve(), args.head.resolve())
    except BaseInstallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    reused, built = (", ".join(targets) or "nothing" for targets in (steps.reused, steps.built))
    print(f"base install: reused {reused}; built {built}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
