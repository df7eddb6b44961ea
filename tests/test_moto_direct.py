"""The soak's short cuts through moto (``tests/moto_direct.py``) answer what moto answers: the same
calls, made with and without :func:`fast_item_responses`, parse to the same responses, for every
item shape the reservation code writes (a record, a gang's ledger hold, a Binary forecast, the
summary) and every item operation it sends; :class:`BackendReader` reads what a consistent
``GetItem`` reads."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import boto3
import pytest
from moto import mock_aws

from reservations import forecast
from reservations.model import Reservation, Status
from reservations.store import LEDGER_PREFIX, Hold, Ledger, ReservationStore
from tests.moto_direct import BackendReader, fast_item_responses
from tests.reservation_fixtures import FAKE_CREDENTIALS, REGION, TABLE, create_table

AT = datetime(2025, 1, 12, 10, 0, tzinfo=UTC)
RID = "00000000-0000-4000-8000-000000000001"
GANG = "00000000-0000-4000-8000-000000000002"


def record(rid: str, gpus: int) -> Reservation:
    return Reservation(rid, "alice", "alice-gh", "a100", gpus, 1.5, Status.QUEUED, "2025-01-12T10:00:00.000Z")


def seeded(client: Any) -> ReservationStore:
    """The table holding one item of each shape the reservation code writes."""
    store = ReservationStore(TABLE, dynamodb=boto3.resource("dynamodb", region_name=REGION))
    store.create_if_absent(record(RID, 1))
    store.create_if_absent(record(GANG, 16))
    hold = Hold(node="a100-a", gpus=8, gang=("a100-a", "a100-b"))
    store.table.update_item(**store._ledger_update(Ledger("a100", 0, {}), Ledger("a100", 1, {GANG: hold})))
    store.put_forecast(forecast.encode("a100", [(RID, AT + timedelta(minutes=30)), (GANG, None)], AT))
    store.put_summary({"a100": {"total": 16, "free": 0, "next_free_at": None}}, AT)
    return store


def conversation(client: Any) -> list[dict]:
    """Every item operation the reservation code sends, and the answers (without metadata)."""
    seeded(client)
    key = {"reservation_id": {"S": RID}}
    calls: list[tuple[str, dict]] = [
        ("get_item", {"TableName": TABLE, "Key": key, "ConsistentRead": True}),
        ("get_item", {"TableName": TABLE, "Key": {"reservation_id": {"S": LEDGER_PREFIX + "a100"}}}),
        ("get_item", {"TableName": TABLE, "Key": {"reservation_id": {"S": "absent"}}}),
        (
            "batch_get_item",
            {
                "RequestItems": {
                    TABLE: {
                        "Keys": [
                            key,
                            {"reservation_id": {"S": GANG}},
                            {"reservation_id": {"S": forecast.key("a100")}},
                            {"reservation_id": {"S": "summary#capacity"}},
                        ],
                        "ConsistentRead": True,
                    }
                },
                "ReturnConsumedCapacity": "TOTAL",
            },
        ),
        (
            "query",
            {
                "TableName": TABLE,
                "IndexName": "StatusIndex",
                "KeyConditionExpression": "#s = :s",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":s": {"S": "queued"}},
                "Limit": 1,
            },
        ),
        ("scan", {"TableName": TABLE, "ConsistentRead": True}),
        (
            "update_item",
            {
                "TableName": TABLE,
                "Key": key,
                "UpdateExpression": "SET gpu_count = :n",
                "ExpressionAttributeValues": {":n": {"N": "2"}},
                "ReturnValues": "ALL_NEW",
            },
        ),
        (
            "put_item",
            {"TableName": TABLE, "Item": {**key, "note": {"SS": ["a", "b"]}}, "ReturnValues": "ALL_OLD"},
        ),
        (
            "transact_write_items",
            {
                "TransactItems": [
                    {
                        "ConditionCheck": {
                            "TableName": TABLE,
                            "Key": key,
                            "ConditionExpression": "attribute_exists(note)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": TABLE,
                            "Key": {"reservation_id": {"S": GANG}},
                            "UpdateExpression": "SET gpu_count = :n",
                            "ExpressionAttributeValues": {":n": {"N": "16"}},
                        }
                    },
                ]
            },
        ),
        ("delete_item", {"TableName": TABLE, "Key": key, "ReturnValues": "ALL_OLD"}),
    ]
    answers = []
    for method, params in calls:
        answer = getattr(client, method)(**params)
        answer.pop("ResponseMetadata")
        answers.append(answer)
    return answers


def with_moto(run: Any) -> Any:
    with mock.patch.dict(os.environ, FAKE_CREDENTIALS), mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_table(client)
        return run(client)


def test_fast_item_responses_parse_to_what_moto_answers():
    expected = with_moto(conversation)
    with fast_item_responses():
        fast = with_moto(conversation)
    assert fast == expected
    assert any("B" in item.get("queue", {}) for item in expected[3]["Responses"][TABLE])  # Binary covered
    assert expected[4]["Count"] == 1 and "LastEvaluatedKey" in expected[4]  # a page and its key


def test_other_operations_and_errors_keep_moto_s_serializer():
    def describe_and_fail(client: Any) -> tuple[dict, str]:
        table = client.describe_table(TableName=TABLE)["Table"]
        with pytest.raises(client.exceptions.ConditionalCheckFailedException) as failed:
            client.put_item(
                TableName=TABLE,
                Item={"reservation_id": {"S": RID}},
                ConditionExpression="attribute_exists(reservation_id)",
            )
        return table, failed.value.response["Error"]["Code"]

    with fast_item_responses():
        table, code = with_moto(describe_and_fail)
    assert isinstance(table["CreationDateTime"], datetime)  # a timestamp, as moto encodes it
    assert code == "ConditionalCheckFailedException"


def test_backend_reader_reads_what_a_consistent_get_item_reads():
    def both(client: Any) -> list[tuple[dict, dict]]:
        seeded(client)
        reader = BackendReader(client, REGION)
        keys = [RID, GANG, LEDGER_PREFIX + "a100", forecast.key("a100"), "summary#capacity", "absent"]
        pairs = []
        for rid in keys:
            key = {"reservation_id": {"S": rid}}
            answer = client.get_item(TableName=TABLE, Key=key, ConsistentRead=True)
            answer.pop("ResponseMetadata")
            pairs.append((reader.get_item(TableName=TABLE, Key=key, ConsistentRead=True), answer))
        return pairs

    pairs = with_moto(both)
    assert all(mine == moto for mine, moto in pairs)
    assert pairs[-1][0] == {} and all("Item" in mine for mine, _ in pairs[:-1])
