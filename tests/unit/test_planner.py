"""Planner: exact, disjoint, within limits, deterministic, never worse than the simple groupings,
never below the lower bound; hand-made cases whose optimum is known."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from functools import cache
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bulk_enroll.model import DueDateType, DueSettings, Pair
from bulk_enroll.plan.limits import calls, chunk_shape
from bulk_enroll.plan.matrix import build_matrix
from bulk_enroll.plan.planner import PlanLimits, batch_id, group_pairs, lower_bounds, plan
from bulk_enroll.plan.search import pack

UNLIMITED = DueSettings(DueDateType.UNLIMITED)
PERIOD = DueSettings(DueDateType.DUE_PERIOD, due_period_hours=24)


def covered(batches) -> Counter:
    return Counter(pair for batch in batches for pair in batch.pairs())


def simple_groupings(pairs, limits: PlanLimits) -> tuple[int, int]:
    """Calls of "same learner set share a call" and "same course set share a call" (reference)."""
    by_course = by_learner = 0
    for asked in group_pairs(pairs).values():
        learners_of: dict[str, set[str]] = defaultdict(set)
        for learner, courses in asked.items():
            for course in courses:
                learners_of[course].add(learner)
        for grouping in (learners_of, asked):
            classes = Counter(frozenset(partners) for partners in grouping.values())
            total = sum(
                calls(len(partners), count, limits)
                if grouping is learners_of
                else calls(count, len(partners), limits)
                for partners, count in classes.items()
            )
            if grouping is learners_of:
                by_course += total
            else:
                by_learner += total
    return by_course, by_learner


def optimum(pairs: set[tuple[int, int]], limits: PlanLimits) -> int:
    """The true minimum number of calls, by exhaustive search (tiny inputs only)."""
    cells = sorted(pairs)
    learners = sorted({learner for learner, _ in cells})
    courses = sorted({course for _, course in cells})
    blocks = []
    for a in range(1, len(learners) + 1):
        for ls in combinations(learners, a):
            for b in range(1, len(courses) + 1):
                for cs in combinations(courses, b):
                    too_big = a > limits.max_learners or b > limits.max_courses
                    if too_big or a * b > limits.pairs_cap:
                        continue
                    block = frozenset((x, y) for x in ls for y in cs)
                    if block <= pairs:
                        blocks.append(block)

    @cache
    def best(left: frozenset) -> int:
        if not left:
            return 0
        first = min(left)  # some block must cover it
        return 1 + min(best(left - block) for block in blocks if first in block and block <= left)

    return best(frozenset(pairs))


settings_values = st.sampled_from([UNLIMITED, PERIOD])
pair_sets = st.sets(
    st.builds(
        Pair,
        st.sampled_from([f"l{i}" for i in range(12)]),
        st.sampled_from([f"c{i}" for i in range(6)]),
        settings_values,
    ),
    max_size=60,
)


@st.composite
def structured_pairs(draw) -> set[Pair]:
    """Unions of random rectangles plus noise: cohorts, shared cores, overlaps, remainders."""
    learners = [f"l{i:02}" for i in range(draw(st.integers(1, 30)))]
    courses = [f"c{i:02}" for i in range(draw(st.integers(1, 10)))]
    pairs: set[Pair] = set()
    for _ in range(draw(st.integers(1, 6))):
        ls = draw(st.lists(st.sampled_from(learners), min_size=1, max_size=20, unique=True))
        cs = draw(st.lists(st.sampled_from(courses), min_size=1, max_size=6, unique=True))
        chosen = draw(settings_values)
        pairs.update(Pair(learner, course, chosen) for learner in ls for course in cs)
    noise = draw(st.sets(st.tuples(st.sampled_from(learners), st.sampled_from(courses))))
    pairs.update(Pair(learner, course, UNLIMITED) for learner, course in noise)
    return pairs


limits_values = st.builds(
    PlanLimits,
    st.integers(1, 6),
    st.integers(1, 4),
    st.one_of(st.none(), st.integers(1, 12)),
)


def check_plan(pairs: set[Pair], limits: PlanLimits, rnd: random.Random) -> None:
    batches = plan(pairs, limits)
    counts = covered(batches)
    assert set(counts) == pairs  # exact: nothing unrequested, nothing missing
    assert all(n == 1 for n in counts.values())  # disjoint
    for batch in batches:
        assert 1 <= len(batch.learner_ids) <= limits.max_learners
        assert 1 <= len(batch.course_ids) <= limits.max_courses
        assert batch.size <= limits.pairs_cap
        assert list(batch.learner_ids) == sorted(set(batch.learner_ids))
        assert list(batch.course_ids) == sorted(set(batch.course_ids))
        assert batch.batch_id == batch_id(batch.settings, batch.learner_ids, batch.course_ids)
    shuffled = list(pairs)
    rnd.shuffle(shuffled)
    assert plan(shuffled + shuffled[:3], limits) == batches  # deterministic, duplicates ignored
    assert len(batches) <= min(simple_groupings(pairs, limits))
    assert len(batches) >= sum(lower_bounds(pairs, limits).values())


@settings(max_examples=200, deadline=None)
@given(pair_sets, limits_values, st.randoms(use_true_random=False))
def test_random_requests_plan_exactly_within_limits_and_bounds(pairs, limits, rnd):
    check_plan(pairs, limits, rnd)


@settings(max_examples=200, deadline=None)
@given(structured_pairs(), limits_values, st.randoms(use_true_random=False))
def test_structured_requests_plan_exactly_within_limits_and_bounds(pairs, limits, rnd):
    check_plan(pairs, limits, rnd)


@settings(max_examples=150, deadline=None)
@given(
    st.sets(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1),
    st.builds(
        PlanLimits, st.integers(1, 4), st.integers(1, 4), st.one_of(st.none(), st.integers(1, 6))
    ),
)
def test_lower_bound_never_exceeds_the_true_optimum(cells, limits):
    pairs = {Pair(f"l{learner}", f"c{course}", UNLIMITED) for learner, course in cells}
    best = optimum(cells, limits)
    assert sum(lower_bounds(pairs, limits).values()) <= best <= len(plan(pairs, limits))


def test_cohorts_take_one_call_each():
    pairs = [Pair(f"a{i}", c, UNLIMITED) for i in range(30) for c in ("c1", "c2", "c3")]
    pairs += [Pair(f"b{i}", c, UNLIMITED) for i in range(20) for c in ("c3", "c4")]
    batches = plan(pairs)
    assert sorted((len(b.learner_ids), len(b.course_ids)) for b in batches) == [(20, 2), (30, 3)]
    assert lower_bounds(pairs) == {UNLIMITED: 2}  # so two calls is optimal


def test_large_cohorts_reach_the_cohort_bound():
    # Cohorts of 700, 300 and 1200 learners, each with an own course and sharing others: the
    # own course cannot share a call with another cohort, so ceil(size / 500) each is a floor.
    rng = random.Random(7)
    pairs = []
    for name, size in (("a", 700), ("b", 300), ("c", 1200)):
        courses = [f"own-{name}", *rng.sample(["s1", "s2", "s3", "s4"], 2)]
        pairs += [Pair(f"{name}{i:04}", c, UNLIMITED) for i in range(size) for c in courses]
    cohort_bound = 2 + 1 + 3
    assert len(plan(pairs)) == cohort_bound
    assert lower_bounds(pairs) == {UNLIMITED: cohort_bound}


def test_everyone_in_the_same_courses_is_split_only_by_the_learner_limit():
    pairs = [Pair(f"l{i:04}", f"c{c}", UNLIMITED) for i in range(1200) for c in range(5)]
    batches = plan(pairs, PlanLimits(max_learners=500, max_courses=50))
    assert [(len(b.learner_ids), len(b.course_ids)) for b in batches] == [
        (500, 5),
        (500, 5),
        (200, 5),
    ]
    assert lower_bounds(pairs) == {UNLIMITED: 3}


def test_a_diagonal_cannot_be_merged():
    pairs = [Pair(f"l{i}", f"c{i}", UNLIMITED) for i in range(7)]
    assert len(plan(pairs)) == 7
    assert lower_bounds(pairs) == {UNLIMITED: 7}


def test_learner_grouping_wins_when_it_needs_fewer_calls():
    # Each learner takes the same 3 courses except one extra course per learner: grouping by
    # course makes 3 + 4 = 7 blocks; grouping by learner makes 4 (one per learner).
    pairs = [Pair(f"l{i}", c, UNLIMITED) for i in range(4) for c in ("c1", "c2", "c3")]
    pairs += [Pair(f"l{i}", f"x{i}", UNLIMITED) for i in range(4)]
    assert len(plan(pairs)) == 4


def test_mixed_settings_never_share_a_call_and_each_group_is_optimal():
    pairs = [Pair(f"l{i}", c, UNLIMITED) for i in range(10) for c in ("c1", "c2")]
    pairs += [Pair(f"l{i}", "c3", PERIOD) for i in range(5)]
    pairs += [Pair(f"l{i}", "c1", PERIOD) for i in range(5, 10)]
    batches = plan(pairs)
    per_group = Counter(batch.settings for batch in batches)
    assert per_group == {UNLIMITED: 1, PERIOD: 2}
    assert lower_bounds(pairs) == {UNLIMITED: 1, PERIOD: 2}
    assert [b.settings for b in batches] == sorted(
        (b.settings for b in batches), key=DueSettings.sort_key
    )


def merge_beats_both_groupings() -> list[Pair]:
    """Two structures joined by one request: one wants learner grouping, the other course
    grouping.

    Left: learners p1..p4 share courses k1..k3 and each has an own course x1..x4 (by learner: 4
    calls; by course: 1 + 4). Right, the mirror: courses d1..d4 share learners m1..m3 and each has
    an own learner y1..y4 (by course: 4; by learner: 1 + 4). One extra request (m1, k1) joins them,
    which costs both groupings an extra call: 10 each. The optimum is 9: the left by learner, the
    right by course, (m1, k1) alone. A fooling set of 9 pairs proves it: (p_i, x_i), (y_j, d_j),
    (m1, k1); no two can share a call.
    """
    pairs = [Pair(f"p{i}", f"k{k}", UNLIMITED) for i in range(1, 5) for k in range(1, 4)]
    pairs += [Pair(f"p{i}", f"x{i}", UNLIMITED) for i in range(1, 5)]
    pairs += [Pair(f"m{i}", f"d{j}", UNLIMITED) for i in range(1, 4) for j in range(1, 5)]
    pairs += [Pair(f"y{j}", f"d{j}", UNLIMITED) for j in range(1, 5)]
    pairs.append(Pair("m1", "k1", UNLIMITED))
    return pairs


def test_biclique_search_beats_both_simple_groupings():
    pairs = merge_beats_both_groupings()
    assert simple_groupings(pairs, PlanLimits()) == (10, 10)
    batches = plan(pairs)
    assert len(batches) == 9
    assert lower_bounds(pairs) == {UNLIMITED: 9}  # so 9 is the optimum
    assert set(covered(batches)) == set(pairs)


def test_shared_core_beyond_the_course_limit_gets_a_block_of_its_own():
    # Three cohorts share a 4-course core and each has 2 own courses; at most 4 courses per call.
    # By learner: 3 x ceil(6 / 4) = 6 calls. By course: the core (all 30 learners) + 3 = 4 calls.
    pairs = []
    for cohort in range(3):
        courses = [f"core{k}" for k in range(4)] + [f"own{cohort}-{k}" for k in range(2)]
        pairs += [Pair(f"l{cohort}-{i}", c, UNLIMITED) for i in range(10) for c in courses]
    limits = PlanLimits(max_learners=500, max_courses=4)
    assert simple_groupings(pairs, limits) == (4, 6)
    assert len(plan(pairs, limits)) == 4
    assert lower_bounds(pairs, limits) == {UNLIMITED: 4}


def test_packing_joins_two_partial_chunks_into_one_call():
    # Course 0: learners 0..5, course 1: learners 2..7, 4 learners per call: 2 + 2 chunks.
    # Learners 2 and 3 take both: one call for them covers both last chunks: 3 calls.
    blocks = [(list(range(0, 6)), [0]), (list(range(2, 8)), [1])]
    limits = PlanLimits(max_learners=4, max_courses=4)
    packed = pack(blocks, limits)
    assert sum(calls(len(ls), len(cs), limits) for ls, cs in packed) == 3
    cells = Counter((learner, course) for ls, cs in packed for learner in ls for course in cs)
    assert set(cells) == {(x, 0) for x in range(6)} | {(x, 1) for x in range(2, 8)}
    assert set(cells.values()) == {1}


def test_with_a_learner_limit_a_mix_of_groupings_beats_both():
    # Two learners per call. Course k1: l0, l3, l4; k2: l2, l3; k3: l0. By course: 2 + 1 + 1;
    # by learner ({k1,k3}, {k2}, {k1,k2}, {k1}): 4. Optimal: (l0; k1,k3), (l3,l4; k1),
    # (l2,l3; k2) = 3, which the lower bound proves.
    asked = {"l0": ("k1", "k3"), "l2": ("k2",), "l3": ("k1", "k2"), "l4": ("k1",)}
    pairs = [Pair(learner, course, UNLIMITED) for learner, cs in asked.items() for course in cs]
    limits = PlanLimits(max_learners=2, max_courses=4)
    assert simple_groupings(pairs, limits) == (4, 4)
    assert len(plan(pairs, limits)) == 3
    assert lower_bounds(pairs, limits) == {UNLIMITED: 3}


def test_pairs_limit_shapes_the_calls():
    pairs = [Pair(f"l{i}", f"c{c}", UNLIMITED) for i in range(10) for c in range(10)]
    limits = PlanLimits(max_learners=10, max_courses=10, max_pairs=20)
    batches = plan(pairs, limits)
    assert len(batches) == 5 and all(b.size == 20 for b in batches)
    assert lower_bounds(pairs, limits) == {UNLIMITED: 5}


def test_chunk_shape_prefers_fewest_calls_then_wide_calls():
    limits = PlanLimits(max_learners=500, max_courses=50, max_pairs=1000)
    assert chunk_shape(100, 20, limits) == (50, 20)  # 2 calls either way: fill courses first
    assert calls(100, 20, limits) == 2
    assert chunk_shape(1000, 3, PlanLimits()) == (500, 3)
    assert calls(0, 3, PlanLimits()) == 0


@pytest.mark.parametrize("kwargs", [{"max_learners": 0}, {"max_courses": 0}, {"max_pairs": 0}])
def test_limits_must_be_positive(kwargs):
    with pytest.raises(ValueError):
        PlanLimits(**kwargs)


def test_type_matrix_collapses_identical_learners_and_courses():
    asked = {"l1": {"a", "b"}, "l2": {"a", "b"}, "l3": {"c"}, "l4": {"c", "d"}}
    matrix = build_matrix(asked)
    assert matrix.row_members == [[0, 1], [2], [3]]  # l1+l2 share a type
    course_types = [[matrix.courses[c] for c in m] for m in matrix.col_members]
    assert course_types == [["a", "b"], ["c"], ["d"]]
    parts = matrix.components()
    assert [(p.rows, p.cols) for p in parts] == [([0], [0]), ([1, 2], [1, 2])]


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
