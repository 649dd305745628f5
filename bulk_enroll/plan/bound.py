"""A provable lower bound on the calls one part of the request matrix needs.

Why it holds. A call is a block: it contains a learner `l` and a course `c` only if `l` asked for
`c`. Call two *items* (a course, a learner, or one requested pair) incompatible when no call can
contain both:
  * courses c, c': no learner asked for both (their learner sets are disjoint);
  * learners l, l': no course asked for by both;
  * course c, learner l: l did not ask for c;
  * pair (l, c) with course c': l did not ask for c'; with learner l': l' did not ask for c;
  * pairs (l, c), (l', c'): l did not ask for c', or l' did not ask for c (a fooling set).
Every call holds at most one item of a pairwise incompatible family, and an item needs its own
calls: course c at least ceil(learners of c / learners per call), learner l at least
ceil(courses of l / courses per call), a pair one. So the sum of those needs over any such family
is a lower bound; so is ceil(pairs / pairs per call). We take the best of a few greedy families.

The issue's cohort bound is a special case: each cohort's own course (asked for by no one
outside the cohort) has a learner set disjoint from every other cohort's, so those courses form a
family worth sum(ceil(cohort size / learners per call)). The learners of a diagonal form one too.

Complexity: O(E) per greedy order for E cells of the type matrix (plus a work budget for the
pair phase), so the bound costs about as much as reading the pairs.
"""

from __future__ import annotations

from collections.abc import Callable

from bulk_enroll.plan.limits import PlanLimits
from bulk_enroll.plan.matrix import Component, TypeMatrix

# The pair phase checks each candidate pair against earlier picks; this caps its total work so
# the bound stays linear-time on huge inputs (it only ever makes the bound smaller, never wrong).
PAIR_PHASE_BUDGET = 2_000_000
SMALL_PART_CELLS = 20_000  # parts up to this many type cells get extra greedy orders


