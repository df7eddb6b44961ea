"""``gpu-dev job submit|list|show|logs|cancel``: GPU jobs through the job API (README, "Job API")."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from gpu_dev.errors import UsageError
from gpu_dev.job_client import JobApi, api_url


class _Context(Protocol):
    env: dict[str, str]

    @property
    def stage(self) -> str: ...

    @property
    def region(self) -> str: ...

    @property
    def config(self) -> Any: ...


def client(ctx: _Context, args: argparse.Namespace) -> JobApi:
    import boto3

    region = ctx.region
    return JobApi(
        url=api_url(getattr(args, "api_url", None), ctx.env, ctx.config.get("job_api_url")),
        stage=ctx.stage,
        region=region,
        env=ctx.env,
        credentials=lambda: boto3.Session(region_name=region).get_credentials(),
    )


def _print(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True), flush=True)


def _line(job: dict[str, Any]) -> str:
    reason = f"  ({job['reason']})" if job.get("reason") else ""
    where = f"{job['team']}/{job['pool']} x{job['gpus']}"
    return f"{job['id']}  {job['status']:<13} {where:<24} {job['request']['image']}{reason}"


def _env(pairs: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--env {pair!r} must be NAME=VALUE")
        env[name] = value
    return env


def cmd_submit(ctx: _Context, args: argparse.Namespace) -> int:
    if (args.pool is None) == (args.gpu_type is None):
        raise UsageError("give exactly one of --gpu-type and --pool")
    body: dict[str, Any] = {
        "image": args.image,
        "command": args.command[1:] if args.command[:1] == ["--"] else args.command,
        "args": [],
        "env": _env(args.env),
        "gpus": args.gpus,
        "team": args.team,
    }
    if args.pool:
        body["pool"] = args.pool
    else:
        body["gpu_type"] = args.gpu_type
    if args.max_runtime is not None:
        body["max_runtime_minutes"] = args.max_runtime
    key = args.idempotency_key or str(uuid.uuid4())  # retries of this command's call repeat it
    job = client(ctx, args).call("POST", "/v1/jobs", body, headers={"Idempotency-Key": key})
    if args.json:
        _print(job)
    else:
        print(
            f"submitted {job['id']} ({job['status']}); follow it with: gpu-dev job logs {job['id']} --follow"
        )
    return 0


def cmd_list(ctx: _Context, args: argparse.Namespace) -> int:
    api = client(ctx, args)
    query = [f"limit={args.limit}"] + [f"status={s}" for s in args.status or []]
    if args.team:
        query.append(f"team={args.team}")
    page = api.call("GET", "/v1/jobs?" + "&".join(query))
    if args.json:
        _print(page)
        return 0
    for job in page["jobs"]:
        print(_line(job))
    if not page["jobs"]:
        print("no jobs")
    if page.get("next_cursor"):
        print("(more: raise --limit, up to 100)", file=sys.stderr)
    return 0


def _job_id(text: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise UsageError(f"{text!r} is not a job id (`gpu-dev job list` shows them)") from None


def cmd_show(ctx: _Context, args: argparse.Namespace) -> int:
    job = client(ctx, args).call("GET", f"/v1/jobs/{_job_id(args.id)}")
    if args.json:
        _print(job)
    else:
        print(_line(job))
        print(f"  Kubernetes Job {job['namespace']}/{job['kubernetes_job']}, submitted {job['created_at']}")
    return 0


def cmd_cancel(ctx: _Context, args: argparse.Namespace) -> int:
    job = client(ctx, args).call("DELETE", f"/v1/jobs/{_job_id(args.id)}")
    state = (
        "cancelled" if job["status"] == "cancelled" else "cancelling (its Kubernetes Job is being deleted)"
    )
    print(f"{job['id']}: {state}")
    return 0


def cmd_logs(ctx: _Context, args: argparse.Namespace) -> int:
    query = f"?follow={'true' if args.follow else 'false'}"
    if args.tail is not None:
        query += f"&tail_lines={args.tail}"
    for chunk in client(ctx, args).stream(f"/v1/jobs/{_job_id(args.id)}/logs{query}"):
        sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
    return 0


def add_commands(
    job: argparse.ArgumentParser, common: argparse.ArgumentParser, positive: Callable[[str], int]
) -> None:
    """The ``job`` command's actions, under ``job`` (a sub-parser of ``gpu-dev``); ``positive``
    is the CLI's parser of a whole number >= 1."""
    api = argparse.ArgumentParser(add_help=False)
    api.add_argument("--api-url", help="the job API (default: GPU_DEV_JOB_API_URL, config job_api_url)")
    actions = job.add_subparsers(dest="job_command", metavar="ACTION", title="actions")

    def action(
        name: str, help_text: str, handler: Any, *, json_output: bool = True
    ) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, help=help_text, description=help_text, parents=[common, api])
        sub.set_defaults(handler=handler)
        if json_output:
            sub.add_argument("--json", action="store_true", help="print machine-readable JSON only")
        return sub

    submit = action(
        "submit", "submit a GPU job: gpu-dev job submit [OPTIONS] IMAGE [COMMAND ...]", cmd_submit
    )
    submit.add_argument("image", help="container image, from a registry the stage allows")
    submit.add_argument(
        "command", nargs=argparse.REMAINDER, help="the command and its arguments (options go before IMAGE)"
    )
    submit.add_argument("--team", required=True, help="the team whose queue and quota the job uses")
    submit.add_argument("--gpus", type=positive, default=1, help="GPUs on one node (default 1)")
    submit.add_argument("--gpu-type", help="GPU type, e.g. H100 (or --pool)")
    submit.add_argument("--pool", help="GPU pool (or --gpu-type)")
    submit.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="repeatable")
    submit.add_argument(
        "--max-runtime", type=positive, metavar="MINUTES", help="default: the stage's maximum"
    )
    submit.add_argument("--idempotency-key", help="repeat a submission safely (default: a new key)")

    listing = action("list", "list your jobs, newest first", cmd_list)
    listing.add_argument("--status", action="append", help="only this status (repeatable)")
    listing.add_argument("--team")
    listing.add_argument("--limit", type=positive, default=20)

    action("show", "show one job", cmd_show).add_argument("id")
    action("cancel", "cancel one of your jobs", cmd_cancel, json_output=False).add_argument("id")
    logs = action("logs", "print a job's log", cmd_logs, json_output=False)
    logs.add_argument("id")
    logs.add_argument("--follow", "-f", action="store_true", help="keep streaming while the job runs")
    logs.add_argument("--tail", type=positive, metavar="LINES", help="only the last LINES lines")
