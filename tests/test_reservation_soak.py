"""The seeded fault soak (``tests/reservation_soak.py``) at a size that keeps the suite fast;
``make soak-reservations`` runs it at full size (README, "Reservations")."""

from __future__ import annotations

from tests.reservation_soak import run


def test_a_small_seeded_soak_keeps_every_invariant_and_loses_nothing():
    report = run(7, faults=60)  # raises at the first broken invariant, naming seed and step
    assert sum(report.faults.values()) >= 60 and len(report.faults) >= 5
    assert report.over_allocations == 0 and report.lost == 0
    assert report.sent > 0 and sum(report.records.values()) == report.sent
