"""Row settlement: exactly one status per row; duplicates point at the first row."""

from __future__ import annotations

from bulk_enroll.model import (
    DueDateType,
    DueSettings,
    InputRow,
    Pair,
    PairOutcome,
    RowIssue,
    SourceRef,
    Status,
)
from bulk_enroll.results import settle_rows, status_counts, unique_pairs

S = DueSettings(DueDateType.UNLIMITED)


def row(number: int, *pairs: Pair, issue: str | None = None) -> InputRow:
    source = SourceRef("f.csv", number)
    issues = (RowIssue(source, "learner_id", issue),) if issue else ()
    return InputRow(source, (), pairs=pairs, issues=issues)


def test_each_row_gets_its_status_and_duplicates_name_the_first_row():
    a, b = Pair("l1", "c1", S), Pair("l2", "c1", S)
    rows = [row(2, a), row(3, b), row(4, a), row(5, issue="bad id")]
    outcomes = {
        a: PairOutcome(Status.ENROLLED, batch_id="b-1", attempts=1),
        b: PairOutcome(Status.FAILED, "Permission denied", "b-1.2", 2),
    }
    results = settle_rows(rows, outcomes)
    assert [(r.status, r.message) for r in results] == [
        (Status.ENROLLED, ""),
        (Status.FAILED, "Permission denied"),
        (Status.DUPLICATE, "same as row 2"),
        (Status.INVALID, "learner_id: bad id"),
    ]
    assert unique_pairs(rows) == [a, b]
    assert status_counts(results)["duplicate"] == 1
    assert sum(status_counts(results).values()) == 4


def test_a_row_with_several_pairs_takes_the_most_serious_status():
    a, b = Pair("l1", "c1", S), Pair("l1", "c2", S)
    results = settle_rows([row(2, a, b)], {a: PairOutcome(Status.ENROLLED)})
    assert results[0].status is Status.NOT_SENT
