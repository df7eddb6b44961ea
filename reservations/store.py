"""The reservations table: the only code that reads or writes it for the Lambdas.

Rules every write here follows:

* Every change of a record is ONE conditional ``UpdateItem`` on the ``version`` the caller read
  (``version = :read``, and ``version + 1`` written), and a change of status is also checked
  against the life cycle (:func:`model.check_transition`) before it is sent and conditioned on
  the status read. A writer that lost a race gets :class:`StaleRecord`; the caller re-reads and
  decides again (or skips the record until the next pass). Two writers can therefore never
  both move one reservation, and no write is ever based on a state that no longer holds.
* WHO HOLDS GPUS is never learnt from an index. Global secondary indexes are eventually
  consistent and propagate writes out of order, so a Query on one may still show a started
  reservation as queued. The GPUs held are kept in one LEDGER item per GPU type,
  ``reservation_id = "ledger#<type>"``: ``holds`` maps each holding reservation to its node
  and GPU count, and ``version`` counts its writes. It is read with consistent reads, and every
  change is conditional on the version read. A start is ONE transaction: the lease check, the
  ledger write adding the hold, and the record's move to ``preparing`` -- so a record is
  ``preparing`` exactly when the ledger holds its GPUs, and a start planned from a ledger that
  changed since it was read fails as a whole (:class:`LedgerMoved`). A hold is released only
  after its reservation ended AND its pod and service were confirmed gone, so the ledger never
  offers GPUs a pod may still use. Indexes only FIND records (the queue, a user's list); every
  decision on one is a conditional write on the base table.
* Records are found through the GSIs (``StatusIndex``, ``UserIndex``), paginated; the table is
  never scanned. ``OwnerIndex`` (the sender's AWS user id, then the reservation id) is the CLI's
  only way to its records: the developers' policy lets each Query only their own key.
* Scheduling runs under a LEASE, the item ``reservation_id = "lock#scheduler"`` (no ``status``,
  so it is in no index): taken with a conditional put when absent or expired, released with a
  conditional delete by its owner. Its term (120 s) outlives the processor's Lambda timeout
  (60 s), so a crashed holder blocks scheduling for at most two minutes. Ledger writes are
  additionally fenced by the lease (a ``ConditionCheck`` in their transaction). The lease saves
  work (one planner at a time); the ledger's version condition is what makes over-allocation
  impossible, even for two passes that both believe they hold the lease.
* Items without a ``status`` attribute (the lease, the ledgers, the summary, the forecasts) are
  in no index.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError

from . import model
from .model import FORECAST_PREFIX, SUMMARY_KEY, Reservation, Status

LEASE_KEY = "lock#scheduler"
LEDGER_PREFIX = "ledger#"
LEASE_SECONDS = 120

STATUS_INDEX = "StatusIndex"
USER_INDEX = "UserIndex"

# Attributes a caller may not set through update(): the key, the version and the status are
# managed here, and the owner is the sender of the request, for good.
_MANAGED = frozenset({"reservation_id", "version", "status", "owner_id"})
_FIELDS = frozenset(Reservation.__dataclass_fields__)


class StaleRecord(RuntimeError):
    """The record changed since it was read (another writer won); re-read and decide again."""


class LeaseLost(RuntimeError):
    """The scheduling lease is no longer held by this pass; stop allocating."""


class LedgerMoved(RuntimeError):
    """A GPU ledger changed since it was read; plan again from a fresh read."""


@dataclass(frozen=True)
class Hold:
    """GPUs of one node held by one reservation (an entry of a ledger); a gang's one hold names
    every node it holds, ``gpus`` on each, so the whole gang is held and released in one write."""

    node: str
    gpus: int
    gang: tuple[str, ...] = ()  # a gang's nodes in rank order (``gang[0] == node``); () for one node

    @property
    def nodes(self) -> tuple[str, ...]:
        return self.gang or (self.node,)


@dataclass(frozen=True)
class Ledger:
    """The GPUs held on the nodes of one GPU type, as of ``version`` (0: no item yet)."""

    gpu_type: str
    version: int
    holds: dict[str, Hold]  # by reservation id

    def held_on(self, node: str) -> int:
        return sum(hold.gpus for hold in self.holds.values() if node in hold.nodes)

    def with_changes(self, add: dict[str, Hold], remove: set[str]) -> Ledger:
        holds = {rid: hold for rid, hold in self.holds.items() if rid not in remove}
        holds.update(add)
        return Ledger(self.gpu_type, self.version + 1, holds)

    @classmethod
    def from_item(cls, gpu_type: str, item: dict[str, Any] | None) -> Ledger:
        if item is None:
            return cls(gpu_type, 0, {})
        holds = {
            rid: Hold(node=str(hold["node"]), gpus=int(hold["gpus"]), gang=tuple(hold.get("gang") or ()))
            for rid, hold in (item.get("holds") or {}).items()
        }
        return cls(gpu_type, int(item["version"]), holds)


@dataclass(frozen=True)
class Lease:
    owner: str
    expires_at: float  # epoch seconds


class ReservationStore:
    def __init__(
        self,
        table_name: str,
        *,
        dynamodb: Any = None,
        region_name: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``clock``: epoch seconds, for the lease's term (a test's virtual clock)."""
        self.clock = clock
        resource = dynamodb or boto3.resource("dynamodb", region_name=region_name)
        self.table = resource.Table(table_name)
        self.client = self.table.meta.client
        self.table_name = table_name

    # -- reads ------------------------------------------------------------------------------

    def get(self, reservation_id: str) -> Reservation | None:
        item = self.table.get_item(Key={"reservation_id": reservation_id}, ConsistentRead=True).get("Item")
        return Reservation.from_item(item) if item and "status" in item else None

    def get_many(self, reservation_ids: list[str]) -> dict[str, Reservation]:
        """Records by id (BatchGetItem, 100 keys a call, unprocessed keys retried)."""
        found: dict[str, Reservation] = {}
        ids = sorted(set(reservation_ids))
        for start in range(0, len(ids), 100):
            keys = [{"reservation_id": rid} for rid in ids[start : start + 100]]
            request = {self.table_name: {"Keys": keys, "ConsistentRead": True}}
            for attempt in range(8):
                response = self.client.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self.table_name, []):
                    if "status" in item:
                        found[item["reservation_id"]] = Reservation.from_item(item)
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(min(0.05 * 2**attempt, 1.0))
        return found

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        while True:
            response = self.table.query(**kwargs)
            yield from response["Items"]
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def by_status(self, status: Status, *, created_before: str | None = None) -> list[Reservation]:
        """Every record in ``status``, oldest first (``StatusIndex``); optionally only those
        created before a timestamp (a key condition, so nothing newer is read)."""
        condition = "#s = :s"
        values: dict[str, Any] = {":s": status.value}
        if created_before is not None:
            condition += " AND created_at < :before"
            values[":before"] = created_before
        items = self._query(
            IndexName=STATUS_INDEX,
            KeyConditionExpression=condition,
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=values,
        )
        return [Reservation.from_item(item) for item in items]

    def by_user(self, user_id: str) -> list[Reservation]:
        """Every record of one user, oldest first (``UserIndex``)."""
        items = self._query(
            IndexName=USER_INDEX,
            KeyConditionExpression="user_id = :u",
            ExpressionAttributeValues={":u": user_id},
        )
        return [Reservation.from_item(item) for item in items if "status" in item]

    # -- writes -----------------------------------------------------------------------------

    def create_if_absent(self, record: Reservation) -> bool:
        """Put a new record unless one with its id exists. True if this call created it."""
        try:
            self.table.put_item(
                Item=record.to_item(), ConditionExpression="attribute_not_exists(reservation_id)"
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def transition(self, record: Reservation, target: Status, **changes: Any) -> Reservation:
        """Move ``record`` (as read) to ``target`` and apply ``changes`` in one conditional write.
        A start (the move to ``preparing``) allocates GPUs and goes through :meth:`start_many`."""
        model.check_transition(record.status, target)
        if target == Status.PREPARING:
            raise ValueError("a start holds GPUs: use start_many, which writes the ledger with it")
        return self._write(record, target, changes)

    def update(self, record: Reservation, **changes: Any) -> Reservation:
        """Change fields of ``record`` (as read) without changing its status."""
        return self._write(record, None, changes)

    def start_many(
        self, starts: list[tuple[Reservation, Hold, dict[str, Any]]], ledgers: dict[str, Ledger], lease: Lease
    ) -> tuple[list[Reservation], list[str], dict[str, Ledger]]:
        """Start reservations: each record ``queued -> preparing`` with its changes, and its
        hold added to its type's ledger, in transactions of at most 100 items (the lease check,
        one ledger write per GPU type in the chunk, the records). A record that changed since it
        was read is left out (its id returned as stale) and the rest retried. :class:`LeaseLost`
        or :class:`LedgerMoved` stop the starts (chunks already committed stay; the next pass
        creates their pods). Returns (records as written, stale ids, ledgers as now written)."""
        written: list[Reservation] = []
        stale: list[str] = []
        ledgers = dict(ledgers)
        pending: list[tuple[Reservation, Hold, Reservation, dict[str, Any]]] = []
        for record, hold, changes in starts:
            model.check_transition(record.status, Status.PREPARING)
            new, update = self._prepare(record, Status.PREPARING, changes)
            pending.append((record, hold, new, update))
        while pending:
            chunk: list[tuple[Reservation, Hold, Reservation, dict[str, Any]]] = []
            while (
                pending
                and 1 + len(chunk) + len({e[0].gpu_type for e in chunk} | {pending[0][0].gpu_type}) < 100
            ):
                chunk.append(pending.pop(0))
            while chunk:
                types = sorted({entry[0].gpu_type for entry in chunk})
                after = {
                    name: ledgers[name].with_changes(
                        {e[0].reservation_id: e[1] for e in chunk if e[0].gpu_type == name}, set()
                    )
                    for name in types
                }
                updates = [self._ledger_update(ledgers[name], after[name]) for name in types]
                failed = self._transact(self._lease_check(lease), updates + [entry[3] for entry in chunk])
                if failed is None:
                    written += [entry[2] for entry in chunk]
                    ledgers.update(after)
                    break
                if 0 in failed:
                    raise LeaseLost(f"the scheduling lease of {lease.owner} is gone")
                if failed & set(range(1, 1 + len(types))):
                    raise LedgerMoved(f"a ledger of {', '.join(types)} changed since it was read")
                bad = {index - 1 - len(types) for index in failed}
                stale += [chunk[index][0].reservation_id for index in sorted(bad)]
                chunk = [entry for index, entry in enumerate(chunk) if index not in bad]
        return written, stale, ledgers

    def _prepare(
        self, record: Reservation, target: Status | None, changes: dict[str, Any]
    ) -> tuple[Reservation, dict[str, Any]]:
        bad = set(changes) & _MANAGED or set(changes) - _FIELDS
        if bad:
            raise ValueError(f"cannot set {sorted(bad)} through the store")
        new = Reservation.from_item(record.to_item())
        for name, value in changes.items():
            setattr(new, name, value)
        new.version = record.version + 1
        if target is not None:
            new.status = target
        names = {"#v": "version", "#s": "status"}
        values: dict[str, Any] = {":read": record.version, ":next": new.version, ":was": record.status.value}
        sets = ["#v = :next"]
        removes = []
        if target is not None:
            values[":status"] = target.value
            sets.append("#s = :status")
        item = new.to_item()
        for i, name in enumerate(sorted(changes)):
            names[f"#f{i}"] = name
            if name in item:
                values[f":f{i}"] = item[name]
                sets.append(f"#f{i} = :f{i}")
            else:
                removes.append(f"#f{i}")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        update = {
            "Key": {"reservation_id": record.reservation_id},
            "UpdateExpression": expression,
            "ConditionExpression": "#v = :read AND #s = :was",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        return new, update

    def _write(self, record: Reservation, target: Status | None, changes: dict[str, Any]) -> Reservation:
        new, update = self._prepare(record, target, changes)
        try:
            self.table.update_item(**update)
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                raise StaleRecord(
                    f"reservation {record.reservation_id} changed since version {record.version}"
                ) from None
            raise
        return new

    def _lease_check(self, lease: Lease) -> dict[str, Any]:
        return {
            "TableName": self.table_name,
            "Key": {"reservation_id": LEASE_KEY},
            "ConditionExpression": "#o = :owner AND #e > :now",
            "ExpressionAttributeNames": {"#o": "owner", "#e": "lease_expires_at"},
            "ExpressionAttributeValues": {":owner": lease.owner, ":now": int(self.clock())},
        }

    def _transact(self, check: dict[str, Any], updates: list[dict[str, Any]]) -> set[int] | None:
        """One transaction: ``check`` then ``updates``. None if it committed, else the indexes
        (0 = the check) whose condition failed."""
        items = [{"ConditionCheck": check}] + [
            {"Update": {"TableName": self.table_name, **update}} for update in updates
        ]
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if _code(exc) != "TransactionCanceledException":
                raise
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            failed = {i for i, code in enumerate(reasons) if code == "ConditionalCheckFailed"}
            if not failed:
                raise
            return failed
        return None

    # -- the GPU ledgers ---------------------------------------------------------------------

    def ledgers(self, gpu_types: list[str]) -> dict[str, Ledger]:
        """The ledger of each GPU type, read consistently (one BatchGetItem)."""
        keys = [{"reservation_id": LEDGER_PREFIX + name} for name in gpu_types]
        items: dict[str, dict[str, Any]] = {}
        request = {self.table_name: {"Keys": keys, "ConsistentRead": True}}
        for attempt in range(8):
            response = self.client.batch_get_item(RequestItems=request)
            for item in response["Responses"].get(self.table_name, []):
                items[item["reservation_id"]] = item
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(min(0.05 * 2**attempt, 1.0))
        return {name: Ledger.from_item(name, items.get(LEDGER_PREFIX + name)) for name in gpu_types}

    def _ledger_update(self, ledger: Ledger, new: Ledger) -> dict[str, Any]:
        """The conditional write taking ``ledger`` (as read) to ``new``."""
        holds = {
            rid: {"node": hold.node, "gpus": hold.gpus} | ({"gang": list(hold.gang)} if hold.gang else {})
            for rid, hold in new.holds.items()
        }
        condition = "attribute_not_exists(#v)" if ledger.version == 0 else "#v = :read"
        values: dict[str, Any] = {":next": new.version, ":holds": holds}
        if ledger.version:
            values[":read"] = ledger.version
        return {
            "Key": {"reservation_id": LEDGER_PREFIX + ledger.gpu_type},
            "UpdateExpression": "SET #v = :next, holds = :holds",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#v": "version"},
            "ExpressionAttributeValues": values,
        }

    def release(self, ledger: Ledger, reservation_ids: set[str], lease: Lease) -> Ledger:
        """Remove holds from ``ledger`` (as read), fenced by the lease. :class:`LedgerMoved` if
        it changed since, :class:`LeaseLost` if the lease is gone."""
        new = ledger.with_changes({}, reservation_ids)
        failed = self._transact(self._lease_check(lease), [self._ledger_update(ledger, new)])
        if failed is not None:
            if 0 in failed:
                raise LeaseLost(f"the scheduling lease of {lease.owner} is gone")
            raise LedgerMoved(f"the {ledger.gpu_type} ledger changed since version {ledger.version}")
        return new

    # -- the scheduling lease ---------------------------------------------------------------

    def acquire_lease(self, *, seconds: int = LEASE_SECONDS, owner: str | None = None) -> Lease | None:
        """Take the scheduling lease if nobody holds it (or the holder's term ran out)."""
        owner = owner or uuid.uuid4().hex
        now = int(self.clock())
        lease = Lease(owner=owner, expires_at=now + seconds)
        try:
            self.table.put_item(
                Item={
                    "reservation_id": LEASE_KEY,
                    "owner": owner,
                    "lease_expires_at": now + seconds,
                    "acquired_at": model.to_iso(model.now()),
                },
                ConditionExpression="attribute_not_exists(reservation_id) OR lease_expires_at < :now",
                ExpressionAttributeValues={":now": now},
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return None
            raise
        return lease

    def release_lease(self, lease: Lease) -> None:
        """Give the lease back (only if still ours: a lapsed lease may be someone else's now)."""
        try:
            self.table.delete_item(
                Key={"reservation_id": LEASE_KEY},
                ConditionExpression="#o = :owner",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":owner": lease.owner},
            )
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise

    # -- the queue forecasts (reservations.forecast) -------------------------------------------

    def forecast_items(self, gpu_types: list[str]) -> dict[str, dict[str, Any]]:
        """The forecast item of each GPU type that has one (one BatchGetItem, eventually
        consistent: a forecast only decides whether to write the next one)."""
        keys = [{"reservation_id": FORECAST_PREFIX + name} for name in gpu_types]
        found: dict[str, dict[str, Any]] = {}
        request = {self.table_name: {"Keys": keys}}
        for attempt in range(8):
            response = self.client.batch_get_item(RequestItems=request)
            for item in response["Responses"].get(self.table_name, []):
                found[item["reservation_id"][len(FORECAST_PREFIX) :]] = item
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(min(0.05 * 2**attempt, 1.0))
        return found

    def put_forecast(self, item: dict[str, Any]) -> None:
        self.table.put_item(Item=item)

    # -- the capacity summary ---------------------------------------------------------------

    def put_summary(self, gpu_types: dict[str, dict[str, Any]], at: datetime) -> None:
        """Write the capacity summary item (see :func:`processor.capacity_summary` for its shape)."""
        self.table.put_item(
            Item={"reservation_id": SUMMARY_KEY, "updated_at": model.to_iso(at), "gpu_types": gpu_types}
        )

    def get_summary(self) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self.table.get_item(Key={"reservation_id": SUMMARY_KEY}).get("Item")
        return item


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
