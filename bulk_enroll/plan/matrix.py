"""The request matrix of one settings group, collapsed to learner and course *types*.

Learners asking for exactly the same courses are interchangeable for planning, and so are courses
asked for by exactly the same learners. Collapsing both gives a much smaller 0/1 matrix (types x
types) whose every cell is a full block of requested pairs; the planner and the lower bound work
on it. Types and components are numbered from sorted IDs, so everything built on them is
independent of input order. Building it is O(P log P) for P pairs.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class TypeMatrix:
    """Rows are learner types, columns course types; `row_cols[t]` lists the course types that
    learner type `t` asks for (sorted), `col_rows[k]` the learner types asking for course type
    `k` (sorted). Members are indexes into `learners` / `courses` (sorted ID lists)."""

    learners: list[str]
    courses: list[str]
    row_members: list[list[int]]
    col_members: list[list[int]]
    row_cols: list[list[int]]
    col_rows: list[list[int]]

    @cached_property
    def row_weight(self) -> list[int]:
        """Learners per learner type."""
        return [len(members) for members in self.row_members]

    @cached_property
    def col_weight(self) -> list[int]:
        """Courses per course type."""
        return [len(members) for members in self.col_members]

    def transposed(self) -> TypeMatrix:
        """The same matrix with learners and courses swapped (one algorithm serves both)."""
        return TypeMatrix(
            self.courses,
            self.learners,
            self.col_members,
            self.row_members,
            self.col_rows,
            self.row_cols,
        )

    def components(self) -> list[Component]:
        """Connected parts of the matrix; no call can span two (its pairs are connected)."""
        seen_rows = [False] * len(self.row_cols)
        seen_cols = [False] * len(self.col_rows)
        found: list[Component] = []
        for start in range(len(self.row_cols)):
            if seen_rows[start]:
                continue
            seen_rows[start] = True
            rows, cols, stack = [start], [], [start]
            while stack:
                for col in self.row_cols[stack.pop()]:
                    if seen_cols[col]:
                        continue
                    seen_cols[col] = True
                    cols.append(col)
                    for row in self.col_rows[col]:
                        if not seen_rows[row]:
                            seen_rows[row] = True
                            rows.append(row)
                            stack.append(row)
            found.append(Component(sorted(rows), sorted(cols)))
        return found


@dataclass(frozen=True)
class Component:
    """Row and column types of one connected part, sorted."""

    rows: list[int]
    cols: list[int]

    def transposed(self) -> Component:
        return Component(self.cols, self.rows)


def build_matrix(asked: Mapping[str, Collection[str]]) -> TypeMatrix:
    """Collapse learner -> requested courses (no duplicates) into a `TypeMatrix`."""
    learners = sorted(asked)
    courses = sorted(set().union(*asked.values()))
    index = {course: i for i, course in enumerate(courses)}.__getitem__

    row_of: dict[frozenset[int], int] = {}
    row_members: list[list[int]] = []
    row_courses: list[frozenset[int]] = []
    for learner, name in enumerate(learners):
        course_set = frozenset(map(index, asked[name]))
        row = row_of.get(course_set)
        if row is None:
            row_of[course_set] = len(row_members)
            row_members.append([learner])
            row_courses.append(course_set)
        else:
            row_members[row].append(learner)

    rows_of_course: list[list[int]] = [[] for _ in courses]
    for row, course_set in enumerate(row_courses):
        for course in course_set:
            rows_of_course[course].append(row)
    col_of: dict[tuple[int, ...], int] = {}
    col_members: list[list[int]] = []
    col_rows: list[list[int]] = []
    course_col: list[int] = []
    for course, row_list in enumerate(rows_of_course):
        row_key = tuple(row_list)
        col = col_of.get(row_key)
        if col is None:
            col = col_of[row_key] = len(col_members)
            col_members.append([])
            col_rows.append(row_list)
        col_members[col].append(course)
        course_col.append(col)

    if len(col_members) == len(courses):  # every course its own type: same numbering
        row_cols = [sorted(course_set) for course_set in row_courses]
    else:
        row_cols = [sorted(set(map(course_col.__getitem__, c))) for c in row_courses]
    return TypeMatrix(learners, courses, row_members, col_members, row_cols, col_rows)
