"""The sheets of the result workbook: Summary, Needs attention, Results, Batches.

Written row by row in XlsxWriter's `constant_memory` mode (a 100,000-row report streams to disk
instead of living in memory), so everything about a sheet's layout (frozen header, filter,
widths) is decided before its first row, from the column lists in `report.columns` and a
sample of the values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from typing import TypeVar
from urllib.parse import urlsplit

from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from bulk_enroll._version import __version__
from bulk_enroll.model import SETTLED_WELL, Status
from bulk_enroll.read.feedback import (
    MARKER_LABEL,
    NEEDS_ATTENTION_SHEET,
    REASON_HEADER,
    ROW_HEADER,
    RUN_SETTINGS_SHEET,
    ReadingOptions,
)
from bulk_enroll.report.cells import (
    DATETIME_FORMAT,
    HEADER_FILL,
    STATUS_COLOURS,
    CellWriter,
    DateColumn,
    Formats,
    Style,
    Write,
    fit_to_page_width,
    fit_widths,
    header_style,
    set_layout,
    set_widths,
    status_style,
)
from bulk_enroll.report.columns import (
    EXCEL_MAX_COLUMNS,
    NEEDS_ATTENTION,
    Column,
    Kind,
    attention_columns,
    attention_lines,
    batch_columns,
    batch_lines,
    result_columns,
    result_lines,
)
from bulk_enroll.report.data import ReportData
from bulk_enroll.results import held_back_count, status_counts

L = TypeVar("L")

REASON_FILL = "FCE4D6"  # the reason header looks different: it is ours, not the input's
LONG_TEXT_WIDTHS = (30, 90)  # messages: at least readable, at most about a screen's half
STATUS_MEANING: dict[Status, str] = {
    Status.ENROLLED: "Enrolled by this run.",
    Status.ALREADY_ENROLLED: "Was already enrolled; nothing changed.",
    Status.DUPLICATE: "Same learner, course and settings as an earlier row; sent once.",
    Status.INVALID: "The row has a mistake; the message names the column. Fix and run again.",
    Status.FAILED: "The API refused it; the message gives its reason.",
    Status.UNKNOWN: "Sent, but the answer was lost; run again to confirm (no double enrollment).",
    Status.NOT_SENT: "Not sent (dry run, --strict, the run stopped, or hidden in the sheet).",
}
SUMMARY_WIDTHS = (20, 21, 9, 62)  # columns A to D
REMEMBERED = (
    "This workbook remembers these settings: run it (bulk-enroll run WORKBOOK) and its "
    "'Needs attention' rows are read with them; options given then win."
)
CHART_SIZE_CM = (17.0, 6.5)
CHART_ROWS = 14  # rows left empty under the chart (default rows are about 0.53 cm high)
PIXELS_PER_CM = 96 / 2.54  # what the writer sizes a chart in

# One Summary cell: a value and how it looks; None for an empty cell.
SummaryCell = tuple[object, Style] | None
NOTE = Style(italic=True, colour="595959")
BOLD = Style(bold=True)


def write_workbook_sheets(workbook: Workbook, data: ReportData, report_name: str) -> None:
    """Add the four sheets to a workbook, Summary first."""
    formats = Formats(workbook)
    lines = result_lines(data)
    attention = attention_lines(lines)
    _write_summary(workbook, workbook.add_worksheet("Summary"), formats, data, report_name)
    _write_table(
        workbook.add_worksheet(NEEDS_ATTENTION_SHEET),
        formats,
        attention_columns(data, EXCEL_MAX_COLUMNS),
        attention,
        header_fills={REASON_HEADER: REASON_FILL, ROW_HEADER: REASON_FILL},
    )
    _write_table(workbook.add_worksheet("Results"), formats,
                 result_columns(data, EXCEL_MAX_COLUMNS), lines)
    _write_table(workbook.add_worksheet("Batches"), formats, batch_columns(data), batch_lines(data))
    if data.facts.reading is not None:
        _write_run_settings(workbook.add_worksheet(RUN_SETTINGS_SHEET), data.facts.reading)


def _write_run_settings(sheet: Worksheet, reading: ReadingOptions) -> None:
    """The hidden sheet a report fed back is read with: the reading options, as text."""
    sheet.hide()
    for row, (name, value) in enumerate(reading.rows()):
        sheet.write_string(row, 0, name)
        sheet.write_string(row, 1, value)


def _write_table(
    sheet: Worksheet,
    formats: Formats,
    columns: Sequence[Column[L]],
    lines: Sequence[L],
    *,
    header_fills: dict[str, str] | None = None,
) -> None:
    """A header row and one row per line; layout decided up front from a sample of lines."""
    getters = [column.get for column in columns]
    sample = ([get(line) for get in getters] for line in lines)
    limits = [
        (c.width, c.width) if c.width else LONG_TEXT_WIDTHS if c.kind is Kind.LONG_TEXT else None
        for c in columns
    ]
    widths = fit_widths([c.header for c in columns], sample, limits=limits)
    set_layout(sheet, widths, len(lines))

    cells = CellWriter(sheet, formats)
    fills = header_fills or {}
    for col, column in enumerate(columns):
        fill = fills.get(column.header, HEADER_FILL)
        cells.styled(0, col, column.header, header_style(fill))
    writers = list(
        enumerate(zip(getters, [_cell_writer(cells, c.kind) for c in columns], strict=True))
    )
    for row, line in enumerate(lines, start=1):
        for col, (get, write) in writers:
            write(row, col, get(line))


def _cell_writer(cells: CellWriter, kind: Kind) -> Write:
    if kind is Kind.TEXT:
        return cells.id_text
    if kind is Kind.DATE:
        as_date = DateColumn()
        write = cells.value
        return lambda row, col, value: write(row, col, as_date(value))
    if kind is Kind.STATUS:
        return cells.status
    return cells.value


def _write_summary(
    workbook: Workbook, sheet: Worksheet, formats: Formats, data: ReportData, report_name: str
) -> None:
    """Verdict, what to do next, counts by status with a chart, and the run's facts."""
    set_widths(sheet, SUMMARY_WIDTHS)
    fit_to_page_width(sheet, landscape=False, pages_down=1)
    rows: list[list[SummaryCell]] = [[(data.verdict(), Style(bold=True, size=14))]]
    rows += [[(line, NOTE) if line else None] for line in next_step_lines(data, report_name)]
    rows += [[]]
    first_count_row = len(rows) + 1  # under the count table's header
    rows += [*_count_rows(data), []]
    chart_row = len(rows)
    rows += [[] for _ in range(CHART_ROWS)]
    rows += [[("Run", header_style()), ("", header_style())]]
    rows += [
        [(name, BOLD), None if value in (None, "") else (value, _fact_style(value))]
        for name, value in run_facts(data)
    ]
    if data.facts.reading is not None:
        rows += [[], [(RUN_SETTINGS_SHEET, header_style()), ("", header_style())]]
        rows += [[(name, BOLD), (value, Style(horizontal="left"))]
                 for name, value in data.facts.reading.describe()]
        rows += [[(REMEMBERED, NOTE)]]
    cells = CellWriter(sheet, formats)
    for row, summary_cells in enumerate(rows):
        for col, cell in enumerate(summary_cells):
            if cell is not None:
                cells.styled(row, col, *cell)
    _add_status_chart(workbook, sheet, first_count_row, chart_row)


