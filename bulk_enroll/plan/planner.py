"""Requested pairs -> `Batch`es, each one API call, covering exactly the requested pairs.

One `enrollLearnersInCourses` call enrolls every listed learner in every listed course with one
set of settings, so a batch must be a *block*: learners x courses, every combination requested
with those settings. Finding the fewest blocks is the minimum biclique partition problem
(NP-hard), so this is a greedy search with a provable floor and a provable ceiling.

Algorithm, per settings group:
  1. Collapse learners with identical course sets, and courses with identical learner sets, into
     types (`matrix.py`): a much smaller matrix in which every cell is a full block.
  2. Split it into connected parts; no call can span two, so each is planned on its own and the
     total is the sum (this alone lets one part be grouped by course and another by learner).
  3. Per part, compute the lower bound (`bound.py`) and the candidates of `search.py`: by
     course, by learner, and two local searches over which course (learner) types get blocks of
     their own, the rest grouped by identical leftover sets, starting from the better simple
     grouping and making each move that does not add calls. Stop early at the bound.
  4. Cut each block into chunks within the limits, join partial last chunks of two blocks into
     one call where their shared learners (or courses) allow (`search.pack`), and keep the
     candidate with the fewest calls.

Guarantees:
  * exact: every block of every candidate is a union of whole cells of the type matrix (packing
    only moves a sub-block S x B out of a block into a new call), blocks never overlap, and
    together they cover every requested pair: no unrequested pair is sent, none is sent twice;
  * within `PlanLimits` (learners, courses and, if set, pairs per call);
  * never more calls than the better of "courses with the same learner set share a call" and
    "learners with the same course set share a call": both are candidates (per part, whose sum is
    the whole), candidates are compared by their exact call count, and packing only makes a
    change that lowers it; never fewer than `lower_bounds()`: when the two meet, it is optimal;
  * deterministic: types, parts, search order and chunks come from sorted IDs (the search's
    random tags come from a fixed seed), batch IDs hash the content, so the same pairs in any
    order give the same batches and IDs.

Complexity: O(P log P) for P pairs to group them and build the type matrix; then, per part,
O(E) per bound order and per search sweep (at most 3 sweeps, work-capped) for E cells of the type
matrix (E <= P, far smaller when learners share curricula); packing O(blocks^2) set intersections
for up to 200 blocks, else counting shared members within a budget proportional to P. Memory
O(P). In practice 1,000,000 pairs plan in about 2 s as cohorts and 8 s as scattered random
requests, the worst case (tests/bench/bench_planner.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping
from operator import attrgetter

from bulk_enroll.gc_pause import gc_paused
from bulk_enroll.model import Batch, DueSettings, Pair
from bulk_enroll.plan.bound import component_lower_bound
from bulk_enroll.plan.limits import (
    DEFAULT_MAX_COURSES,
    DEFAULT_MAX_LEARNERS,
    PlanLimits,
    chunk_shape,
    cost_function,
)
from bulk_enroll.plan.matrix import Component, TypeMatrix, build_matrix
from bulk_enroll.plan.search import (
    Block,
    block_cost,
    by_course,
    by_learner,
    expand,
    move_columns,
    pack,
    type_cost,
)

__all__ = [
    "DEFAULT_MAX_COURSES",
    "DEFAULT_MAX_LEARNERS",
    "PlanLimits",
    "batch_id",
    "group_pairs",
    "lower_bounds",
    "plan",
    "plan_group",
]

_FIELDS = attrgetter("settings", "learner_id", "course_id")

# Packing (`search.pack`) is the slow step, so only the best candidates by unpacked cost are
# packed: at most this many, and none further behind the best than 1/PACK_SLACK_FRACTION of it
# (packing saves a few percent). The best one is always packed, so this costs no guarantee.
PACKED_CANDIDATES = 2
PACK_SLACK_FRACTION = 8


def group_pairs(pairs: Iterable[Pair]) -> dict[DueSettings, dict[str, set[str]]]:
    """Per settings group, each learner's requested courses; duplicates collapse."""
    groups: dict[DueSettings, dict[str, set[str]]] = {}
    current: DueSettings | None = None
    asked: dict[str, set[str]] = {}
    for settings, learner, course in map(_FIELDS, pairs):
        if settings is not current:  # pairs of one row share their settings: skip the hashing
            current, asked = settings, groups.setdefault(settings, {})
        wanted = asked.get(learner)
        if wanted is None:
            asked[learner] = {course}
        else:
            wanted.add(course)
    return groups


