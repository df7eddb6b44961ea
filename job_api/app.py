"""The HTTP API (FastAPI; OpenAPI at ``/openapi.json``, Swagger UI at ``/docs``).

Handlers are plain functions run in the server's thread pool, on pooled autocommit connections;
every refusal is a JSON ``{"detail": "..."}`` with a 4xx status naming the value and the rule.
"""

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

import psycopg
from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from psycopg_pool import PoolTimeout
from pydantic import BaseModel

from job_api import auth, queue, store
from job_api.db import Database
from job_api.errors import Refused
from job_api.kube import Kube, KubeError
from job_api.models import Health, Job, JobPage, JobRequest, Name, SignedRequest, Status, Token
from job_api.settings import Environment

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[A-Za-z0-9._:-]{1,128}$",
        description="Repeat a submission safely: the same key and body return the first job.",
    ),
]


class Error(BaseModel):
    detail: str


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": Error} for code in codes}


def create_app(
    env: Environment,
    db: Database,
    kube: Kube,
    *,
    clock: Callable[[], datetime] = auth.utcnow,
) -> FastAPI:
    settings = env.settings
    # FastAPI's own /docs page makes the browser fetch Swagger UI from a public CDN; this one
    # serves the same pages (/docs, /redoc) with assets from the image (README "Job API").
    app = FastAPIOffline(
        title="GPU platform job API",
        version="1",
        description=(
            "Submit GPU jobs to the platform's Kubernetes cluster, admitted by Kueue. Sign in with "
            "`POST /v1/auth/token` (a signed sts:GetCallerIdentity), then send the key as a bearer token."
        ),
    )
    bearer = HTTPBearer(auto_error=False)

    @app.exception_handler(Refused)
    def _refused(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Refused)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=headers)

    @app.exception_handler(PoolTimeout)
    @app.exception_handler(psycopg.OperationalError)
    def _database(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": f"the database is unavailable: {exc}"}, status_code=503)

    @app.exception_handler(KubeError)
    def _kube(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": f"the Kubernetes API failed: {exc}"}, status_code=502)

    def caller(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
        if credentials is None:
            raise Refused(
                401, "no API key: send `Authorization: Bearer <key>` (gpu-dev job signs in for you)"
            )
        key = credentials.credentials
        if not key.startswith(store.KEY_PREFIX) or len(key) > 128:
            raise Refused(401, "that is not an API key of this service; sign in again")
        with db.connection() as conn:
            principal = store.principal_for_key(conn, key)
        if principal is None:
            raise Refused(401, "the API key is unknown or expired; sign in again")
        return principal

    Caller = Annotated[str, Depends(caller)]

    @app.post(
        "/v1/auth/token",
        status_code=201,
        response_model=Token,
        responses=_errors(400, 401, 403, 502),
        tags=["auth"],
    )
    def sign_in(signed: SignedRequest) -> Token:
        """Exchange a SigV4-signed sts:GetCallerIdentity request for an API key."""
        call = auth.check_request(
            signed.method,
            signed.url,
            signed.headers,
            signed.body,
            endpoint=env.sts_endpoint,
            region=settings.region,
            now=clock(),
        )
        with db.connection() as conn:
            if not store.claim_signature(conn, call.signature, call.signed_at + auth.MAX_AGE):
                raise Refused(401, "this signed request was already used: sign a new one")
        principal = auth.forward(call)
        if not auth.allowed(principal, settings.allowed_principal_arns):
            raise Refused(
                403,
                f"{principal} may not use the job API of stage {settings.stage}; allowed: "
                f"{', '.join(settings.allowed_principal_arns)} (and their assumed-role sessions)",
            )
        with db.connection() as conn:
            key, expires = store.create_key(conn, principal, timedelta(minutes=settings.key_ttl_minutes))
        return Token(api_key=key, principal=principal, expires_at=expires)

    @app.post(
        "/v1/jobs",
        status_code=201,
        response_model=Job,
        responses={
            200: {"model": Job, "description": "An idempotent repeat"},
            **_errors(400, 401, 403, 409, 429),
        },
        tags=["jobs"],
    )
    def submit(request: JobRequest, owner: Caller, idempotency_key: IdempotencyKey = None) -> Any:
        with db.connection() as conn:
            job, created = store.submit(conn, owner, request, settings, idempotency_key)
        if created:
            return job
        return JSONResponse(job.model_dump(mode="json"), status_code=200)

    @app.get("/v1/jobs", response_model=JobPage, responses=_errors(400, 401), tags=["jobs"])
    def list_jobs(
        owner: Caller,
        status: Annotated[list[Status] | None, Query(description="Only jobs in these states")] = None,
        team: Annotated[Name | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Query(max_length=256, pattern=r"^[A-Za-z0-9_=-]+$")] = None,
    ) -> JobPage:
        """Your jobs, newest first."""
        with db.connection() as conn:
            jobs, next_cursor = store.list_jobs(
                conn, owner, statuses=status or [], team=team, limit=limit, cursor=cursor
            )
        return JobPage(jobs=jobs, next_cursor=next_cursor)

    @app.get("/v1/jobs/{job_id}", response_model=Job, responses=_errors(401, 404), tags=["jobs"])
    def show(job_id: UUID, owner: Caller) -> Job:
        with db.connection() as conn:
            return store.get(conn, owner, job_id)

    @app.delete(
        "/v1/jobs/{job_id}",
        status_code=202,
        response_model=Job,
        responses=_errors(401, 404, 409),
        tags=["jobs"],
    )
    def cancel(job_id: UUID, owner: Caller) -> Job:
        """Cancel: a queued job ends at once; a dispatched one when the dispatcher deletes its Job."""
        with db.connection() as conn:
            return store.cancel(conn, owner, job_id)

    @app.get(
        "/v1/jobs/{job_id}/logs",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/plain": {}}}, **_errors(401, 404, 409, 502)},
        tags=["jobs"],
    )
    def logs(
        job_id: UUID,
        owner: Caller,
        follow: bool = False,
        tail_lines: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    ) -> StreamingResponse:
        """The job's pod log, streamed (``follow=true`` keeps it open while the pod runs)."""
        with db.connection() as conn:
            job = store.get(conn, owner, job_id)
        if job.status == Status.queued or job.dispatched_at is None:
            raise Refused(409, f"job {job_id} is {job.status.value}: it has no pod, so no log")
        pod = kube.job_pod(job.namespace, job.kubernetes_job)
        if pod is None:
            raise Refused(
                409, f"job {job_id} has no pod yet (Kueue has not admitted it, or its Job was removed)"
            )
        chunks = kube.logs(job.namespace, pod, follow=follow, tail_lines=tail_lines)
        first = next(chunks, b"")  # a failure to open the stream is a 502, not a cut-off 200

        def body() -> Iterator[bytes]:
            yield first
            yield from chunks

        return StreamingResponse(body(), media_type="text/plain; charset=utf-8")

    @app.get("/health", response_model=Health, responses={503: {"model": Health}}, tags=["operations"])
    def health() -> Any:
        parts = {"database": "ok", "queue": "ok", "kubernetes": "ok"}
        try:
            with db.connection(timeout=3) as conn:
                conn.execute("SELECT 1")
                try:
                    queue.depth(conn)
                except psycopg.Error as exc:
                    parts["queue"] = f"unavailable: {exc}"
        except (psycopg.Error, PoolTimeout) as exc:
            parts["database"] = parts["queue"] = f"unavailable: {exc}"
        try:
            kube.ping(next(iter(settings.teams.values())).namespace)
        except KubeError as exc:
            parts["kubernetes"] = f"unavailable: {exc}"
        healthy = all(value == "ok" for value in parts.values())
        body = {"status": "ok" if healthy else "unavailable", **parts}
        return JSONResponse(body, status_code=200 if healthy else 503)

    return app
