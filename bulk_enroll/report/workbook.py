"""The result report and the JSON summary: what happened to every row, and why.

`write_report` writes the workbook (sheets in `report.sheets`, columns in `report.columns`,
cell safety in `report.cells`) or, with `report_format="csv"`, the Results rows as CSV
(`report.csv_file`). Both are written atomically (a temporary file in the same folder, then
`os.replace`) so a crash never leaves half a report where a scheduler or a person will look.
Text that a spreadsheet would take for a formula is always stored as text.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from xlsxwriter.workbook import Workbook

from bulk_enroll._version import __version__
from bulk_enroll.report.cells import FORMULA_PREFIXES
from bulk_enroll.report.columns import NEEDS_ATTENTION
from bulk_enroll.report.data import (
    REPORT_FORMATS,
    RESULT_COLUMNS,
    ReportData,
    ReportFormat,
    RunFacts,
)
from bulk_enroll.report.sheets import next_step_lines, write_workbook_sheets
from bulk_enroll.results import held_back_count, needs_attention, status_counts

__all__ = [
    "FORMULA_PREFIXES",
    "NEEDS_ATTENTION",
    "REPORT_FORMATS",
    "RESULT_COLUMNS",
    "ReportData",
    "ReportFormat",
    "RunFacts",
    "summary_dict",
    "write_report",
    "write_summary_json",
]

# Rows stream to disk as they are written (memory stays flat on a 100,000-row report); text is
# never read as a formula, a link or a number: a cell holds exactly the type it is given. Excel
# has no time zones: a zone-aware time is written as its wall-clock time.
WORKBOOK_OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "remove_timezone": True,
}


def write_report(path: Path, data: ReportData, *, report_format: ReportFormat = "xlsx") -> Path:
    """Write the report atomically; returns the path written."""
    if report_format == "csv":
        from bulk_enroll.report.csv_file import write_results_csv

        with _atomic_path(path) as temporary:
            write_results_csv(temporary, data)
        return path
    with _atomic_path(path) as temporary:
        workbook = Workbook(str(temporary), WORKBOOK_OPTIONS)
        workbook.set_properties(
            {
                "author": f"bulk-enroll {__version__}",
                "title": f"bulk-enroll results: {data.facts.input_file}",
                "subject": data.verdict(),
            }
        )
        write_workbook_sheets(workbook, data, path.name)
        workbook.close()
    return path


def summary_dict(data: ReportData, report_path: Path | None, exit_code: int) -> dict[str, object]:
    """The machine-readable summary (for schedulers and monitoring)."""
    facts, stats = data.facts, data.stats
    return {
        "input": facts.input_file,
        "input_sha256": facts.input_sha256,
        "sheet": facts.sheet,
        "rows": len(data.rows),
        "needs_attention": sum(map(needs_attention, data.results)),
        "hidden_rows_not_sent": held_back_count(data.results),
        "status_counts": status_counts(data.results),
        "api_calls": stats.api_calls,
        "retries": stats.retries,
        "isolation_calls": stats.isolation_calls,
        "token_renewals": stats.token_renewals,
        "send_seconds": stats.send_seconds,
        "lookup_calls": stats.extra.get("lookup_calls", 0),
        "batches_planned": len(data.planned),
        "dry_run": facts.dry_run,
        "started": facts.started.isoformat(),
        "finished": facts.finished.isoformat(),
        "report": str(report_path) if report_path else None,
        "exit_code": exit_code,
        "verdict": data.verdict(),
        "next_step": " ".join(
            line for line in next_step_lines(data, report_path.name if report_path else "REPORT")
            if line
        ),
    }


def write_summary_json(path: Path, summary: dict[str, object]) -> None:
    with _atomic_path(path) as temporary:
        temporary.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", "utf-8")


@contextmanager
def _atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path in `target`'s folder that replaces `target` only on success."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        # mkstemp makes the file private (0600); a report gets the mode any new file would get
        # (or keeps the one it replaces), so a team sharing a reports folder can open it.
        os.chmod(temporary, _file_mode(target))
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _file_mode(target: Path) -> int:
    try:
        return target.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
