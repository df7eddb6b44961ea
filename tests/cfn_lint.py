"""cfn-lint's findings for a set of templates, remembered by content.

cfn-lint takes tens of CPU-seconds over the platform's templates, and a warm `make test` lints
the same bytes as the run before. Its findings are a function of the template contents, the
installed cfn-lint (its version, with the resource specifications it ships), its configuration
file and its arguments; all of them make up the cache key, so a changed template, a cfn-lint
upgrade or another command is linted afresh. The gates assert on the findings exactly as before
(``test_gates.py``, ``test_any_stage.py``); only an identical lint is not run twice. A cfn-lint
that crashes (any exit code but its finding flags) fails the gate instead of reading as "no
findings". Stored under ``build/`` (ignored by git).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "build" / "cfn-lint"
ARGS = ["--format", "json"]
# cfn-lint's own command (the `cfn-lint` script): the package has no __main__, so
# `python -m cfnlint` only printed an error, which an empty stdout hid as "no findings".
RUN = "import sys; from cfnlint.runner import main; sys.exit(main())"


def _key(paths: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for part in (sys.executable, metadata.version("cfn-lint"), RUN, *ARGS):
        digest.update(f"{part}\n".encode())
    config = Path.cwd() / ".cfnlintrc"  # cfn-lint reads it from where it runs
    digest.update(config.read_bytes() if config.is_file() else b"no .cfnlintrc")
    for path in paths:
        digest.update(f"{path.name}\n".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def findings(paths: Sequence[Path]) -> list[dict]:
    """cfn-lint's JSON findings over ``paths``, each naming its template's current path."""
    paths = [Path(p) for p in paths]
    cached = CACHE / f"{_key(paths)}.json"
    if cached.is_file():
        found = json.loads(cached.read_text())
        for finding in found:
            finding["Filename"] = str(paths[finding["Filename"]])
        return found
    result = subprocess.run(
        [sys.executable, "-c", RUN, *ARGS, "--", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=900,  # tens of CPU-seconds; minutes on a loaded machine
    )
    if result.returncode not in (0, 2, 4, 6, 8, 10, 12, 14):  # bit flags: errors, warnings, info
        raise RuntimeError(f"cfn-lint failed (exit {result.returncode}): {result.stderr[-2000:]}")
    found = json.loads(result.stdout or "[]")
    index = {str(path): i for i, path in enumerate(paths)}
    stored = [{**f, "Filename": index[f["Filename"]]} for f in found]
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.partial")
    partial.write_text(json.dumps(stored))
    partial.replace(cached)  # atomic: two test workers may lint the same templates at once
    return found