def component_lower_bound(matrix: TypeMatrix, part: Component, limits: PlanLimits) -> int:
    """Calls that the pairs of `part` need at the very least, under `limits`."""
    row_w, col_w = matrix.row_weight, matrix.col_weight
    if len(part.rows) == 1 and len(part.cols) == 1:  # one full block: a common, cheap case
        learners, courses = row_w[part.rows[0]], col_w[part.cols[0]]
        return max(
            -(-learners // limits.learners_per_course_cap),
            -(-courses // limits.courses_per_learner_cap),
            -(-(learners * courses) // limits.pairs_cap),
        )
    row_need = {
        row: sum(col_w[col] for col in matrix.row_cols[row]) for row in part.rows
    }  # courses per learner of this type
    col_need = {col: sum(row_w[row] for row in matrix.col_rows[col]) for col in part.cols}
    pairs = sum(row_w[row] * row_need[row] for row in part.rows)
    best = -(-pairs // limits.pairs_cap)

    course_weight = {col: -(-n // limits.learners_per_course_cap) for col, n in col_need.items()}
    learner_weight = {row: -(-n // limits.courses_per_learner_cap) for row, n in row_need.items()}
    courses_small_first = sorted(part.cols, key=lambda col: (col_need[col], col))
    learners_small_first = sorted(part.rows, key=lambda row: (row_need[row], row))
    heavy_first: list[tuple[str, int]] = sorted(
        [("c", col) for col in part.cols] + [("l", row) for row in part.rows],
        key=lambda item: (
            -(course_weight if item[0] == "c" else learner_weight)[item[1]],
            col_need[item[1]] if item[0] == "c" else row_need[item[1]],
            item,
        ),
    )
    orders: list[list[tuple[str, int]]] = [
        [("c", col) for col in courses_small_first] + [("l", row) for row in learners_small_first],
        [("l", row) for row in learners_small_first] + [("c", col) for col in courses_small_first],
        heavy_first,
    ]
    for order in orders:
        family = _Family(matrix)
        for kind, index in order:
            if kind == "c":
                family.add_course(index, course_weight[index])
            else:
                family.add_learner(index, learner_weight[index])
        family.add_pairs(learners_small_first)
        best = max(best, family.total)

    # Plain fooling sets (pairs only), from a few greedy orders; more orders for small parts,
    # where they are cheap and the bound is most often tight.
    cells = sum(len(matrix.row_cols[row]) for row in part.rows)
    pair_orders: list[tuple[list[int], Callable[[int], tuple[int, int]] | None]] = [
        (learners_small_first, None)
    ]
    if cells <= SMALL_PART_CELLS:
        pair_orders += [
            (learners_small_first, lambda col: (-col, 0)),
            (learners_small_first, lambda col: (col_need[col], col)),
            (learners_small_first[::-1], None),
            (learners_small_first[::-1], lambda col: (col_need[col], col)),
        ]
    for rows, prefer in pair_orders:
        family = _Family(matrix)
        family.add_pairs(rows, prefer)
        best = max(best, family.total)
    return best


class _Family:
    """A growing family of pairwise incompatible items (see the module docstring)."""

    def __init__(self, matrix: TypeMatrix) -> None:
        self.matrix = matrix
        self.total = 0
        self.rows_of_courses: set[int] = set()  # learners of picked courses
        self.cols_of_learners: set[int] = set()  # courses of picked learners
        self.picked_rows: set[int] = set()  # picked learners and learners of picked pairs
        self.picked_cols: set[int] = set()  # picked courses and courses of picked pairs
        self.pair_row_of_col: dict[int, int] = {}  # picked pairs, by course

    def add_course(self, col: int, weight: int) -> None:
        rows = self.matrix.col_rows[col]
        if col in self.cols_of_learners or col in self.picked_cols:
            return
        if any(row in self.rows_of_courses or row in self.picked_rows for row in rows):
            return
        self.rows_of_courses.update(rows)
        self.picked_cols.add(col)
        self.total += weight

    def add_learner(self, row: int, weight: int) -> None:
        cols = self.matrix.row_cols[row]
        if row in self.rows_of_courses or row in self.picked_rows:
            return
        if any(col in self.cols_of_learners or col in self.picked_cols for col in cols):
            return
        self.cols_of_learners.update(cols)
        self.picked_rows.add(row)
        self.total += weight

    def add_pairs(
        self, rows_in_order: list[int], prefer: Callable[[int], tuple[int, int]] | None = None
    ) -> None:
        """Greedily add single pairs (weight 1 each; at most one per learner type, trying its
        courses in `prefer` order), within the work budget."""
        row_cols = self.matrix.row_cols
        col_sets: dict[int, set[int]] = {}
        budget = PAIR_PHASE_BUDGET
        for row in rows_in_order:
            if row in self.rows_of_courses or row in self.picked_rows:
                continue
            cols = row_cols[row]
            budget -= len(cols) * (1 + len(cols))
            if budget < 0:
                return
            for col in cols if prefer is None else sorted(cols, key=prefer):
                if col in self.cols_of_learners or col in self.picked_cols:
                    continue
                if self._pair_fits(row, col, cols, col_sets):
                    self.pair_row_of_col[col] = row
                    self.picked_rows.add(row)
                    self.picked_cols.add(col)
                    self.total += 1
                    break  # a second pair of the same learner type would be compatible

    def _pair_fits(
        self, row: int, col: int, cols: list[int], col_sets: dict[int, set[int]]
    ) -> bool:
        # Compatible with a picked pair (r, k) iff row asked for k and r asked for col.
        for asked in cols:
            other = self.pair_row_of_col.get(asked)
            if other is None:
                continue
            other_cols = col_sets.get(other)
            if other_cols is None:
                other_cols = col_sets[other] = set(self.matrix.row_cols[other])
            if col in other_cols:
                return False
        return True
