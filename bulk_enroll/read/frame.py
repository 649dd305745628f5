"""A pandas DataFrame -> the same `Table` a spreadsheet gives, for rows that come from Python.

Data teams often hold their rows in a DataFrame (a database query, a notebook) rather than in a
file. This reader turns one into the reader's `Table`, so header aliases, validation, the report
and every message work exactly as for a sheet:

- the column labels are the header row, found by the same `header.locate` as in a file; a frame
  whose labels do not name a learner and a course column is refused (its data rows are never
  searched for a header, as a sheet's would be: a frame's header is its columns);
- a row's number is its position in the frame (0-based, as `df.iloc[n]`), so a message saying
  "row 3" points at `df.iloc[3]` whatever the index holds;
- cells keep their types: NaN, NaT, None and pd.NA are empty cells, Timestamps become
  `datetime`s (a time zone is kept, and validation refuses it as for date text), Timedeltas
  `timedelta`s, and numpy scalars the Python numbers and booleans they hold;
- rows whose every cell is empty are skipped, as blank rows in a sheet are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import pandas as pd

from bulk_enroll.errors import InputFileError
from bulk_enroll.read.columns import Field, HeaderMatcher
from bulk_enroll.read.header import locate
from bulk_enroll.read.reader import no_header_message
from bulk_enroll.read.table import Cell, Table

if TYPE_CHECKING:
    from pandas import DataFrame, Series

_HEADER_NUMBER = -1  # the labels are no row of the frame; data rows count from 0
_PLAIN: frozenset[type] = frozenset({str, type(None)})  # cells that need no conversion
# What a sheet's cell can hold (`table.Cell`): anything else in a frame is read as its text.
_SHEET_TYPES = (str, int, float, dt.date, dt.time, dt.timedelta)  # bool is an int


def read_frame(
    frame: DataFrame,
    *,
    aliases: Mapping[str, Field | str] | None = None,
    name: str = "DataFrame",
) -> Table:
    """The frame's columns and rows as a `Table`; row numbers are positions (`df.iloc[n]`)."""
    if isinstance(frame.columns, pd.MultiIndex):
        raise InputFileError(
            f"{name}: the columns have several levels; flatten them to one header first "
            "(e.g. df.columns = [' '.join(map(str, c)) for c in df.columns])"
        )
    labels = tuple(frame.columns)
    matcher = HeaderMatcher(aliases)
    if not matcher.is_header(labels):
        raise InputFileError(no_header_message(name, [(None, tuple(map(str, labels)))]))
    columns = [_cells(frame.iloc[:, position]) for position in range(len(labels))]
    located = locate(_numbered(labels, columns), matcher)
    return Table(name, None, located.headers, located.rows, notes=located.notes)


def _numbered(
    labels: tuple[object, ...], columns: list[list[Cell]]
) -> Iterator[tuple[int, tuple[Cell, ...]]]:
    yield _HEADER_NUMBER, labels
    yield from enumerate(zip(*columns, strict=True))


def _cells(column: Series) -> list[Cell]:
    """One column's cells as Python values (vectorised where the dtype allows it)."""
    dtype = column.dtype
    if dtype.kind == "M" and getattr(dtype, "tz", None) is None:
        # datetime64 -> datetime (microseconds, as a sheet keeps them); NaT -> None
        return column.to_numpy(dtype="datetime64[us]").astype(object).tolist()
    values: list[Cell] = column.tolist()  # numpy numbers and booleans become Python ones
    missing = column.isna()
    if missing.any():
        values = [None if gone else value for value, gone in zip(values, missing, strict=True)]
    if dtype.kind in "iufb" or set(map(type, values)) <= _PLAIN:
        return values
    return [_cell(value) for value in values]


def _cell(value: Cell) -> Cell:
    """A cell of a column of mixed or non-numeric type, as the reader's cell types."""
    if value is None or type(value) is str:
        return value
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime(warn=False)  # nanoseconds cannot be sent anyway
    if isinstance(value, pd.Timedelta):
        return value.to_pytimedelta()
    if type(value).__module__ == "numpy":  # a numpy scalar left in an object column
        kind = getattr(getattr(value, "dtype", None), "kind", "")
        if kind == "M":
            return _cell(pd.Timestamp(value))
        if kind == "m":
            return _cell(pd.Timedelta(value))
        return value.item()  # type: ignore[attr-defined]
    if isinstance(value, _SHEET_TYPES):
        return value
    # A dict, a list, bytes, an object of the caller's: no sheet cell holds one. As its text,
    # validation says what is wrong with it on its row and column, as for any odd cell.
    return str(value)
