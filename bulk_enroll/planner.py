"""Requested pairs -> `Batch`es, each one API call, covering exactly the requested pairs.

One `enrollLearnersInCourses` call enrolls every listed learner in every listed course, so a batch
is a block (learners x courses) in which every combination was requested with the same settings.

Algorithm (per settings group): build both exact groupings,
  * by course: courses requested by an identical learner set share a block;
  * by learner: learners requesting an identical course set share a block;
split each block by the per-call limits, and keep the grouping that needs fewer calls.
Guarantees: exactness (blocks are equivalence classes of identical rows of the request matrix, so
their union is the request and no pair is in two blocks), limits respected, determinism (IDs and
order come from sorted content, never from input order). Cost: O(P log P) for P pairs.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from bulk_enroll.model import Batch, DueSettings, Pair

# Defaults: the vendor publishes no limit. 500 learners keeps a SOAP request near 40 KB and a
# rejected call cheap to bisect (9 halvings find one bad ID); 50 courses covers any realistic
# curriculum in one call while bounding a single call's work on the server (25,000 pairs).
DEFAULT_MAX_LEARNERS = 500
DEFAULT_MAX_COURSES = 50


@dataclass(frozen=True)
class PlanLimits:
    max_learners: int = DEFAULT_MAX_LEARNERS
    max_courses: int = DEFAULT_MAX_COURSES

    def __post_init__(self) -> None:
        if self.max_learners < 1 or self.max_courses < 1:
            raise ValueError("limits per call must be at least 1")


Block = tuple[tuple[str, ...], tuple[str, ...]]  # (sorted learners, sorted courses)


def plan(pairs: Iterable[Pair], limits: PlanLimits | None = None) -> list[Batch]:
    """The batches for `pairs` (duplicates ignored), ordered by settings, then content."""
    limits = limits or PlanLimits()
    groups: dict[DueSettings, set[tuple[str, str]]] = defaultdict(set)
    for pair in pairs:
        groups[pair.settings].add((pair.learner_id, pair.course_id))
    batches: list[Batch] = []
    for settings in sorted(groups, key=DueSettings.sort_key):
        for learners, courses in _plan_group(groups[settings], limits):
            batches.append(
                Batch(batch_id(settings, learners, courses), settings, learners, courses)
            )
    return batches


def _plan_group(requested: set[tuple[str, str]], limits: PlanLimits) -> list[Block]:
    by_course = _chunk_all(_identical_rows(requested, transpose=False), limits)
    by_learner = _chunk_all(_identical_rows(requested, transpose=True), limits)
    return by_course if len(by_course) <= len(by_learner) else by_learner


def _identical_rows(requested: set[tuple[str, str]], *, transpose: bool) -> list[Block]:
    """Group courses (or learners, if `transpose`) whose partner sets are identical."""
    partners: dict[str, set[str]] = defaultdict(set)
    for learner, course in requested:
        key, partner = (learner, course) if transpose else (course, learner)
        partners[key].add(partner)
    keys_by_set: dict[frozenset[str], list[str]] = defaultdict(list)
    for key, partner_set in partners.items():
        keys_by_set[frozenset(partner_set)].append(key)
    blocks: list[Block] = []
    for shared, keys in keys_by_set.items():
        first, second = tuple(sorted(shared)), tuple(sorted(keys))
        blocks.append((second, first) if transpose else (first, second))
    return sorted(blocks)


def _chunk_all(blocks: list[Block], limits: PlanLimits) -> list[Block]:
    return [
        (learner_chunk, course_chunk)
        for learners, courses in blocks
        for learner_chunk in _chunks(learners, limits.max_learners)
        for course_chunk in _chunks(courses, limits.max_courses)
    ]


def _chunks(items: tuple[str, ...], size: int) -> list[tuple[str, ...]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def batch_id(settings: DueSettings, learners: tuple[str, ...], courses: tuple[str, ...]) -> str:
    """A stable ID from the batch's content, so reruns and journals line up."""
    digest = hashlib.sha256()
    digest.update(repr(settings.sort_key()).encode())
    for part in (learners, courses):
        digest.update(b"\x00")
        digest.update("\x1f".join(part).encode())
    return "b-" + digest.hexdigest()[:12]
