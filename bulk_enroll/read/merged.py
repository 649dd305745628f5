"""Merged cells below the header: HR merges one course over the rows of the people taking it.

A workbook keeps a merged cell's value in its top-left cell only, so the rows under it read as
empty ("course title is empty") while the sheet plainly shows the value on each of them. The
value is read on every row the merge spans (in the merge's first column), with a note naming
the cells. Merges in or above the header row (a two-level header's group cells) and merges
within one row are left alone. XLSX and XLS: python-calamine gives their merged ranges; ODS:
`sheet_xml` reads them from the sheet's XML.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from bulk_enroll.read.cells import cell_text, is_blank
from bulk_enroll.read.columns import column_letter
from bulk_enroll.read.header import Located

Range = tuple[tuple[int, int], tuple[int, int]]  # ((first row, first column), (last ...)), 0-based


def fill_merged_down(located: Located, merges: Iterable[Range] | None,
                     first_column: int) -> Located:
    """The located sheet with each merged value read on every data row its merge spans."""
    spans = [m for m in merges or () if m[1][0] > m[0][0] and m[0][0] + 1 > located.header_row]
    if not spans:
        return located
    at = {number: i for i, (number, _) in enumerate(located.rows)}
    rows = list(located.rows)
    notes: list[str] = []
    for (top, column), (bottom, last_column) in sorted(spans):
        position = column - first_column
        first = at.get(top + 1)
        if first is None or not 0 <= position < len(located.headers):
            continue
        value = rows[first][1][position]
        if is_blank(value):
            continue
        for number in range(top + 2, bottom + 2):
            i = at.get(number)
            if i is not None and is_blank(rows[i][1][position]):
                cells = rows[i][1]
                rows[i] = (number, (*cells[:position], value, *cells[position + 1:]))
        cells_ref = (f"{column_letter(column)}{top + 1}:{column_letter(last_column)}"
                     f"{bottom + 1}")
        notes.append(f"cells {cells_ref} are merged: their value {cell_text(value)!r} is read "
                     f"on rows {top + 1} to {bottom + 1}")
    return dataclasses.replace(located, rows=rows, notes=located.notes + tuple(notes))