def _count_rows(data: ReportData) -> list[list[SummaryCell]]:
    """The Summary's table: rows and share for each status, then the total."""
    counts = status_counts(data.results)
    total = len(data.results)
    percent = Style(number_format="0.0%")
    meaning = Style(indent=1)
    good = sum(counts[s.value] for s in SETTLED_WELL)
    held = held_back_count(data.results)  # rows the sheet hides: not sent, nothing to do
    hidden = f", {held:,} hidden in the sheet (not sent)" if held else ""
    header: list[SummaryCell] = [
        ("Status", header_style()),
        ("Rows", header_style(horizontal="right")),
        ("Share", header_style(horizontal="right")),
        ("What it means", header_style(indent=1)),
    ]
    per_status: list[list[SummaryCell]] = [
        [
            (status.value, status_style(status)),
            (counts[status.value], Style()),
            (counts[status.value] / total if total else 0.0, percent),
            (STATUS_MEANING[status], meaning),
        ]
        for status in Status
    ]
    total_row: list[SummaryCell] = [
        ("Total", BOLD),
        (total, BOLD),
        (1.0 if total else 0.0, replace(BOLD, number_format="0.0%")),
        (f"{good:,} settled well, {total - good - held:,} need attention{hidden}",
         replace(NOTE, indent=1)),
    ]
    return [header, *per_status, total_row]


def _fact_style(value: object) -> Style:
    if isinstance(value, dt.datetime):
        return Style(horizontal="left", number_format=DATETIME_FORMAT)
    return Style(horizontal="left")


