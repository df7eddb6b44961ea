"""What moto leaves out of DynamoDB and Lambda, put back for the reservation tests.

* **Index lag.** moto answers a Query on a global secondary index from the table as it is now;
  DynamoDB propagates each write to its indexes asynchronously, and not in the order the
  writes were made. :class:`IndexLag` hooks one boto3 client: every write it makes (PutItem,
  UpdateItem, DeleteItem, TransactWriteItems) is logged with the item's image before and after,
  and becomes visible to index Queries only after a number of LATER writes (``writes``) or
  virtual seconds (``seconds``), each drawn per write by ``lag_of`` so propagation can overtake
  itself. An index Query is then answered from the table with every invisible write undone: an
  item shows the image of its latest visible write, or the image it had before its first
  logged write (absent for an item created in the log). Reads of the base table (GetItem,
  BatchGetItem) are untouched: they are what ``ConsistentRead`` promises.
* **Lambda deadlines.** :class:`Invocation` is one Lambda invocation on a virtual clock: a
  ``context`` whose ``get_remaining_time_in_millis`` counts down as AWS and Kubernetes calls
  cost virtual time, and a check (run before every such call) that raises :class:`Killed` once
  the deadline has passed -- or at a chosen call, to kill a function between any two writes.
  ``Killed`` is a ``BaseException``: the processor's ``except Exception`` cannot swallow it,
  as nothing in a function survives Lambda stopping it.

Only the Query shapes the reservation code sends are evaluated (equality on the index's
partition key, a comparison on its sort key); anything else raises, so a new shape is noticed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

_WRITES = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems")
_KEY = "reservation_id"


class Killed(BaseException):
    """The Lambda runtime stopped the function (deadline reached, or an injected kill)."""


@dataclass
class _Write:
    seq: int
    at: datetime
    key: str
    before: dict | None
    after: dict | None
    visible_after_seq: int
    visible_at: datetime


@dataclass
class IndexLag:
    """Index lag for the DynamoDB client ``client`` (see the module docstring).

    ``lag_of(key, before, after) -> (writes, seconds)`` chooses each write's lag (from the
    item's key and images); by default every write lags ``writes`` later writes and
    ``seconds`` virtual seconds."""

    client: Any
    raw: Any  # an unhooked client of the same table, to read images
    table: str
    clock: Callable[[], datetime]
    indexes: dict[str, tuple[str, str]]  # index name -> (partition key, sort key)
    writes: int = 0
    seconds: float = 0.0
    lag_of: Callable[[str, dict | None, dict | None], tuple[int, float]] | None = None
    log: list[_Write] = field(default_factory=list)
    # The base table as it now is, mirrored from the consistent image read after every write
    # (every write of the reservation code goes through the hooked client).
    table_now: dict[str, dict] = field(default_factory=dict)
    _seq: int = 0
    _pending: list[str] = field(default_factory=list)

    def install(self) -> IndexLag:
        for page in self.raw.get_paginator("scan").paginate(TableName=self.table, ConsistentRead=True):
            for item in page["Items"]:
                self.table_now[item[_KEY]["S"]] = item
        events = self.client.meta.events
        for operation in _WRITES:
            events.register(f"before-call.dynamodb.{operation}", self._before_write)
            events.register(f"after-call.dynamodb.{operation}", self._after_write)
        events.register("before-call.dynamodb.Query", self._query)
        return self

    # -- writes -----------------------------------------------------------------------------

    def _keys(self, body: dict) -> list[str]:
        if "TransactItems" in body:
            keys = []
            for entry in body["TransactItems"]:
                ((kind, spec),) = entry.items()
                if kind != "ConditionCheck":
                    keys.append(_key_of(spec))
            return keys
        return [_key_of(body)]

    def _before_write(self, params: dict, **_: Any) -> None:
        self._pending = self._keys(json.loads(params["body"]))

    def _after_write(self, **_: Any) -> None:
        pending, self._pending = self._pending, []
        for key in pending:
            before = self.table_now.get(key)
            after = self._image(key)
            if after is None:
                self.table_now.pop(key, None)
            else:
                self.table_now[key] = after
            if after == before:
                continue  # a write whose condition failed changed nothing
            self._seq += 1
            writes, seconds = self.lag_of(key, before, after) if self.lag_of else (self.writes, self.seconds)
            now = self.clock()
            self.log.append(
                _Write(
                    self._seq, now, key, before, after, self._seq + writes, now + timedelta(seconds=seconds)
                )
            )

    def _image(self, key: str) -> dict | None:
        item = self.raw.get_item(TableName=self.table, Key={_KEY: {"S": key}}, ConsistentRead=True)
        return item.get("Item")

    def settle(self) -> None:
        """Let every write reach the indexes (what waiting long enough does)."""
        self.log.clear()

    # -- index reads ------------------------------------------------------------------------

    def index_view(self) -> dict[str, dict]:
        """The items as the indexes see them now."""
        items = dict(self.table_now)
        now = self.clock()
        first: dict[str, _Write] = {}
        latest_visible: dict[str, _Write] = {}
        for write in self.log:
            first.setdefault(write.key, write)
            if write.visible_after_seq <= self._seq and write.visible_at <= now:
                latest_visible[write.key] = write
        for key, write in first.items():
            shown = latest_visible[key].after if key in latest_visible else write.before
            if shown is None:
                items.pop(key, None)
            else:
                items[key] = shown
        return items

    def _query(self, params: dict, **_: Any) -> tuple[Any, dict] | None:
        body = json.loads(params["body"])
        if "IndexName" not in body or not self.log:
            return None
        if all(w.visible_after_seq <= self._seq and w.visible_at <= self.clock() for w in self.log):
            self.log.clear()  # everything has propagated: moto's answer is the index's
            return None
        partition, sort = self.indexes[body["IndexName"]]
        names = body.get("ExpressionAttributeNames", {})
        values = body.get("ExpressionAttributeValues", {})
        tests = [_term(term, names, values) for term in body["KeyConditionExpression"].split(" AND ")]
        if not any(name == partition and op == "=" for name, op, _ in tests):
            raise NotImplementedError(f"index query without equality on {partition}: {body}")
        if any(name not in (partition, sort) for name, _, _ in tests):
            raise NotImplementedError(f"index query on other attributes: {body}")
        if "FilterExpression" in body:
            raise NotImplementedError("FilterExpression on an index query")
        found = [
            item
            for item in self.index_view().values()
            if all(name in item and _compare(item[name], op, value) for name, op, value in tests)
        ]
        found.sort(
            key=lambda item: (_plain(item[sort]), item[_KEY]["S"]),
            reverse=not body.get("ScanIndexForward", True),
        )
        parsed: dict[str, Any] = {"Count": len(found), "ScannedCount": len(found)}
        if body.get("Select") != "COUNT":
            parsed["Items"] = copy.deepcopy(found)  # boto3's resource layer rewrites them in place
        return _Http(), parsed


@dataclass
class Invocation:
    """One Lambda invocation on ``clock`` (a settable test clock), ``timeout`` long.

    Call :meth:`charge` before each AWS or Kubernetes call (with its virtual cost): it raises
    :class:`Killed` when the deadline has passed, or when ``kill_at_call`` is reached."""

    clock: Any  # tests.reservation_fixtures.Clock
    timeout: timedelta = timedelta(seconds=60)
    kill_at_call: int | None = None
    calls: int = 0
    started: datetime = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock.now

    @property
    def deadline(self) -> datetime:
        return self.started + self.timeout

    def charge(self, seconds: float = 0.0) -> None:
        self.calls += 1
        if self.kill_at_call is not None and self.calls >= self.kill_at_call:
            raise Killed(f"killed before call {self.calls}")
        if self.clock.now >= self.deadline:
            raise Killed(f"deadline of {self.timeout.total_seconds():g} s reached")
        self.clock.advance(seconds=seconds)

    @property
    def context(self) -> LambdaContext:
        return LambdaContext(self)


@dataclass(frozen=True)
class LambdaContext:
    invocation: Invocation

    def get_remaining_time_in_millis(self) -> int:
        left = self.invocation.deadline - self.invocation.clock.now
        return max(0, int(left.total_seconds() * 1000))


class _Http:
    status_code = 200
    headers: dict[str, str] = {}


def _key_of(spec: dict) -> str:
    key = spec.get("Key") or spec.get("Item") or {}
    return key[_KEY]["S"]


def _term(text: str, names: dict, values: dict) -> tuple[str, str, dict]:
    for op in ("<=", ">=", "=", "<", ">"):
        if f" {op} " in text:
            left, right = (part.strip() for part in text.split(f" {op} ", 1))
            return names.get(left, left), op, values[right]
    raise NotImplementedError(f"key condition {text!r}")


def _plain(value: dict) -> str | float:
    if "S" in value:
        return value["S"]
    if "N" in value:
        return float(value["N"])
    raise NotImplementedError(f"key value {value}")


def _compare(actual: dict, op: str, expected: dict) -> bool:
    a, b = _plain(actual), _plain(expected)
    return {"=": a == b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]  # type: ignore[operator]
