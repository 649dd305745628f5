"""Find the header row of a sheet and square the data under it. Pure.

HR files often start with a title, a note or blank rows; the header is found among the first
`SCAN_ROWS` non-blank rows: a row that names a learner column and a course column (the one
naming the most fields, when a group row sits above the real header). Blank rows are dropped
(Excel row numbers are kept), and trailing empty columns are ignored, so a sheet whose
formatting reaches row 1,048,576 costs one cheap check per row and nothing more. A value in a
column without a header is kept (the column is named "Column F") and its row gets a problem;
footer lines at the end ("Total: 3") are set aside.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bulk_enroll.read.cells import cell_text, clean_text
from bulk_enroll.read.columns import HeaderMatcher, column_letter
from bulk_enroll.read.footer import footer_text
from bulk_enroll.read.table import KIND_OVERFLOW, Cell, ReadProblem

SCAN_ROWS = 50
HEADER_LOOKAHEAD = 3  # adjacent header-like rows weighed against each other (group rows)

NumberedRow = tuple[int, Sequence[Cell]]


@dataclass(frozen=True)
class Located:
    """A sheet's header and squared data rows, plus what a person should know about it:
    notes, problems found on rows while squaring them, and footer lines set aside."""

    header_row: int
    headers: tuple[str, ...]
    rows: list[tuple[int, tuple[Cell, ...]]]
    notes: tuple[str, ...]
    problems: dict[int, tuple[ReadProblem, ...]] = field(default_factory=dict)
    footer: tuple[tuple[int, str], ...] = ()


class NoHeader(Exception):
    """No recognisable header; `first_row` is the likeliest candidate, for the message."""

    def __init__(self, first_row: tuple[str, ...]) -> None:
        super().__init__("no recognisable header row")
        self.first_row = first_row


def is_blank_row(row: Sequence[Cell]) -> bool:
    """True when every cell is empty or only spaces (including invisible ones)."""
    for cell in row:
        if cell is None or cell == "":
            continue
        if type(cell) is str:
            if cell.isascii():
                if cell.isspace():
                    continue
            elif not clean_text(cell):
                continue
        return False
    return True


def locate(
    numbered: Iterable[NumberedRow],
    matcher: HeaderMatcher,
    *,
    first_column: int = 0,
    delimited: bool = False,
) -> Located:
    """Split rows into header and data; raise `NoHeader` if no row looks like a header.

    The header is the first row that names a learner and a course column, unless the rows
    right under it do too: then the one naming the most fields (a tie goes to the lower row),
    so a two-level header, a group row such as "Learner | Course | Settings" above the real
    one, yields the real one. A header repeated further down (files pasted together) is data.
    `delimited` says the rows come from a text file, where a value beyond the header's columns
    means shifted values (an unquoted separator), not a note in a column without a header.
    """
    rows = iter(numbered)
    seen: list[NumberedRow] = []
    candidates: list[int] = []  # positions in `seen` of adjacent rows that look like a header
    for number, row in rows:
        if _blank(row):
            continue
        seen.append((number, row))
        if matcher.is_header(row) and len(candidates) < HEADER_LOOKAHEAD:
            candidates.append(len(seen) - 1)
        elif candidates or len(seen) >= SCAN_ROWS:
            break  # the rows right under the header block are data, not more header
    if not candidates:
        first = seen[0][1] if seen else ()
        raise NoHeader(tuple(cell_text(c) for c in first))

    chosen = max(candidates, key=lambda at: (len(matcher.recognised(seen[at][1])), at))
    header_number, header_cells = seen[chosen]
    above, after = seen[:chosen], seen[chosen + 1 :]
    texts = [cell_text(c) for c in header_cells]
    width = max((i + 1 for i, text in enumerate(texts) if text), default=0)
    squared = _square(itertools.chain(after, rows), width, first_column, delimited)
    headers = tuple(
        texts[i] if i < len(texts) and texts[i] else f"Column {column_letter(first_column + i)}"
        for i in range(squared.width)
    )
    notes: list[str] = []
    if above:
        skipped = "row" if len(above) == 1 else f"{len(above)} rows"
        notes.append(f"the header is row {header_number}; {skipped} above it skipped")
    data, footer = split_footer(squared.rows)
    if footer:
        lines = ", ".join(f"row {number} ({text!r})" for number, text in footer)
        kind = "a footer line" if len(footer) == 1 else "footer lines"
        notes.append(f"{lines}: {kind}, not a request: skipped")
    if not data:
        notes.append("the file has a header but no data rows")
    footer_rows = {number for number, _ in footer}
    problems = {n: p for n, p in squared.problems.items() if n not in footer_rows}
    return Located(header_number, headers, data, tuple(notes), problems, footer)


def split_footer(
    rows: list[tuple[int, tuple[Cell, ...]]],
) -> tuple[list[tuple[int, tuple[Cell, ...]]], tuple[tuple[int, str], ...]]:
    """Data rows without the footer lines at their end ("Total: 3"), and those lines."""
    end = len(rows)
    footer: list[tuple[int, str]] = []
    while end and (text := footer_text(rows[end - 1][1])) is not None:
        end -= 1
        footer.append((rows[end][0], text))
    return (rows[:end] if footer else rows), tuple(reversed(footer))


@dataclass
class _Squared:
    rows: list[tuple[int, tuple[Cell, ...]]]
    width: int
    problems: dict[int, tuple[ReadProblem, ...]]


def _square(
    rows: Iterable[NumberedRow], width: int, first_column: int, delimited: bool
) -> _Squared:
    """Non-blank rows cut or padded to the used width, which grows if data lies beyond it (so
    nothing is dropped); a row with a value beyond the header's columns gets a problem."""
    header_width = width
    data: list[tuple[int, tuple[Cell, ...]]] = []
    problems: dict[int, tuple[ReadProblem, ...]] = {}
    grown = False
    for number, row in rows:
        if _blank(row):
            continue
        length = len(row)
        if length > header_width:
            if not _blank(row[header_width:]):
                filled = [i for i, cell in enumerate(row) if not is_blank_row((cell,))]
                problems[number] = (
                    _beyond_header(row, filled, header_width, first_column, delimited),
                )
                if filled[-1] + 1 > width:
                    width = filled[-1] + 1
                    grown = True
            data.append((number, tuple(row[:width])))
        elif length == width:
            data.append((number, tuple(row)))
        else:
            data.append((number, (*row, *("",) * (width - length))))
    if grown:
        data = [(n, cells + ("",) * (width - len(cells))) for n, cells in data]
    return _Squared(data, width, problems)


def _beyond_header(
    row: Sequence[Cell], filled: list[int], header_width: int, first_column: int,
    delimited: bool,
) -> ReadProblem:
    """The problem of a row with values in columns that have no header."""
    if delimited:
        message = (
            f"row has {filled[-1] + 1} values but the header has {header_width} columns: "
            "a value may contain an unquoted separator, e.g. 1,5; put quotes around it, or "
            "give the extra column a header"
        )
        return None, message, KIND_OVERFLOW
    beyond = [i for i in filled if i >= header_width]
    letters = [column_letter(first_column + i) for i in beyond]
    shown = ", ".join(f"{letter} ({cell_text(row[i])!r})" for letter, i in zip(letters, beyond,
                                                                                 strict=True))
    what = "column" if len(beyond) == 1 else "columns"
    message = (
        f"a value in {what} {shown} has no header: it may mean something for this row; give "
        "the column a header (it is then kept as an extra column) or clear the cell"
    )
    return f"Column {letters[0]}", message, KIND_OVERFLOW


def _blank(row: Sequence[Cell]) -> bool:
    """`is_blank_row` with a fast path for calamine's rows (lists with '' for empty cells)."""
    return (type(row) is list and row.count("") == len(row)) or is_blank_row(row)
