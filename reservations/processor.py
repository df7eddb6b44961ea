"""The reservation processor (seed 002's ``reservation_processor`` Lambda): applies the CLI's
SQS messages and, once a minute and after every batch, runs one scheduling pass.

Messages (at-least-once, unordered; every one is safe to apply twice)
  * ``reservation``: creates the record, already ACCEPTED: ``queued``, or ``failed`` with the
    reason when the user already has ``max_open_per_user`` reservations open or the GitHub user
    is invalid -- one conditional put, so a duplicate delivery finds the record and does
    nothing. The CLI writes no record (developers may only read the table), so no record is
    ever ``pending``: a request whose message never arrives has no record at all.
  * ``cancellation``: any open record -> ``cancelled`` (+ cleanup of its pod and service);
    an ended record is left as it is (and its cleanup retried if pending).
  * ``extension``: only a ``preparing`` or ``active`` reservation, and only while its total
    duration stays within ``max_hours``; warnings for thresholds not yet reached are re-armed.
    A refused extension is recorded in ``extension_refusal``; the SQS message id is recorded
    in ``applied_messages`` so a redelivered message extends once.
  A message that cannot be parsed, names an unknown type, or raised while applied is reported
  in ``batchItemFailures`` (SQS redelivers it, then moves it to the DLQ); the rest of its
  batch is still applied. A message naming a reservation that does not exist or belongs to
  another user is logged and dropped (redelivery cannot fix it).

Nothing lost in a brown-out (Lambda stops a function at its timeout, and an SQS batch whose
invocation was stopped comes back whole)
  * A batch applies its Reserves first: each is a record created in a couple of DynamoDB calls,
    before any Kubernetes work of the batch.
  * Kubernetes work is time-boxed by the invocation's remaining time (:mod:`.deadline`,
    ``context.get_remaining_time_in_millis``): a call's timeout is cut to fit, and after the
    first failure the invocation makes no more calls. A cancel is done once its record has
    ended; the removal of its pod and service is retried by the next pass if it did not fit.
  * A message that no longer fits the deadline is not started; it alone is reported in
    ``batchItemFailures`` (ReportBatchItemFailures), with every message that failed.
  * The pass after a batch runs only when enough time is left (the minute's pass runs anyway).
  * A Reserve that fails on its last receive (``ApproximateReceiveCount`` reaching the queue's
    ``maxReceiveCount``, after which SQS moves it to the DLQ) leaves a ``failed`` record that
    says why, so the developer sees the request failed instead of waiting for nothing.

The scheduling pass (only under the scheduling lease, see :mod:`reservations.store`)
  1. reads the GPU ledgers and the records they hold, with consistent reads (never an index:
     see :mod:`reservations.store`), and settles each holder: ``preparing`` with its pod
     Ready -> ``active`` with the SSH command; pod missing -> its objects are (re)created (a
     creation that failed earlier is retried here, so a reservation is never lost); pod
     Failed, or not Ready within ``ready_timeout_minutes`` -> ``failed`` with the pod's
     reason; an ended holder's objects (:func:`owned_objects`: pods, services, a gang's
     NetworkPolicy) are deleted and, once all are confirmed gone, its hold is released from
     the ledger;
  2. reads the GPU nodes (capacity from the cluster) and the queue (``queued`` records, FIFO,
     found through ``StatusIndex``: an index only FINDS candidates, every start is a write
     conditional on the record and the ledger), calls :func:`scheduler.plan` with the
     ledger's holds as the allocations, and applies it: refusals -> ``failed``; starts ->
     ``preparing`` and the hold in the ledger (one transaction, conditional on the record's
     version, the ledger's version and the lease) THEN PVC, Service, Pod; forecasts -> the
     queue positions and ETAs (:mod:`reservations.forecast`);
  3. writes the capacity summary item (:func:`capacity_summary`).
  A pass that cannot take the lease (another pass holds it) applies its messages and returns:
  the holder, or the next minute's pass, schedules them. Kubernetes being unavailable (5xx,
  timeouts, or no time left) stops the invocation's Kubernetes work at the first failure;
  records keep their state and the next pass retries.

Kubernetes RBAC this needs (granted by the CDK stack, ``k8s_charts/reservations_access.py``): in
``policy.namespace`` pods, services, persistentvolumeclaims get/list/watch/create/delete/patch,
networkpolicies (a gang's peers policy) create/delete/list; cluster-wide nodes get/list.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TypeGuard

from . import dead_letters, dev_pod, forecast, messages, scheduler
from .deadline import RESERVE_SECONDS, Deadline
from .kube import GpuNode, KubeError, KubeGateway, KubeUnavailable, Resource
from .model import ENDED, Reservation, Status, from_iso, to_iso
from .model import now as utc_now
from .policy import Policy
from .store import Hold, Lease, LeaseLost, Ledger, LedgerMoved, ReservationStore, StaleRecord

log = logging.getLogger("reservation-processor")

RETRIES = 3  # re-reads after a lost race before a message is handed back to SQS
HELD_UNTIL_ENDED = timedelta(minutes=1)  # an active record past its end still holds GPUs
MAX_APPLIED_MESSAGES = 20
# What a reservation owns in Kubernetes, by resource, in the order cleanup deletes it (the pods
# first); the expiry sweep looks for leftovers of the same. The home PVC is not in it: it is the
# user's home and outlives every reservation.
OWNED: dict[Resource, Callable[[Reservation], list[str]]] = {
    "pods": dev_pod.pod_names,
    "services": dev_pod.service_names,
    "networkpolicies": dev_pod.network_policy_names,
}


@dataclass
class Runtime:
    """What a pass works with; built once per Lambda container by :meth:`from_env`, and
    narrowed to one invocation's deadline by :meth:`for_invocation`."""

    store: ReservationStore
    kube: KubeGateway
    policy: Policy
    clock: Callable[[], datetime] = utc_now
    planner: Callable[..., scheduler.Plan] | None = None  # default: scheduler.plan
    deadline: Deadline = field(default_factory=Deadline)
    reserve_seconds: float = RESERVE_SECONDS  # of every invocation, for its last writes
    max_receives: int = dead_letters.MAX_RECEIVES  # the request queue's maxReceiveCount
    dead_letter_queue: dead_letters.DeadLetterQueue | None = None  # peeked by the expiry pass

    def plan(self, *args: Any) -> scheduler.Plan:
        return (self.planner or scheduler.plan)(*args)

    def for_invocation(self, deadline: Deadline) -> Runtime:
        return replace(self, kube=self.kube.for_invocation(deadline), deadline=deadline)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Runtime:
        env = os.environ if env is None else env
        policy = Policy.from_json(env["POLICY"])
        dev_pod.check_image(policy.dev_image)
        store = ReservationStore(env["TABLE_NAME"], region_name=env.get("AWS_REGION"))
        return cls(
            store=store,
            kube=KubeGateway.from_env(dict(env)),
            policy=policy,
            dead_letter_queue=(
                dead_letters.SqsDeadLetters(env["DEAD_LETTER_QUEUE_URL"], region_name=env.get("AWS_REGION"))
                if env.get("DEAD_LETTER_QUEUE_URL")
                else None
            ),
        )


