"""The records: API keys, used sign-in signatures, jobs. Every function takes the caller's
connection, so a caller decides what shares a transaction (a submission's record and its queue
message always do)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg

from job_api import queue
from job_api.errors import Refused
from job_api.manifests import job_name
from job_api.models import ACTIVE, Job, JobRequest, Status
from job_api.settings import ServiceSettings

KEY_PREFIX = "gpk_"
COLUMNS = (
    "id, owner, team, namespace, pool, gpus, spec, status, reason, attempts, cancel_requested, "
    "created_at, updated_at, dispatched_at, finished_at"
)
ACTIVE_SQL = "('queued', 'dispatched', 'running')"


def to_job(row: tuple[Any, ...]) -> Job:
    fields = dict(zip([c.strip() for c in COLUMNS.split(",")], row, strict=True))
    spec = fields.pop("spec")
    return Job(**fields, request=JobRequest.model_validate(spec), kubernetes_job=job_name(str(fields["id"])))


# --- sign-in ------------------------------------------------------------------------------------


def claim_signature(conn: psycopg.Connection, signature: str, expires_at: datetime) -> bool:
    """Record a sign-in signature; False when it was used before (a replay)."""
    conn.execute("DELETE FROM job_api_used_signatures WHERE expires_at < now()")
    row = conn.execute(
        "INSERT INTO job_api_used_signatures (signature, expires_at) VALUES (%s, %s) "
        "ON CONFLICT DO NOTHING RETURNING 1",
        (signature, expires_at),
    ).fetchone()
    return row is not None


def _hash(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def create_key(conn: psycopg.Connection, principal: str, ttl: timedelta) -> tuple[str, datetime]:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    conn.execute("DELETE FROM job_api_keys WHERE expires_at < now() - interval '1 day'")
    row = conn.execute(
        "INSERT INTO job_api_keys (key_hash, principal_arn, expires_at) VALUES (%s, %s, now() + %s) "
        "RETURNING expires_at",
        (_hash(key), principal, ttl),
    ).fetchone()
    assert row is not None
    return key, row[0]


def principal_for_key(conn: psycopg.Connection, key: str) -> str | None:
    row = conn.execute(
        "SELECT principal_arn FROM job_api_keys WHERE key_hash = %s AND expires_at > now()", (_hash(key),)
    ).fetchone()
    return None if row is None else str(row[0])


# --- submission -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    team: str
    namespace: str
    pool: str
    max_runtime_minutes: int


def registry_of(image: str) -> str:
    """The registry host of an image reference (Docker's rule: the first path component if it
    has a dot or a port or is localhost, else Docker Hub)."""
    first, sep, _ = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def place(request: JobRequest, owner: str, settings: ServiceSettings) -> Placement:
    """The stage's rules for a submission; raises :class:`Refused` naming the rule."""
    from job_api.auth import allowed

    registry = registry_of(request.image)
    if registry not in settings.allowed_registries:
        raise Refused(
            400,
            f"image {request.image!r} is from registry {registry}; stage {settings.stage} allows only "
            f"{', '.join(settings.allowed_registries)}",
        )
    team = settings.teams.get(request.team)
    if team is None:
        raise Refused(
            400, f"team {request.team!r} does not exist; teams: {', '.join(sorted(settings.teams))}"
        )
    if not allowed(owner, team.members):
        raise Refused(403, f"{owner} is not a member of team {request.team!r}")
    if (request.pool is None) == (request.gpu_type is None):
        raise Refused(400, "give exactly one of pool and gpu_type")
    found = settings.pool_for(pool=request.pool, gpu_type=request.gpu_type)
    offered = ", ".join(f"{name} ({p.gpu_type})" for name, p in sorted(settings.pools.items()))
    if not found:
        what = f"pool {request.pool!r}" if request.pool else f"GPU type {request.gpu_type!r}"
        raise Refused(400, f"{what} is not offered; pools: {offered}")
    if len(found) > 1:
        names = ", ".join(name for name, _ in found)
        raise Refused(400, f"GPU type {request.gpu_type!r} is offered by pools {names}; give pool instead")
    ((pool_name, pool),) = found
    if request.gpus > pool.gpus_per_node:
        raise Refused(
            400,
            f"gpus {request.gpus} is more than one {pool_name} node has ({pool.gpus_per_node}); "
            "a job runs on one node",
        )
    runtime = request.max_runtime_minutes or settings.max_runtime_minutes
    if runtime > settings.max_runtime_minutes:
        raise Refused(
            400,
            f"max_runtime_minutes {runtime} is more than stage {settings.stage}'s maximum of "
            f"{settings.max_runtime_minutes}",
        )
    return Placement(request.team, team.namespace, pool_name, runtime)


def request_hash(request: JobRequest) -> str:
    return hashlib.sha256(request.model_dump_json().encode()).hexdigest()


