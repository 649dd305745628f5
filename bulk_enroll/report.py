"""The result workbook and the JSON summary: what happened to every row, and why.

Written atomically (a temporary file in the same folder, then `os.replace`) so a crash never
leaves half a report where a scheduler or a person will look for it. Text that a spreadsheet
would take for a formula is stored as plain text with Excel's quote prefix.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from bulk_enroll.model import Batch, BatchOutcome, InputRow, RowResult, SendStats, Status
from bulk_enroll.results import SETTLED_WELL, status_counts

RESULT_COLUMNS = ("Status", "Message", "Batch", "Attempts", "Time")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_BOLD = Font(bold=True)
_STATUS_FILL = {
    Status.ENROLLED: "C6EFCE",
    Status.ALREADY_ENROLLED: "DDEBF7",
    Status.DUPLICATE: "EDEDED",
    Status.INVALID: "FFC7CE",
    Status.FAILED: "FFC7CE",
    Status.UNKNOWN: "FFEB9C",
    Status.NOT_SENT: "FFEB9C",
}


@dataclass(frozen=True)
class RunFacts:
    """Facts about the run shown on the Summary sheet; never a secret."""

    input_file: str
    sheet: str | None
    started: dt.datetime
    finished: dt.datetime
    dry_run: bool
    endpoint: str | None = None
    transport: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class ReportData:
    facts: RunFacts
    headers: tuple[str, ...]
    rows: Sequence[InputRow]
    results: Sequence[RowResult]
    planned: Sequence[Batch]
    calls: Sequence[BatchOutcome]
    stats: SendStats
    rows_covered: Mapping[str, int] | None = None  # batch ID -> input rows it serves

    def verdict(self) -> str:
        counts = status_counts(self.results)
        good = sum(counts[s.value] for s in SETTLED_WELL)
        attention = len(self.results) - good
        head = f"{counts['enrolled']:,} enrolled"
        if self.facts.dry_run:
            head = f"dry run: {len(self.planned):,} calls planned, nothing sent"
        return f"{head}, {attention:,} need attention" if attention else f"{head}, all rows settled"


def write_report(path: Path, data: ReportData) -> Path:
    """Write the workbook atomically; returns the path written."""
    workbook = Workbook(write_only=True)
    _write_summary(workbook.create_sheet("Summary"), data)
    _write_results(workbook.create_sheet("Results"), data)
    _write_batches(workbook.create_sheet("Batches"), data)
    with _atomic_path(path) as temporary:
        workbook.save(temporary)
    return path


def summary_dict(data: ReportData, report_path: Path | None, exit_code: int) -> dict[str, object]:
    """The machine-readable summary (for schedulers and monitoring)."""
    facts, stats = data.facts, data.stats
    return {
        "input": facts.input_file,
        "sheet": facts.sheet,
        "rows": len(data.rows),
        "status_counts": status_counts(data.results),
        "api_calls": stats.api_calls,
        "retries": stats.retries,
        "isolation_calls": stats.isolation_calls,
        "token_renewals": stats.token_renewals,
        "batches_planned": len(data.planned),
        "dry_run": facts.dry_run,
        "started": facts.started.isoformat(),
        "finished": facts.finished.isoformat(),
        "report": str(report_path) if report_path else None,
        "exit_code": exit_code,
        "verdict": data.verdict(),
    }


def write_summary_json(path: Path, summary: dict[str, object]) -> None:
    with _atomic_path(path) as temporary:
        temporary.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", "utf-8")


def safe_cell(sheet: WriteOnlyWorksheet, value: object, *, bold: bool = False) -> WriteOnlyCell:
    """A cell that shows exactly `value`: text never turns into a formula."""
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
        if value.startswith(FORMULA_PREFIXES):
            cell.quotePrefix = True
    elif isinstance(value, dt.datetime):
        cell.number_format = "yyyy-mm-dd hh:mm:ss" if value.time() else "yyyy-mm-dd"
    elif isinstance(value, dt.date):
        cell.number_format = "yyyy-mm-dd"
    if bold:
        cell.font = _BOLD
    return cell


def _header(sheet: WriteOnlyWorksheet, names: Sequence[str]) -> None:
    sheet.append([safe_cell(sheet, name, bold=True) for name in names])


def _write_summary(sheet: WriteOnlyWorksheet, data: ReportData) -> None:
    facts, stats = data.facts, data.stats
    sheet.column_dimensions["A"].width = 22
    sheet.column_dimensions["B"].width = 60
    sheet.append([safe_cell(sheet, data.verdict(), bold=True)])
    sheet.append([])
    _header(sheet, ("Status", "Rows"))
    for status, count in status_counts(data.results).items():
        sheet.append([safe_cell(sheet, status), count])
    sheet.append([])
    facts_rows: list[tuple[str, object]] = [
        ("Input file", facts.input_file),
        ("Sheet", facts.sheet or ""),
        ("Rows", len(data.rows)),
        ("Mode", "dry run (nothing sent)" if facts.dry_run else "live"),
        ("Started", facts.started),
        ("Finished", facts.finished),
        ("Duration (s)", round((facts.finished - facts.started).total_seconds(), 1)),
        ("Endpoint", facts.endpoint or ""),
        ("Transport", facts.transport or ""),
        ("Calls planned", len(data.planned)),
        ("API calls made", stats.api_calls),
        ("Retries", stats.retries),
        ("Isolation calls", stats.isolation_calls),
        ("Token renewals", stats.token_renewals),
    ]
    if facts.note:
        facts_rows.append(("Note", facts.note))
    _header(sheet, ("Run", ""))
    for name, value in facts_rows:
        sheet.append([safe_cell(sheet, name), safe_cell(sheet, value)])


def _write_results(sheet: WriteOnlyWorksheet, data: ReportData) -> None:
    sheet.freeze_panes = "A2"
    _header(sheet, (*data.headers, *RESULT_COLUMNS))
    fills = {s: PatternFill("solid", fgColor=c) for s, c in _STATUS_FILL.items()}
    for row, result in zip(data.rows, data.results, strict=True):
        status = safe_cell(sheet, result.status.value)
        status.fill = fills[result.status]
        sheet.append(
            [
                *(safe_cell(sheet, value) for value in row.values),
                status,
                safe_cell(sheet, result.message),
                safe_cell(sheet, ", ".join(result.batch_ids)),
                result.attempts or None,
                safe_cell(sheet, result.at) if result.at else None,
            ]
        )


def _write_batches(sheet: WriteOnlyWorksheet, data: ReportData) -> None:
    _header(
        sheet,
        (
            "Batch",
            "Part of",
            "Settings",
            "Learners",
            "Courses",
            "Pairs",
            "Rows covered",
            "Outcome",
            "Message",
            "Attempts",
            "Duration (s)",
        ),
    )
    covered = data.rows_covered or {}
    for line in _batch_lines(data):
        line = (*line[:6], covered.get(str(line[0])), *line[6:])  # after "Pairs"
        sheet.append([safe_cell(sheet, value) for value in line])


def _batch_lines(data: ReportData) -> Iterator[tuple[object, ...]]:
    if not data.calls:
        for batch in data.planned:
            yield (
                batch.batch_id,
                "",
                batch.settings.describe(),
                len(batch.learner_ids),
                len(batch.course_ids),
                batch.size,
                "planned",
                "",
                0,
                0.0,
            )
        return
    for call in sorted(data.calls, key=lambda c: c.batch.batch_id):
        batch = call.batch
        yield (
            batch.batch_id,
            call.parent_id or "",
            batch.settings.describe(),
            len(batch.learner_ids),
            len(batch.course_ids),
            batch.size,
            call.status.value,
            call.message,
            call.attempts,
            round(call.duration_s, 3),
        )


@contextmanager
def _atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path in `target`'s folder that replaces `target` only on success."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
