"""The reader's output: a sheet's header and data rows as raw cells, with their row numbers.

Its own module so that what reads a table (validation, report feedback) does not import the
reader and its file formats.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

Cell = object  # str | int | float | bool | date | datetime | time | timedelta | None

# A problem the reader found on a row, before validation: (column as written or None, message,
# kind), the shape validation's own problems have.
ReadProblem = tuple[str | None, str, str]

KIND_OVERFLOW = "more values than columns"
KIND_FORMULA = "formula without a value"


@dataclass(frozen=True)
class Table:
    """A sheet's header and data rows; `rows` pairs each row with its Excel row number.

    `notes` are facts about the whole file worth telling the user (a guessed encoding, the
    sheet chosen, title rows skipped, footer lines skipped). The rest say what the cells alone
    do not: rows hidden in the sheet (by hand or by a filter), hidden columns (positions in
    `headers`), empty cells that hold a formula without a value (row -> position -> why), and
    problems found while reading a row (a value beyond the header's columns).
    """

    file: str
    sheet: str | None
    headers: tuple[str, ...]
    rows: list[tuple[int, tuple[Cell, ...]]]
    encoding: str | None = None
    notes: tuple[str, ...] = ()
    typed: bool = True  # cells may be numbers, dates, booleans (False: all text, from CSV)
    first_column: int = 0  # the sheet's column index of headers[0], for column letters
    hidden_rows: frozenset[int] = frozenset()
    hidden_columns: frozenset[int] = frozenset()
    unreadable: Mapping[int, Mapping[int, str]] = field(default_factory=dict)
    row_problems: Mapping[int, tuple[ReadProblem, ...]] = field(default_factory=dict)
    footer: tuple[tuple[int, str], ...] = ()  # (row number, text) of footer lines, not rows
    # A report fed back: each row's number in the file first run (its "Input row" column).
    origin_rows: Mapping[int, int] = field(default_factory=dict)

    def special_rows(self) -> frozenset[int]:
        """Rows that need more than the cells to validate (hidden, unreadable, a read problem)."""
        return self.hidden_rows | self.unreadable.keys() | self.row_problems.keys()
