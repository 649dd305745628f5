"""Same learner and course, different settings: both rows invalid, or the last row wins."""

from __future__ import annotations

import datetime as dt

from bulk_enroll.model import (
    DueDateType,
    DueSettings,
    InputRow,
    Pair,
    RowIssue,
    SourceRef,
    Status,
)
from bulk_enroll.results import settle_rows, unique_pairs
from bulk_enroll.validate.conflicts import mark_conflicts
from tests.support import make_id

L1, L2, C1, C2 = make_id("l1"), make_id("l2"), make_id("c1"), make_id("c2")
OPEN = DueSettings(DueDateType.UNLIMITED)
MARCH = DueSettings(DueDateType.DUE_DATE, due_date=dt.date(2027, 3, 31))
WEEK = DueSettings(DueDateType.DUE_PERIOD, due_period_hours=168)


def row(number: int, settings: DueSettings, *pairs: tuple[str, str]) -> InputRow:
    return InputRow(
        SourceRef("in.csv", number),
        values=(),
        pairs=tuple(Pair(learner, course, settings) for learner, course in pairs),
    )


def messages(rows: list[InputRow]) -> list[tuple[int, list[str]]]:
    return [(r.source.row, [i.message for i in r.issues]) for r in rows if r.issues]


def test_same_pair_with_different_settings_makes_both_rows_invalid():
    rows = [
        row(2, OPEN, (L1, C1)),
        row(3, OPEN, (L2, C1)),
        row(4, MARCH, (L1, C1)),
    ]
    marked = mark_conflicts(rows)
    assert messages(marked) == [
        (2, ["conflicting settings with row 4 (there: due_date, due 2027-03-31; here: unlimited)"]),
        (4, ["conflicting settings with row 2 (there: unlimited; here: due_date, due 2027-03-31)"]),
    ]
    assert [i.kind for r in marked for i in r.issues] == ["conflicting settings"] * 2
    assert marked[1] is rows[1]
    assert unique_pairs(marked) == [Pair(L2, C1, OPEN)]


def test_duplicates_with_equal_settings_are_not_conflicts():
    rows = [row(2, OPEN, (L1, C1)), row(3, OPEN, (L1, C1))]
    assert mark_conflicts(rows) == rows
    assert [r.status for r in settle_rows(rows, {})] == [Status.NOT_SENT, Status.DUPLICATE]


def test_three_way_conflict_names_the_first_other_row_of_each_setting():
    rows = [row(2, OPEN, (L1, C1)), row(3, MARCH, (L1, C1)), row(4, WEEK, (L1, C1))]
    assert messages(mark_conflicts(rows)) == [
        (
            2,
            [
                "conflicting settings with row 3 "
                "(there: due_date, due 2027-03-31; here: unlimited)",
                "conflicting settings with row 4 (there: due_period, 168 h; here: unlimited)",
            ],
        ),
        (
            3,
            [
                "conflicting settings with row 2 "
                "(there: unlimited; here: due_date, due 2027-03-31)",
                "conflicting settings with row 4 "
                "(there: due_period, 168 h; here: due_date, due 2027-03-31)",
            ],
        ),
        (
            4,
            [
                "conflicting settings with row 2 (there: unlimited; here: due_period, 168 h)",
                "conflicting settings with row 3 "
                "(there: due_date, due 2027-03-31; here: due_period, 168 h)",
            ],
        ),
    ]


def test_a_multi_pair_row_is_invalid_as_a_whole():
    rows = [row(2, OPEN, (L1, C1), (L1, C2)), row(3, MARCH, (L1, C2))]
    marked = mark_conflicts(rows)
    assert [r.pairs for r in marked] == [(), ()]
    assert [r.source.row for r in marked if r.issues] == [2, 3]


def test_last_row_wins_keeps_the_last_settings_and_says_so():
    rows = [
        row(2, OPEN, (L1, C1), (L1, C2)),
        row(3, MARCH, (L1, C1)),
        row(4, WEEK, (L2, C1)),
        row(5, OPEN, (L2, C1)),
    ]
    marked = mark_conflicts(rows, last_row_wins=True)
    assert [(r.source.row, r.pairs, r.notes) for r in marked] == [
        (2, (Pair(L1, C2, OPEN),), ("superseded by row 3 (--last-row-wins)",)),
        (3, (Pair(L1, C1, MARCH),), ()),
        (4, (), ("superseded by row 5 (--last-row-wins)",)),
        (5, (Pair(L2, C1, OPEN),), ()),
    ]
    results = settle_rows(marked, {})
    assert [(r.status, r.message) for r in results] == [
        (Status.NOT_SENT, "not sent; superseded by row 3 (--last-row-wins)"),
        (Status.NOT_SENT, "not sent"),
        (Status.DUPLICATE, "superseded by row 5 (--last-row-wins)"),
        (Status.NOT_SENT, "not sent"),
    ]


def test_rows_already_invalid_take_no_part():
    source = SourceRef("in.csv", 2)
    bad = InputRow(source, values=(), issues=(RowIssue(source, "due_date", "not a date"),))
    rows = [bad, row(3, OPEN, (L1, C1))]
    assert mark_conflicts(rows) == rows
