"""``gpu-dev``: reserve, list, show, cancel, connect to, extend GPU developer servers; show capacity.

Every command that talks to AWS first reads the stage's reservation parameter
(``/gpu-platform/<stage>/reservations``): the queue, the table and the stage's own rules, so a
request is validated with the rules the processor applies before anything is sent.

Exit codes: 0 success, 1 an AWS or platform error (or a reservation that failed or did not start
while waiting), 2 a request refused before anything was sent, 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shlex
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from gpu_dev import __version__, job_commands, render
from gpu_dev.client import Platform
from gpu_dev.config import KEYS, Config, resolve_region, resolve_stage
from gpu_dev.errors import CliError, UsageError
from reservations import dev_pod, messages, model
from reservations.model import ENDED, Reservation, Status, from_iso, to_iso
from reservations.policy import GpuType, Policy, parameter_name

# Hooks the tests replace: the clock (aware UTC datetimes) and the sleep between polls.
clock = model.now
sleep = time.sleep

POLL_SECONDS = 5  # GetItem while waiting
TICK_SECONDS = 1  # redraw of the live line on a terminal
SUMMARY_STALE_AFTER = timedelta(minutes=3)
RECENT = timedelta(hours=24)  # `list` shows reservations ended this recently
MIN_PREFIX = render.SHORT_ID
_FULL_ID = re.compile(messages.UUID_PATTERN)


def out(text: str = "") -> None:
    print(text, file=sys.stdout, flush=True)


def warn(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr, flush=True)


def print_json(data: Any) -> None:
    out(json.dumps(data, indent=2, sort_keys=True, default=str))


@dataclass
class Context:
    args: argparse.Namespace
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))

    @cached_property
    def config(self) -> Config:
        return Config()

    @cached_property
    def stage(self) -> str:
        return resolve_stage(getattr(self.args, "stage", None), self.config)

    @cached_property
    def region_and_source(self) -> tuple[str, str]:
        return resolve_region(getattr(self.args, "region", None), self.env, self.config)

    @property
    def region(self) -> str:
        return self.region_and_source[0]

    @cached_property
    def platform(self) -> Platform:
        return Platform(self.stage, self.region)

    @property
    def policy(self) -> Policy:
        return self.platform.policy

    def resolve(self, text: str) -> Reservation:
        """One of the caller's reservations from its full id or a unique prefix (>= 8
        characters). Records are private: nobody else's can be read (README, "Private records")."""
        text = text.strip().lower()
        platform = self.platform
        if not _FULL_ID.match(text) and len(text) < MIN_PREFIX:
            raise UsageError(
                f"give at least {MIN_PREFIX} characters of the reservation id "
                f"(`gpu-dev list` shows them), not {text!r}"
            )
        matches = platform.user_reservations(text)
        if not matches:
            which = text if _FULL_ID.match(text) else f"starting with {text}"
            raise UsageError(
                f"you ({platform.user_id}) have no reservation {which} in stage {self.stage} "
                "(`gpu-dev list --all` shows yours; a request just sent appears once the "
                "reservation processor has picked it up, usually within seconds)"
            )
        if len(matches) > 1:
            ids = ", ".join(r.reservation_id for r in matches)
            raise UsageError(
                f"{text} matches {len(matches)} of your reservations ({ids}); give more characters"
            )
        return matches[0]


# A subcommand: it reads the context and its arguments and returns the exit code.
Handler = Callable[[Context, argparse.Namespace], int]


# --- validation --------------------------------------------------------------------------------


def check_hours(value: float, option: str) -> None:
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"{option} must be a number of hours greater than 0, not {value:g}")


