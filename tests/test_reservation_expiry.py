"""The expiry pass: warnings at 30/15/5 minutes, each once (record + pod annotation), the grace
period, the stale queue, and the Lambda handler."""

from __future__ import annotations

from datetime import timedelta

from reservations import dev_pod, expiry, processor
from reservations.model import Status, from_iso
from tests.reservation_fixtures import NAMESPACE, POLICY, REGION, SCHEDULED_EVENT, World, load_handler


def active(world: World, **reserve) -> str:
    rid = world.reserve(**reserve)
    processor.handle(world.drain(), world.runtime)
    world.make_ready(rid)
    processor.handle(SCHEDULED_EVENT, world.runtime)
    assert world.record(rid).status == Status.ACTIVE
    return rid


def annotation_patches(world: World, rid: str) -> list[str]:
    return [
        r.body["metadata"]["annotations"][dev_pod.WARNING_ANNOTATION]
        for r in world.kube.requests
        if r.method == "PATCH"
        and isinstance(r.body, dict)
        and r.path.endswith(world.pod_name(rid))
        and dev_pod.WARNING_ANNOTATION in r.body["metadata"]["annotations"]
    ]


def test_warnings_at_30_15_and_5_minutes_each_sent_once(world):
    rid = active(world, hours=1)
    expires = from_iso(world.record(rid).expires_at)
    timeline = [45, 31, 29, 26, 16, 14, 11, 6, 4, 1]  # minutes before expiry, 5-minute-ish passes
    sent_at = {}
    for minutes in timeline:
        world.clock.now = expires - timedelta(minutes=minutes)
        report = expiry.run(world.runtime)
        for threshold in report.warned.get(rid, []):
            sent_at[threshold] = minutes
    assert sent_at == {30: 29, 15: 14, 5: 4}
    assert world.record(rid).warnings_sent == [5, 15, 30]
    texts = annotation_patches(world, rid)
    assert len(texts) == 3 and "in about 4 min" in texts[-1]
    assert f"gpu-dev edit {rid[:8]} --extend" in texts[-1]
    pod = world.kube.pod(NAMESPACE, world.pod_name(rid))
    assert pod["metadata"]["annotations"][dev_pod.WARNING_ANNOTATION] == texts[-1]


def test_missed_thresholds_are_sent_together_once(world):
    rid = active(world, hours=1)
    world.clock.now = from_iso(world.record(rid).expires_at) - timedelta(minutes=10)
    assert expiry.run(world.runtime).warned == {rid: [15, 30]}
    assert expiry.run(world.runtime).warned == {}
    assert len(annotation_patches(world, rid)) == 1


def test_overlapping_expiry_passes_record_each_warning_once(world):
    rid = active(world, hours=1)
    world.clock.now = from_iso(world.record(rid).expires_at) - timedelta(minutes=29)
    first = expiry.run(world.runtime)
    second = expiry.run(world.runtime)
    assert first.warned == {rid: [30]} and second.warned == {}
    assert world.record(rid).warnings_sent == [30]


def test_a_warning_is_not_recorded_while_kubernetes_is_unavailable(world):
    rid = active(world, hours=1)
    world.clock.now = from_iso(world.record(rid).expires_at) - timedelta(minutes=29)
    world.kube.inject(r"/pods/", method="PATCH", status=503)
    report = expiry.run(world.runtime)
    assert report.warned == {} and report.kube_errors
    assert world.record(rid).warnings_sent == []
    world.kube.clear_injections()
    assert expiry.run(world.runtime).warned == {rid: [30]}


def test_the_pod_is_kept_through_the_grace_period_then_expired(world):
    rid = active(world, hours=1)
    expires = from_iso(world.record(rid).expires_at)
    world.clock.now = expires + timedelta(minutes=POLICY.grace_minutes - 1)
    assert expiry.run(world.runtime).expired == []
    assert world.record(rid).status == Status.ACTIVE
    assert world.kube.pod(NAMESPACE, world.pod_name(rid)) is not None

    world.clock.now = expires + timedelta(minutes=POLICY.grace_minutes)
    assert expiry.run(world.runtime).expired == [rid]
    record = world.record(rid)
    assert record.status == Status.EXPIRED and record.reservation_ended == "2025-01-12T11:05:00.000Z"
    assert not record.cleanup_pending
    assert world.kube.pod(NAMESPACE, world.pod_name(rid)) is None
    assert not world.kube.objects["services"]
    assert (NAMESPACE, dev_pod.home_claim_name("alice")) in world.kube.objects["persistentvolumeclaims"]


def test_an_expired_reservation_frees_its_gpus_for_the_queue(world):
    first = active(world, gpus=8, gpu_type="a100", hours=1)
    waiting = world.reserve(gpus=8, gpu_type="a100", user="bob")
    processor.handle(world.drain(), world.runtime)
    assert world.record(waiting).status == Status.QUEUED
    world.clock.now = from_iso(world.record(first).expires_at) + timedelta(minutes=POLICY.grace_minutes)
    expiry.run(world.runtime)
    processor.handle(SCHEDULED_EVENT, world.runtime)
    assert world.record(waiting).status == Status.PREPARING


def test_stale_queued_requests_are_cancelled_with_a_reason(world):
    blocker = active(world, gpus=8, gpu_type="a100", hours=24)
    old = world.reserve(gpus=8, gpu_type="a100", user="bob")
    processor.handle(world.drain(), world.runtime)
    world.clock.advance(hours=POLICY.max_queue_hours - 1)
    young = world.reserve(gpus=8, gpu_type="a100", user="carol")
    processor.handle(world.drain(), world.runtime)

    world.clock.advance(hours=1, minutes=1)
    report = expiry.run(world.runtime)

    assert report.cancelled_stale == [old]
    record = world.record(old)
    assert record.status == Status.CANCELLED and "stale" in record.failure_reason
    assert record.reservation_ended and record.cancelled_at
    assert world.record(young).status == Status.QUEUED
    assert world.record(blocker).status != Status.QUEUED


def test_sweep_removes_objects_of_ended_records_and_keeps_live_ones(world):
    live = active(world)
    ended = world.reserve(user="bob")
    processor.handle(world.drain(), world.runtime)
    record = world.record(ended)
    world.store.transition(record, Status.FAILED, failure_reason="test", reservation_ended="x")
    report = expiry.run(world.runtime)
    assert report.swept == [ended]
    assert world.kube.pod(NAMESPACE, world.pod_name(live)) is not None
    assert world.kube.pod(NAMESPACE, world.pod_name(ended)) is None


def test_expiry_lambda_handler(world, monkeypatch):
    rid = active(world, hours=1)
    for key, value in {
        "TABLE_NAME": "gpu-dev-reservations",
        "POLICY": POLICY.to_json(),
        "CLUSTER_NAME": "gpu-platform-test",
        "CLUSTER_ENDPOINT": world.kube.url,
        "CLUSTER_CA": "",
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    module = load_handler("reservation_expiry")
    # The handler's clock is the real one: long after this 2025 reservation expired.
    result = module.handler(SCHEDULED_EVENT, None)
    assert result["expired"] == 1
    assert world.record(rid).status == Status.EXPIRED
