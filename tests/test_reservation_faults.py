"""Fault tests of the reservation Lambdas, one behaviour each: duplicate and concurrent
deliveries, racing passes, Kubernetes failures and timeouts, pods that never become ready,
malformed messages, and cancel/extend/expiry meeting a reservation mid-flight.

moto stands in for DynamoDB/SQS, tests/fake_kube.py for the Kubernetes API (real client)."""

from __future__ import annotations

import threading
from datetime import timedelta

from botocore.exceptions import ClientError

from reservations import dev_pod, expiry, processor
from reservations.model import ENDED, Status, from_iso
from tests.reservation_fixtures import NAMESPACE, POLICY, SCHEDULED_EVENT, World


def run(world: World, event: dict) -> dict:
    return processor.handle(event, world.runtime)


def holding(world: World) -> list:
    return world.store.by_status(Status.PREPARING) + world.store.by_status(Status.ACTIVE)


def pod_posts(world: World) -> list:
    return [r for r in world.kube.requests if r.method == "POST" and r.path.endswith("/pods")]


def assert_never_over_allocated(world: World) -> None:
    allocatable = world.allocatable()
    for node, gpus in world.gpus_by_node_from_records().items():
        assert gpus <= allocatable[node], (node, gpus)
    for node, gpus in world.gpus_by_node_from_pods().items():
        assert gpus <= allocatable[node], (node, gpus)


def in_threads(*targets) -> list:
    """Run the callables at once (a barrier releases them together); their results, in order."""
    barrier = threading.Barrier(len(targets))
    results: list = [None] * len(targets)
    errors: list = []

    def body(index: int, target) -> None:
        barrier.wait()
        try:
            results[index] = target()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


def test_the_same_message_delivered_twice_makes_one_pod_and_one_allocation(world):
    rid = world.reserve(gpus=2)
    event = world.receive_event()
    again = world.receive_event()  # visibility 0: SQS hands out the same message again
    assert [r["messageId"] for r in event["Records"]] == [r["messageId"] for r in again["Records"]]

    assert run(world, event) == {"batchItemFailures": []}
    assert run(world, again) == {"batchItemFailures": []}

    assert [r.reservation_id for r in holding(world)] == [rid]
    assert len(world.kube.pods(NAMESPACE)) == 1 and len(pod_posts(world)) == 1
    assert world.record(rid).version == 1  # created queued -> preparing, nothing more


def test_the_same_message_delivered_twice_before_any_record_exists_creates_one_record(world):
    """No record is written before the message (the CLI only sends): both deliveries find no
    record, only one conditional put creates it, and it is scheduled once."""
    rid = world.reserve(gpus=2)
    event = world.receive_event()
    assert world.store.get(rid) is None
    puts = []
    create = world.store.create_if_absent
    world.store.create_if_absent = lambda record: puts.append(create(record)) or puts[-1]
    gets = world.store.get
    world.store.get = lambda reservation_id: None  # both deliveries read before either writes

    processor.apply_batch(event["Records"] + event["Records"], world.runtime)

    world.store.get = gets
    assert puts == [True, False]
    assert len(world.store.by_user("alice")) == 1 and world.record(rid).status == Status.QUEUED
    assert run(world, event) == {"batchItemFailures": []}
    assert run(world, SCHEDULED_EVENT)["started"] == 0
    assert [r.reservation_id for r in holding(world)] == [rid]
    assert len(world.kube.pods(NAMESPACE)) == 1 and len(pod_posts(world)) == 1


def test_the_same_message_in_two_concurrent_invocations_makes_one_pod(world):
    rid = world.reserve(gpus=4, gpu_type="a100")
    event = world.receive_event()
    world.kube.inject(r"/pods$", method="POST", delay=0.3)  # widen the window

    results = in_threads(lambda: run(world, event), lambda: run(world, event))

    assert results == [{"batchItemFailures": []}] * 2
    assert [r.reservation_id for r in holding(world)] == [rid]
    assert len(world.kube.pods(NAMESPACE)) == 1 and len(pod_posts(world)) == 1
    assert_never_over_allocated(world)


