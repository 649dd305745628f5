"""The sheets of the result workbook: Summary, Needs attention, Results, Batches.

Write-only openpyxl sheets (a 100,000-row report streams to disk instead of living in memory),
so everything about a sheet's layout (frozen header, filter, widths) is decided before its
first row, from the column lists in `report_columns` and a sample of the values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TypeVar
from urllib.parse import urlsplit

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.marker import DataPoint
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from bulk_enroll import __version__
from bulk_enroll.model import Status
from bulk_enroll.read.feedback import MARKER_LABEL, NEEDS_ATTENTION_SHEET, REASON_HEADER
from bulk_enroll.report.cells import (
    DATETIME_FORMAT,
    HEADER_FILL,
    STATUS_COLOURS,
    CellMaker,
    DateColumn,
    fit_to_page_width,
    fit_widths,
    set_layout,
    stream_prepared_cells,
)
from bulk_enroll.report.columns import (
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
from bulk_enroll.report.data import ReportData, rate_limit_facts
from bulk_enroll.results import SETTLED_WELL, status_counts

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
    Status.NOT_SENT: "Not sent (dry run, --strict, or the run stopped). Run again to send.",
}
SUMMARY_WIDTHS = {"A": 20, "B": 21, "C": 9, "D": 62}
CHART_SIZE_CM = (17.0, 6.5)
CHART_ROWS = 14  # rows left empty under the chart (default rows are about 0.53 cm high)


def write_workbook_sheets(workbook: Workbook, data: ReportData, report_name: str) -> None:
    """Add the four sheets to a write-only workbook, Summary first."""
    lines = result_lines(data)
    attention = attention_lines(lines)
    _write_summary(workbook.create_sheet("Summary"), data, report_name)
    _write_table(
        workbook.create_sheet(NEEDS_ATTENTION_SHEET),
        attention_columns(data),
        attention,
        header_fills={REASON_HEADER: REASON_FILL},
    )
    _write_table(workbook.create_sheet("Results"), result_columns(data), lines)
    _write_table(workbook.create_sheet("Batches"), batch_columns(data), batch_lines(data))


def _write_table(
    sheet: WriteOnlyWorksheet,
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

    stream_prepared_cells(sheet)
    maker = CellMaker(sheet)
    fills = header_fills or {}
    sheet.append([maker.header(c.header, fill=fills.get(c.header, HEADER_FILL)) for c in columns])
    writers = [
        _cell_writer(CellMaker(sheet, styles=maker.styles, reuse=True), column.kind)
        for column in columns
    ]
    cells = list(zip(getters, writers, strict=True))
    append = sheet.append
    for line in lines:
        append([write(get(line)) for get, write in cells])


def _cell_writer(maker: CellMaker, kind: Kind) -> Callable[[object], object]:
    if kind is Kind.TEXT:
        return maker.id_text
    if kind is Kind.DATE:
        as_date = DateColumn()
        return lambda value: maker.value(as_date(value))
    if kind is Kind.STATUS:
        return lambda value: (
            maker.status(value) if isinstance(value, Status) else maker.value(value)
        )
    return maker.value


def _write_summary(sheet: WriteOnlyWorksheet, data: ReportData, report_name: str) -> None:
    """Verdict, what to do next, counts by status with a chart, and the run's facts."""
    for letter, width in SUMMARY_WIDTHS.items():
        sheet.column_dimensions[letter].width = width
    fit_to_page_width(sheet, orientation="portrait", pages_down=1)
    maker = CellMaker(sheet)
    note = maker.style("note", italic=True, colour="595959")
    total_note = maker.style("total-note", italic=True, colour="595959", indent=1)
    sheet.append([maker.styled(data.verdict(), maker.style("verdict", bold=True, size=14))])
    for line in next_step_lines(data, report_name):
        sheet.append([maker.styled(line, note) if line else None])
    sheet.append([])

    counts = status_counts(data.results)
    total = len(data.results)
    percent = maker.style("percent", number_format="0.0%")
    sheet.append(
        [
            maker.header("Status"),
            maker.header("Rows", horizontal="right"),
            maker.header("Share", horizontal="right"),
            maker.header("What it means", indent=1),
        ]
    )
    meaning = maker.style("meaning", indent=1)
    first_count_row = 6
    for status in Status:
        count = counts[status.value]
        share = count / total if total else 0.0
        sheet.append(
            [
                maker.status(status),
                count,
                maker.styled(share, percent),
                maker.styled(STATUS_MEANING[status], meaning),
            ]
        )
    bold = maker.style("bold", bold=True)
    good = sum(counts[s.value] for s in SETTLED_WELL)
    sheet.append(
        [
            maker.styled("Total", bold),
            maker.styled(total, bold),
            maker.styled(
                1.0 if total else 0.0, maker.style("bold%", bold=True, number_format="0.0%")
            ),
            maker.styled(f"{good:,} settled well, {total - good:,} need attention", total_note),
        ]
    )
    sheet.append([])
    chart_row = first_count_row + len(Status) + 2
    _add_status_chart(sheet, first_count_row, f"A{chart_row}")
    for _ in range(CHART_ROWS):
        sheet.append([])

    sheet.append([maker.header("Run"), maker.header("")])
    value_style = maker.style("fact", horizontal="left")
    time_style = maker.style("fact-time", horizontal="left", number_format=DATETIME_FORMAT)
    for name, value in run_facts(data):
        style = time_style if isinstance(value, dt.datetime) else value_style
        cell = maker.styled(value, style) if value not in (None, "") else None
        sheet.append([maker.styled(name, bold), cell])


