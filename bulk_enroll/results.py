"""Pair outcomes -> one status per input row. Pure.

A row asks for one or more pairs; the first row asking for a pair owns it, later rows asking for
the same pair with the same settings are `duplicate`. A row's status is its most serious pair
status, so a row is `enrolled` only when everything it asked for was enrolled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bulk_enroll.model import SETTLED_WELL, InputRow, Pair, PairOutcome, RowResult, Status
from bulk_enroll.validate.conflicts import is_superseded

# Most serious first: the status a person must act on wins.
SEVERITY: tuple[Status, ...] = (
    Status.INVALID,
    Status.FAILED,
    Status.UNKNOWN,
    Status.NOT_SENT,
    Status.ENROLLED,
    Status.ALREADY_ENROLLED,
    Status.DUPLICATE,
)


def unique_pairs(rows: Sequence[InputRow]) -> list[Pair]:
    """Every valid requested pair once, in first-occurrence order."""
    return list(dict.fromkeys(pair for row in rows for pair in row.pairs))


def first_row_of_pairs(rows: Sequence[InputRow]) -> dict[Pair, int]:
    """The Excel row number of the first row asking for each pair."""
    first: dict[Pair, int] = {}
    for row in rows:
        for pair in row.pairs:
            first.setdefault(pair, row.source.row)
    return first


def settle_rows(
    rows: Sequence[InputRow],
    outcomes: Mapping[Pair, PairOutcome],
    unresolved: str = "not sent",
) -> list[RowResult]:
    """One `RowResult` per row, in row order; a pair without an outcome was `not_sent`, and so
    is a valid row whose names were never turned into IDs (`unresolved` says why)."""
    first_row = first_row_of_pairs(rows)
    return [_settle_row(row, outcomes, first_row, unresolved) for row in rows]


def _settle_row(
    row: InputRow,
    outcomes: Mapping[Pair, PairOutcome],
    first_row: Mapping[Pair, int],
    unresolved: str = "not sent",
) -> RowResult:
    if row.held_back:
        return RowResult(Status.NOT_SENT, _with_notes(row.held_back, row), held_back=True)
    if row.issues:
        message = "; ".join(
            f"{issue.column}: {issue.message}" if issue.column else issue.message
            for issue in row.issues
        )
        return RowResult(Status.INVALID, _with_notes(message, row))
    if not row.pairs:
        if is_superseded(row):  # every pair given up to a later row (--last-row-wins)
            return RowResult(Status.DUPLICATE, _with_notes("", row))
        return RowResult(Status.NOT_SENT, _with_notes(unresolved, row))  # names not looked up
    pair_outcomes: list[PairOutcome] = []
    for pair in row.pairs:
        owner = first_row[pair]
        if owner != row.source.row:
            pair_outcomes.append(PairOutcome(Status.DUPLICATE, f"same as row {owner}"))
        else:
            pair_outcomes.append(outcomes.get(pair, PairOutcome(Status.NOT_SENT, "not sent")))
    worst = min(pair_outcomes, key=lambda o: SEVERITY.index(o.status))
    batch_ids = tuple(dict.fromkeys(o.batch_id for o in pair_outcomes if o.batch_id))
    messages = list(dict.fromkeys(o.message for o in pair_outcomes if o.status == worst.status))
    return RowResult(
        status=worst.status,
        message=_with_notes("; ".join(m for m in messages if m), row),
        batch_ids=batch_ids,
        attempts=max((o.attempts for o in pair_outcomes), default=0),
        at=max((o.at for o in pair_outcomes if o.at), default=None),
    )


def _with_notes(message: str, row: InputRow) -> str:
    """The row's notes (warnings that did not stop it) follow its message."""
    return "; ".join(part for part in (message, *row.notes) if part)


def needs_attention(result: RowResult) -> bool:
    """A row the person must act on: not settled well, and not left out by the file itself."""
    return result.status not in SETTLED_WELL and not result.held_back


def asked_statuses(results: Sequence[RowResult]) -> list[Status]:
    """The statuses of the rows the file asks for: not those it hides (left out on purpose),
    which the exit code does not count."""
    return [result.status for result in results if not result.held_back]


def held_back_count(results: Sequence[RowResult]) -> int:
    """Rows the file itself left out (hidden in the sheet): not sent, and not a problem."""
    return sum(1 for result in results if result.held_back)


def status_counts(results: Sequence[RowResult]) -> dict[str, int]:
    """Counts for every status (zeros included, so summaries always have the same keys)."""
    counts = {status.value: 0 for status in Status}
    for result in results:
        counts[result.status.value] += 1
    return counts