def test_scheduled_pass_and_message_passes_racing_never_over_allocate(world):
    users = [f"user{n}" for n in range(12)]
    for user in users:
        world.reserve(gpus=2, gpu_type="t4", user=user)
    for user in users[:4]:
        world.reserve(gpus=4, gpu_type="a100", user=user)
    world.kube.inject(r"/pods$", method="POST", delay=0.05)
    first, second = world.receive_event(), world.receive_event()

    in_threads(
        lambda: run(world, first),
        lambda: run(world, second),
        lambda: [run(world, SCHEDULED_EVENT) for _ in range(3)],
        lambda: [run(world, SCHEDULED_EVENT) for _ in range(3)],
    )
    run(world, world.drain())
    run(world, SCHEDULED_EVENT)

    assert_never_over_allocated(world)
    held = world.gpus_by_node_from_records()
    assert held == world.allocatable()  # and the capacity is actually used
    assert held == world.gpus_by_node_from_pods()
    assert len(world.kube.pods(NAMESPACE)) == len(holding(world)) == 4 + 2


def test_kubernetes_5xx_on_pod_creation_keeps_the_reservation_preparing_and_retries(world):
    rid = world.reserve()
    world.kube.inject(r"/pods$", method="POST", status=503)
    run(world, world.drain())
    record = world.record(rid)
    assert record.status == Status.PREPARING and not world.kube.pods(NAMESPACE)

    world.clock.advance(minutes=1)
    report = run(world, SCHEDULED_EVENT)  # the API still fails
    assert report["kube_errors"] and world.record(rid).status == Status.PREPARING

    world.kube.clear_injections()
    world.clock.advance(minutes=1)
    run(world, SCHEDULED_EVENT)
    assert len(world.kube.pods(NAMESPACE)) == 1
    world.make_ready(rid)
    world.clock.advance(minutes=1)
    run(world, SCHEDULED_EVENT)
    assert world.record(rid).status == Status.ACTIVE


def test_kubernetes_5xx_on_the_node_list_keeps_requests_queued_until_it_recovers(world):
    world.kube.inject(r"^/api/v1/nodes$", status=500)
    rid = world.reserve()
    assert run(world, world.drain()) == {"batchItemFailures": []}
    assert world.record(rid).status == Status.QUEUED and not world.kube.pods(NAMESPACE)

    world.kube.clear_injections()
    world.clock.advance(minutes=1)
    run(world, SCHEDULED_EVENT)
    assert world.record(rid).status == Status.PREPARING


def test_kubernetes_timeouts_keep_the_reservation_and_a_late_create_is_not_duplicated():
    with World(timeout=(0.5, 0.5)) as world:
        world.kube.inject(r"^/api/v1/nodes$", delay=1.0)
        rid = world.reserve()
        report = run(world, world.drain())
        assert report == {"batchItemFailures": []}
        assert world.record(rid).status == Status.QUEUED

        world.kube.clear_injections()
        # The pod creation times out, but the server acts on it after the client gave up.
        world.kube.inject(r"/pods$", method="POST", delay=1.0, times=1)
        world.clock.advance(minutes=1)
        report = run(world, SCHEDULED_EVENT)
        assert report["kube_errors"] and "Timeout" in report["kube_errors"][0]
        assert world.record(rid).status == Status.PREPARING

        world.clock.advance(minutes=1)
        run(world, SCHEDULED_EVENT)
        world.make_ready(rid)
        world.clock.advance(minutes=1)
        run(world, SCHEDULED_EVENT)
        assert world.record(rid).status == Status.ACTIVE
        assert len(world.kube.pods(NAMESPACE)) == 1


def test_a_pod_never_ready_fails_with_its_reason_and_the_next_request_gets_the_gpus(world):
    first = world.reserve(gpus=8, gpu_type="a100")
    second = world.reserve(gpus=8, gpu_type="a100", user="bob")
    run(world, world.drain())
    assert world.record(second).status == Status.QUEUED
    world.kube.set_pod_waiting(NAMESPACE, world.pod_name(first), "ImagePullBackOff", "Back-off pulling image")

    world.clock.advance(minutes=POLICY.ready_timeout_minutes - 1)
    run(world, SCHEDULED_EVENT)
    assert world.record(first).status == Status.PREPARING

    world.clock.advance(minutes=2)
    run(world, SCHEDULED_EVENT)
    failed = world.record(first)
    assert failed.status == Status.FAILED and "ImagePullBackOff" in failed.failure_reason
    assert failed.reservation_ended is not None and not failed.cleanup_pending
    assert world.kube.pod(NAMESPACE, world.pod_name(first)) is None
    assert world.record(second).status == Status.PREPARING  # capacity returned in the same pass
    assert_never_over_allocated(world)