@dataclass
class PassReport:
    lease: bool = False
    accepted: int = 0
    started: list[str] = field(default_factory=list)
    activated: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    forecasts_written: int = 0
    kube_errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "lease": self.lease,
            "started": len(self.started),
            "activated": len(self.activated),
            "failed": len(self.failed),
            "refused": len(self.refused),
            "forecasts_written": self.forecasts_written,
            "kube_errors": self.kube_errors[:5],
        }


# -- the Lambda entry -----------------------------------------------------------------------


def handle(event: dict[str, Any], runtime: Runtime, context: object | None = None) -> dict[str, Any]:
    """SQS batch -> ``{"batchItemFailures": [...]}``; EventBridge schedule -> the pass report.
    ``context`` is the Lambda context: its remaining time bounds the invocation's work."""
    runtime = runtime.for_invocation(Deadline.of(context, reserve=runtime.reserve_seconds))
    if isinstance(event, dict) and isinstance(event.get("Records"), list):
        failures = apply_batch(event["Records"], runtime)
        if runtime.deadline.allows(runtime.reserve_seconds):  # a pass gets at least a reserve's time
            try:
                report = schedule(runtime)
                log.info("pass after batch: %s", json.dumps(report.as_dict()))
            except Exception:  # the messages are applied; the next minute's pass schedules them
                log.exception("scheduling after a batch failed")
        else:
            log.info(
                "%.1f s left: no pass after this batch (the minute's pass runs)", runtime.deadline.left()
            )
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failures]}
    if isinstance(event, dict) and (event.get("source") == "aws.events" or "detail-type" in event):
        report = schedule(runtime)
        log.info("scheduled pass: %s", json.dumps(report.as_dict()))
        return report.as_dict()
    raise ValueError("not an SQS batch nor a scheduled event")


class ForgedMessage(ValueError):
    pass


