"""How big one call may be, and how many calls a block of learners x courses needs.

A block (every listed learner in every listed course) larger than the limits is cut into a grid
of chunks; `calls(a, b, limits)` is the size of that grid, the one cost function every part of
the planner optimises.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

# Defaults: the vendor publishes no limit. 500 learners keeps a SOAP request near 40 KB and a
# rejected call cheap to bisect (9 halvings find one bad ID); 50 courses covers any realistic
# curriculum in one call while bounding a single call's work on the server (25,000 pairs).
DEFAULT_MAX_LEARNERS = 500
DEFAULT_MAX_COURSES = 50


@dataclass(frozen=True)
class PlanLimits:
    """Per-call limits. `max_pairs` (learners x courses) is off by default.

    The two list limits already bound a call to 25,000 enrollments; a pairs limit is for servers
    that time out on big calls, where it lets a call be wide (500 learners x 20 courses) or deep
    (200 x 50) instead of shrinking both lists. Off by default because every extra limit only
    adds calls.
    """

    max_learners: int = DEFAULT_MAX_LEARNERS
    max_courses: int = DEFAULT_MAX_COURSES
    max_pairs: int | None = None

    def __post_init__(self) -> None:
        if self.max_learners < 1 or self.max_courses < 1:
            raise ValueError("limits per call must be at least 1")
        if self.max_pairs is not None and self.max_pairs < 1:
            raise ValueError("the pairs-per-call limit must be at least 1")

    @property
    def pairs_cap(self) -> int:
        """The most pairs one call can hold."""
        product = self.max_learners * self.max_courses
        return product if self.max_pairs is None else min(product, self.max_pairs)

    @property
    def learners_per_course_cap(self) -> int:
        """The most learners of one course one call can hold."""
        return min(self.max_learners, self.pairs_cap)

    @property
    def courses_per_learner_cap(self) -> int:
        """The most courses of one learner one call can hold."""
        return min(self.max_courses, self.pairs_cap)


def chunk_shape(learners: int, courses: int, limits: PlanLimits) -> tuple[int, int]:
    """Learners and courses per chunk for a block of this size (fewest chunks; ties: fill
    courses first, the shape the list limits alone would give)."""
    return _shape(learners, courses, limits)


def calls(learners: int, courses: int, limits: PlanLimits) -> int:
    """Calls a block of `learners` x `courses` needs; 0 for an empty block."""
    if learners <= 0 or courses <= 0:
        return 0
    per_learners, per_courses = _shape(learners, courses, limits)
    return -(-learners // per_learners) * -(-courses // per_courses)


def cost_function(limits: PlanLimits, *, transposed: bool = False) -> Callable[[int, int], int]:
    """`calls` bound to `limits` (arguments swapped if `transposed`), fast for the hot loops."""
    if limits.max_pairs is None:  # the grid is simply ceil(a / L) x ceil(b / C)
        rows_max, cols_max = limits.max_learners, limits.max_courses
        if transposed:
            rows_max, cols_max = cols_max, rows_max
        return lambda a, b: ((a + rows_max - 1) // rows_max) * ((b + cols_max - 1) // cols_max)
    if transposed:
        return lambda a, b: calls(b, a, limits)
    return lambda a, b: calls(a, b, limits)


@lru_cache(maxsize=65536)
def _shape(learners: int, courses: int, limits: PlanLimits) -> tuple[int, int]:
    cap = limits.pairs_cap
    wide_courses = min(courses, limits.max_courses, cap)
    wide = (min(learners, limits.max_learners, cap // wide_courses), wide_courses)
    deep_learners = min(learners, limits.max_learners, cap)
    deep = (deep_learners, min(courses, limits.max_courses, cap // deep_learners))
    return min(wide, deep, key=lambda shape: _grid(learners, courses, shape))


def _grid(learners: int, courses: int, shape: tuple[int, int]) -> int:
    return -(-learners // shape[0]) * -(-courses // shape[1])