def test_a_failed_pod_fails_the_reservation_at_once(world):
    rid = world.reserve()
    run(world, world.drain())
    world.kube.set_pod_failed(NAMESPACE, world.pod_name(rid), "Evicted", "The node was low on memory")
    world.clock.advance(minutes=1)
    run(world, SCHEDULED_EVENT)
    record = world.record(rid)
    assert record.status == Status.FAILED and "Evicted" in record.failure_reason
    assert not world.kube.pods(NAMESPACE)


def test_malformed_and_unknown_messages_are_batch_item_failures_and_the_rest_is_processed(world):
    world.send("this is not JSON")
    world.send('{"type": "teleport", "reservation_id": "x"}')
    world.send('{"type": "cancellation", "reservation_id": "not-a-uuid", "user_id": "alice"}')
    good = world.reserve()
    event = world.drain()
    bad_ids = [r["messageId"] for r in event["Records"][:3]]

    result = run(world, event)

    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == sorted(bad_ids)
    assert world.record(good).status == Status.PREPARING


def test_a_message_that_raises_is_a_batch_item_failure_and_the_rest_is_processed(world, monkeypatch):
    broken = world.reserve(user="broken")
    fine = world.reserve(user="fine")
    by_user = world.store.by_user

    def flaky(user_id):
        if user_id == "broken":
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "Query")
        return by_user(user_id)

    monkeypatch.setattr(world.store, "by_user", flaky)
    event = world.drain()
    result = run(world, event)

    broken_id = next(r["messageId"] for r in event["Records"] if broken in r["body"])
    assert result == {"batchItemFailures": [{"itemIdentifier": broken_id}]}
    assert world.record(fine).status == Status.PREPARING
    assert world.store.get(broken) is None  # nothing written; SQS redelivers it

    monkeypatch.setattr(world.store, "by_user", by_user)
    assert run(world, {"Records": [r for r in event["Records"] if r["messageId"] == broken_id]}) == {
        "batchItemFailures": []
    }
    assert world.record(broken).status == Status.PREPARING


def sent_by(event: dict, sender: str) -> dict:
    """The event as SQS would stamp it for messages sent by ``sender`` (moto's SenderId is fixed)."""
    for record in event["Records"]:
        record["attributes"]["SenderId"] = sender
    return event


def test_a_cancel_forged_from_another_role_session_fails_and_changes_nothing(world):
    rid = world.reserve(gpus=1)  # alice's
    run(world, world.drain())
    world.cancel(rid, user="alice")  # ... but sent by mallory's session, editing the body
    forged = sent_by(world.drain(), "AROAEXAMPLEROLEID:mallory")

    result = run(world, forged)

    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == [forged["Records"][0]["messageId"]]
    assert world.record(rid).status == Status.PREPARING
    world.cancel(rid, user="alice")
    run(world, sent_by(world.drain(), "AROAEXAMPLEROLEID:alice"))  # alice's own session
    assert world.record(rid).status == Status.CANCELLED


def test_cancel_while_preparing_removes_pod_and_service_and_keeps_the_home(world):
    rid = world.reserve(gpus=4, gpu_type="a100")
    run(world, world.drain())
    world.cancel(rid)
    run(world, world.drain())

    record = world.record(rid)
    assert record.status == Status.CANCELLED and record.cancelled_at and record.reservation_ended
    assert not record.cleanup_pending
    assert world.kube.pod(NAMESPACE, world.pod_name(rid)) is None
    assert not world.kube.objects["services"]
    assert (NAMESPACE, dev_pod.home_claim_name("alice")) in world.kube.objects["persistentvolumeclaims"]
    world.clock.advance(minutes=1)
    run(world, SCHEDULED_EVENT)
    assert not world.kube.pods(NAMESPACE) and world.store.get_summary()["gpu_types"]["a100"]["free"] == 8