def sender_of(record: dict[str, Any]) -> str:
    """The ``SenderId`` SQS stamped on a message (empty when the event does not carry it)."""
    return str(record.get("attributes", {}).get("SenderId", ""))


def check_sender(record: dict[str, Any], message: messages.Message) -> None:
    """A message sent from a role session (or as a federated user) must name that session's
    user. SQS stamps every message with its sender, ``SenderId``: ``<role id>:<session name>``
    (``<account>:<name>`` for a federated user), which the sender cannot choose, and the CLI
    names the user by that same session name. An IAM user's ``SenderId`` (``AIDA...``) carries
    no name, so such messages pass on the name they give (README, "Known limits")."""
    sender = sender_of(record)
    if ":" in sender and sender.split(":", 1)[1] != message.user_id:
        raise ForgedMessage(f"sent by {sender} but names user {message.user_id!r}")


def apply_batch(records: Iterable[dict[str, Any]], runtime: Runtime) -> list[str]:
    """Apply each SQS record; the ids of those that failed or were not started (for a partial
    batch response). Reserves go first: creating their records is quick, and must not wait
    behind a cancel whose Kubernetes cleanup is slow. A message is started only while the
    deadline leaves time for it; the rest are handed back to SQS. Malformed and forged
    messages fail too: after ``maxReceiveCount`` receives they reach the DLQ, whose alarm
    pages the on-call."""
    failures: list[str] = []
    parsed: list[tuple[dict[str, Any], messages.Message]] = []
    for record in records:
        message_id = record.get("messageId", "")
        try:
            message = messages.parse(str(record.get("body") or ""))
            check_sender(record, message)
        except messages.MalformedMessage as exc:
            log.warning("message %s refused: %s", message_id, exc)
            failures.append(message_id)
            continue
        except ForgedMessage as exc:
            log.error("message %s refused as forged: %s", message_id, exc)
            failures.append(message_id)
            continue
        parsed.append((record, message))
    parsed.sort(key=lambda entry: not isinstance(entry[1], messages.Reserve))  # stable: Reserves first
    for record, message in parsed:
        message_id = record.get("messageId", "")
        if runtime.deadline.usable() <= 0 and not isinstance(message, messages.Reserve):
            log.warning("message %s not started: %.1f s left", message_id, runtime.deadline.left())
            failures.append(message_id)
            continue
        try:
            apply_message(runtime, message, message_id, sender_of(record))
        except Exception as exc:
            log.exception("message %s failed; SQS will redeliver it", message_id)
            failures.append(message_id)
            if isinstance(message, messages.Reserve) and _receives(record) >= runtime.max_receives:
                _record_dead_letter(runtime, message, exc, sender_of(record))
    return failures


def _receives(record: dict[str, Any]) -> int:
    try:
        return int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
    except ValueError:
        return 1


def _record_dead_letter(runtime: Runtime, message: messages.Reserve, exc: Exception, sender: str) -> None:
    """The last receive of a Reserve failed: SQS moves it to the DLQ. Leave a ``failed``
    record naming why (unless a record exists), so the request is not silently gone."""
    reason = (
        f"the request failed {runtime.max_receives} times and went to the dead-letter queue "
        f"({type(exc).__name__}: {exc}); the platform team is paged; reserve again"
    )
    try:
        dead_letters.record(runtime.store, message, reason, to_iso(runtime.clock()), sender)
    except Exception:
        log.exception("could not record the dead-lettered request %s", message.reservation_id)


# -- messages -------------------------------------------------------------------------------


def apply_message(
    runtime: Runtime, message: messages.Message, message_id: str = "", sender: str = ""
) -> None:
    """Apply one message; ``sender``: its ``SenderId``, recorded as a new record's owner."""
    for _ in range(RETRIES):
        try:
            if isinstance(message, messages.Reserve):
                _accept(runtime, message, sender)
            elif isinstance(message, messages.Cancel):
                _cancel(runtime, message)
            else:
                _extend(runtime, message, message_id)
            return
        except StaleRecord as exc:
            log.info("lost a race on %s (%s); re-reading", message.reservation_id, exc)
    raise StaleRecord(f"{message.reservation_id}: still contended after {RETRIES} attempts")


def _owned(record: Reservation | None, message: messages.Cancel | messages.Extend) -> TypeGuard[Reservation]:
    if record is None:
        log.warning("%s for unknown reservation %s dropped", message.type, message.reservation_id)
        return False
    if record.user_id != message.user_id:
        log.warning(
            "%s for %s by %s, not its owner; dropped", message.type, message.reservation_id, message.user_id
        )
        return False
    return True


