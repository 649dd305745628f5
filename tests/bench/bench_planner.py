"""Planner benchmark: calls and planning time on the issue's four 100,000-row workloads, and
planning time for 1,000,000 requests.

Run: .venv/bin/python -m pytest tests/bench/bench_planner.py -s

Per workload it prints rows, calls with one call per row, calls grouping per (settings, course),
calls of the walking skeleton's planner ("skeleton": the better of the two simple groupings,
measured in the same run), calls of this plan, the lower bound, and the seconds (wall clock)
`plan()` and `lower_bounds()` took. It asserts the plan is exact, reaches the
cohort bound where there is one, and beats per-course grouping on the sparse workload.
"""

from __future__ import annotations

import resource
import time
from collections import Counter

import pytest

from bulk_enroll.model import Batch, Pair
from bulk_enroll.plan.planner import PlanLimits, lower_bounds, plan
from tests.bench.planner_workloads import (
    FOUR_SETTINGS,
    Workload,
    cohorts,
    onboarding,
    one_call_per_row,
    per_course_calls,
    simple_groupings_calls,
    sparse_random,
)

pytestmark = pytest.mark.bench
LIMITS = PlanLimits()  # 500 learners, 50 courses per call
ROWS = 100_000
HEADER = (
    f"{'workload':<26}{'rows':>10}{'1 per row':>10}{'per course':>11}{'skeleton':>9}{'plan':>7}"
    f"{'bound':>7}{'plan s':>8}{'bound s':>9}"
)


def assert_exact(pairs: list[Pair], batches: list[Batch]) -> None:
    requested = set(pairs)
    covered = Counter(pair for batch in batches for pair in batch.pairs())
    assert set(covered) == requested and max(covered.values()) == 1
    assert all(len(b.learner_ids) <= LIMITS.max_learners for b in batches)
    assert all(len(b.course_ids) <= LIMITS.max_courses for b in batches)


def measure(workload: Workload) -> tuple[int, int, int, float]:
    """Print one line of figures; return (per-course calls, plan calls, bound, plan seconds)."""
    pairs = workload.pairs
    started = time.perf_counter()
    batches = plan(pairs, LIMITS)
    plan_s = time.perf_counter() - started
    started = time.perf_counter()
    bound = sum(lower_bounds(pairs, LIMITS).values())
    bound_s = time.perf_counter() - started
    per_course = per_course_calls(pairs, LIMITS)
    print(
        f"{workload.name:<26}{len(pairs):>10,}{one_call_per_row(pairs):>10,}{per_course:>11,}"
        f"{simple_groupings_calls(pairs, LIMITS):>9,}{len(batches):>7,}{bound:>7,}"
        f"{plan_s:>8.2f}{bound_s:>9.2f}"
        + (f"   cohort bound {workload.cohort_bound:,}" if workload.cohort_bound else "")
    )
    assert_exact(pairs, batches)
    assert bound <= len(batches)
    return per_course, len(batches), bound, plan_s


@pytest.fixture(scope="module", autouse=True)
def table_header():
    print(f"\nPlanner, limits {LIMITS.max_learners} learners x {LIMITS.max_courses} courses")
    print(HEADER)


@pytest.mark.parametrize(
    "make",
    [
        lambda: cohorts(ROWS, 50),
        lambda: onboarding(ROWS),
        lambda: cohorts(ROWS, 50, settings=FOUR_SETTINGS, seed=4),
    ],
    ids=["a-cohorts", "b-onboarding", "d-cohorts-4-settings"],
)
def test_cohort_workloads_reach_the_cohort_bound(make):
    workload = make()
    assert len(workload.pairs) == ROWS
    _, calls, bound, _ = measure(workload)
    assert calls == workload.cohort_bound  # the plan is optimal
    assert bound == workload.cohort_bound  # and the computed bound proves it


def test_sparse_random_beats_per_course_grouping():
    workload = sparse_random(ROWS)
    assert len(workload.pairs) == ROWS
    per_course, calls, _, _ = measure(workload)
    saved = per_course - calls
    print(f"{'':<26}{saved} fewer calls than per-course grouping ({saved / per_course:.1%})")
    assert calls < per_course


@pytest.mark.parametrize(
    "make",
    [lambda: cohorts(1_000_000, 500, seed=5), lambda: sparse_random(1_000_000)],
    ids=["cohorts-1M", "sparse-1M"],
)
def test_a_million_pairs_plan_in_seconds(make):
    workload = make()
    _, calls, _, plan_s = measure(workload)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'':<26}peak RSS of the benchmark process so far: {peak_mb:,.0f} MB")
    assert calls > 0
    assert plan_s < 60  # "seconds, not minutes", with room for a slow or busy machine
