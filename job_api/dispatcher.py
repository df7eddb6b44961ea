"""The dispatcher: turns queued submissions into Kueue-admitted Kubernetes Jobs and writes their
end back. Several replicas may run: PGMQ hands a message to one reader at a time, a job's record
is locked while its Job is created, and reconciliation takes rows with SKIP LOCKED.

A pass has two halves:

* **dispatch** -- read up to ``batch`` messages (hidden for ``visibility_seconds``). For each:
  lock the job's record; a job no longer queued (cancelled) just has its message archived;
  otherwise create its Job (a 409 means a previous delivery already did: the Job with this
  job's id label is adopted, never duplicated), mark the record ``dispatched`` and archive the
  message, all in one transaction. A failure leaves the message to reappear; after
  ``max_attempts`` deliveries it goes to the dead-letter queue and the record says why.
* **reconcile** -- for every dispatched or running job: a cancel request deletes its Job; a Job
  that completed or failed ends the record with Kubernetes' reason; a Job that vanished fails it.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from job_api import queue
from job_api.db import Database
from job_api.kube import Kube, KubeError
from job_api.manifests import JOB_ID_LABEL, job_name, render_job
from job_api.settings import ServiceSettings

log = logging.getLogger("job_api.dispatcher")
ALIVE_FILE = Path("/tmp/dispatcher-alive")


@dataclass
class Dispatcher:
    db: Database
    kube: Kube
    settings: ServiceSettings
    visibility_seconds: int = 60
    max_attempts: int = 5
    batch: int = 20
    alive_file: Path | None = ALIVE_FILE
    counts: dict[str, int] = field(default_factory=dict)

    def _count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    # -- dispatch ---------------------------------------------------------------------------------

    def dispatch(self) -> int:
        """One read of the queue; returns how many messages were read."""
        with self.db.connection() as conn:
            messages = queue.read(conn, self.visibility_seconds, self.batch)
            for message in messages:
                self._handle(conn, message)
        return len(messages)

    def _handle(self, conn: psycopg.Connection, message: queue.Message) -> None:
        try:
            job_id = uuid.UUID(str(message.body.get("job_id")))
        except ValueError as exc:  # not a job id: nothing will ever make it work
            queue.dead_letter(conn, message, f"malformed message: {exc}")
            self._count("dead_lettered")
            return
        try:
            with conn.transaction():
                row = conn.execute(
                    "SELECT id, team, pool, gpus, spec, status FROM job_api_jobs WHERE id = %s FOR UPDATE",
                    (job_id,),
                ).fetchone()
                if row is None or row[5] != "queued":
                    queue.archive(conn, message.msg_id)  # cancelled, or already dispatched
                    self._count("skipped")
                    return
                job = {"id": row[0], "team": row[1], "pool": row[2], "gpus": row[3], "spec": row[4]}
                if message.read_ct > self.max_attempts:
                    self._dead_letter(conn, message, job)
                    return
                conn.execute(
                    "UPDATE job_api_jobs SET attempts = %s, updated_at = now() WHERE id = %s",
                    (message.read_ct, row[0]),
                )
                self._create(render_job(job, self.settings))
                conn.execute(
                    "UPDATE job_api_jobs SET status = 'dispatched', dispatched_at = now(), "
                    "updated_at = now(), reason = NULL WHERE id = %s",
                    (row[0],),
                )
                queue.archive(conn, message.msg_id)
                self._count("dispatched")
        except (KubeError, KeyError) as exc:
            # The message reappears after its visibility timeout; the record keeps the reason (a
            # KeyError: the stage's settings no longer have the job's team or pool).
            log.warning("job %s: delivery %d failed: %s", job_id, message.read_ct, exc)
            self._count("failed_attempts")
            conn.execute(
                "UPDATE job_api_jobs SET reason = %s, attempts = %s, updated_at = now() WHERE id = %s",
                (f"dispatch attempt {message.read_ct} failed: {exc}", message.read_ct, job_id),
            )

    def _create(self, body: dict[str, Any]) -> None:
        try:
            self.kube.create_job(body)
        except KubeError as exc:
            if exc.status != 409:
                raise
            meta = body["metadata"]
            existing = self.kube.read_job(meta["namespace"], meta["name"])
            owner = (existing or {}).get("metadata", {}).get("labels", {}).get(JOB_ID_LABEL)
            if owner != meta["labels"][JOB_ID_LABEL]:
                raise KubeError(409, f"Job {meta['name']} exists and belongs to job {owner}") from None
            self._count("adopted")  # a redelivery: the first delivery created it

    def _dead_letter(self, conn: psycopg.Connection, message: queue.Message, job: dict[str, Any]) -> None:
        last = conn.execute("SELECT reason FROM job_api_jobs WHERE id = %s", (job["id"],)).fetchone()
        reason = (
            f"not dispatched after {self.max_attempts} attempts; last error: {(last or [None])[0] or 'none'}"
        )
        conn.execute(
            "UPDATE job_api_jobs SET status = 'dead_lettered', reason = %s, finished_at = now(), "
            "updated_at = now() WHERE id = %s",
            (reason, job["id"]),
        )
        queue.dead_letter(conn, message, reason)
        self._count("dead_lettered")

    # -- reconcile --------------------------------------------------------------------------------

    def reconcile(self) -> None:
        with self.db.connection() as conn, conn.transaction():
            rows = conn.execute(
                "SELECT id, namespace, status, cancel_requested FROM job_api_jobs "
                "WHERE status IN ('dispatched', 'running') ORDER BY dispatched_at LIMIT 500 "
                "FOR UPDATE SKIP LOCKED"
            ).fetchall()
            if not rows:
                return
            present: dict[str, dict[str, Any]] = {}
            for namespace in sorted({row[1] for row in rows}):
                for item in self.kube.managed_jobs(namespace):
                    present[item["metadata"].get("labels", {}).get(JOB_ID_LABEL, "")] = item
            for job_id, namespace, status, cancel in rows:
                k8s = present.get(str(job_id))
                if cancel:
                    self.kube.delete_job(namespace, job_name(str(job_id)))
                    self._end(conn, job_id, "cancelled", "cancelled by its owner")
                elif k8s is None:
                    self._end(
                        conn, job_id, "failed", "its Kubernetes Job disappeared (deleted outside the API)"
                    )
                else:
                    self._observe(conn, job_id, status, k8s)

    def _observe(self, conn: psycopg.Connection, job_id: uuid.UUID, status: str, k8s: dict[str, Any]) -> None:
        k8s_status = k8s.get("status") or {}
        for condition in k8s_status.get("conditions") or []:
            if condition.get("status") != "True":
                continue
            if condition.get("type") == "Complete":
                self._end(conn, job_id, "succeeded", None)
                return
            if condition.get("type") == "Failed":
                why = ": ".join(filter(None, [condition.get("reason"), condition.get("message")]))
                self._end(conn, job_id, "failed", why or "the Job failed")
                return
        started = not (k8s.get("spec") or {}).get("suspend") and (
            k8s_status.get("active") or k8s_status.get("ready")
        )
        if started and status == "dispatched":
            conn.execute(
                "UPDATE job_api_jobs SET status = 'running', updated_at = now() WHERE id = %s", (job_id,)
            )
            self._count("running")

    def _end(self, conn: psycopg.Connection, job_id: uuid.UUID, status: str, reason: str | None) -> None:
        conn.execute(
            "UPDATE job_api_jobs SET status = %s, reason = %s, finished_at = now(), updated_at = now() "
            "WHERE id = %s",
            (status, reason, job_id),
        )
        self._count(status)

    # -- loop -------------------------------------------------------------------------------------

    def run_once(self) -> int:
        read = self.dispatch()
        self.reconcile()
        if self.alive_file is not None:
            self.alive_file.touch()
        return read

    def run_forever(self, idle_seconds: float = 1.0) -> None:
        while True:
            if self.run_once() == 0:
                time.sleep(idle_seconds)
