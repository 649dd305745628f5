"""Cells corrected by a person, and a run restricted to some rows, applied to a read `Table`.

A person fixing a file on a page (or a program fixing a DataFrame's rows) should not have to
save and upload the whole file again: the corrections are given as {(row, column): value},
with the row as the sheet shows it and the column as its header is written, and applied to
the rows as read, before validation. `keep_rows` runs only the rows a person chose (the rows
they just fixed). Pure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping

from bulk_enroll.errors import InputFileError
from bulk_enroll.read.table import Cell, Table

CellEdits = Mapping[tuple[int, str], Cell]  # (row as the sheet shows it, header) -> new value


def apply_edits(table: Table, edits: CellEdits) -> Table:
    """`table` with the edited cells replaced; an edit naming a row or a column the table does
    not have is an error naming it (never silently dropped)."""
    if not edits:
        return table
    columns: dict[str, int] = {}
    for index, header in enumerate(table.headers):
        columns.setdefault(header, index)  # a repeated header: the first, as validation reads
    numbers = {number for number, _ in table.rows}
    by_row: dict[int, dict[int, Cell]] = {}
    for (row, column), value in edits.items():
        if column not in columns:
            raise InputFileError(f"{table.file}: an edit names column {column!r}, which the "
                                 f"file does not have")
        if row not in numbers:
            raise InputFileError(f"{table.file}: an edit names row {row}, which holds no data")
        by_row.setdefault(row, {})[columns[column]] = value
    rows = []
    for number, cells in table.rows:
        changed = by_row.get(number)
        if changed:
            cells = tuple(changed.get(index, cell) for index, cell in enumerate(cells))
        rows.append((number, cells))
    # A formula cell without a value that the person filled in is a value now.
    unreadable = {number: {at: why for at, why in cells.items() if at not in by_row.get(number, {})}
                  for number, cells in table.unreadable.items()}
    return dataclasses.replace(table, rows=rows,
                               unreadable={number: cells for number, cells in unreadable.items()
                                           if cells})


def keep_rows(table: Table, wanted: Collection[int] | None) -> Table:
    """Only the rows numbered in `wanted` (all when None); a number without data is an error."""
    if wanted is None:
        return table
    wanted = set(wanted)
    rows = [(number, cells) for number, cells in table.rows if number in wanted]
    missing = wanted - {number for number, _ in rows}
    if missing:
        listed = ", ".join(str(number) for number in sorted(missing)[:5])
        raise InputFileError(f"{table.file}: no data in row(s) {listed}")
    return dataclasses.replace(table, rows=rows)
