#!/usr/bin/env python3
"""Entry point of the CDK app: one Stage per stage file, cdk-nag AwsSolutions on all of them.

Which stages: ``-c stage_file=path.yaml`` (repeatable as a comma-separated list) or, by
default, ``config/dev.yaml``, ``config/staging.yaml`` and ``config/prod.yaml``. A stage file
mistake ends synth with one message that names the setting -- never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tools import jsii_transport

jsii_transport.install()  # before the first aws_cdk import starts the jsii kernel

from aws_cdk import App, Validations  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from platform_config.loader import StageConfigError, load_stages  # noqa: E402
from stacks.platform_stage import PlatformStage  # noqa: E402


def build_app(app: App) -> list[PlatformStage]:
    stage_file = app.node.try_get_context("stage_file")
    paths = [Path(p) for p in str(stage_file).split(",")] if stage_file else None
    stages = [PlatformStage(app, config.name, config=config) for config in load_stages(paths)]
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stages


def main() -> int:
    app = App()
    try:
        build_app(app)
    except StageConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
