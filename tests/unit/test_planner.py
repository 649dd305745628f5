"""Planner: exact, disjoint, within limits, deterministic, as few calls as the groupings allow."""

from __future__ import annotations

import random
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from bulk_enroll.model import DueDateType, DueSettings, Pair
from bulk_enroll.planner import PlanLimits, plan

UNLIMITED = DueSettings(DueDateType.UNLIMITED)
PERIOD = DueSettings(DueDateType.DUE_PERIOD, due_period_hours=24)


def covered(batches) -> Counter:
    return Counter(pair for batch in batches for pair in batch.pairs())


pair_sets = st.sets(
    st.builds(
        Pair,
        st.sampled_from([f"l{i}" for i in range(12)]),
        st.sampled_from([f"c{i}" for i in range(6)]),
        st.sampled_from([UNLIMITED, PERIOD]),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(pair_sets, st.integers(1, 5), st.integers(1, 4), st.randoms())
def test_plan_is_exact_disjoint_within_limits_and_order_independent(pairs, max_l, max_c, rnd):
    limits = PlanLimits(max_learners=max_l, max_courses=max_c)
    batches = plan(pairs, limits)
    counts = covered(batches)
    assert set(counts) == pairs  # exact: nothing unrequested, nothing missing
    assert all(n == 1 for n in counts.values())  # disjoint
    assert all(len(b.learner_ids) <= max_l and len(b.course_ids) <= max_c for b in batches)
    shuffled = list(pairs)
    rnd.shuffle(shuffled)
    assert plan(shuffled + shuffled[:3], limits) == batches  # deterministic, duplicates ignored


def test_cohorts_take_one_call_each():
    pairs = [Pair(f"a{i}", c, UNLIMITED) for i in range(30) for c in ("c1", "c2", "c3")]
    pairs += [Pair(f"b{i}", c, UNLIMITED) for i in range(20) for c in ("c3", "c4")]
    batches = plan(pairs)
    assert sorted((len(b.learner_ids), len(b.course_ids)) for b in batches) == [(20, 2), (30, 3)]


def test_everyone_in_the_same_courses_is_split_only_by_the_learner_limit():
    pairs = [Pair(f"l{i:04}", f"c{c}", UNLIMITED) for i in range(1200) for c in range(5)]
    batches = plan(pairs, PlanLimits(max_learners=500, max_courses=50))
    assert [(len(b.learner_ids), len(b.course_ids)) for b in batches] == [
        (500, 5),
        (500, 5),
        (200, 5),
    ]


def test_a_diagonal_cannot_be_merged():
    pairs = [Pair(f"l{i}", f"c{i}", UNLIMITED) for i in range(7)]
    assert len(plan(pairs)) == 7


def test_learner_grouping_wins_when_it_needs_fewer_calls():
    # Each learner takes the same 3 courses except one extra course per learner: grouping by
    # course makes 3 + 4 = 7 blocks; grouping by learner makes 4 (one per learner).
    pairs = [Pair(f"l{i}", c, UNLIMITED) for i in range(4) for c in ("c1", "c2", "c3")]
    pairs += [Pair(f"l{i}", f"x{i}", UNLIMITED) for i in range(4)]
    assert len(plan(pairs)) == 4


def test_different_settings_never_share_a_call():
    pairs = [Pair("l1", "c1", UNLIMITED), Pair("l1", "c2", PERIOD)]
    batches = plan(pairs)
    assert len(batches) == 2
    assert {b.settings for b in batches} == {UNLIMITED, PERIOD}


def test_batch_ids_are_stable_and_distinct():
    pairs = [Pair(f"l{i}", f"c{i % 3}", UNLIMITED) for i in range(30)]
    first = plan(pairs)
    random.Random(4).shuffle(pairs)
    second = plan(pairs)
    assert [b.batch_id for b in first] == [b.batch_id for b in second]
    assert len({b.batch_id for b in first}) == len(first)