def plan(pairs: Iterable[Pair], limits: PlanLimits | None = None) -> list[Batch]:
    """The batches for `pairs` (duplicates ignored), ordered by settings, then content."""
    limits = limits or PlanLimits()
    with gc_paused():
        groups = group_pairs(pairs)
        batches: list[Batch] = []
        for settings in sorted(groups, key=DueSettings.sort_key):
            for learners, courses in plan_group(groups[settings], limits):
                batches.append(
                    Batch(batch_id(settings, learners, courses), settings, learners, courses)
                )
    return batches


def lower_bounds(pairs: Iterable[Pair], limits: PlanLimits | None = None) -> dict[DueSettings, int]:
    """Per settings group, a number of calls no exact plan can go below (see `bound.py`)."""
    limits = limits or PlanLimits()
    bounds: dict[DueSettings, int] = {}
    with gc_paused():
        for settings, asked in group_pairs(pairs).items():
            matrix = build_matrix(asked)
            bounds[settings] = sum(
                component_lower_bound(matrix, part, limits) for part in matrix.components()
            )
    return bounds


def plan_group(
    asked: Mapping[str, Collection[str]], limits: PlanLimits
) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """The calls for one settings group (learner -> requested courses): (learner IDs, course
    IDs), each sorted, in content order."""
    matrix = build_matrix(asked)
    transposed = matrix.transposed()
    blocks: list[Block] = []
    for part in matrix.components():
        blocks.extend(_plan_part(matrix, transposed, part, limits))
    learners, courses = matrix.learners, matrix.courses
    found = [
        (tuple(learners[i] for i in learner_chunk), tuple(courses[i] for i in course_chunk))
        for learner_block, course_block in blocks
        for learner_chunk, course_chunk in _chunks(learner_block, course_block, limits)
    ]
    return sorted(found)


def _plan_part(
    matrix: TypeMatrix, transposed: TypeMatrix, part: Component, limits: PlanLimits
) -> list[Block]:
    if len(part.rows) == 1:  # one learner type, so one course type: a single full block
        return expand(matrix, [(part.rows, part.cols)])
    cost = cost_function(limits)
    bound = component_lower_bound(matrix, part, limits)
    candidates = [by_course(matrix, part), by_learner(matrix, part)]
    costs = [type_cost(matrix, blocks, cost) for blocks in candidates]
    if min(costs) > bound:
        # Each search starts from the better simple grouping, so it can only improve on it.
        course_first = costs[0] <= costs[1]
        candidates.append(move_columns(matrix, part, cost, bound, start_moved=course_first))
        swapped = move_columns(
            transposed,
            part.transposed(),
            cost_function(limits, transposed=True),
            bound,
            start_moved=not course_first,
        )
        candidates.append([(rows, cols) for cols, rows in swapped])
        costs.extend(type_cost(matrix, blocks, cost) for blocks in candidates[2:])

    ranked = sorted(range(len(candidates)), key=lambda i: (costs[i], i))
    first = costs[ranked[0]]
    if first <= bound:
        return expand(matrix, candidates[ranked[0]])
    slack = max(2, first // PACK_SLACK_FRACTION)
    best: list[Block] = []
    best_cost = -1
    for index in ranked[:PACKED_CANDIDATES]:
        if costs[index] > first + slack or best_cost == bound:
            break
        packed = pack(expand(matrix, candidates[index]), limits)
        packed_cost = block_cost(packed, limits)
        if best_cost < 0 or packed_cost < best_cost:
            best, best_cost = packed, packed_cost
    return best


def _chunks(
    learners: list[int], courses: list[int], limits: PlanLimits
) -> list[tuple[list[int], list[int]]]:
    per_learners, per_courses = chunk_shape(len(learners), len(courses), limits)
    return [
        (learners[i : i + per_learners], courses[j : j + per_courses])
        for i in range(0, len(learners), per_learners)
        for j in range(0, len(courses), per_courses)
    ]


def batch_id(settings: DueSettings, learners: tuple[str, ...], courses: tuple[str, ...]) -> str:
    """A stable ID from the batch's content, so reruns and journals line up."""
    digest = hashlib.sha256()
    digest.update(repr(settings.sort_key()).encode())
    for part in (learners, courses):
        digest.update(b"\x00")
        digest.update("\x1f".join(part).encode())
    return "b-" + digest.hexdigest()[:12]
