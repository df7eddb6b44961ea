"""The seeded fault soak (``tests/reservation_soak.py``) at a size that keeps the suite fast;
``make soak-reservations`` runs it at full size (README, "Reservations").

Its gang invariants (``tests/gang_invariants.py``) are shown able to fail: one 16-GPU gang's life
(start on two of the soak's EFA nodes, Ready, cancel, release) is scripted without faults and
checked after every step, first as the code is (it passes), then with a defect seeded in each
place a partial gang could come from."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from reservations import dev_pod, messages, processor
from reservations.kube import KubeGateway
from reservations.model import Status
from reservations.store import Hold, Ledger, ReservationStore
from tests.moto_direct import fast_item_responses
from tests.reservation_fixtures import NAMESPACE, SCHEDULED_EVENT, World
from tests.reservation_soak import NODES, SOAK_POLICY, Soak, run


def test_a_small_seeded_soak_keeps_every_invariant_and_loses_nothing():
    report = run(7, faults=60)  # raises at the first broken invariant, naming seed and step
    assert sum(report.faults.values()) >= 60 and len(report.faults) >= 5
    assert report.over_allocations == 0 and report.lost == 0 and report.partial_gangs == 0
    assert report.sent > 0 and sum(report.records.values()) == report.sent


def gang_life(ready: Callable[[World, str], None] | None = None) -> Soak:
    """One 16-GPU reservation on the p5 pool from request to release, the soak's checks after
    every step; ``ready(world, rid)`` makes pods Ready (default: all of the gang's)."""
    ready = ready or _all_ready
    with fast_item_responses(), World(policy=SOAK_POLICY, nodes=NODES) as world:
        soak = Soak(0, world)
        soak.faults_on = False

        def tick() -> None:
            world.clock.advance(seconds=60)
            world.invoke(SCHEDULED_EVENT)
            soak.check()

        rid = soak.request("dev0", "p5", 16, 1.0)
        soak.deliver()  # the Reserve, and the pass after it: both nodes held, two pods created
        soak.check()
        ready(world, rid)
        for _ in range(3):
            tick()
        assert world.record(rid).status is Status.ACTIVE
        soak.send(messages.Cancel("cancellation", rid, "dev0"))
        soak.deliver()
        soak.check()
        for _ in range(2):
            tick()
        assert world.store.ledgers(["p5"])["p5"].holds == {}
    return soak


def _all_ready(world: World, rid: str) -> None:
    for rank in range(2):
        if world.kube.pod(NAMESPACE, name := dev_pod.member_pod_name(rid, rank)) is not None:
            world.kube.set_pod_ready(NAMESPACE, name)


def test_a_gang_s_life_keeps_the_gang_invariants():
    soak = gang_life()
    assert (soak.report.gangs_started, soak.report.gangs_active, soak.report.partial_gangs) == (1, 1, 0)
    kube = soak.world.kube
    assert kube.pods(NAMESPACE) == [] and kube.objects["services"] == kube.objects["networkpolicies"] == {}


def _hold_on_first_node(monkeypatch):
    """The ledger write keeps only the first node of a gang's hold."""
    original = ReservationStore._ledger_update

    def update(self, ledger: Ledger, new: Ledger):
        holds = {rid: Hold(h.node, h.gpus, h.gang[:1]) for rid, h in new.holds.items()}
        return original(self, ledger, Ledger(new.gpu_type, new.version, holds))

    monkeypatch.setattr(ReservationStore, "_ledger_update", update)


def _record_names_first_node(monkeypatch):
    """The start writes only the first of a gang's nodes into its record."""
    original = ReservationStore.start_many

    def start_many(self, starts, ledgers, lease):
        starts = [(r, h, c | {"gang_nodes": c["gang_nodes"][:1]}) for r, h, c in starts]
        return original(self, starts, ledgers, lease)

    monkeypatch.setattr(ReservationStore, "start_many", start_many)


def _forget_last_member(monkeypatch) -> None:
    monkeypatch.setitem(processor.OWNED, "pods", lambda record: [dev_pod.pod_name(record.reservation_id)])
    monkeypatch.setattr(dev_pod, "pod_names", lambda record: [dev_pod.pod_name(record.reservation_id)])


def _last_pod_dropped(monkeypatch):
    """The API drops the creation of a gang's last pod, and the processor, forgetting the last
    member, neither waits for it nor misses it."""
    create = KubeGateway.create
    _forget_last_member(monkeypatch)

    def dropping(self, resource, namespace, body):
        if resource == "pods" and body["metadata"]["name"].endswith("-1"):
            return True
        return create(self, resource, namespace, body)

    monkeypatch.setattr(KubeGateway, "create", dropping)


def _last_member_forgotten(monkeypatch):
    """The processor forgets a gang's last member: it activates the gang when rank 0 is Ready."""
    _forget_last_member(monkeypatch)


def _peers_kept(resource: str):
    def defect(monkeypatch):
        """The API drops the deletion of a gang's headless Service or peers policy (and says
        it is gone)."""
        delete = KubeGateway.delete

        def dropping(self, kind, namespace, name):
            return (
                True if kind == resource and name.endswith("-peers") else delete(self, kind, namespace, name)
            )

        monkeypatch.setattr(KubeGateway, "delete", dropping)

    return defect


def _rank_0_ready(world: World, rid: str) -> None:
    world.kube.set_pod_ready(NAMESPACE, dev_pod.pod_name(rid))


@pytest.mark.parametrize(
    ("defect", "ready", "message"),
    [
        (
            _hold_on_first_node,
            None,
            r"ledger: gang \S+ \(16 GPUs on \['p5-a', 'p5-b'\]\) is held as 8 GPUs on \['p5-a'\]",
        ),
        (
            _record_names_first_node,
            None,
            r"record: preparing gang \S+ of 16 GPUs \(2 nodes\) names nodes \['p5-a'\]",
        ),
        (_last_pod_dropped, None, r"pods: active gang \S+ has ranks \[1\] missing"),
        (
            _last_member_forgotten,
            _rank_0_ready,
            r"pods: active gang \S+ has ranks \[\] missing and \[1\] not ready",
        ),
        (
            _peers_kept("services"),
            None,
            r"ended: cancelled gang \S+ was released but \['services/gpu-dev-\S+-peers'\]",
        ),
        (
            _peers_kept("networkpolicies"),
            None,
            r"ended: cancelled gang \S+ was released but \['networkpolicies/gpu-dev-\S+-peers'\]",
        ),
    ],
    ids=["ledger", "record", "pods-dropped", "pods-not-ready", "ended-service", "ended-policy"],
)
def test_each_gang_invariant_fails_on_its_seeded_defect(monkeypatch, defect, ready, message):
    defect(monkeypatch)
    with pytest.raises(AssertionError, match=message) as failed:
        gang_life(ready)
    assert re.search(r"^seed 0 step \d+: ", str(failed.value))