def submit(
    conn: psycopg.Connection,
    owner: str,
    request: JobRequest,
    settings: ServiceSettings,
    idempotency_key: str | None,
) -> tuple[Job, bool]:
    """Record and queue a job in one transaction; (job, created). A retry with the same
    idempotency key and the same request returns the first job; with another request, 409."""
    placement = place(request, owner, settings)
    digest = request_hash(request)
    spec = request.model_dump(mode="json") | {"max_runtime_minutes": placement.max_runtime_minutes}
    with conn.transaction():
        # One submitter and one team at a time, so two concurrent submissions cannot both pass a
        # limit (always in this order: no deadlock).
        conn.execute("SELECT pg_advisory_xact_lock(1, hashtext(%s))", (owner,))
        conn.execute("SELECT pg_advisory_xact_lock(2, hashtext(%s))", (placement.team,))
        if idempotency_key is not None:
            row = conn.execute(
                f"SELECT {COLUMNS}, request_hash FROM job_api_jobs WHERE owner = %s AND idempotency_key = %s",
                (owner, idempotency_key),
            ).fetchone()
            if row is not None:
                if row[-1] != digest:
                    raise Refused(
                        409,
                        f"idempotency key {idempotency_key!r} was used for another request (job {row[0]}); "
                        "use a new key for a different job",
                    )
                return to_job(row[:-1]), False
        _check_limits(conn, owner, placement, request.gpus, settings)
        job_id = uuid.uuid4()
        row = conn.execute(
            f"INSERT INTO job_api_jobs (id, owner, team, namespace, pool, gpus, spec, idempotency_key, "
            f"request_hash, status) VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, 'queued') "
            f"RETURNING {COLUMNS}",
            (
                job_id,
                owner,
                placement.team,
                placement.namespace,
                placement.pool,
                request.gpus,
                json.dumps(spec),
                idempotency_key,
                digest,
            ),
        ).fetchone()
        assert row is not None
        queue.send(conn, {"job_id": str(job_id)})
    return to_job(row), True


def _check_limits(
    conn: psycopg.Connection, owner: str, placement: Placement, gpus: int, settings: ServiceSettings
) -> None:
    row = conn.execute(
        "SELECT count(*), coalesce(sum(gpus), 0) FROM job_api_jobs "
        f"WHERE owner = %s AND status IN {ACTIVE_SQL}",
        (owner,),
    ).fetchone()
    assert row is not None
    jobs, held = int(row[0]), int(row[1])
    limits = settings.limits
    if jobs + 1 > limits.max_active_jobs_per_user:
        raise Refused(
            429,
            f"you have {jobs} active jobs; stage {settings.stage} allows {limits.max_active_jobs_per_user} "
            "per user: wait for one to finish or cancel one",
        )
    if held + gpus > limits.max_active_gpus_per_user:
        raise Refused(
            429,
            f"your active jobs hold {held} GPUs; {gpus} more would exceed the "
            f"{limits.max_active_gpus_per_user} "
            f"GPUs per user of stage {settings.stage}",
        )
    row = conn.execute(
        f"SELECT coalesce(sum(gpus), 0) FROM job_api_jobs WHERE team = %s AND status IN {ACTIVE_SQL}",
        (placement.team,),
    ).fetchone()
    assert row is not None
    team_max = settings.teams[placement.team].max_active_gpus
    if int(row[0]) + gpus > team_max:
        raise Refused(
            429,
            f"team {placement.team}'s active jobs hold {row[0]} GPUs; {gpus} more would exceed its "
            f"limit of {team_max}",
        )


# --- reading and cancelling ---------------------------------------------------------------------


def get(conn: psycopg.Connection, owner: str, job_id: uuid.UUID) -> Job:
    row = conn.execute(f"SELECT {COLUMNS} FROM job_api_jobs WHERE id = %s", (job_id,)).fetchone()
    if row is None or row[1] != owner:  # someone else's job is as absent as a missing one
        raise Refused(404, f"there is no job {job_id} of yours")
    return to_job(row)


def encode_cursor(job: Job) -> str:
    return base64.urlsafe_b64encode(f"{job.created_at.isoformat()}|{job.id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        created, _, job_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(created), uuid.UUID(job_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Refused(400, "cursor is not one this API returned (pass next_cursor as it is)") from None


def list_jobs(
    conn: psycopg.Connection,
    owner: str,
    *,
    statuses: list[Status],
    team: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Job], str | None]:
    where, params = ["owner = %s"], [owner]
    if statuses:
        where.append("status = ANY(%s)")
        params.append([s.value for s in statuses])  # type: ignore[arg-type]
    if team:
        where.append("team = %s")
        params.append(team)
    if cursor:
        created, job_id = decode_cursor(cursor)
        where.append("(created_at, id) < (%s, %s)")
        params.extend([created, job_id])  # type: ignore[list-item]
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM job_api_jobs WHERE {' AND '.join(where)} "
        "ORDER BY created_at DESC, id DESC LIMIT %s",
        [*params, limit + 1],
    ).fetchall()
    jobs = [to_job(row) for row in rows[:limit]]
    return jobs, (encode_cursor(jobs[-1]) if len(rows) > limit else None)


def cancel(conn: psycopg.Connection, owner: str, job_id: uuid.UUID) -> Job:
    """A queued job is cancelled at once (the dispatcher will skip its message); a dispatched or
    running one is marked, and the dispatcher deletes its Kubernetes Job and records the end."""
    with conn.transaction():
        job = get(conn, owner, job_id)
        if job.status not in ACTIVE:
            raise Refused(409, f"job {job_id} has already ended ({job.status.value})")
        row = conn.execute(
            "UPDATE job_api_jobs SET cancel_requested = true, updated_at = now(), "
            "status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END, "
            "reason = CASE WHEN status = 'queued' THEN 'cancelled by its owner before dispatch' "
            "ELSE reason END, "
            "finished_at = CASE WHEN status = 'queued' THEN now() ELSE finished_at END "
            f"WHERE id = %s RETURNING {COLUMNS}",
            (job_id,),
        ).fetchone()
        assert row is not None
        return to_job(row)