def _accept(runtime: Runtime, message: messages.Reserve, sender: str) -> None:
    """Create the record from the message, already accepted (``queued``) or refused
    (``failed``), in ONE conditional put: a redelivery, or the same message in a concurrent
    invocation, finds the record and changes nothing."""
    store = runtime.store
    if store.get(message.reservation_id) is not None:
        return  # a redelivery
    now = runtime.clock()
    request = _new_record(message, runtime, sender)
    reason = _acceptance_refusal(runtime, request)
    if reason:
        request.status = Status.FAILED
        request.failure_reason = reason
        request.reservation_ended = to_iso(now)
        request.last_queue_update = None
    if not store.create_if_absent(request):
        log.info("reservation %s already created (a redelivery)", message.reservation_id)


def _new_record(message: messages.Reserve, runtime: Runtime, sender: str) -> Reservation:
    return dead_letters.requested(message, Status.QUEUED, sender, last_queue_update=to_iso(runtime.clock()))


def _acceptance_refusal(runtime: Runtime, record: Reservation) -> str | None:
    """Why ``record`` cannot be accepted, or None. The open-reservation limit counts the user's
    other open records whenever they were made (the requests of one user can reach the processor
    in any order; the one accepted first keeps its place). Two requests of one user
    accepted at the same moment by concurrent invocations can both pass (the CLI checks the
    limit before it sends, too)."""
    try:
        dev_pod.check_github_user(record.github_user)
    except dev_pod.InvalidRequest as exc:
        return str(exc)
    limit = runtime.policy.max_open_per_user
    others = [
        r
        for r in runtime.store.by_user(record.user_id)
        if r.status not in ENDED and r.reservation_id != record.reservation_id
    ]
    if len(others) >= limit:
        return (
            f"you already have {len(others)} open reservations and the limit is {limit}; "
            "cancel one (gpu-dev cancel <id>) or wait for one to end"
        )
    return None


def _cancel(runtime: Runtime, message: messages.Cancel) -> None:
    record = runtime.store.get(message.reservation_id)
    if not _owned(record, message):
        return
    if record.status in ENDED:
        if record.cleanup_pending:
            cleanup(runtime, record)
        return
    end(runtime, record, Status.CANCELLED, cancelled=True)


def _extend(runtime: Runtime, message: messages.Extend, message_id: str) -> None:
    store, policy = runtime.store, runtime.policy
    record = store.get(message.reservation_id)
    if not _owned(record, message):
        return
    if message_id and message_id in record.applied_messages:
        return  # a redelivery of an extension already applied (or refused)
    applied = [*record.applied_messages, message_id][-MAX_APPLIED_MESSAGES:] if message_id else None
    now = runtime.clock()
    total = record.duration_hours + float(message.extend_hours)
    refusal = None
    if record.status not in (Status.PREPARING, Status.ACTIVE):
        refusal = f"a {record.status} reservation cannot be extended (only preparing or active ones)"
    elif total > policy.max_hours + 1e-9:
        refusal = (
            f"extending by {message.extend_hours:g} h would make it {total:g} h long; "
            f"the limit is {policy.max_hours:g} h"
        )
    if refusal:
        changes: dict[str, Any] = {"extension_refusal": refusal}
        if applied is not None:
            changes["applied_messages"] = applied
        store.update(record, **changes)
        return
    changes = {"duration_hours": total, "extension_refusal": None}
    if applied is not None:
        changes["applied_messages"] = applied
    if record.status == Status.ACTIVE and record.expires_at:
        expires = from_iso(record.expires_at) + timedelta(hours=float(message.extend_hours))
        changes["expires_at"] = to_iso(expires)
        left = expires - now
        # Keep only the warnings whose threshold is still behind us; the others fire again.
        changes["warnings_sent"] = [w for w in record.warnings_sent if left <= timedelta(minutes=w)]
    updated = store.update(record, **changes)
    if updated.status == Status.ACTIVE:
        try:
            for name in dev_pod.pod_names(updated):
                runtime.kube.patch_pod_annotations(
                    runtime.policy.namespace,
                    name,
                    {dev_pod.WARNING_ANNOTATION: "", dev_pod.EXPIRES_ANNOTATION: updated.expires_at},
                )
        except KubeError as exc:
            log.warning("could not clear the warning on %s: %s", updated.reservation_id, exc)


# -- ending a reservation -------------------------------------------------------------------


