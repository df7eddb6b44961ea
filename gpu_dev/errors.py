"""Errors the CLI reports as one line, with their exit codes (no tracebacks)."""

from __future__ import annotations


class CliError(Exception):
    """Something went wrong talking to AWS or the platform: exit 1."""

    exit_code = 1


class UsageError(CliError):
    """The request is refused before anything is sent (bad input, limits): exit 2."""

    exit_code = 2