def validate_request(policy: Policy, gpu_type_name: str, gpu_count: int, hours: float) -> GpuType:
    """The stage's rules for a new reservation; raises :class:`UsageError` naming the limit."""
    names = [t.name for t in policy.gpu_types]
    if gpu_type_name not in names:
        offered = ", ".join(f"{t.name} ({t.gpu_model})" for t in policy.gpu_types)
        raise UsageError(f"unknown GPU type {gpu_type_name!r}; stage {policy.stage} offers: {offered}")
    gpu_type = policy.gpu_type(gpu_type_name)
    multi_node = gpu_type.multi_node_refusal(gpu_count)
    if gpu_count in policy.allowed_gpu_counts and multi_node is not None:
        raise UsageError(f"--gpus {gpu_count} is not possible for {gpu_type.name}: {multi_node}")
    allowed = policy.counts_for(gpu_type)
    if gpu_count not in allowed:
        choices = ", ".join(str(c) for c in allowed) or "none"
        largest = max(allowed, default=0)
        raise UsageError(
            f"--gpus {gpu_count} is not possible for {gpu_type.name}: choose one of {choices} "
            f"(the largest is {largest}; one {gpu_type.name} node has {gpu_type.gpus_per_node} GPUs)"
        )
    if gpu_count > policy.max_gpus_per_user:
        raise UsageError(
            f"--gpus {gpu_count} is more than the {policy.max_gpus_per_user} GPUs one user may hold"
        )
    check_hours(hours, "--hours")
    if hours > policy.max_hours:
        raise UsageError(
            f"--hours {hours:g} is more than stage {policy.stage}'s maximum of {policy.max_hours:g} hours"
        )
    return gpu_type


def ended_at(record: Reservation) -> datetime:
    for text in (record.reservation_ended, record.cancelled_at, record.expires_at, record.created_at):
        if text:
            return from_iso(text)
    raise AssertionError("created_at is required")


# --- commands ----------------------------------------------------------------------------------


def cmd_reserve(ctx: Context, args: argparse.Namespace) -> int:
    github_user = ctx.config.get("github_user")
    if not github_user:
        raise UsageError(
            "no GitHub user configured (its public SSH keys let you log in to your server); "
            "set it with: gpu-dev config set github_user YOUR_GITHUB_USERNAME"
        )
    if args.hours is not None:
        check_hours(args.hours, "--hours")
    if args.wait_minutes is not None and not (math.isfinite(args.wait_minutes) and args.wait_minutes > 0):
        raise UsageError("--wait-minutes must be greater than 0")
    policy = ctx.policy
    gpu_type_name = args.gpu_type or policy.default_gpu_type
    hours = policy.default_hours if args.hours is None else args.hours
    gpu_type = validate_request(policy, gpu_type_name, args.gpus, hours)

    platform = ctx.platform
    user_id = platform.user_id
    open_ = [r for r in platform.user_reservations() if r.status not in ENDED]
    if len(open_) >= policy.max_open_per_user:
        ids = ", ".join(render.short_id(r.reservation_id) for r in open_)
        raise UsageError(
            f"you already have {len(open_)} open reservations ({ids}); stage {policy.stage} allows "
            f"{policy.max_open_per_user}. Cancel one first: gpu-dev cancel ID"
        )

    # The CLI writes nothing: the processor creates the record from this message (and checks
    # it again: the per-user limits, the GitHub user). Until it does, the request shows as pending.
    message = messages.Reserve(
        type="reservation",
        reservation_id=str(uuid.uuid4()),
        user_id=user_id,
        github_user=github_user,
        gpu_type=gpu_type.name,
        gpu_count=args.gpus,
        duration_hours=float(hours),
        created_at=to_iso(clock()),
    )
    try:
        platform.send(message)
    except CliError as exc:
        raise CliError(f"{exc} (nothing was reserved)") from None

    sid = render.short_id(message.reservation_id)
    out(
        f"Requested {message.gpu_count} x {gpu_type.name} ({gpu_type.gpu_model}) for {hours:g} h "
        f"in stage {ctx.stage}: reservation {sid} ({message.reservation_id})."
    )
    if args.no_wait:
        out(
            "The processor picks the request up within seconds; until then it is not listed. "
            f"Follow it with: gpu-dev show {message.reservation_id}"
        )
        return 0
    return wait_for(ctx, requested(message), args.wait_minutes or 60.0)


def requested(message: messages.Reserve) -> Reservation:
    """What is shown of a request the processor has not created a record for yet: ``pending``."""
    return Reservation(
        reservation_id=message.reservation_id,
        user_id=message.user_id,
        github_user=message.github_user,
        gpu_type=message.gpu_type,
        gpu_count=message.gpu_count,
        duration_hours=message.duration_hours,
        status=Status.PENDING,
        created_at=message.created_at,
    )


