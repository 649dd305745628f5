"""Our own result workbook coming back as input: which sheet to read, which columns to drop,
and how its run read the file.

A person fixes the rows on the report's "Needs attention" sheet and runs
`bulk-enroll run REPORT.xlsx`. The reader asks `pick_sheet_for_report` which sheet to read (the
Needs attention sheet, when the workbook is one of our reports) and `drop_reason_column` removes
the reason and input row columns we added (keeping each row's original row number). The columns
are recognised by their exact headers wherever the rows come from, so the sheet also works when
copied into a new workbook or saved as CSV.

The report also remembers the options its run read the file with (`ReadingOptions`: aliases,
date order, row defaults...), in a hidden "Run settings" sheet, so that a report fed back is
read as its file was: the format of that sheet lives here, both ways.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from python_calamine import CalamineSheet, CalamineWorkbook

    from bulk_enroll.read.table import Table

SUMMARY_SHEET = "Summary"
NEEDS_ATTENTION_SHEET = "Needs attention"
REASON_HEADER = "Reason (bulk-enroll)"
ROW_HEADER = "Input row (bulk-enroll)"  # the row's number in the file the person first ran
RUN_SETTINGS_SHEET = "Run settings"  # hidden: the reading options, one per row, as JSON
RUN_SETTINGS_FORMAT = "bulk-enroll run settings 1"
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


def pick_sheet_for_report(workbook: CalamineWorkbook,
                          load: Callable[[str], CalamineSheet] | None = None) -> str | None:
    """ "Needs attention" when `workbook` is a bulk-enroll report, else None (read as usual).
    `load` reads a sheet (the reader's, which weighs it first)."""
    names = list(workbook.sheet_names)
    if NEEDS_ATTENTION_SHEET not in names or SUMMARY_SHEET not in names:
        return None
    try:
        rows = (load or workbook.get_sheet_by_name)(SUMMARY_SHEET).to_python()
    except Exception:  # an unreadable Summary sheet: not one of ours, read the file as usual
        return None
    if any(is_marker_row(list(row)) for row in rows[:_MARKER_SEARCH_ROWS]):
        return NEEDS_ATTENTION_SHEET
    return None


def drop_reason_column(table: Table) -> Table:
    """`table` without the reason and input row columns of a Needs attention sheet (no copy
    when absent); the input row numbers become the table's `origin_rows`."""
    ours = (REASON_HEADER, ROW_HEADER)
    if not any(header in ours for header in table.headers):
        return table
    keep = [i for i, header in enumerate(table.headers) if header not in ours]
    moved = {old: new for new, old in enumerate(keep)}  # positions after the drop
    if ROW_HEADER in table.headers:
        at = table.headers.index(ROW_HEADER)
        origin = {number: found for number, cells in table.rows
                  if (found := _row_number(cells[at] if at < len(cells) else None))}
        table = dataclasses.replace(table, origin_rows=origin)
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


def _row_number(cell: object) -> int | None:
    """A row number as a spreadsheet gives it back (a number, maybe a float, or text)."""
    try:
        number = int(float(str(cell).strip()))
    except ValueError:
        return None
    return number if number > 0 else None


# ---- the reading options a report remembers ----------------------------------------------------


@dataclass(frozen=True)
class ReadingOptions:
    """How a run read its file, beyond what the file says: the options (from the command line,
    the configuration, or a report fed back) that a retry must use again to read the rows the
    same way. `row_defaults`: field name -> text, as the row default options take it."""

    sheet: str | None = None
    date_order: str | None = None
    aliases: Mapping[str, str] = field(default_factory=dict)
    row_defaults: Mapping[str, str] = field(default_factory=dict)
    include_hidden_rows: bool = False
    last_row_wins: bool = False

    def rows(self) -> list[tuple[str, str]]:
        """The hidden sheet's rows: a format marker, then (option, value as JSON)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return [("format", RUN_SETTINGS_FORMAT),
                *((name, json.dumps(value, ensure_ascii=False, default=dict))
                  for name, value in values.items())]

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[object]]) -> ReadingOptions | None:
        """The options from the hidden sheet's rows; None when they are not ours (or damaged:
        the run then reads the report with the options it is given, as any file)."""
        found: dict[str, object] = {}
        for row in rows:
            if len(row) >= 2 and isinstance(row[0], str) and isinstance(row[1], str):
                found[row[0]] = row[1]
        if found.pop("format", None) != RUN_SETTINGS_FORMAT:
            return None
        try:
            values = {name: json.loads(str(text)) for name, text in found.items()
                      if name in {f.name for f in dataclasses.fields(cls)}}
            options = cls(**values)  # type: ignore[arg-type]
        except (ValueError, TypeError):
            return None
        return options if _well_typed(options) else None

    def describe(self) -> list[tuple[str, str]]:
        """The Summary sheet's "Run settings" block: (what, how), in words."""
        aliases = "; ".join(f"{header!r} -> {name}" for header, name in self.aliases.items())
        defaults = ", ".join(f"--{name.replace('_', '-')} {value}"
                             for name, value in self.row_defaults.items())
        return [
            ("Sheet option", self.sheet or "none (the first sheet with a recognisable header)"),
            ("Date order", self.date_order or "none (ambiguous slash dates are problems)"),
            ("Aliases", aliases or "none"),
            ("Row defaults", defaults or "none"),
            ("Hidden rows", "sent (--include-hidden-rows)" if self.include_hidden_rows
             else "not sent"),
            ("Conflicting rows", "the last row wins (--last-row-wins)" if self.last_row_wins
             else "invalid"),
        ]


def _well_typed(options: ReadingOptions) -> bool:
    def texts(mapping: object) -> bool:
        return isinstance(mapping, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in mapping.items())

    return (all(isinstance(v, str | None) for v in (options.sheet, options.date_order))
            and texts(options.aliases) and texts(options.row_defaults)
            and isinstance(options.include_hidden_rows, bool)
            and isinstance(options.last_row_wins, bool))