def end(
    runtime: Runtime,
    record: Reservation,
    target: Status,
    *,
    reason: str | None = None,
    cancelled: bool = False,
    remove_objects: bool = True,
) -> Reservation:
    """Move ``record`` to a terminal status (conditional; may raise StaleRecord), then remove its
    pod and service (unless the caller does it). ``cleanup_pending`` is set in the same write
    when it may own objects. Its GPUs stay held in the ledger until a scheduling pass has seen
    the pod and service gone (:meth:`_Pass.release_ended`)."""
    now = to_iso(runtime.clock())
    owns_objects = record.status in (Status.PREPARING, Status.ACTIVE)
    changes: dict[str, Any] = {
        "reservation_ended": now,
        "queue_position": None,
        "estimated_wait_minutes": None,
        "estimated_start": None,
    }
    if cancelled:
        changes["cancelled_at"] = now
    if reason:
        changes["failure_reason"] = reason[:500]
    if owns_objects:
        changes["cleanup_pending"] = True
    ended = runtime.store.transition(record, target, **changes)
    if owns_objects and remove_objects:
        cleanup(runtime, ended)
    return ended


def owned_objects(record: Reservation) -> list[tuple[Resource, str]]:
    """What cleanup removes, in :data:`OWNED`'s order."""
    return [(resource, name) for resource, names in OWNED.items() for name in names(record)]


def cleanup(runtime: Runtime, record: Reservation) -> bool:
    """Delete the pods, services and gang policy of an ended reservation (every one of a gang;
    the home PVC stays); clear ``cleanup_pending`` once all are gone. False if Kubernetes failed
    (retried later)."""
    namespace = runtime.policy.namespace
    try:
        for resource, name in owned_objects(record):
            runtime.kube.delete(resource, namespace, name)
    except KubeError as exc:
        log.warning("cleanup of %s failed, will be retried: %s", record.reservation_id, exc)
        return False
    for _ in range(RETRIES):
        if not record.cleanup_pending:
            return True
        try:
            runtime.store.update(record, cleanup_pending=None)
            return True
        except StaleRecord:
            record = runtime.store.get(record.reservation_id) or record
    return True


# -- the scheduling pass ----------------------------------------------------------------------


def schedule(runtime: Runtime) -> PassReport:
    """One scheduling pass, if the lease can be had; otherwise a report with ``lease=False``."""
    report = PassReport()
    lease = runtime.store.acquire_lease()
    if lease is None:
        log.info("another pass holds the scheduling lease; leaving scheduling to it")
        return report
    report.lease = True
    try:
        _Pass(runtime, lease, report).run()
    finally:
        runtime.store.release_lease(lease)
    return report


