"""The result report and the JSON summary: what happened to every row, and why.

`write_report` writes the workbook (sheets in `report.sheets`, columns in `report.columns`,
cell safety in `report.cells`) or, with `report_format="csv"`, the Results rows as CSV
(`report.csv_file`). Both are written atomically (a temporary file in the same folder, then
`os.replace`) so a crash never leaves half a report where a scheduler or a person will look.
Text that a spreadsheet would take for a formula is always stored as text.
"""

from __future__ import annotations

import json
from pathlib import Path

from xlsxwriter.workbook import Workbook

from bulk_enroll._version import __version__
from bulk_enroll.atomic_files import replacing
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

        with replacing(path, private=False) as temporary:
            write_results_csv(temporary, data)
        return path
    with replacing(path, private=False) as temporary:
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
        "learned_rate_per_s": stats.learned_rate,  # the server's limit, None if never met
        "rate_wait_s": stats.rate_wait_s,
        "rate_limited": stats.rate_limited,  # 429 answers
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
    with replacing(path, private=False) as temporary:
        temporary.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", "utf-8")
