"""A seeded sample of mutated stage files (``tools/stage_mutants.py``): each is refused with one
message naming a setting, or accepted and synthesized by ``build_app`` with cdk-nag, with no
template CloudFormation alone would refuse. ``make mutants`` runs every mutant."""

from __future__ import annotations

from collections import Counter

from tools.stage_mutants import KINDS, run, sample

SAMPLE = 300  # loading a mutant costs milliseconds
SYNTHESIZED = 2  # a stage synth costs seconds; `make mutants` (in CI) synthesizes every one


def test_mutants_are_refused_cleanly_or_synthesize():
    outcomes = run(sample(SAMPLE), synth_limit=SYNTHESIZED)
    bad = {o.mutant.label: o.problems for o in outcomes if o.problems}
    assert bad == {}
    results = Counter(o.result for o in outcomes)
    assert results["refused"] > SAMPLE // 2 and results["synthesized"] == SYNTHESIZED
    assert {o.mutant.kind for o in outcomes} == set(KINDS)


def test_the_known_defects_are_among_the_mutants():
    """The generator makes the mistakes the issue found (a repeated cache rule, a renamed
    key), so the test would have caught them."""
    labels = {o.label for o in sample(10_000)}
    assert "dev:duplicate:registry.pull_through_cache" in labels
    assert "dev:duplicate:cluster.admin_role_arns" in labels
    assert any(label.startswith("dev:rename:gpu_pools[0].") for label in labels)