def test_cancel_racing_with_the_pod_creation_leaves_no_pod(world):
    rid = world.reserve(gpus=4, gpu_type="a100")
    processor.apply_batch(world.drain()["Records"], world.runtime)  # accept it without scheduling
    world.kube.inject(r"/pods$", method="POST", delay=0.5)
    world.cancel(rid)
    cancel_event = world.drain()

    def cancel_during_creation():
        while not pod_posts(world):
            threading.Event().wait(0.01)
        return run(world, cancel_event)

    in_threads(lambda: run(world, SCHEDULED_EVENT), cancel_during_creation)

    record = world.record(rid)
    assert record.status == Status.CANCELLED and not record.cleanup_pending
    assert world.kube.pod(NAMESPACE, world.pod_name(rid)) is None
    assert not world.kube.objects["services"]


def test_cleanup_that_fails_is_flagged_and_retried_by_the_sweep(world):
    rid = world.reserve()
    run(world, world.drain())
    world.kube.inject(r"/pods/", method="DELETE", status=503)
    world.cancel(rid)
    assert run(world, world.drain()) == {"batchItemFailures": []}
    record = world.record(rid)
    assert record.status == Status.CANCELLED and record.cleanup_pending is True
    assert world.kube.pod(NAMESPACE, world.pod_name(rid)) is not None

    world.kube.clear_injections()
    world.clock.advance(minutes=5)
    report = expiry.run(world.runtime)
    assert report.swept == [rid]
    assert world.kube.pod(NAMESPACE, world.pod_name(rid)) is None and not world.kube.objects["services"]
    assert not world.record(rid).cleanup_pending


def test_extend_while_active_moves_expiry_rearms_warnings_and_applies_once(world):
    rid = world.reserve(hours=2)
    run(world, world.drain())
    world.make_ready(rid)
    run(world, SCHEDULED_EVENT)
    expires = from_iso(world.record(rid).expires_at)
    world.clock.now = expires - timedelta(minutes=20)
    expiry.run(world.runtime)
    assert world.record(rid).warnings_sent == [30]

    world.extend(rid, 1)
    event = world.receive_event()
    run(world, event)
    run(world, event)  # redelivered

    record = world.record(rid)
    assert record.status == Status.ACTIVE and record.duration_hours == 3
    assert from_iso(record.expires_at) == expires + timedelta(hours=1)
    assert record.warnings_sent == [] and record.extension_refusal is None
    pod = world.kube.pod(NAMESPACE, world.pod_name(rid))
    assert pod["metadata"]["annotations"][dev_pod.WARNING_ANNOTATION] == ""

    world.clock.now = expires + timedelta(minutes=POLICY.grace_minutes + 1)  # the old expiry
    expiry.run(world.runtime)
    assert world.record(rid).status == Status.ACTIVE


def test_expiry_while_the_pod_is_gone_ends_consistently(world):
    rid = world.reserve()
    run(world, world.drain())
    world.make_ready(rid)
    run(world, SCHEDULED_EVENT)
    world.kube.remove_pod(NAMESPACE, world.pod_name(rid))

    world.clock.now = from_iso(world.record(rid).expires_at) + timedelta(minutes=POLICY.grace_minutes + 1)
    report = expiry.run(world.runtime)

    record = world.record(rid)
    assert report.expired == [rid]
    assert record.status == Status.EXPIRED and record.status in ENDED
    assert record.reservation_ended and not record.cleanup_pending
    assert not world.kube.objects["services"]
    assert expiry.run(world.runtime).expired == []  # nothing more to do


def test_gpus_of_a_reservation_past_its_end_are_not_reused_before_the_expiry_pass(world):
    first = world.reserve(gpus=8, gpu_type="a100", hours=1)
    run(world, world.drain())
    world.make_ready(first)
    run(world, SCHEDULED_EVENT)
    waiting = world.reserve(gpus=8, gpu_type="a100", user="bob")
    world.clock.now = from_iso(world.record(first).expires_at) + timedelta(minutes=POLICY.grace_minutes + 3)
    run(world, world.drain())
    assert world.record(waiting).status == Status.QUEUED  # the expired pod may still be running
    assert_never_over_allocated(world)
    expiry.run(world.runtime)
    run(world, SCHEDULED_EVENT)
    assert world.record(waiting).status == Status.PREPARING
    assert_never_over_allocated(world)
