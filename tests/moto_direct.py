"""Two short cuts through moto for the fault soak (``tests/reservation_soak.py``), where most of a
run's time was moto's per-call overhead (profiled: ``python -m cProfile -m tests.reservation_soak``).

* :func:`fast_item_responses`: moto 5.2 serialises every DynamoDB answer by walking the
  operation's output shape attribute by attribute (``moto.core.serialize``), which cost more
  than the rest of the call for the soak's item reads. An item operation's answer is already
  plain DynamoDB JSON there (``DynamoResult`` has converted it, Binary values to bytes), so
  this dumps it with ``json.dumps`` (bytes as base64, the protocol's blob encoding) instead;
  anything else ``json`` cannot dump (timestamps) and every other operation keep moto's
  serializer. ``tests/test_moto_direct.py`` checks that both give
  the same parsed answer for every shape the reservation code reads.
* :class:`BackendReader`: a test's own consistent reads of one item (the index-lag model's
  image after each write) from moto's in-memory table, without a request. What it returns is
  what a ``GetItem`` with ``ConsistentRead`` would: moto's items ARE the base table.

Neither changes what the code under test sends or is answered: its calls still go through
botocore, moto's request parsing, conditions and transactions.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.utilities import dynamo_to_dict
from moto.dynamodb.responses import DynamoResult

ITEM_OPERATIONS = frozenset(
    {
        "GetItem",
        "BatchGetItem",
        "Query",
        "Scan",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "TransactWriteItems",
    }
)
CONTENT_TYPE = "application/x-amz-json-1.0"


@contextmanager
def fast_item_responses() -> Iterator[None]:
    """While entered, moto answers DynamoDB item operations with ``json.dumps`` of its result."""
    original = DynamoResult.execute_result

    def execute_result(self: DynamoResult, context: Any) -> Any:
        if context.operation_model.name in ITEM_OPERATIONS and isinstance(self.result, dict):
            try:
                body = json.dumps(self.result, default=_blob)
            except TypeError:  # a timestamp: moto's serializer knows its encoding
                return original(self, context)
            return 200, {"Content-Type": CONTENT_TYPE}, body
        return original(self, context)

    with mock.patch.object(DynamoResult, "execute_result", execute_result):
        yield


def _blob(value: object) -> str:
    """A Binary value (``B``, ``BS``) on the wire: base64, as the JSON protocol sends blobs."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(type(value).__name__)


class BackendReader:
    """A stand-in for a DynamoDB client whose ``get_item`` reads moto's table directly; every
    other method is the real ``client``'s."""

    def __init__(self, client: Any, region: str) -> None:
        self.client = client
        self.region = region

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def get_item(self, *, TableName: str, Key: dict[str, Any], **_: Any) -> dict[str, Any]:
        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][self.region]
        item = backend.get_item(TableName, Key)
        if item is None:
            return {}
        # As botocore parses a GetItem answer: plain dicts, Binary as bytes; nothing shared.
        return {"Item": copy.deepcopy(dynamo_to_dict(item.describe_attrs()["Item"]))}
