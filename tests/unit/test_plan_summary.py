"""Plan summary: calls, pairs and lower bound per settings group; rows covered per batch; the
Batches sheet shows them."""

from __future__ import annotations

import datetime as dt

import openpyxl

from bulk_enroll.model import (
    Batch,
    DueDateType,
    DueSettings,
    InputRow,
    Pair,
    RowIssue,
    RowResult,
    SendStats,
    SourceRef,
    Status,
)
from bulk_enroll.plan.planner import PlanLimits, plan
from bulk_enroll.plan.summary import describe_plan, rows_covered, summarize_plan
from bulk_enroll.report.workbook import ReportData, RunFacts, write_report
from bulk_enroll.results import unique_pairs

UNLIMITED = DueSettings(DueDateType.UNLIMITED)
DUE = DueSettings(DueDateType.DUE_DATE, due_date=dt.date(2027, 3, 31), lock_after_due_date=True)


def rows_of(*pair_lists: tuple[Pair, ...], invalid: int = 0) -> list[InputRow]:
    rows = [
        InputRow(SourceRef("in.csv", i + 2), (), pairs=pairs) for i, pairs in enumerate(pair_lists)
    ]
    for _ in range(invalid):
        source = SourceRef("in.csv", len(rows) + 2)
        rows.append(InputRow(source, (), issues=(RowIssue(source, "learner_id", "bad"),)))
    return rows


def test_summary_counts_calls_pairs_and_bounds_per_settings_group():
    pairs = [Pair(f"l{i:03}", c, UNLIMITED) for i in range(7) for c in ("c1", "c2")]
    pairs += [Pair(f"l{i:03}", "c3", DUE) for i in range(5)]
    rows = rows_of(*((p,) for p in pairs), invalid=1)
    limits = PlanLimits(max_learners=3)
    batches = plan(pairs, limits)
    summary = summarize_plan(batches, unique_pairs(rows), limits)
    assert [(g.settings, g.calls, g.pairs, g.lower_bound) for g in summary.groups] == [
        (DUE, 2, 5, 2),
        (UNLIMITED, 3, 14, 3),
    ]
    assert (summary.calls, summary.pairs, summary.lower_bound) == (5, 19, 5)
    assert summary.largest is not None and summary.largest.size == 6  # 3 learners x 2 courses
    assert describe_plan(summary) == [
        "Plan: 5 calls for 19 enrollments (learner-course pairs) in 2 settings groups;"
        " lower bound 5 calls (optimal).",
        f"Largest call: 3 learners x 2 courses = 6 enrollments ({summary.largest.batch_id}).",
        "  due_date, due 2027-03-31, lock: 2 calls, 5 enrollments, lower bound 2",
        "  unlimited: 3 calls, 14 enrollments, lower bound 3",
    ]
    assert summary.as_dict()["calls_lower_bound"] == 5


def test_summary_of_an_empty_plan_says_so():
    summary = summarize_plan([], unique_pairs(rows_of(invalid=2)), PlanLimits())
    assert describe_plan(summary) == ["Plan: nothing to enroll."]
    assert summary.as_dict()["calls"] == 0


def test_a_plan_above_its_bound_is_not_called_optimal():
    # a: x, y; b: x, z; c: x, y, z. Three calls are needed (and found), but no three pairs are
    # pairwise incompatible, so the bound (2) cannot prove it and "optimal" is not claimed.
    asked = {"a": "xy", "b": "xz", "c": "xyz"}
    pairs = [Pair(learner, course, UNLIMITED) for learner, cs in asked.items() for course in cs]
    summary = summarize_plan(plan(pairs), pairs, PlanLimits())
    assert (summary.calls, summary.lower_bound) == (3, 2)
    assert "(optimal)" not in describe_plan(summary)[0]


def test_rows_covered_counts_each_row_once_per_batch_it_needs():
    a1, a2, b1 = (
        Pair("a", "c1", UNLIMITED),
        Pair("a", "c2", UNLIMITED),
        Pair("b", "c1", UNLIMITED),
    )
    first = Batch("b-1", UNLIMITED, ("a",), ("c1", "c2"))
    second = Batch("b-2", UNLIMITED, ("b",), ("c1",))
    unused = Batch("b-3", DUE, ("a",), ("c1",))  # same learner and course, other settings
    rows = rows_of((a1, a2), (b1,), (a1,), invalid=1)  # row 4 repeats row 2's first pair
    assert rows_covered(rows, [first, second, unused]) == {"b-1": 2, "b-2": 1, "b-3": 0}


def test_batches_sheet_lists_rows_covered_next_to_pairs(tmp_path):
    batch = Batch("b-1", UNLIMITED, ("a", "b"), ("c1",))
    rows = rows_of((Pair("a", "c1", UNLIMITED),), (Pair("b", "c1", UNLIMITED),))
    when = dt.datetime(2027, 1, 5, 9)
    data = ReportData(
        RunFacts("in.csv", None, when, when, True),
        (),
        rows,
        [RowResult(Status.NOT_SENT)] * 2,
        [batch],
        [],
        SendStats(),
        rows_covered=rows_covered(rows, [batch]),
    )
    sheet = openpyxl.load_workbook(write_report(tmp_path / "r.xlsx", data))["Batches"]
    header, line = list(sheet.iter_rows(values_only=True))
    assert header[:7] == (
        "Batch",
        "Part of",
        "Settings",
        "Learners",
        "Courses",
        "Pairs",
        "Rows covered",
    )
    assert line[0] == "b-1" and line[3:7] == (2, 1, 2, 2)
