"""Find the header row of a sheet and square the data under it. Pure.

HR files often start with a title, a note or blank rows; the header is the first row (among the
first `SCAN_ROWS` non-blank ones) that names a learner column and a course column. Blank rows
are dropped (Excel row numbers are kept), and trailing empty columns are ignored, so a sheet
whose formatting reaches row 1,048,576 costs one cheap check per row and nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bulk_enroll.read.cells import cell_text, clean_text
from bulk_enroll.read.columns import HeaderMatcher
from bulk_enroll.read.table import Cell

SCAN_ROWS = 50

NumberedRow = tuple[int, Sequence[Cell]]


@dataclass(frozen=True)
class Located:
    """A sheet's header and squared data rows, plus what a person should know about it."""

    header_row: int
    headers: tuple[str, ...]
    rows: list[tuple[int, tuple[Cell, ...]]]
    notes: tuple[str, ...]


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
    numbered: Iterable[NumberedRow], matcher: HeaderMatcher, *, first_column: int = 0
) -> Located:
    """Split rows into header and data; raise `NoHeader` if no row looks like a header."""
    rows = iter(numbered)
    seen: list[NumberedRow] = []
    header: NumberedRow | None = None
    for number, row in rows:
        if _blank(row):
            continue
        if matcher.is_header(row):
            header = (number, row)
            break
        seen.append((number, row))
        if len(seen) >= SCAN_ROWS:
            break
    if header is None:
        first = seen[0][1] if seen else ()
        raise NoHeader(tuple(cell_text(c) for c in first))

    header_number, header_cells = header
    texts = [cell_text(c) for c in header_cells]
    width = max((i + 1 for i, text in enumerate(texts) if text), default=0)
    data, width = _data_rows(rows, width)
    headers = tuple(
        texts[i] if i < len(texts) and texts[i] else f"Column {column_letter(first_column + i)}"
        for i in range(width)
    )
    notes: tuple[str, ...] = ()
    if seen:
        skipped = "row" if len(seen) == 1 else f"{len(seen)} rows"
        notes = (f"the header is row {header_number}; {skipped} above it skipped",)
    return Located(header_number, headers, data, notes)


def _data_rows(
    rows: Iterable[NumberedRow], width: int
) -> tuple[list[tuple[int, tuple[Cell, ...]]], int]:
    """Non-blank rows cut or padded to the used width (which grows if data lies beyond it)."""
    data: list[tuple[int, tuple[Cell, ...]]] = []
    grown = False
    for number, row in rows:
        if _blank(row):
            continue
        length = len(row)
        if length > width:
            if not _blank(row[width:]):
                width = max(i + 1 for i, cell in enumerate(row) if not is_blank_row((cell,)))
                grown = True
            data.append((number, tuple(row[:width])))
        elif length == width:
            data.append((number, tuple(row)))
        else:
            data.append((number, (*row, *("",) * (width - length))))
    if grown:
        data = [(n, cells + ("",) * (width - len(cells))) for n, cells in data]
    return data, width


def _blank(row: Sequence[Cell]) -> bool:
    """`is_blank_row` with a fast path for calamine's rows (lists with '' for empty cells)."""
    return (type(row) is list and row.count("") == len(row)) or is_blank_row(row)


def column_letter(index: int) -> str:
    """Excel's name for a zero-based column index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters
