"""The columns of the Results, Needs attention and Batches sheets, as data.

Each sheet is a list of `Column`s: a header, how to get the value from one line, and what kind
of value it is (which decides how it is written: IDs as text, dates as dates, statuses
coloured). The workbook and the CSV writer both render these lists, so a new column is one
entry here and shows up everywhere, in the right place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from itertools import islice
from typing import Generic, TypeVar

from bulk_enroll.model import (
    SETTLED_WELL,
    Batch,
    BatchOutcome,
    CourseKey,
    InputRow,
    LearnerKey,
    RowResult,
    Status,
)
from bulk_enroll.read.columns import Field, column_letter, map_columns
from bulk_enroll.read.feedback import REASON_HEADER, ROW_HEADER
from bulk_enroll.report.data import ReportData
from bulk_enroll.results import needs_attention

L = TypeVar("L")

# The statuses a person has to act on (all but those settled well): such rows go to the
# "Needs attention" sheet, unless the file itself hides them.
NEEDS_ATTENTION = tuple(status for status in Status if status not in SETTLED_WELL)
EXCEL_MAX_COLUMNS = 16_384  # A to XFD: the widest an Excel worksheet can be


class Kind(Enum):
    """How a column's values are written."""

    AUTO = "auto"  # as the input had them: numbers stay numbers, dates stay dates
    TEXT = "text"  # identifiers: always text (no lost leading zeros, no 1.2E+15)
    DATE = "date"  # ISO date text from a CSV becomes a real date; other text stays as typed
    STATUS = "status"  # a `Status`, colour-coded; other values (e.g. "planned") plain
    LONG_TEXT = "long_text"  # messages: wrapped, wide


@dataclass(frozen=True)
class Column(Generic[L]):
    """One column: its header, its value for a line, how to write it, an optional fixed width."""

    header: str
    get: Callable[[L], object]
    kind: Kind = Kind.AUTO
    width: int | None = None


@dataclass(frozen=True)
class ResultLine:
    """One input row with the status it ended with."""

    row: InputRow
    result: RowResult


@dataclass(frozen=True)
class BatchLine:
    """One API call (or a planned call that was never made)."""

    batch: Batch
    outcome: Status | str
    message: str = ""
    attempts: int = 0
    duration_s: float | None = None
    parent_id: str = ""
    rows_covered: int | None = None  # input rows whose pairs this call carries


def input_columns(headers: Sequence[str], room: int | None = None) -> list[Column[ResultLine]]:
    """The input's own columns, in order and as named; ID columns text, date columns dates.
    With `room`, at most that many (see `kept_input_positions`)."""
    mapped = map_columns(headers)
    kinds = {
        mapped.index[f]: kind
        for f, kind in (
            (Field.LEARNER_ID, Kind.TEXT),
            (Field.COURSE_ID, Kind.TEXT),
            (Field.DUE_DATE, Kind.DATE),
            (Field.ACCESS_DATE, Kind.DATE),
        )
        if f in mapped.index
    }
    return [
        Column(headers[position], _input_value(position), kinds.get(position, Kind.AUTO))
        for position in kept_input_positions(headers, room)
    ]


def kept_input_positions(headers: Sequence[str], room: int | None) -> list[int]:
    """The input columns a sheet with `room` columns left keeps: all of them when they fit;
    otherwise every column bulk-enroll reads (learner, course, settings), then the others in
    order while there is room. Status and Message come after them, so they always fit."""
    if room is None or len(headers) <= room:
        return list(range(len(headers)))
    read = sorted(map_columns(headers).index.values())[:room]
    others = (p for p in range(len(headers)) if p not in set(read))
    return sorted([*read, *islice(others, room - len(read))])


def left_out_note(headers: Sequence[str]) -> str | None:
    """What the workbook leaves out of an input wider than a worksheet, or None."""
    kept = kept_input_positions(headers, _room(EXCEL_MAX_COLUMNS))
    if len(kept) == len(headers):
        return None
    first = next(p for p, k in enumerate([*kept, len(headers)]) if p != k)
    return (f"the input has {len(headers):,} columns and a worksheet holds "
            f"{EXCEL_MAX_COLUMNS:,}: the workbook leaves out {len(headers) - len(kept):,} "
            f"columns that bulk-enroll does not read, from column {column_letter(first)} "
            f"({headers[first]!r}) on, so that Status and Message fit")


def _input_value(position: int) -> Callable[[ResultLine], object]:
    def get(line: ResultLine) -> object:
        values = line.row.values
        return values[position] if position < len(values) else None

    return get


def _resolved(kind: str) -> Callable[[ResultLine], object]:
    def get(line: ResultLine) -> object:
        pairs = line.row.pairs
        ids = (p.learner_id for p in pairs) if kind == "learner" else (p.course_id for p in pairs)
        return ", ".join(dict.fromkeys(ids))

    return get


def _names_without_ids(data: ReportData) -> bool:
    """True when some row named a learner or course other than by ID (so resolution mattered)."""
    return any(
        request.learner.key is not LearnerKey.ID or request.course.key is not CourseKey.ID
        for row in data.rows
        for request in row.requests
    )


STATUS_COLUMNS: tuple[Column[ResultLine], ...] = (
    Column("Status", lambda line: line.result.status, Kind.STATUS),
    Column("Message", lambda line: line.result.message, Kind.LONG_TEXT),
)
RESOLVED_COLUMNS: tuple[Column[ResultLine], ...] = (
    Column("Learner ID (resolved)", _resolved("learner"), Kind.TEXT),
    Column("Course ID (resolved)", _resolved("course"), Kind.TEXT),
)
TRACE_COLUMNS: tuple[Column[ResultLine], ...] = (
    Column("Batch", lambda line: ", ".join(line.result.batch_ids), Kind.TEXT),
    Column("Attempts", lambda line: line.result.attempts or None),
    Column("Time", lambda line: line.result.at),
)


def result_columns(data: ReportData, max_columns: int | None = None) -> list[Column[ResultLine]]:
    """Results: the input's columns, then status, message, resolved IDs (when names were
    looked up), batch, attempts and time; in at most `max_columns` (a worksheet's limit)."""
    resolved = RESOLVED_COLUMNS if data.names_looked_up and _names_without_ids(data) else ()
    ours = [*STATUS_COLUMNS, *resolved, *TRACE_COLUMNS]
    return [*input_columns(data.headers, _room(max_columns)), *ours]


def _room(max_columns: int | None) -> int | None:
    """Input columns that fit beside the most columns Results adds; the same on every sheet,
    so Needs attention reads back like Results."""
    ours = len(STATUS_COLUMNS) + len(RESOLVED_COLUMNS) + len(TRACE_COLUMNS)
    return None if max_columns is None else max_columns - ours


def reason(line: ResultLine) -> str:
    """What the person has to know to fix a row: its status and the message (the message alone
    when it already starts with the status, as "not sent: ..." does for not_sent)."""
    result = line.result
    status, message = result.status.value, result.message
    if not message:
        return status
    return message if _starts_with_status(message, status) else f"{status}: {message}"


def _starts_with_status(message: str, status: str) -> bool:
    """True for "Not sent: x" and not_sent: case and "_" against " " do not matter."""
    text, head = message.casefold().replace("_", " "), status.casefold().replace("_", " ")
    return text.startswith(head) and (len(text) == len(head) or not text[len(head)].isalnum())


def attention_columns(data: ReportData,
                      max_columns: int | None = None) -> list[Column[ResultLine]]:
    """Needs attention: exactly the input's columns (those Results keeps), so it reads back as
    input, then the row's number in the file first run (kept when a report is fed back again)
    and the reason, two columns that the reader drops."""
    origin = data.origin_rows or {}

    def input_row(line: ResultLine) -> int:
        return origin.get(line.row.source.row, line.row.source.row)

    return [*input_columns(data.headers, _room(max_columns)), Column(ROW_HEADER, input_row),
            Column(REASON_HEADER, reason, Kind.LONG_TEXT)]


def result_lines(data: ReportData) -> list[ResultLine]:
    return [ResultLine(row, result) for row, result in zip(data.rows, data.results, strict=True)]


def attention_lines(lines: Sequence[ResultLine]) -> list[ResultLine]:
    """Rows to act on; not the rows the file hides (fed back, they would be sent)."""
    return [line for line in lines if needs_attention(line.result)]


BATCH_COLUMNS: tuple[Column[BatchLine], ...] = (
    Column("Batch", lambda b: b.batch.batch_id, Kind.TEXT),
    Column("Part of", lambda b: b.parent_id, Kind.TEXT),
    Column("Settings", lambda b: b.batch.settings.describe()),
    Column("Learners", lambda b: len(b.batch.learner_ids)),
    Column("Courses", lambda b: len(b.batch.course_ids)),
    Column("Pairs", lambda b: b.batch.size),
    Column("Rows covered", lambda b: b.rows_covered),
    Column("Outcome", lambda b: b.outcome, Kind.STATUS),
    Column("Message", lambda b: b.message, Kind.LONG_TEXT),
    Column("Attempts", lambda b: b.attempts),
    Column("Duration (s)", lambda b: b.duration_s),
)


def batch_columns(data: ReportData) -> list[Column[BatchLine]]:
    return list(BATCH_COLUMNS)


def batch_lines(data: ReportData) -> list[BatchLine]:
    """Every call made, in plan order with split parts after their parent; planned calls that
    were never made (dry run, --strict) appear once each."""
    covered = data.rows_covered or {}
    if not data.calls:
        outcome: Status | str = "planned" if data.facts.dry_run else Status.NOT_SENT
        return [
            BatchLine(batch, outcome, rows_covered=covered.get(batch.batch_id))
            for batch in data.planned
        ]
    order = {batch.batch_id: index for index, batch in enumerate(data.planned)}
    calls = sorted(data.calls, key=lambda call: _call_order(call, order))
    return [
        BatchLine(
            call.batch,
            call.status,
            call.message,
            call.attempts,
            round(call.duration_s, 3),
            call.parent_id or "",
            covered.get(call.batch.batch_id),
        )
        for call in calls
    ]


def _call_order(call: BatchOutcome, order: dict[str, int]) -> tuple[int, tuple[int, ...], str]:
    root, *parts = call.batch.batch_id.split(".")
    numbers = tuple(int(p) for p in parts if p.isdigit())
    return (order.get(root, len(order)), numbers, call.batch.batch_id)
