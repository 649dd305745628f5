"""Deterministic request workloads for the planner benchmark, and the baselines it compares to.

Each workload is a list of `Pair`s in shuffled row order (one pair per row, no duplicates) plus,
for cohort workloads, the cohort bound of the issue: per settings group, the sum over cohorts of
ceil(cohort size / learners per call). It is a true lower bound there because every cohort has a
course no other cohort (in that settings group) takes, and no call can hold that course together
with another cohort's learners.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from bulk_enroll.model import DueDateType, DueSettings, Pair
from bulk_enroll.plan.limits import PlanLimits, calls

UNLIMITED = DueSettings(DueDateType.UNLIMITED)
FOUR_SETTINGS = (
    UNLIMITED,
    DueSettings(DueDateType.DUE_DATE, due_date=dt.date(2027, 3, 31), lock_after_due_date=True),
    DueSettings(DueDateType.DUE_PERIOD, due_period_hours=720),
    DueSettings(DueDateType.DEFAULT),
)
SHARED_COURSES = 30
DEFAULT_LIMITS = PlanLimits()


@dataclass(frozen=True)
class Workload:
    name: str
    pairs: list[Pair]
    cohort_bound: int | None = None  # None: no cohort structure


def cohorts(
    rows: int,
    count: int,
    *,
    settings: tuple[DueSettings, ...] = (UNLIMITED,),
    seed: int = 1,
    limits: PlanLimits = DEFAULT_LIMITS,
) -> Workload:
    """`count` disjoint cohorts of a few hundred learners, each taking 3-8 courses of which 1-2
    are its own and the rest drawn from a shared pool; each cohort gets one of `settings`.
    Sizes are solved so the workload has exactly `rows` rows."""
    rng = random.Random(seed)
    course_counts = [rng.randint(3, 8) for _ in range(count)]
    sizes = _sizes_for(rows, course_counts, rng)
    pairs: list[Pair] = []
    members: dict[DueSettings, list[int]] = defaultdict(list)
    shared = [f"shared-{i:02}" for i in range(SHARED_COURSES)]
    for cohort, (size, taken) in enumerate(zip(sizes, course_counts, strict=True)):
        own = rng.randint(1, 2)
        courses = [f"own-{cohort:04}-{i}" for i in range(own)] + rng.sample(shared, taken - own)
        chosen = settings[rng.randrange(len(settings))]
        members[chosen].append(size)
        pairs += [
            Pair(f"learner-{cohort:04}-{i:04}", course, chosen)
            for i in range(size)
            for course in courses
        ]
    rng.shuffle(pairs)
    bound = sum(-(-size // limits.max_learners) for sizes in members.values() for size in sizes)
    label = "cohorts" if len(settings) == 1 else f"cohorts, {len(settings)} settings"
    return Workload(f"{label} ({count})", pairs, bound)


def onboarding(rows: int, courses: int = 5, limits: PlanLimits = DEFAULT_LIMITS) -> Workload:
    """Every learner takes the same `courses` courses: one big cohort."""
    learners = rows // courses
    pairs = [
        Pair(f"hire-{i:06}", f"onboarding-{c}", UNLIMITED)
        for i in range(learners)
        for c in range(courses)
    ]
    random.Random(2).shuffle(pairs)
    return Workload("onboarding", pairs, -(-learners // limits.max_learners))


def sparse_random(rows: int, courses: int = 40, seed: int = 3) -> Workload:
    """Each learner takes 1-5 random courses out of `courses` (the last one fewer, to hit
    `rows` exactly)."""
    rng = random.Random(seed)
    pairs: list[Pair] = []
    learner = 0
    while len(pairs) < rows:
        taken = rng.sample(range(courses), rng.randint(1, 5))[: rows - len(pairs)]
        pairs += [Pair(f"person-{learner:07}", f"course-{c:03}", UNLIMITED) for c in taken]
        learner += 1
    rng.shuffle(pairs)
    return Workload("sparse random", pairs)


def _sizes_for(rows: int, course_counts: list[int], rng: random.Random) -> list[int]:
    """Cohort sizes of 150-600 with sum(size x courses) == rows: each drawn around the average
    still needed (so the draw corrects itself), the last two solved exactly."""
    *head, m1, m2 = course_counts
    sizes: list[int] = []
    left, courses_left = rows, sum(course_counts)
    for taken in head:
        needed = left / courses_left
        sizes.append(max(150, min(600, round(rng.uniform(0.7, 1.3) * needed))))
        left -= sizes[-1] * taken
        courses_left -= taken
    for s1 in range(150, 601):
        s2, remainder = divmod(left - s1 * m1, m2)
        if remainder == 0 and 150 <= s2 <= 600:
            return [*sizes, s1, s2]
    raise ValueError("no cohort sizes fit; try another seed")


def one_call_per_row(pairs: Iterable[Pair]) -> int:
    return sum(1 for _ in pairs)


def per_course_calls(pairs: Iterable[Pair], limits: PlanLimits) -> int:
    """Calls when every (settings, course) gets its own calls: the obvious grouping."""
    learners: dict[tuple[DueSettings, str], set[str]] = defaultdict(set)
    for pair in pairs:
        learners[(pair.settings, pair.course_id)].add(pair.learner_id)
    return sum(calls(len(group), 1, limits) for group in learners.values())


def simple_groupings_calls(pairs: Iterable[Pair], limits: PlanLimits) -> int:
    """The walking skeleton's planner: per settings group, the better of "courses with the same
    learner set share a call" and "learners with the same course set share a call"."""
    groups: dict[DueSettings, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for pair in pairs:
        groups[pair.settings][pair.learner_id].add(pair.course_id)
    total = 0
    for asked in groups.values():
        learners_of: dict[str, set[str]] = defaultdict(set)
        for learner, courses in asked.items():
            for course in courses:
                learners_of[course].add(learner)
        by_course: dict[frozenset[str], int] = defaultdict(int)
        for learners in learners_of.values():
            by_course[frozenset(learners)] += 1
        by_learner: dict[frozenset[str], int] = defaultdict(int)
        for courses in asked.values():
            by_learner[frozenset(courses)] += 1
        total += min(
            sum(calls(len(ls), n, limits) for ls, n in by_course.items()),
            sum(calls(n, len(cs), limits) for cs, n in by_learner.items()),
        )
    return total