class _Pass:
    def __init__(self, runtime: Runtime, lease: Lease, report: PassReport) -> None:
        self.rt = runtime
        self.store = runtime.store
        self.kube = runtime.kube
        self.policy = runtime.policy
        self.lease = lease
        self.report = report
        self.now = runtime.clock()
        self.addresses: dict[str, str | None] = {}
        self.ledgers: dict[str, Ledger] = {}
        self.queued: dict[str, Reservation] = {}  # still queued after this pass's starts

    def _kube_error(self, exc: KubeError) -> None:
        if str(exc) not in self.report.kube_errors:
            self.report.kube_errors.append(str(exc))

    def run(self) -> None:
        self.ledgers = self.store.ledgers([t.name for t in self.policy.gpu_types])
        holding = self.settle_holders()
        try:
            gpu_nodes = self.kube.gpu_nodes()
        except KubeError as exc:
            self._kube_error(exc)
            log.warning("no node list (%s); no planning this pass", exc)
            return
        offered = {t.name for t in self.policy.gpu_types}
        gpu_nodes = [n for n in gpu_nodes if n.pool in offered]
        self.addresses.update({n.name: n.address for n in gpu_nodes})
        nodes = [n.as_node() for n in gpu_nodes]
        allocations = [a for record in holding for a in self.allocations(record)]
        held = {rid for ledger in self.ledgers.values() for rid in ledger.holds}
        # The index only FINDS queued requests; one it still shows queued after its start is
        # in the ledger (left out here), and any other stale entry fails its conditional write.
        queue = [r for r in self.store.by_status(Status.QUEUED) if r.reservation_id not in held]
        by_id = {r.reservation_id: r for r in queue}
        plan = self.rt.plan(nodes, allocations, [self.request(r) for r in queue], self.now, self.policy)
        for refusal in plan.refusals:
            record = by_id.pop(refusal.reservation_id, None)
            if record is None:
                continue
            try:
                end(self.rt, record, Status.FAILED, reason=refusal.reason)
                self.report.refused.append(record.reservation_id)
            except StaleRecord:
                pass
        started = self.start(plan.starts, by_id, {n.name: n for n in nodes})
        allocations += [a for record in started for a in self.allocations(record)]
        for record in started:
            self.create_objects(record)
        self.queued = by_id
        self.write_forecasts(plan.forecasts)
        self.write_summary(nodes, allocations, list(by_id.values()))

    # -- steps ------------------------------------------------------------------------------

    def settle_holders(self) -> list[Reservation]:
        """Advance every reservation the ledgers hold (records read consistently), release the
        holds of ended ones whose pod and service are gone; the ones still holding GPUs."""
        holds = {rid: name for name, ledger in self.ledgers.items() for rid in ledger.holds}
        records = self.store.get_many(list(holds))
        timeout = timedelta(minutes=self.policy.ready_timeout_minutes)
        holding: list[Reservation] = []
        ended: dict[str, Reservation | None] = {}
        for rid in sorted(holds):
            record = records.get(rid)
            if record is not None and record.status == Status.PREPARING:
                try:
                    record = self.advance(record, timeout)
                except StaleRecord:
                    record = self.store.get(rid)
            if record is not None and record.status in (Status.PREPARING, Status.ACTIVE):
                holding.append(record)
            else:
                ended[rid] = record
        self.release_ended(ended, holds)
        return holding

    def release_ended(self, ended: dict[str, Reservation | None], holds: dict[str, str]) -> None:
        """Delete the objects of each ended holder (again: a pod created after its
        cancel's cleanup must not survive its hold) and release the holds confirmed gone."""
        gone: dict[str, set[str]] = {}
        for rid, record in ended.items():
            hold = self.ledgers[holds[rid]].holds.get(rid)
            if cleanup(self.rt, record or _orphan(rid, hold.gang if hold else ())):
                gone.setdefault(holds[rid], set()).add(rid)
        for name, ids in sorted(gone.items()):
            try:
                self.ledgers[name] = self.store.release(self.ledgers[name], ids, self.lease)
            except (LedgerMoved, LeaseLost) as exc:
                log.error("could not release %s holds (%s); the next pass does", name, exc)

    def start(
        self, starts: list[scheduler.Start], queued: dict[str, Reservation], nodes: dict[str, scheduler.Node]
    ) -> list[Reservation]:
        """Write the plan's starts: records to ``preparing`` and their holds into the ledgers,
        conditional on both as read. A gang is one record and one hold naming all its nodes, so
        it starts whole or not at all. A start the ledger cannot hold is not made (the plan
        was made from the same ledger, so this only guards against a planner bug)."""
        moves: list[tuple[Reservation, Hold, dict[str, Any]]] = []
        planned: dict[str, int] = {}
        for start in starts:
            record = queued.pop(start.reservation_id, None)
            if record is None:
                continue
            names = start.gang or (start.node,)
            each = record.gpu_count // len(names)
            over = [
                name
                for name in names
                if self.ledgers[record.gpu_type].held_on(name) + planned.get(name, 0) + each
                > nodes[name].gpus
            ]
            if over or record.gpu_count != each * len(names):
                log.error(
                    "plan over-allocates %s for %s; start skipped", over or names, record.reservation_id
                )
                continue
            for name in names:
                planned[name] = planned.get(name, 0) + each
            changes = {
                "node_name": start.node,
                "gang_nodes": list(start.gang),
                "preparing_since": to_iso(self.now),
                "pod_name": dev_pod.pod_name(record.reservation_id),
                "namespace": self.policy.namespace,
                "queue_position": None,
                "estimated_start": None,
                "estimated_wait_minutes": None,
                "last_queue_update": to_iso(self.now),
            }
            moves.append((record, Hold(node=start.node, gpus=each, gang=start.gang), changes))
        try:
            started, _stale, self.ledgers = self.store.start_many(moves, self.ledgers, self.lease)
        except (LeaseLost, LedgerMoved) as exc:
            log.error("starts stopped (%s); starts already written get their pods next pass", exc)
            return []
        self.report.started += [record.reservation_id for record in started]
        return started

    def advance(self, record: Reservation, timeout: timedelta) -> Reservation | None:
        since = from_iso(record.preparing_since) if record.preparing_since else self.now
        timed_out = self.now - since >= timeout
        try:
            names = dev_pod.pod_names(record)
            pods = [pod for name in names if (pod := self.kube.read("pods", self.policy.namespace, name))]
            if len(pods) < len(names):
                if timed_out:
                    return self.fail(
                        record, f"the pod was not created within {self.policy.ready_timeout_minutes} minutes"
                    )
                return self.create_objects(record)
            # A gang is as far as its slowest pod: failed if any failed, ready once all are.
            states = [dev_pod.pod_state(pod) for pod in pods]
            state, reason = next(
                (s for s in states if s[0] == "failed"),
                next((s for s in states if s[0] == "waiting"), states[0]),
            )
            pod = pods[0]
            if state == "failed":
                return self.fail(record, f"the dev pod failed: {reason}")
            if state == "waiting":
                if timed_out:
                    detail = reason or "still starting"
                    minutes = self.policy.ready_timeout_minutes
                    return self.fail(record, f"the dev pod was not ready within {minutes} minutes: {detail}")
                return record
            return self.activate(record, pod)
        except KubeUnavailable as exc:
            self._kube_error(exc)
            return record
        except KubeError as exc:
            self._kube_error(exc)
            if timed_out:
                return self.fail(record, f"Kubernetes refused the dev pod: {exc}")
            return record

    def activate(self, record: Reservation, pod: dict[str, Any]) -> Reservation:
        namespace = self.policy.namespace
        service = self.kube.read("services", namespace, dev_pod.service_name(record.reservation_id))
        if service is None:
            self.kube.create("services", namespace, dev_pod.service_manifest(record, self.policy))
            return record  # its node port is read next pass
        ports = [p.get("nodePort") for p in service.get("spec", {}).get("ports", []) if p.get("nodePort")]
        node = str((pod.get("spec") or {}).get("nodeName") or record.node_name)
        if node not in self.addresses:
            self.addresses[node] = self.kube.node_address(node)
        address = self.addresses[node]
        if not ports or not address:
            return record
        launched = self.now
        expires = launched + timedelta(hours=record.duration_hours)
        active = self.store.transition(
            record,
            Status.ACTIVE,
            launched_at=to_iso(launched),
            expires_at=to_iso(expires),
            node_ip=address,
            node_port=int(ports[0]),
            # A gang's user reaches the other pods from rank 0 with their own key: forward the agent.
            ssh_command=f"ssh {'-A ' if record.gang_nodes else ''}-p {int(ports[0])} dev@{address}",
            node_name=node,
        )
        with contextlib.suppress(KubeError):  # informational only
            for name in dev_pod.pod_names(active):
                self.kube.patch_pod_annotations(
                    namespace, name, {dev_pod.EXPIRES_ANNOTATION: active.expires_at}
                )
        self.report.activated.append(record.reservation_id)
        return active

    def fail(self, record: Reservation, reason: str) -> Reservation:
        """End ``record`` as failed; its pod and service go with the release of its hold."""
        failed = end(self.rt, record, Status.FAILED, reason=reason, remove_objects=False)
        self.report.failed.append(record.reservation_id)
        return failed

    def create_objects(self, record: Reservation) -> Reservation:
        """PVC, Service, a gang's headless Service and NetworkPolicy, Pods -- each idempotent
        (the policy before the pods, so peers reach each other from their start). A failure
        leaves the record preparing; the next pass's check of the holders creates what is
        missing. Returns the record as it stands."""
        namespace = self.policy.namespace
        nodes = record.gang_nodes or [str(record.node_name)]
        try:
            pods = [dev_pod.pod_manifest(record, self.policy, node, rank) for rank, node in enumerate(nodes)]
        except dev_pod.InvalidRequest as exc:
            return self.fail(record, str(exc))
        try:
            self.kube.create(
                "persistentvolumeclaims", namespace, dev_pod.home_claim_manifest(record, self.policy)
            )
            self.kube.create("services", namespace, dev_pod.service_manifest(record, self.policy))
            if record.gang_nodes:
                self.kube.create("services", namespace, dev_pod.peers_service_manifest(record, self.policy))
                self.kube.create(
                    "networkpolicies", namespace, dev_pod.peers_policy_manifest(record, self.policy)
                )
            for pod in pods:
                self.kube.create("pods", namespace, pod)
        except KubeError as exc:
            self._kube_error(exc)
            return record
        # A cancel may have ended the record while its pod was being created: remove the pod.
        current = self.store.get(record.reservation_id)
        if current is not None and current.status in ENDED:
            cleanup(self.rt, current)
        return current or record

    def write_forecasts(self, forecasts: dict[str, scheduler.Forecast]) -> None:
        """One forecast item per GPU type (:mod:`reservations.forecast`), written only when its
        queue's order or an ETA changed: a pass costs a write per type whose queue moved, not
        one per queued request."""
        queues: dict[str, list[scheduler.Forecast]] = {t.name: [] for t in self.policy.gpu_types}
        for plan in forecasts.values():
            record = self.queued.get(plan.reservation_id)
            if record is not None:
                queues[record.gpu_type].append(plan)
        written = self.store.forecast_items(list(queues))
        for name, plans in queues.items():
            queue = [(p.reservation_id, p.start_at) for p in sorted(plans, key=lambda p: p.position)]
            if name in written and not forecast.changed(forecast.decode(written[name]), queue):
                continue
            self.store.put_forecast(forecast.encode(name, queue, self.now))
            self.report.forecasts_written += 1

    def write_summary(
        self, nodes: list[scheduler.Node], allocations: list[scheduler.Allocation], queued: list[Reservation]
    ) -> None:
        self.store.put_summary(capacity_summary(self.policy, nodes, allocations, queued), self.now)

    # -- conversions ------------------------------------------------------------------------

    def allocations(self, record: Reservation) -> list[scheduler.Allocation]:
        """The GPUs ``record`` holds (on each node of a gang), until it says it ends:
        ``expires_at`` when active, else ``preparing_since + duration`` -- the same end the plan
        gave it when it started, so ETAs do not move from one pass to the next. (The grace
        period is not added: an ETA is the start the plan meets if reservations end when they
        say.) A reservation past its end still holds its GPUs until the expiry pass has ended
        it, so never ends before ``now + HELD_UNTIL_ENDED``: no start is planned on GPUs whose
        pod may still run."""
        if record.status == Status.ACTIVE and record.expires_at:
            ends = from_iso(record.expires_at)
        else:
            since = from_iso(record.preparing_since) if record.preparing_since else self.now
            ends = since + timedelta(hours=record.duration_hours)
        hold = self.ledgers[record.gpu_type].holds[record.reservation_id]
        ends = max(ends, self.now + HELD_UNTIL_ENDED)
        return [
            scheduler.Allocation(record.reservation_id, record.user_id, node, hold.gpus, ends)
            for node in hold.nodes
        ]

    @staticmethod
    def request(record: Reservation) -> scheduler.Request:
        return scheduler.Request(
            reservation_id=record.reservation_id,
            user_id=record.user_id,
            gpu_type=record.gpu_type,
            gpus=record.gpu_count,
            duration=timedelta(hours=record.duration_hours),
            created_at=from_iso(record.created_at),
        )