def wait_for(ctx: Context, record: Reservation, minutes: float) -> int:
    """Poll the record until it is active (print the SSH command, 0), ended (print why, 1) or the
    wait times out (1). One updating line on a terminal, a line per change otherwise. Until the
    processor has created the record, ``record`` (pending) is shown as it is."""
    stream = sys.stdout
    tty = stream.isatty()
    sid = render.short_id(record.reservation_id)
    started = clock()
    deadline = started + timedelta(minutes=minutes)
    next_fetch = started
    shown: tuple[str, int | None, str | None] | None = None
    drawn = False
    seen = False  # whether the processor has created the record yet
    out(f"Waiting up to {minutes:g} min for it to start; Ctrl-C stops waiting (the reservation stays).")

    def end_line() -> None:
        nonlocal drawn
        if drawn:
            stream.write("\n")
            stream.flush()
            drawn = False

    try:
        while True:
            now = clock()
            if now >= next_fetch:
                fetched = ctx.platform.get(record.reservation_id)
                if fetched is not None:
                    record, seen = fetched, True
                elif seen:
                    end_line()
                    raise CliError(f"reservation {sid} is no longer in the table")
                next_fetch = now + timedelta(seconds=POLL_SECONDS)
            if record.status == Status.ACTIVE:
                end_line()
                expires = f" until {render.expires_text(record, now)}" if record.expires_at else ""
                out(f"Reservation {sid} is active{expires}.")
                if record.ssh_command:
                    out("Connect with:")
                    out(f"  {record.ssh_command}")
                else:
                    out(f"Connect with: gpu-dev connect {sid}")
                return 0
            if record.status in ENDED:
                end_line()
                reason = f": {record.failure_reason}" if record.failure_reason else ""
                out(f"Reservation {sid} {record.status}{reason}")
                return 1
            line = render.live_line(record, now, now - started, live=tty)
            if tty:
                width = max(20, shutil.get_terminal_size().columns - 1)
                stream.write("\r\x1b[K" + line[:width])
                stream.flush()
                drawn = True
            else:
                key = (record.status, record.queue_position, record.estimated_start)
                if key != shown:
                    out(line)
                    shown = key
            if now >= deadline and not seen:
                end_line()
                out(
                    f"The processor has not picked up request {sid} after {minutes:g} min (it may be "
                    "down, or the request waits in its queue); it is served once the processor runs. "
                    f"Follow it with `gpu-dev show {record.reservation_id}`."
                )
                return 1
            if now >= deadline:
                end_line()
                out(
                    f"Reservation {sid} is still {record.status} after {minutes:g} min; it stays "
                    f"{'in the queue' if record.status == Status.QUEUED else 'requested'}. "
                    f"Follow it with `gpu-dev show {sid}`, cancel it with `gpu-dev cancel {sid}`."
                )
                return 1
            sleep(TICK_SECONDS if tty else POLL_SECONDS)
    except KeyboardInterrupt:
        end_line()
        out(
            f"\nStopped waiting; reservation {sid} was not cancelled ({record.status}). "
            f"Follow it with `gpu-dev show {sid}`, cancel it with `gpu-dev cancel {sid}`."
        )
        return 130


def cmd_list(ctx: Context, args: argparse.Namespace) -> int:
    platform = ctx.platform
    records = platform.user_reservations()
    now = clock()
    if not args.all:
        records = [r for r in records if r.status not in ENDED or now - ended_at(r) <= RECENT]
    if args.json:
        print_json([render.record_json(r) for r in records])
        return 0
    if not records:
        scope = "" if args.all else " open or ended in the last 24 h (`gpu-dev list --all` shows older ones)"
        out(f"You ({platform.user_id}) have no reservations{scope} in stage {ctx.stage}.")
        return 0
    out(render.reservation_list(records, now))
    return 0


def cmd_show(ctx: Context, args: argparse.Namespace) -> int:
    record = ctx.resolve(args.id)
    if args.json:
        print_json(render.record_json(record))
    else:
        out(render.reservation_detail(record, clock()))
    return 0


