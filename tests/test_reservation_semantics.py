"""The reservation Lambdas under the semantics moto leaves out (``tests/aws_semantics.py``):
index Queries that lag behind writes (finding 1 of issue 13), and Lambda invocations killed at
their deadline against a Kubernetes API that hangs (finding 2)."""

from __future__ import annotations

from reservations import processor
from reservations.model import ENDED, Status
from tests.reservation_fixtures import NAMESPACE, World


def assert_never_over_allocated(world: World) -> None:
    allocatable = world.allocatable()
    for source in (world.gpus_by_node_from_records(), world.gpus_by_node_from_pods()):
        for node, gpus in source.items():
            assert gpus <= allocatable[node], (node, gpus, source)


def status_of(item: dict | None) -> str | None:
    return None if item is None else item["status"]["S"]


def test_a_start_the_index_has_not_caught_up_with_never_double_books_its_node(world):
    """Finding 1: Y fills t4-a, X fills t4-b; A (2 GPUs) and B (4) wait. X is cancelled and A
    starts on t4-b; then Y is cancelled, and the next pass reads an index that already shows
    Y cancelled but still shows A queued (an index propagates writes out of order). Planned
    from the index, A would go to t4-a and B to A's real node: 6 GPUs on a 4-GPU node."""
    y = world.reserve(gpus=4, user="yann")
    x = world.reserve(gpus=4, user="xena")
    processor.handle(world.drain(), world.runtime)
    assert (world.record(y).node_name, world.record(x).node_name) == ("t4-a", "t4-b")
    a = world.reserve(gpus=2, user="ann")
    b = world.reserve(gpus=4, user="bob")
    processor.handle(world.drain(), world.runtime)

    def lag(key: str, before: dict | None, after: dict | None) -> tuple[int, float]:
        started = key == a and status_of(before) == "queued" and status_of(after) == "preparing"
        return (0, 3600.0) if started else (0, 0.0)

    world.lag_index(lag_of=lag)
    world.cancel(x, user="xena")
    processor.handle(world.drain(), world.runtime)
    assert (world.record(a).status, world.record(a).node_name) == (Status.PREPARING, "t4-b")
    assert [r.reservation_id for r in world.store.by_status(Status.QUEUED)] == [a, b]  # the lag

    world.cancel(y, user="yann")
    processor.handle(world.drain(), world.runtime)

    assert_never_over_allocated(world)
    assert (world.record(b).status, world.record(b).node_name) == (Status.PREPARING, "t4-a")
    assert world.gpus_by_node_from_records() == world.gpus_by_node_from_pods() == {"t4-a": 4, "t4-b": 2}


def test_an_index_that_lags_every_write_delays_starts_but_never_over_allocates(world):
    """Every write reaches the index only after three more: passes see old statuses all the
    time, and plan from the ledger all the same."""
    world.lag_index(writes=3)
    ids = [world.reserve(gpus=g, user=f"u{n}") for n, g in enumerate((2, 4, 1, 2, 4, 1, 2))]
    for _ in range(6):
        processor.handle(world.drain(), world.runtime)
        for rid in ids[:3]:
            if world.record(rid).status == Status.PREPARING and rid == ids[1]:
                world.cancel(rid, user="u1")
        world.clock.advance(minutes=1)
        assert_never_over_allocated(world)
    assert world.gpus_by_node_from_records() == world.gpus_by_node_from_pods()


def hung_world() -> World:
    """Client timeouts of (0.1 s, 0.3 s): a hung call costs 2 tries x 0.4 s, as the Lambda's
    2 x (3 s + 10 s); the invocations below last 2 s instead of 60 s."""
    return World(timeout=(0.1, 0.3))


def test_a_brown_out_loses_no_reserve_and_fails_no_message():
    """Finding 2: three cancels ahead of four Reserves in one batch, against an API that hangs.
    Unboxed, each cancel's cleanup costs 2 tries x 2 calls x the timeout and the invocation is
    killed before any Reserve is written, three times over, into the DLQ."""
    with hung_world() as world:
        running = [world.reserve(gpus=1, user=f"old{n}") for n in range(3)]
        processor.handle(world.drain(), world.runtime)
        assert all(world.record(rid).status == Status.PREPARING for rid in running)
        world.kube.inject(r"", delay=1.0)  # every request hangs past the client's timeout
        for n, rid in enumerate(running):
            world.cancel(rid, user=f"old{n}")
        new = [world.reserve(gpus=1, user=f"new{n}") for n in range(4)]
        event = world.drain()
        assert [r["body"].count("cancellation") for r in event["Records"]] == [1, 1, 1, 0, 0, 0, 0]

        result = world.invoke(event, timeout=2.0, real_time=True, reserve=0.3)

        assert result == {"batchItemFailures": []}  # finished within its deadline
        assert [world.record(rid).status for rid in new] == [Status.QUEUED] * 4
        for rid in running:
            record = world.record(rid)
            assert record.status == Status.CANCELLED and record.cleanup_pending
        world.kube.clear_injections()
        world.clock.advance(minutes=1)
        processor.handle({"source": "aws.events", "detail-type": "Scheduled Event"}, world.runtime)
        assert not any(world.kube.pod(NAMESPACE, world.pod_name(rid)) for rid in running)
        assert all(world.record(rid).status == Status.PREPARING for rid in new)
        assert_never_over_allocated(world)


def test_messages_that_no_longer_fit_the_deadline_alone_are_handed_back(world):
    """Virtual time: every AWS call costs 10 ms, and the invocation starts with 50 ms to spare
    beyond its reserve -- time for the Reserve and a message or two, not for the batch."""
    running = [world.reserve(gpus=1, user=f"old{n}") for n in range(4)]
    processor.handle(world.drain(), world.runtime)
    for n, rid in enumerate(running):
        world.cancel(rid, user=f"old{n}")
    fresh = world.reserve(gpus=1, user="new")
    event = world.drain()
    by_id = {r["messageId"]: r for r in event["Records"]}

    result = world.invoke(event, timeout=5.05, reserve=5.0)

    assert result is not None  # not killed: it stopped in time
    assert world.record(fresh).status == Status.QUEUED  # the Reserve went first
    handed_back = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    assert handed_back and all('"cancellation"' in by_id[m]["body"] for m in handed_back)
    for n, rid in enumerate(running):
        cancel = next(m for m, r in by_id.items() if rid in r["body"])
        assert (world.record(rid).status in ENDED) == (cancel not in handed_back), n


def test_a_reserve_failing_on_its_last_receive_leaves_a_failed_record(world, monkeypatch):
    rid = world.reserve(user="broken")
    event = world.drain()

    def throttled(*_args, **_kwargs):
        raise RuntimeError("ProvisionedThroughputExceededException")

    monkeypatch.setattr(world.store, "by_user", throttled)
    assert processor.apply_batch(event["Records"], world.runtime) == [event["Records"][0]["messageId"]]
    assert world.store.get(rid) is None  # not the last receive: SQS redelivers it
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "3"
    processor.apply_batch(event["Records"], world.runtime)
    record = world.record(rid)
    assert record.status == Status.FAILED and "dead-letter queue" in record.failure_reason
    assert "ProvisionedThroughputExceededException" in record.failure_reason
