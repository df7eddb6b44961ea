"""Lambda code for the reservation functions: ``lambda/<function>/`` plus the shared
``reservations`` package, copied at synth time without Docker.

The bundle is hashed by its output, so a change to the shared package changes every
function that carries it (a source hash of ``lambda/<function>`` alone would miss it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

ROOT = Path(__file__).resolve().parent.parent
SHARED_PACKAGES = ("reservations",)
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


@jsii.implements(ILocalBundling)
class _CopySources:
    def __init__(self, function_dir: Path) -> None:
        self.function_dir = function_dir

    def try_bundle(self, output_dir: str, *, image, **_options) -> bool:
        shutil.copytree(self.function_dir, output_dir, dirs_exist_ok=True, ignore=IGNORED)
        for package in SHARED_PACKAGES:
            shutil.copytree(ROOT / package, Path(output_dir) / package, ignore=IGNORED)
        return True


def function_code(function: str) -> lambda_.Code:
    """``lambda/<function>`` with the shared packages, e.g. ``function_code("reservation_expiry")``."""
    function_dir = ROOT / "lambda" / function
    if not (function_dir / "handler.py").is_file():
        raise FileNotFoundError(f"{function_dir}/handler.py is missing")
    return lambda_.Code.from_asset(
        str(function_dir),
        asset_hash_type=AssetHashType.OUTPUT,
        bundling=BundlingOptions(
            # Never pulled: local bundling always succeeds. CDK requires an image nonetheless.
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.13"),
            local=_CopySources(function_dir),
        ),
    )


def kubernetes_layer_code() -> lambda_.Code:
    """The Kubernetes client layer that ``make install`` builds from lambda/layers/kubernetes."""
    layer_zip = ROOT / "build" / "layers" / "kubernetes.zip"
    if not layer_zip.is_file():
        raise FileNotFoundError(f"{layer_zip} is not built; run `make install` (it builds the layer offline)")
    return lambda_.Code.from_asset(str(layer_zip))