def _orphan(reservation_id: str, gang: tuple[str, ...] = ()) -> Reservation:
    """A stand-in for a held reservation whose record is missing, to remove its objects by name
    (a gang's from its hold)."""
    return Reservation(reservation_id, "", "", "", 0, 0.0, Status.FAILED, "", gang_nodes=list(gang))


def capacity_summary(
    policy: Policy,
    nodes: list[scheduler.Node],
    allocations: list[scheduler.Allocation],
    queued: list[Reservation],
) -> dict[str, dict[str, Any]]:
    """The ``gpu_types`` map of the capacity summary item, which every scheduling pass writes as
    ``{"reservation_id": "summary#capacity", "updated_at": <ISO time>, "gpu_types": ...}``
    (no ``status``, so it is in no index; ``gpu-dev avail``/``status`` read it with GetItem)::

        {<gpu type name>: {
            "gpu_model": "T4",          # from the policy
            "total": 8,                 # allocatable GPUs on schedulable, Ready nodes of the pool
            "free": 3,                  # total minus GPUs held by preparing/active reservations
            "queued": 2,                # accepted requests of this type still waiting
            "holding": 1,               # reservations holding GPUs of the type
            "next_free_at": "2025-01-12T18:30:00.000Z" | None,  # soonest end (expires_at) among
                                        # held GPUs of the type; None if none held
        }}

    Every type in the policy is present, with zeros when its pool has no nodes.
    """
    pool_of = {n.name: n.gpu_type for n in nodes}
    summary = {}
    for gpu_type in policy.gpu_types:
        total = sum(n.gpus for n in nodes if n.gpu_type == gpu_type.name)
        held = [a for a in allocations if pool_of.get(a.node) == gpu_type.name]
        next_free = min((a.ends_at for a in held), default=None)
        summary[gpu_type.name] = {
            "gpu_model": gpu_type.gpu_model,
            "total": total,
            "free": max(0, total - sum(a.gpus for a in held)),
            "queued": sum(1 for r in queued if r.gpu_type == gpu_type.name),
            "holding": len(held),  # reservations holding GPUs (preparing or active)
            "next_free_at": to_iso(next_free) if next_free is not None else None,
        }
    return summary


__all__ = ["GpuNode", "PassReport", "Runtime", "apply_batch", "apply_message", "capacity_summary", "handle"]
