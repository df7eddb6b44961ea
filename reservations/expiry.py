"""The expiry pass (seed 002's ``reservation_expiry`` Lambda, every 5 minutes).

* The active reservations are those the GPU ledgers hold, read consistently (never from an
  index, which may still show an ended reservation active or miss a new one).
* Warnings: for each active reservation, every threshold of ``policy.warning_minutes`` that has
  been reached and is not yet in ``warnings_sent`` is due. The warning is first written as the
  pod annotation ``gpu-dev.gpuplatform.io/warning`` (idempotent: the same text twice is the
  same state; the dev pod's login script shows it), THEN recorded in ``warnings_sent`` with a
  write conditional on the version read -- so each threshold is recorded exactly once even
  when passes overlap. Thresholds reached together (a pass missed, an extension re-armed them)
  are recorded together and shown as one warning. If the annotation cannot be written because
  Kubernetes is unavailable, nothing is recorded and the next pass tries again.
* Expiry: after ``expires_at + grace_minutes`` an active reservation becomes ``expired``
  (``reservation_ended`` set, ``cleanup_pending`` set in the same write), then its pods,
  services and (a gang's) NetworkPolicy are deleted; the home PVC is kept (it is the user's
  home). A pod that had already vanished changes nothing: the deletes answer 404, which is
  success.
* Stale queue: ``queued`` requests created more than ``max_queue_hours`` ago are cancelled with
  a reason (a key condition on ``StatusIndex``, so only those are read).
* Dead letters: every Reserve in the DLQ without a record gets a ``failed`` one
  (:mod:`reservations.dead_letters`; the messages stay in the DLQ).
* Sweep: every pod, service and NetworkPolicy labelled as a reservation's whose record has ended
  (or does not exist) is deleted, and the record's ``cleanup_pending`` cleared. This retries
  every cleanup that failed before (Kubernetes down when the reservation ended) and catches an
  object created after a cancel that raced with its creation.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from . import dead_letters, dev_pod
from .deadline import Deadline
from .kube import KubeError, KubeUnavailable, Resource
from .model import ENDED, Reservation, Status, from_iso, to_iso
from .processor import OWNED, Runtime, cleanup, end
from .store import StaleRecord

log = logging.getLogger("reservation-expiry")


@dataclass
class ExpiryReport:
    warned: dict[str, list[int]] = field(default_factory=dict)
    expired: list[str] = field(default_factory=list)
    cancelled_stale: list[str] = field(default_factory=list)
    swept: list[str] = field(default_factory=list)
    dead_letters: list[str] = field(default_factory=list)
    kube_errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "warned": len(self.warned),
            "expired": len(self.expired),
            "cancelled_stale": len(self.cancelled_stale),
            "swept": len(self.swept),
            "dead_letters": len(self.dead_letters),
            "kube_errors": self.kube_errors[:5],
        }


def handle(event: dict[str, Any], runtime: Runtime, context: object | None = None) -> dict[str, Any]:
    report = run(runtime.for_invocation(Deadline.of(context, reserve=runtime.reserve_seconds)))
    log.info("expiry pass: %s", json.dumps(report.as_dict()))
    return report.as_dict()


def run(runtime: Runtime) -> ExpiryReport:
    report = ExpiryReport()
    now = runtime.clock()
    policy = runtime.policy
    grace = timedelta(minutes=policy.grace_minutes)
    ledgers = runtime.store.ledgers([t.name for t in policy.gpu_types])
    held = runtime.store.get_many([rid for ledger in ledgers.values() for rid in ledger.holds])
    for record in sorted(held.values(), key=lambda r: r.reservation_id):
        if record.status != Status.ACTIVE or not record.expires_at:
            continue
        expires = from_iso(record.expires_at)
        try:
            if now >= expires + grace:
                end(runtime, record, Status.EXPIRED)
                report.expired.append(record.reservation_id)
            else:
                _warn(runtime, record, now, report)
        except StaleRecord:
            log.info("%s changed during the expiry pass; next pass decides", record.reservation_id)
    cutoff = to_iso(now - timedelta(hours=policy.max_queue_hours))
    for record in runtime.store.by_status(Status.QUEUED, created_before=cutoff):
        reason = f"still queued after {policy.max_queue_hours:g} hours; cancelled as stale, reserve again"
        try:
            end(runtime, record, Status.CANCELLED, reason=reason, cancelled=True)
            report.cancelled_stale.append(record.reservation_id)
        except StaleRecord:
            pass
    if runtime.dead_letter_queue is not None:
        report.dead_letters = dead_letters.sweep(runtime.store, runtime.dead_letter_queue, to_iso(now))
    sweep(runtime, report)
    return report


def warning_text(record: Reservation, minutes_left: int) -> str:
    short = record.reservation_id[:8]
    return (
        f"GPU reservation {short} expires at {record.expires_at} (in about {minutes_left} min). "
        f"Save your work to /home/dev or /workspace; extend with: gpu-dev edit {short} --extend HOURS"
    )


def _warn(runtime: Runtime, record: Reservation, now: datetime, report: ExpiryReport) -> None:
    if record.expires_at is None:  # active records carry their end; this one is corrupt
        raise ValueError(f"{record.reservation_id}: an active reservation without expires_at")
    expires = from_iso(record.expires_at)
    left = expires - now
    sent = set(record.warnings_sent)
    due = sorted(w for w in runtime.policy.warning_minutes if left <= timedelta(minutes=w) and w not in sent)
    if not due:
        return
    minutes_left = max(0, math.ceil(left.total_seconds() / 60))
    try:
        for name in dev_pod.pod_names(record):  # every pod of a gang
            runtime.kube.patch_pod_annotations(
                runtime.policy.namespace,
                name,
                {dev_pod.WARNING_ANNOTATION: warning_text(record, minutes_left)},
            )
    except KubeUnavailable as exc:
        report.kube_errors.append(str(exc))
        return
    except KubeError as exc:  # refused (not transient): record it anyway, it would never pass
        report.kube_errors.append(str(exc))
    runtime.store.update(record, warnings_sent=sorted(set(record.warnings_sent) | set(due)))
    report.warned[record.reservation_id] = due


def sweep(runtime: Runtime, report: ExpiryReport) -> None:
    namespace = runtime.policy.namespace
    try:
        found = {
            resource: runtime.kube.list_labelled(resource, namespace, dev_pod.selector())
            for resource in OWNED
        }
    except KubeError as exc:
        report.kube_errors.append(str(exc))
        return
    owners: dict[str, list[tuple[Resource, str]]] = {}
    for resource, items in found.items():
        for item in items:
            metadata = item.get("metadata", {})
            reservation_id = (metadata.get("labels") or {}).get(dev_pod.RESERVATION_LABEL)
            if reservation_id:
                owners.setdefault(reservation_id, []).append((resource, metadata["name"]))
    if not owners:
        return
    records = runtime.store.get_many(list(owners))
    for reservation_id, objects in sorted(owners.items()):
        record = records.get(reservation_id)
        if record is not None and record.status not in ENDED:
            continue
        try:
            for resource, name in objects:
                runtime.kube.delete(resource, namespace, name)
        except KubeError as exc:
            report.kube_errors.append(str(exc))
            continue
        report.swept.append(reservation_id)
        if record is not None and record.cleanup_pending:
            cleanup(runtime, record)
