"""Our own result workbook coming back as input: which sheet to read, which column to drop.

A person fixes the rows on the report's "Needs attention" sheet and runs
`bulk-enroll run REPORT.xlsx`. The reader asks `pick_sheet_for_report` which sheet to read (the
Needs attention sheet, when the workbook is one of our reports) and `drop_reason_column` removes
the reason column we added. The column is recognised by its exact header wherever the rows come
from, so the sheet also works when copied into a new workbook or saved as CSV.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from python_calamine import CalamineWorkbook

    from bulk_enroll.read.table import Table

SUMMARY_SHEET = "Summary"
NEEDS_ATTENTION_SHEET = "Needs attention"
REASON_HEADER = "Reason (bulk-enroll)"
# The Summary sheet's "Written by" row: label in column A, "bulk-enroll <version>" in column B.
MARKER_LABEL = "Written by"
MARKER_VALUE_PREFIX = "bulk-enroll"
_MARKER_SEARCH_ROWS = 60


def is_marker_row(cells: list[object]) -> bool:
    return (
        len(cells) >= 2
        and cells[0] == MARKER_LABEL
        and isinstance(cells[1], str)
        and cells[1].startswith(MARKER_VALUE_PREFIX)
    )


def pick_sheet_for_report(workbook: CalamineWorkbook) -> str | None:
    """ "Needs attention" when `workbook` is a bulk-enroll report, else None (read as usual)."""
    names = list(workbook.sheet_names)
    if NEEDS_ATTENTION_SHEET not in names or SUMMARY_SHEET not in names:
        return None
    try:
        rows = workbook.get_sheet_by_name(SUMMARY_SHEET).to_python()
    except Exception:  # an unreadable Summary sheet: not one of ours, read the file as usual
        return None
    if any(is_marker_row(list(row)) for row in rows[:_MARKER_SEARCH_ROWS]):
        return NEEDS_ATTENTION_SHEET
    return None


def drop_reason_column(table: Table) -> Table:
    """`table` without the reason column of a Needs attention sheet (no copy when absent)."""
    if REASON_HEADER not in table.headers:
        return table
    keep = [i for i, header in enumerate(table.headers) if header != REASON_HEADER]
    moved = {old: new for new, old in enumerate(keep)}  # positions after the drop
    rows = [(number, tuple(cells[i] for i in keep)) for number, cells in table.rows]
    return dataclasses.replace(
        table,
        headers=tuple(table.headers[i] for i in keep),
        hidden_columns=frozenset(moved[i] for i in table.hidden_columns if i in moved),
        unreadable={
            number: {moved[i]: why for i, why in marks.items() if i in moved}
            for number, marks in table.unreadable.items()
        },
        # A row the person emptied but whose reason is still there was deleted, not left blank.
        rows=[(number, cells) for number, cells in rows if not all(map(_is_blank, cells))],
    )


def _is_blank(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())
