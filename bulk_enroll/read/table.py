"""The reader's output: a sheet's header and data rows as raw cells, with their row numbers.

Its own module so that what reads a table (validation, report feedback) does not import the
reader and its file formats.
"""

from __future__ import annotations

from dataclasses import dataclass

Cell = object  # str | int | float | bool | date | datetime | time | timedelta | None


@dataclass(frozen=True)
class Table:
    """A sheet's header and data rows; `rows` pairs each row with its Excel row number.

    `notes` are facts about the whole file worth telling the user (a guessed encoding, the
    sheet chosen, title rows skipped).
    """

    file: str
    sheet: str | None
    headers: tuple[str, ...]
    rows: list[tuple[int, tuple[Cell, ...]]]
    encoding: str | None = None
    notes: tuple[str, ...] = ()
    typed: bool = True  # cells may be numbers, dates, booleans (False: all text, from CSV)
