"""The reservations table repository against moto's DynamoDB: versioned conditional writes,
life-cycle checks, GSI queries with pagination (never a Scan), the scheduling lease."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from reservations.model import SUMMARY_KEY, IllegalTransition, Reservation, Status
from reservations.store import LEASE_KEY, Hold, Lease, LeaseLost, LedgerMoved, StaleRecord


def record(
    n: int = 0, *, user: str = "alice", gpu_type: str = "t4", status: Status = Status.PENDING
) -> Reservation:
    return Reservation(
        reservation_id=f"00000000-0000-4000-8000-{n:012d}",
        user_id=user,
        github_user="gh",
        gpu_type=gpu_type,
        gpu_count=1,
        duration_hours=1.5,
        status=status,
        created_at=f"2025-01-12T10:{n // 60:02d}:{n % 60:02d}.000Z",
    )


def count_calls(store) -> Counter:
    calls: Counter = Counter()
    store.client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.update([model.name]))
    return calls


def test_create_if_absent_creates_once(world):
    assert world.store.create_if_absent(record(1)) is True
    assert world.store.create_if_absent(record(1)) is False
    assert world.store.get(record(1).reservation_id).duration_hours == 1.5


def test_transition_writes_version_plus_one_and_the_status(world):
    world.store.create_if_absent(record(1))
    read = world.store.get(record(1).reservation_id)
    moved = world.store.transition(read, Status.QUEUED, queue_position=3)
    stored = world.store.get(read.reservation_id)
    assert stored == moved and stored.version == 1 and stored.queue_position == 3
    raw = world.store.table.get_item(Key={"reservation_id": read.reservation_id})["Item"]
    assert raw["status"] == "queued" and "status_gpu_type" not in raw  # StatusGpuTypeIndex is unused


def test_a_write_based_on_a_stale_read_is_refused(world):
    world.store.create_if_absent(record(1))
    read = world.store.get(record(1).reservation_id)
    world.store.transition(read, Status.QUEUED)
    with pytest.raises(StaleRecord):
        world.store.transition(read, Status.CANCELLED)
    with pytest.raises(StaleRecord):
        world.store.update(read, queue_position=1)
    assert world.store.get(read.reservation_id).status == Status.QUEUED


def test_an_illegal_transition_is_refused_before_any_write(world):
    world.store.create_if_absent(record(1))
    read = world.store.get(record(1).reservation_id)
    calls = count_calls(world.store)
    with pytest.raises(IllegalTransition):
        world.store.transition(read, Status.ACTIVE)
    assert calls == Counter()


def test_update_removes_fields_set_to_none_and_refuses_managed_ones(world):
    world.store.create_if_absent(record(1))
    read = world.store.get(record(1).reservation_id)
    read = world.store.update(read, queue_position=2, estimated_wait_minutes=5)
    read = world.store.update(read, queue_position=None)
    stored = world.store.get(read.reservation_id)
    assert stored.queue_position is None and stored.estimated_wait_minutes == 5
    with pytest.raises(ValueError):
        world.store.update(read, status=Status.ACTIVE)
    with pytest.raises(ValueError):
        world.store.update(read, version=9)


def test_queries_use_the_indexes_and_follow_pagination(world):
    big = "x" * 40_000  # 40 records of ~40 KB: more than one 1 MB page
    for n in range(40):
        item = record(
            n, user="alice" if n % 2 else "bob", gpu_type="t4" if n % 4 else "a100", status=Status.QUEUED
        )
        item.failure_reason = big
        world.store.create_if_absent(item)
    world.store.create_if_absent(record(99, status=Status.PENDING))
    calls = count_calls(world.store)
    queued = world.store.by_status(Status.QUEUED)
    assert len(queued) == 40 and [r.created_at for r in queued] == sorted(r.created_at for r in queued)
    assert calls["Query"] >= 2
    assert len(world.store.by_user("alice")) == 21  # 20 queued + the pending one
    early = world.store.by_status(Status.QUEUED, created_before="2025-01-12T10:00:10.000Z")
    assert len(early) == 10
    assert "Scan" not in calls


def test_items_without_status_are_in_no_index(world):
    from datetime import UTC, datetime

    world.store.put_summary(
        {"t4": {"gpu_model": "T4", "total": 0, "free": 0, "queued": 0}}, datetime.now(UTC)
    )
    lease = world.store.acquire_lease()
    assert lease is not None
    for status in Status:
        assert world.store.by_status(status) == []
    assert world.store.get(SUMMARY_KEY) is None and world.store.get(LEASE_KEY) is None
    assert world.store.get_summary()["gpu_types"]["t4"]["gpu_model"] == "T4"


def test_lease_is_exclusive_released_by_its_owner_and_taken_over_when_expired(world):
    first = world.store.acquire_lease()
    assert first is not None
    assert world.store.acquire_lease() is None
    world.store.release_lease(Lease(owner="someone-else", expires_at=0))  # not theirs: no effect
    assert world.store.acquire_lease() is None
    world.store.release_lease(first)
    second = world.store.acquire_lease(seconds=1)
    assert second is not None
    time.sleep(2.1)
    third = world.store.acquire_lease()
    assert third is not None and third.owner != second.owner
    world.store.release_lease(second)  # the lapsed holder cannot release the new holder's lease
    assert world.store.acquire_lease() is None


def test_an_allocating_write_needs_the_lease_still_held(world):
    world.store.create_if_absent(record(1, status=Status.QUEUED))
    read = world.store.get(record(1).reservation_id)
    ledgers = world.store.ledgers(["t4"])
    lease = world.store.acquire_lease()
    world.store.release_lease(lease)
    other = world.store.acquire_lease()
    start = [(read, Hold("t4-a", 1), {"node_name": "t4-a"})]
    with pytest.raises(LeaseLost):
        world.store.start_many(start, ledgers, lease)
    assert world.store.get(read.reservation_id).status == Status.QUEUED
    assert world.store.ledgers(["t4"])["t4"].holds == {}
    written, stale, after = world.store.start_many(start, ledgers, other)
    assert world.store.get(read.reservation_id) == written[0] and stale == []
    assert world.store.ledgers(["t4"]) == after and after["t4"].holds == {
        read.reservation_id: Hold("t4-a", 1)
    }


def test_a_start_is_never_a_plain_transition(world):
    world.store.create_if_absent(record(1, status=Status.QUEUED))
    read = world.store.get(record(1).reservation_id)
    with pytest.raises(ValueError, match="start_many"):
        world.store.transition(read, Status.PREPARING, node_name="t4-a")


def test_a_start_planned_from_a_ledger_that_moved_writes_nothing(world):
    """Two passes that both read the ledger at version 0 (as two lease holders would, if the
    lease ever failed): the second start fails whole, record and ledger alike."""
    for n in (1, 2):
        world.store.create_if_absent(record(n, status=Status.QUEUED))
    first, second = (world.store.get(record(n).reservation_id) for n in (1, 2))
    ledgers = world.store.ledgers(["t4"])
    lease = world.store.acquire_lease()
    world.store.start_many([(first, Hold("t4-a", 1), {"node_name": "t4-a"})], ledgers, lease)
    with pytest.raises(LedgerMoved):
        world.store.start_many([(second, Hold("t4-a", 1), {"node_name": "t4-a"})], ledgers, lease)
    assert world.store.get(second.reservation_id).status == Status.QUEUED
    assert set(world.store.ledgers(["t4"])["t4"].holds) == {first.reservation_id}


def test_release_removes_holds_conditionally(world):
    world.store.create_if_absent(record(1, status=Status.QUEUED))
    read = world.store.get(record(1).reservation_id)
    lease = world.store.acquire_lease()
    _, _, ledgers = world.store.start_many(
        [(read, Hold("t4-a", 1), {"node_name": "t4-a"})], world.store.ledgers(["t4"]), lease
    )
    stale_copy = world.store.ledgers(["t4"])["t4"]
    released = world.store.release(ledgers["t4"], {read.reservation_id}, lease)
    assert released.holds == {} and world.store.ledgers(["t4"])["t4"] == released
    with pytest.raises(LedgerMoved):
        world.store.release(stale_copy, {read.reservation_id}, lease)


def test_get_many_reads_in_batches(world):
    for n in range(150):
        world.store.create_if_absent(record(n))
    calls = count_calls(world.store)
    found = world.store.get_many([record(n).reservation_id for n in range(150)] + ["missing"])
    assert len(found) == 150 and calls["BatchGetItem"] == 2


def test_start_many_commits_in_transactions_and_leaves_out_stale_records(world):
    for n in range(120):
        world.store.create_if_absent(record(n, status=Status.QUEUED, gpu_type="t4" if n % 2 else "a100"))
    reads = [world.store.get(record(n).reservation_id) for n in range(120)]
    world.store.transition(reads[5], Status.CANCELLED)  # someone else moved it
    world.store.transition(reads[110], Status.CANCELLED)
    lease = world.store.acquire_lease()
    calls = count_calls(world.store)
    starts = [
        (r, Hold(f"{r.gpu_type}-{n % 9}", 1), {"node_name": f"{r.gpu_type}-{n % 9}"})
        for n, r in enumerate(reads)
    ]
    written, stale, ledgers = world.store.start_many(starts, world.store.ledgers(["t4", "a100"]), lease)
    assert sorted(stale) == sorted([reads[5].reservation_id, reads[110].reservation_id])
    assert len(written) == 118 and all(r.status == Status.PREPARING for r in written)
    assert sum(r.status == Status.PREPARING for r in world.records()) == 118
    assert ledgers == world.store.ledgers(["t4", "a100"])
    assert sorted([*ledgers["t4"].holds, *ledgers["a100"].holds]) == sorted(r.reservation_id for r in written)
    # 97 records + 2 ledgers + the lease check to a transaction: two chunks, each retried once
    # without its stale record.
    assert calls["TransactWriteItems"] == 4
    world.store.release_lease(lease)
    with pytest.raises(LeaseLost):
        world.store.start_many([(reads[0], Hold("a100-0", 1), {})], ledgers, lease)