def cmd_cancel(ctx: Context, args: argparse.Namespace) -> int:
    record = ctx.resolve(args.id)
    sid = render.short_id(record.reservation_id)
    if record.status in ENDED:
        raise UsageError(f"reservation {sid} has already ended ({record.status}); there is nothing to cancel")
    ctx.platform.send(
        messages.Cancel(type="cancellation", reservation_id=record.reservation_id, user_id=record.user_id)
    )
    out(f"Cancellation of reservation {sid} ({record.status}) requested; follow it with: gpu-dev show {sid}")
    return 0


def cmd_edit(ctx: Context, args: argparse.Namespace) -> int:
    check_hours(args.extend, "--extend")
    record = ctx.resolve(args.id)
    sid = render.short_id(record.reservation_id)
    if record.status in ENDED:
        raise UsageError(f"reservation {sid} has already ended ({record.status}); reserve a new one instead")
    if record.status not in (Status.PREPARING, Status.ACTIVE):
        raise UsageError(
            f"reservation {sid} is {record.status}; only a preparing or active reservation can be extended"
        )
    policy = ctx.policy
    total = record.duration_hours + args.extend
    if total > policy.max_hours:
        room = policy.max_hours - record.duration_hours
        more = f"at most {room:g} more hours" if room > 0 else "it is already at the limit"
        raise UsageError(
            f"extending {sid} by {args.extend:g} h would make it {total:g} h; stage {policy.stage} allows "
            f"{policy.max_hours:g} h per reservation ({more})"
        )
    ctx.platform.send(
        messages.Extend(
            type="extension",
            reservation_id=record.reservation_id,
            user_id=record.user_id,
            extend_hours=float(args.extend),
        )
    )
    if record.expires_at:
        new_end = from_iso(record.expires_at) + timedelta(hours=args.extend)
        then = f"it will expire at {new_end.strftime('%Y-%m-%d %H:%M UTC')} once applied"
    else:
        then = f"it will last {total:g} h once started"
    out(f"Extension of reservation {sid} by {args.extend:g} h requested; {then}.")
    out(f"Check it with: gpu-dev show {sid}")
    return 0


def cmd_connect(ctx: Context, args: argparse.Namespace) -> int:
    record = ctx.resolve(args.id)
    sid = render.short_id(record.reservation_id)
    if record.status != Status.ACTIVE or not record.ssh_command:
        detail = ""
        if record.status == Status.QUEUED:
            detail = f" ({render.queue_text(record, clock())})"
        elif record.failure_reason:
            detail = f" ({record.failure_reason})"
        raise CliError(f"reservation {sid} is {record.status}{detail}; it has no SSH command yet")
    size = dev_pod.gang_size(record)
    if not 0 <= args.node < size:
        raise CliError(f"--node {args.node}: reservation {sid} has nodes 0 to {size - 1}")
    command = str(dev_pod.member_ssh_command(record, args.node))
    argv = shlex.split(command)
    if not argv or argv[0] != "ssh":
        raise CliError(f"the stored connection command of {sid} is not an ssh command; not running it")
    if args.print:
        out(command)
        return 0
    sys.stdout.flush()
    try:
        os.execvp("ssh", argv)
    except OSError as exc:
        raise CliError(f"cannot run ssh: {exc.strerror or exc}") from None
    return 0  # only reached when execvp is replaced (tests)


def summary_age(summary: dict[str, Any] | None, now: datetime) -> timedelta | None:
    if not summary or not summary.get("updated_at"):
        return None
    return now - from_iso(summary["updated_at"])


def warn_stale(age: timedelta | None) -> bool:
    if age is None:
        warn("there is no capacity summary yet; the reservation processor may not be running")
        return True
    if age > SUMMARY_STALE_AFTER:
        warn(f"the capacity summary is {render.duration(age)} old; the reservation processor may be down")
        return True
    return False


