"""The reservations table: the only code that reads or writes it for the Lambdas.

Rules every write here follows:

* Every change of a record is ONE conditional ``UpdateItem`` on the ``version`` the caller read
  (``version = :read``, and ``version + 1`` written), and a change of status is also checked
  against the life cycle (:func:`model.check_transition`) before it is sent and conditioned on
  the status read. A writer that lost a race gets :class:`StaleRecord`; the caller re-reads and
  decides again (or skips the record until the next pass). Two writers can therefore never
  both move one reservation, and no write is ever based on a state that no longer holds.
* Records are found through the GSIs only (``StatusIndex``, ``UserIndex``,
  ``StatusGpuTypeIndex``), paginated; the table is never scanned.
* Scheduling runs under a LEASE, the item ``reservation_id = "lock#scheduler"`` (no ``status``,
  so it is in no index): taken with a conditional put when absent or expired, released with a
  conditional delete by its owner. Its term (120 s) outlives the processor's Lambda timeout
  (60 s), so a crashed holder blocks scheduling for at most two minutes. Allocating writes
  (the move to ``preparing``) are additionally fenced by the lease: they are a transaction with
  a ``ConditionCheck`` that the lease is still ours and unexpired, so even a pass that overran
  its lease cannot allocate beside the next holder. GPUs are never over-allocated because only
  one pass at a time plans and allocates, and it plans from the records it read under the lease.
* Items without a ``status`` attribute (the lease, the capacity summary) are in no index.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import boto3
from botocore.exceptions import ClientError

from . import model
from .model import Reservation, Status

LEASE_KEY = "lock#scheduler"
SUMMARY_KEY = "summary#capacity"
LEASE_SECONDS = 120

STATUS_INDEX = "StatusIndex"
USER_INDEX = "UserIndex"
STATUS_GPU_TYPE_INDEX = "StatusGpuTypeIndex"

# Attributes a caller may not set through update(): the key, the version and the status (and
# its index key) are managed here.
_MANAGED = frozenset({"reservation_id", "version", "status", "status_gpu_type"})
_FIELDS = frozenset(Reservation.__dataclass_fields__)


class StaleRecord(RuntimeError):
    """The record changed since it was read (another writer won); re-read and decide again."""


class LeaseLost(RuntimeError):
    """The scheduling lease is no longer held by this pass; stop allocating."""


@dataclass(frozen=True)
class Lease:
    owner: str
    expires_at: float  # epoch seconds


class ReservationStore:
    def __init__(self, table_name: str, *, dynamodb=None, region_name: str | None = None):
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

    def _query(self, **kwargs) -> Iterator[dict]:
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
        values: dict = {":s": status.value}
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

    def by_status_gpu_type(self, status: Status, gpu_type: str) -> list[Reservation]:
        """The records of one GPU type in one status, oldest first (``StatusGpuTypeIndex``)."""
        items = self._query(
            IndexName=STATUS_GPU_TYPE_INDEX,
            KeyConditionExpression="status_gpu_type = :k",
            ExpressionAttributeValues={":k": f"{status.value}#{gpu_type}"},
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

    def transition(
        self, record: Reservation, target: Status, *, lease: Lease | None = None, **changes
    ) -> Reservation:
        """Move ``record`` (as read) to ``target`` and apply ``changes`` in one conditional write.

        With ``lease``, the write is a transaction that also checks the scheduling lease is still
        held (used for the allocating move to ``preparing``); :class:`LeaseLost` if it is not.
        """
        model.check_transition(record.status, target)
        return self._write(record, target, changes, lease)

    def update(self, record: Reservation, **changes) -> Reservation:
        """Change fields of ``record`` (as read) without changing its status."""
        return self._write(record, None, changes, None)

    def transition_many(
        self, moves: list[tuple[Reservation, Status, dict]], lease: Lease
    ) -> tuple[list[Reservation], list[str]]:
        """Apply many lease-fenced transitions (the starts of one pass), up to 99 to a
        transaction beside the lease check. A record that changed since it was read is left out
        (its id returned as stale) and the rest retried; :class:`LeaseLost` if the lease is gone.
        Returns (the records as written, the ids of stale ones)."""
        written: list[Reservation] = []
        stale: list[str] = []
        pending = []
        for record, target, changes in moves:
            model.check_transition(record.status, target)
            pending.append((record, *self._prepare(record, target, changes)))
        while pending:
            chunk, pending = pending[:99], pending[99:]
            while chunk:
                failed = self._transact(self._lease_check(lease), [update for _, _, update in chunk])
                if failed is None:
                    written += [new for _, new, _ in chunk]
                    break
                if 0 in failed:
                    raise LeaseLost(f"the scheduling lease of {lease.owner} is gone")
                stale += [chunk[i - 1][0].reservation_id for i in failed]
                chunk = [entry for i, entry in enumerate(chunk, start=1) if i not in failed]
        return written, stale

    def _prepare(self, record: Reservation, target: Status | None, changes: dict) -> tuple[Reservation, dict]:
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
        values: dict = {":read": record.version, ":next": new.version, ":was": record.status.value}
        sets = ["#v = :next"]
        removes = []
        if target is not None:
            values[":status"] = target.value
            values[":sgt"] = new.status_gpu_type
            sets += ["#s = :status", "status_gpu_type = :sgt"]
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

    def _write(
        self, record: Reservation, target: Status | None, changes: dict, lease: Lease | None
    ) -> Reservation:
        new, update = self._prepare(record, target, changes)
        stale = StaleRecord(f"reservation {record.reservation_id} changed since version {record.version}")
        if lease is None:
            try:
                self.table.update_item(**update)
            except ClientError as exc:
                if _code(exc) == "ConditionalCheckFailedException":
                    raise stale from None
                raise
            return new
        failed = self._transact(self._lease_check(lease), [update])
        if failed is not None:
            if 0 in failed:
                raise LeaseLost(f"the scheduling lease of {lease.owner} is gone")
            raise stale
        return new

    def _lease_check(self, lease: Lease) -> dict:
        return {
            "TableName": self.table_name,
            "Key": {"reservation_id": LEASE_KEY},
            "ConditionExpression": "#o = :owner AND #e > :now",
            "ExpressionAttributeNames": {"#o": "owner", "#e": "lease_expires_at"},
            "ExpressionAttributeValues": {":owner": lease.owner, ":now": int(time.time())},
        }

    def _transact(self, check: dict, updates: list[dict]) -> set[int] | None:
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

    # -- the scheduling lease ---------------------------------------------------------------

    def acquire_lease(self, *, seconds: int = LEASE_SECONDS, owner: str | None = None) -> Lease | None:
        """Take the scheduling lease if nobody holds it (or the holder's term ran out)."""
        owner = owner or uuid.uuid4().hex
        now = int(time.time())
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

    # -- the capacity summary ---------------------------------------------------------------

    def put_summary(self, gpu_types: dict[str, dict], at: datetime) -> None:
        """Write the capacity summary item (see :func:`processor.capacity_summary` for its shape)."""
        self.table.put_item(
            Item={"reservation_id": SUMMARY_KEY, "updated_at": model.to_iso(at), "gpu_types": gpu_types}
        )

    def get_summary(self) -> dict | None:
        return self.table.get_item(Key={"reservation_id": SUMMARY_KEY}).get("Item")


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")