def next_step_lines(data: ReportData, report_name: str) -> list[str]:
    """What the person should do next, in two lines (the second may be empty): it depends on
    why rows need attention (rows to fix, a dry run, or a run that was stopped)."""
    counts = status_counts(data.results)
    held = held_back_count(data.results)  # hidden rows: not sent on purpose, nothing to do
    attention = sum(counts[s.value] for s in NEEDS_ATTENTION) - held
    invalid, not_sent = counts[Status.INVALID.value], counts[Status.NOT_SENT.value] - held
    to_fix = sum(counts[s.value] for s in NEEDS_ATTENTION if s is not Status.NOT_SENT)
    note = (data.facts.note or "").strip().rstrip(".")
    if data.facts.dry_run and attention:
        fix = f"fix the {invalid:,} invalid row(s) there and " if invalid else ""
        return [
            f"Next: the '{NEEDS_ATTENTION_SHEET}' sheet holds the {attention:,} unsent row(s), "
            "with the reason in its last column;",
            f"{fix}save, then send them by running this workbook: bulk-enroll run {report_name}",
        ]
    if not_sent and not to_fix and note:
        # Valid rows held back by a stop (a safety limit, a failed lookup, an interruption):
        # there is nothing to fix in them, the file has to be looked at and run again.
        head = "Nothing was sent" if not data.calls else f"{not_sent:,} row(s) were not sent"
        return [
            f"{head}: {note}.",
            "Look at the file, then run again (with --force if a safety limit stopped it); "
            "its rows need no fixing.",
        ]
    if attention:
        return [
            f"Next: fix the {attention:,} row(s) on the '{NEEDS_ATTENTION_SHEET}' sheet "
            "(the reason is in its last column),",
            f"then save and run this workbook again: bulk-enroll run {report_name}",
        ]
    return ["Nothing to fix: every row settled well.", ""]


def _add_status_chart(
    workbook: Workbook, sheet: Worksheet, first_row: int, anchor_row: int
) -> None:
    """A horizontal bar per status, coloured like the status cells, under the table.

    Rows are zero-based; the chart refers to the counts in column B and the labels in A.
    """
    last_row = first_row + len(Status) - 1
    chart = workbook.add_chart({"type": "bar"})
    chart.set_style(10)
    chart.set_title({"name": "Rows by status"})
    chart.set_legend({"none": True})
    # In a bar chart the value axis runs across: it is the x axis here.
    chart.set_x_axis(
        {
            "visible": False,  # the bars carry their value as a label
            "major_gridlines": {"visible": False},
            "num_format": "#,##0",
            "min": 0,
        }
    )
    chart.set_y_axis({"reverse": True})  # first status at the top, as in the table
    chart.add_series(
        {
            "categories": f"='{sheet.name}'!$A${first_row + 1}:$A${last_row + 1}",
            "values": f"='{sheet.name}'!$B${first_row + 1}:$B${last_row + 1}",
            "points": [
                {"fill": {"color": f"#{fill}"}, "border": {"color": f"#{line}"}}
                for fill, line in (STATUS_COLOURS[status] for status in Status)
            ],
            "data_labels": {"value": True},
            "gap": 40,
        }
    )
    width, height = (round(cm * PIXELS_PER_CM) for cm in CHART_SIZE_CM)
    chart.set_size({"width": width, "height": height})
    sheet.insert_chart(anchor_row, 0, chart)


def public_url(url: str | None, *, path: bool = True) -> str:
    """scheme://host[:port][/path] of a URL: never its user info, query or fragment (secrets)."""
    if not url:
        return ""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    shown = f"{parts.scheme}://{host}" if parts.scheme else host
    return shown + parts.path if path else shown


def run_facts(data: ReportData) -> list[tuple[str, object]]:
    """The Summary's facts about the run, in reading order; never a secret."""
    facts, stats = data.facts, data.stats
    duration = (facts.finished - facts.started).total_seconds()
    rows: list[tuple[str, object]] = [
        ("Input file", facts.input_file),
        ("Input SHA-256", facts.input_sha256 or ""),
        ("Sheet", facts.sheet or ""),
        ("Rows", len(data.rows)),
        ("Mode", "dry run (nothing sent)" if facts.dry_run else "live"),
        ("Started", facts.started),
        ("Finished", facts.finished),
        ("Duration", _duration(duration)),
        ("API host", public_url(facts.endpoint, path=False)),
        ("Endpoint", public_url(facts.endpoint)),
        ("Transport", facts.transport or ""),
        ("Columns used", facts.columns or ""),
        ("Hidden rows not sent", held_back_count(data.results)),
        ("Calls planned", len(data.planned)),
        ("API calls made", stats.api_calls),
        ("Retries", stats.retries),
        ("Isolation calls", stats.isolation_calls),
        ("Token renewals", stats.token_renewals),
        ("Server rate limit learned", _calls_per_s(stats.learned_rate)),
        ("Waited on the rate limit", f"{stats.rate_wait_s:.1f} s"),
        ("429 answers", stats.rate_limited),
    ]
    if facts.note:
        rows.append(("Note", facts.note))
    rows.append((MARKER_LABEL, f"bulk-enroll {__version__}"))
    return rows


def _calls_per_s(rate: float | None) -> str:
    return f"{rate:.3g} calls/s" if rate is not None else "none met"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min {rest:02d} s" if hours else f"{minutes} min {rest:02d} s"