def cmd_avail(ctx: Context, args: argparse.Namespace) -> int:
    policy = ctx.policy
    summary = ctx.platform.capacity_summary()
    now = clock()
    age = summary_age(summary, now)
    stale = age is None or age > SUMMARY_STALE_AFTER
    if args.json:
        types = (summary or {}).get("gpu_types", {})
        print_json(
            {
                "stage": ctx.stage,
                "updated_at": (summary or {}).get("updated_at"),
                "age_seconds": None if age is None else int(age.total_seconds()),
                "stale": stale,
                "gpu_types": {
                    t.name: {
                        "gpu_model": t.gpu_model,
                        "gpus_per_node": t.gpus_per_node,
                        "allowed_gpu_counts": policy.counts_for(t),
                        **types.get(t.name, {}),
                    }
                    for t in policy.gpu_types
                },
            }
        )
        return 0
    updated = "" if age is None else f" (updated {render.duration(age)} ago)"
    out(f"GPU capacity in stage {ctx.stage}{updated}:")
    out(render.capacity(summary, policy, now))
    warn_stale(age)
    return 0


def cmd_status(ctx: Context, args: argparse.Namespace) -> int:
    platform = ctx.platform
    settings = platform.settings
    policy = settings.policy
    # Counts come from the capacity summary: records are private, so nobody can count them.
    summary = platform.capacity_summary()
    types = (summary or {}).get("gpu_types", {})
    shown = ("queued", "holding", "free", "total")
    queues = {t.name: {key: types.get(t.name, {}).get(key) for key in shown} for t in policy.gpu_types}
    now = clock()
    age = summary_age(summary, now)
    updated_at = (summary or {}).get("updated_at")
    region, source = ctx.region_and_source
    data = {
        "stage": ctx.stage,
        "region": region,
        "region_source": source,
        "user": platform.user_id,
        "parameter": parameter_name(ctx.stage),
        "table_name": settings.table_name,
        "queue_url": settings.queue_url,
        "summary_updated_at": updated_at,
        "summary_age_seconds": None if age is None else int(age.total_seconds()),
        "summary_stale": age is None or age > SUMMARY_STALE_AFTER,
        "queues": queues,
    }
    if args.json:
        print_json(data)
        return 0
    if age is None:
        summary_text = "none yet"
    else:
        summary_text = f"updated {render.duration(age)} ago ({render.when(updated_at)})"
    rows = [
        ("Stage", ctx.stage),
        ("Region", f"{region} (from {source})"),
        ("You", platform.user_id),
        ("Table", settings.table_name),
        ("Queue", settings.queue_url),
        ("Capacity summary", summary_text),
    ]
    width = max(len(label) for label, _ in rows) + 1
    for label, value in rows:
        out(f"{label + ':':<{width}} {value}")
    out()
    out(
        render.table(
            ("TYPE", "MODEL", *(key.upper() for key in shown)),
            [
                (
                    t.name,
                    t.gpu_model,
                    *("-" if (n := queues[t.name][key]) is None else str(n) for key in shown),
                )
                for t in policy.gpu_types
            ],
        )
    )
    warn_stale(age)
    return 0


def _count(value: object) -> str:
    return "-" if value is None else str(value)


def cmd_config_get(ctx: Context, args: argparse.Namespace) -> int:
    config = ctx.config
    if args.key is None:
        values = config.effective()
        if args.json:
            print_json(values)
            return 0
        out(f"# {config.path}")
        for key, value in values.items():
            origin = "" if key in config.values else ("  (default)" if value is not None else "")
            out(f"{key} = {value if value is not None else '(not set)'}{origin}")
        return 0
    value = config.get(args.key)
    if args.json:
        print_json({args.key: value})
        return 0
    if value is None:
        print(f"{args.key} is not set; set it with: gpu-dev config set {args.key} VALUE", file=sys.stderr)
        return 1
    out(value)
    return 0


def cmd_config_set(ctx: Context, args: argparse.Namespace) -> int:
    value = ctx.config.set(args.key, args.value)
    out(f"{args.key} = {value} (saved in {ctx.config.path})")
    return 0


