"""Read stage files into :class:`StageConfig` and turn every mistake into one clear message.

A platform engineer who mistypes a setting must see which file, which setting, the value
given and what is allowed -- not a pydantic dump or a Python traceback. ``app.py`` catches
:class:`StageConfigError` and prints its message.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import get_args

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from platform_config.checks import brief
from platform_config.model import StageConfig

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
DEFAULT_STAGES = ("dev", "staging", "prod")


class StageConfigError(Exception):
    """A stage file that cannot become a valid :class:`StageConfig`."""


# The README section that lists every setting; unknown-key messages point to it
# (``tests/test_config_errors.py`` holds the README to having it).
SETTINGS_SECTION = "Every setting"


def _location(loc: Iterable[str | int]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def settings_block(loc: Iterable[str | int]) -> type[BaseModel] | None:
    """The settings model that holds the setting at ``loc`` (pydantic's error location)."""
    model: object = StageConfig
    for part in loc:
        if isinstance(part, int):
            continue  # a list index: the entry's model is what the list annotation holds
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return None
        model = _settings_type(model.model_fields[part].annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _settings_type(annotation: object) -> object:
    """``list[X]``, ``X | None`` and ``Annotated[X, ...]`` -> ``X`` when ``X`` is a settings model."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _settings_type(arg)
        if found is not None:
            return found
    return None


def _unknown_key(loc: tuple[str | int, ...]) -> str:
    setting = _location(loc)
    block = settings_block(loc[:-1])
    if block is None or not isinstance(loc[-1], str):
        return f"{setting}: unknown setting (see README '{SETTINGS_SECTION}')"
    allowed = list(block.model_fields)
    nearest = difflib.get_close_matches(loc[-1], allowed, n=1)
    hint = f"did you mean {nearest[0]!r}? " if nearest else ""
    return (
        f"{setting}: unknown setting; {hint}allowed here: {', '.join(allowed)} (README '{SETTINGS_SECTION}')"
    )


def _describe(error: ErrorDetails) -> str:
    setting = _location(error["loc"]) or "(top level)"
    kind = error["type"]
    given = error.get("input")
    if kind == "extra_forbidden":
        return _unknown_key(error["loc"])
    if kind == "missing":
        return f"{setting}: required setting is missing"
    message = error["msg"].removeprefix("Value error, ")
    if kind == "literal_error" or kind == "enum":
        expected = error.get("ctx", {}).get("expected", "")
        return f"{setting}: {brief(given)} is not allowed; allowed: {expected}"
    if kind == "string_pattern_mismatch":
        pattern = error.get("ctx", {}).get("pattern", "")
        return f"{setting}: {brief(given)} does not match the required form {pattern}"
    if kind.startswith("value_error") or kind == "assertion_error":
        return f"{setting}: {message}" if setting != "(top level)" else message
    if kind == "string_type" and isinstance(given, bool | int | float):
        # YAML reads unquoted digits as a number and yes/no/true/false/on/off as a boolean.
        read_as = "a boolean" if isinstance(given, bool) else "a number"
        key = error["loc"][-1]
        example = f'{key}: "..."' if isinstance(key, str) else '- "..."'
        return (
            f"{setting}: {message} (got {given!r}: YAML reads that unquoted as {read_as}; "
            f"put the value in quotes as you meant it, e.g. {example})"
        )
    if kind in ("too_long", "too_short"):
        ctx = error.get("ctx", {})
        bound = f"at most {ctx['max_length']}" if kind == "too_long" else f"at least {ctx['min_length']}"
        return f"{setting}: has {ctx.get('actual_length')} entries; allowed: {bound}"
    if kind == "model_type":
        return f"{setting}: should be a block of settings (key: value lines), got {brief(given)}"
    return f"{setting}: {message} (got {brief(given)})"


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
