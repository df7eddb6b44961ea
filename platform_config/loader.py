"""Read stage files into :class:`StageConfig` and turn every mistake into one clear message.

A platform engineer who mistypes a setting must see which file, which setting, the value
given and what is allowed -- not a pydantic dump or a Python traceback. ``app.py`` catches
:class:`StageConfigError` and prints its message.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml
from pydantic import ValidationError

from platform_config.model import StageConfig

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
DEFAULT_STAGES = ("dev", "staging", "prod")


class StageConfigError(Exception):
    """A stage file that cannot become a valid :class:`StageConfig`."""


def _location(loc: Iterable[str | int]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _describe(error: dict) -> str:
    setting = _location(error["loc"]) or "(top level)"
    kind = error["type"]
    given = error.get("input")
    if kind == "extra_forbidden":
        return f"{setting}: unknown setting (check the spelling against README 'Stage settings')"
    if kind == "missing":
        return f"{setting}: required setting is missing"
    message = error["msg"].removeprefix("Value error, ")
    if kind == "literal_error" or kind == "enum":
        expected = error.get("ctx", {}).get("expected", "")
        return f"{setting}: {given!r} is not allowed; allowed: {expected}"
    if kind == "string_pattern_mismatch":
        pattern = error.get("ctx", {}).get("pattern", "")
        return f"{setting}: {given!r} does not match the required form {pattern}"
    if kind.startswith("value_error") or kind == "assertion_error":
        return f"{setting}: {message}" if setting != "(top level)" else message
    return f"{setting}: {message} (got {given!r})"


def parse_stage(data: object, source: str) -> StageConfig:
    """Validate already-parsed YAML ``data``; ``source`` names it in error messages."""
    if not isinstance(data, dict):
        raise StageConfigError(f"{source}: a stage file must be a YAML mapping of settings")
    try:
        return StageConfig.model_validate(data)
    except ValidationError as exc:
        lines = [_describe(err) for err in exc.errors()]
        raise StageConfigError(
            f"{source}: invalid stage configuration\n" + "\n".join(f"  - {ln}" for ln in lines)
        ) from None


def load_stage_file(path: Path) -> StageConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StageConfigError(f"{path}: cannot read stage file ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise StageConfigError(f"{path}: not valid YAML ({exc})") from None
    return parse_stage(data, str(path))


def load_stages(stage_files: Iterable[Path] | None = None) -> list[StageConfig]:
    """The stages to synthesize: the given files, or dev, staging and prod from ``config/``."""
    paths = (
        list(stage_files)
        if stage_files is not None
        else [CONFIG_DIR / f"{name}.yaml" for name in DEFAULT_STAGES]
    )
    stages = [load_stage_file(path) for path in paths]
    names = [stage.name for stage in stages]
    if len(set(names)) != len(names):
        raise StageConfigError(f"stage names must be unique across stage files, got {names}")
    return stages