# --- parser ------------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def build_parser() -> argparse.ArgumentParser:
    # --stage/--region are accepted before or after the command (`gpu-dev --stage dev list`,
    # `gpu-dev list --stage dev`); after the command they override.
    stage_help = "platform stage (default: config `stage`, else prod)"
    region_help = "AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, config `region`, else us-east-2)"
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--stage", default=argparse.SUPPRESS, help=stage_help)
    common.add_argument("--region", default=argparse.SUPPRESS, help=region_help)

    parser = argparse.ArgumentParser(
        prog="gpu-dev",
        description="Reserve GPU developer servers on the GPU platform.",
        epilog="First time: gpu-dev config set github_user YOUR_GITHUB_USERNAME",
    )
    parser.add_argument("--version", action="version", version=f"gpu-dev {__version__}")
    parser.add_argument("--stage", help=stage_help)
    parser.add_argument("--region", help=region_help)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    def command(
        name: str,
        help_text: str,
        handler: Handler | None,  # None: a group whose actions have their own handlers
        *,
        json_output: bool = False,
        parents: tuple[argparse.ArgumentParser, ...] = (common,),
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text, parents=list(parents))
        sub.set_defaults(handler=handler)
        if json_output:
            sub.add_argument("--json", action="store_true", help="print machine-readable JSON only")
        return sub

    reserve = command("reserve", "reserve GPUs and wait until the server is ready", cmd_reserve)
    reserve.add_argument("--gpus", type=_positive_int, default=1, help="number of GPUs (default 1)")
    reserve.add_argument("--hours", type=_number, help="how long (default: the stage's default)")
    reserve.add_argument("--gpu-type", help="GPU type (default: the stage's; `gpu-dev avail` lists them)")
    reserve.add_argument("--no-wait", action="store_true", help="return once the request is sent")
    reserve.add_argument(
        "--wait-minutes", type=_number, default=60.0, help="give up waiting after this long (default 60)"
    )

    listing = command("list", "list your reservations, newest first", cmd_list, json_output=True)
    listing.add_argument("--all", action="store_true", help="include reservations ended more than 24 h ago")

    show = command("show", "show one reservation", cmd_show, json_output=True)
    show.add_argument("id", help="reservation id, or a unique prefix of 8+ characters")

    cancel = command("cancel", "cancel one of your reservations", cmd_cancel)
    cancel.add_argument("id", help="reservation id, or a unique prefix of 8+ characters")

    connect = command("connect", "ssh into an active reservation", cmd_connect)
    connect.add_argument("id", help="reservation id, or a unique prefix of 8+ characters")
    connect.add_argument("--print", action="store_true", help="print the ssh command instead of running it")
    connect.add_argument(
        "--node", type=int, default=0, help="which node of a multi-node reservation (0 = rank 0, the default)"
    )

    command("avail", "show free GPUs per type", cmd_avail, json_output=True)
    command("status", "show the stage, region, queues and processor health", cmd_status, json_output=True)

    edit = command("edit", "extend one of your reservations", cmd_edit)
    edit.add_argument("id", help="reservation id, or a unique prefix of 8+ characters")
    edit.add_argument("--extend", type=_number, required=True, metavar="HOURS", help="add this many hours")

    job = command("job", "submit and follow GPU jobs (the job API)", None, parents=())
    job_commands.add_commands(job, common, _positive_int)
    job.set_defaults(handler=None, config_parser=job)

    config = command("config", "read or change your settings", None, parents=())
    config_commands = config.add_subparsers(dest="config_command", metavar="ACTION", title="actions")
    keys = ", ".join(KEYS)
    get = config_commands.add_parser(
        "get", help="print a setting, or all of them", description=f"keys: {keys}"
    )
    get.add_argument("key", nargs="?", help=f"one of: {keys}")
    get.add_argument("--json", action="store_true", help="print machine-readable JSON only")
    get.set_defaults(handler=cmd_config_get)
    set_ = config_commands.add_parser("set", help="change a setting", description=f"keys: {keys}")
    set_.add_argument("key", help=f"one of: {keys}")
    set_.add_argument("value")
    set_.set_defaults(handler=cmd_config_set)
    config.set_defaults(handler=None, config_parser=config)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (argparse prints it)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    if args.handler is None:  # `gpu-dev config` or `gpu-dev job` without an action
        args.config_parser.print_help(sys.stderr)
        return 2
    try:
        handler: Handler = args.handler
        return handler(Context(args), args)
    except CliError as exc:
        print(f"gpu-dev: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("\ngpu-dev: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `gpu-dev list | head -1`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
