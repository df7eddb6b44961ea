"""The user's settings file (``~/.config/gpu-dev/config.json``) and how stage and region are chosen."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

from gpu_dev.errors import CliError, UsageError

APP_DIR = "gpu-dev"  # the CLI's directory under ~/.config (settings) and ~/.cache (job API key)
DEFAULT_STAGE = "prod"
DEFAULT_REGION = "us-east-2"

# key -> (default, what it is)
KEYS: dict[str, tuple[str | None, str]] = {
    "github_user": (None, "your GitHub user name; its public SSH keys are installed in your server"),
    "stage": (DEFAULT_STAGE, "the platform stage to use (dev, staging, prod)"),
    "region": (
        None,
        f"AWS region, used when neither --region nor AWS_REGION/AWS_DEFAULT_REGION is set "
        f"(default {DEFAULT_REGION})",
    ),
    "job_api_url": (None, "the job API's address (https://...), for `gpu-dev job`"),
}

_GITHUB_USER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_STAGE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
_REGION = re.compile(r"^[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d$")


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/gpu-dev/config.json``, else ``~/.config/gpu-dev/config.json``."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / APP_DIR / "config.json"


def check_key(key: str) -> None:
    if key not in KEYS:
        raise UsageError(f"unknown config key {key!r}; known keys: {', '.join(KEYS)}")


def check_value(key: str, value: str) -> str:
    value = value.strip()
    if key == "github_user" and not _GITHUB_USER.match(value):
        raise UsageError(f"{value!r} is not a GitHub user name (letters, digits and single hyphens)")
    if key == "stage" and not _STAGE.match(value):
        raise UsageError(f"{value!r} is not a stage name (lower-case letters, digits, hyphens)")
    if key == "job_api_url" and not value.startswith(("https://", "http://")):
        raise UsageError(f"{value!r} is not an address: it must start with https://")
    if key == "region" and not _REGION.match(value):
        raise UsageError(f"{value!r} is not an AWS region name (e.g. us-east-2)")
    return value


class Config:
    """The settings file; absent keys fall back to their defaults."""

    def __init__(self, path: Path | None = None):
        self.path = path or config_path()
        self._values: dict[str, str] | None = None

    @property
    def values(self) -> dict[str, str]:
        if self._values is None:
            self._values = self._read()
        return self._values

    def _read(self) -> dict[str, str]:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise CliError(f"cannot read {self.path}: {exc.strerror}") from None
        try:
            data = json.loads(text)
        except ValueError:
            raise CliError(f"{self.path} is not valid JSON; fix or delete it") from None
        if not isinstance(data, dict):
            raise CliError(f"{self.path} must hold a JSON object; fix or delete it")
        return {key: value for key, value in data.items() if key in KEYS and isinstance(value, str)}

    def get(self, key: str) -> str | None:
        check_key(key)
        return self.values.get(key) or KEYS[key][0]

    def effective(self) -> dict[str, str | None]:
        return {key: self.get(key) for key in KEYS}

    def set(self, key: str, value: str) -> str:
        check_key(key)
        value = check_value(key, value)
        values = dict(self.values)
        values[key] = value
        write_atomically(self.path, json.dumps(values, indent=2, sort_keys=True) + "\n")
        self._values = values
        return value


def write_atomically(path: Path, text: str) -> None:
    """Write a temporary file (mode 0600) beside ``path``, fsync it and rename it over ``path``:
    a reader sees the old file or the new one, never a partial one."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w") as handle:  # mkstemp creates the file with mode 0600
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise CliError(f"cannot write {path}: {exc.strerror}") from None


def resolve_region(flag: str | None, env: Mapping[str, str], config: Config) -> tuple[str, str]:
    """Seed 002's order, with the config file before the built-in default:
    ``--region``, ``AWS_REGION``, ``AWS_DEFAULT_REGION``, config ``region``, ``us-east-2``.
    Returns the region and where it came from."""
    if flag:
        return flag, "--region"
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if env.get(name):
            return env[name], name
    configured = config.values.get("region")
    if configured:
        return configured, f"config ({config.path})"
    return DEFAULT_REGION, "default"


def resolve_stage(flag: str | None, config: Config) -> str:
    """``--stage``, then config ``stage``, then ``prod``."""
    stage = flag or config.get("stage") or DEFAULT_STAGE
    if not _STAGE.match(stage):
        raise UsageError(f"{stage!r} is not a stage name (lower-case letters, digits, hyphens)")
    return stage