def next_step_lines(data: ReportData, report_name: str) -> list[str]:
    """What the person should do next, in two lines (the second may be empty): it depends on
    why rows need attention (rows to fix, a dry run, or a run that was stopped)."""
    counts = status_counts(data.results)
    attention = sum(counts[s.value] for s in NEEDS_ATTENTION)
    invalid, not_sent = counts[Status.INVALID.value], counts[Status.NOT_SENT.value]
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


def _add_status_chart(sheet: WriteOnlyWorksheet, first_row: int, anchor: str) -> None:
    """A horizontal bar per status, coloured like the status cells, under the table."""
    statuses = list(Status)
    last_row = first_row + len(statuses) - 1
    chart = BarChart()
    chart.type = "bar"
    chart.style = 10
    chart.title = "Rows by status"
    chart.legend = None
    chart.y_axis.title = None
    chart.x_axis.title = None
    chart.y_axis.majorGridlines = None
    chart.y_axis.delete = True  # the bars carry their value as a label
    chart.x_axis.delete = False
    chart.x_axis.scaling.orientation = "maxMin"  # first status at the top, as in the table
    chart.y_axis.number_format = "#,##0"
    chart.y_axis.scaling.min = 0
    chart.gapWidth = 40
    data = Reference(sheet, min_col=2, min_row=first_row, max_row=last_row)
    labels = Reference(sheet, min_col=1, min_row=first_row, max_row=last_row)
    chart.add_data(data, titles_from_data=False)
    chart.set_categories(labels)
    series = chart.series[0]
    for index, status in enumerate(statuses):
        point = DataPoint(idx=index)
        fill, line = STATUS_COLOURS[status]
        point.graphicalProperties.solidFill = fill
        point.graphicalProperties.line.solidFill = line
        series.dPt.append(point)
    series.dLbls = DataLabelList()
    series.dLbls.showVal = True
    for flag in ("showSerName", "showCatName", "showLegendKey", "showPercent"):
        setattr(series.dLbls, flag, False)
    chart.width, chart.height = CHART_SIZE_CM
    sheet.add_chart(chart, anchor)


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
        ("API host", public_url(facts.api_host or facts.endpoint, path=False)),
        ("Endpoint", public_url(facts.endpoint)),
        ("Transport", facts.transport or ""),
        ("Calls planned", len(data.planned)),
        ("API calls made", stats.api_calls),
        ("Retries", stats.retries),
        ("Isolation calls", stats.isolation_calls),
        ("Token renewals", stats.token_renewals),
        *((fact.label, fact.shown) for fact in rate_limit_facts(stats)),
    ]
    if facts.note:
        rows.append(("Note", facts.note))
    rows.append((MARKER_LABEL, f"bulk-enroll {__version__}"))
    return rows


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min {rest:02d} s" if hours else f"{minutes} min {rest:02d} s"
