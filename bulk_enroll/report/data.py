"""What a report is made of: the run's facts and every row's result, apart from any writer.

The workbook, CSV and JSON writers all read a `ReportData`; keeping it here lets them import it
without importing each other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bulk_enroll.model import (
    Batch,
    BatchOutcome,
    InputRow,
    RowResult,
    SendStats,
    Status,
    count,
)
from bulk_enroll.read.feedback import ReadingOptions
from bulk_enroll.results import held_back_count, needs_attention, status_counts

ReportFormat = Literal["xlsx", "csv"]
REPORT_FORMATS: tuple[ReportFormat, ...] = ("xlsx", "csv")
RESULT_COLUMNS = ("Status", "Message", "Batch", "Attempts", "Time")


def report_format_for(chosen: str | None, report_path: Path | None) -> ReportFormat | None:
    """The report's format: the one chosen, else the report file's extension, else xlsx; None
    when the chosen format and the file's extension disagree (the CLI and the API each say so
    in their own words)."""
    suffix = report_path.suffix.lower().lstrip(".") if report_path else ""
    if chosen is None:
        return "csv" if suffix == "csv" else "xlsx"
    if suffix in REPORT_FORMATS and suffix != chosen:
        return None
    return "csv" if chosen == "csv" else "xlsx"


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
    input_sha256: str | None = None  # of the input file's bytes: which file exactly was run
    columns: str | None = None  # the column mapping used: "B 'Email' -> learner_email, ..."
    reading: ReadingOptions | None = None  # the options the file was read with (remembered)


@dataclass(frozen=True)
class ReportData:
    facts: RunFacts
    headers: tuple[str, ...]
    rows: Sequence[InputRow]
    results: Sequence[RowResult]
    planned: Sequence[Batch]
    calls: Sequence[BatchOutcome]
    stats: SendStats
    names_looked_up: bool = True  # emails, logins, titles were turned into IDs by the account
    rows_covered: Mapping[str, int] | None = None  # batch ID -> input rows it serves
    origin_rows: Mapping[int, int] | None = None  # a report fed back: row -> row first run

    def verdict(self) -> str:
        """The report in one line, e.g. "1,204 enrolled, 37 need attention"."""
        if not self.results:
            return "nothing to do: the file has a header but no data rows"
        counts = status_counts(self.results)
        held = held_back_count(self.results)
        hidden = f"; {count(held, 'hidden row')} not sent" if held else ""
        if self.facts.dry_run:  # every valid row is not_sent: only the invalid ones need work
            invalid = counts[Status.INVALID.value]
            ready, calls = counts[Status.NOT_SENT.value] - held, len(self.planned)
            head = f"dry run, nothing sent: {count(ready, 'row')} ready in {count(calls, 'call')}"
            tail = f"{invalid:,} need fixing" if invalid else "no problems found"
            return f"{head}, {tail}{hidden}"
        attention = sum(map(needs_attention, self.results))
        head = f"{counts['enrolled']:,} enrolled"
        tail = f"{attention:,} need attention" if attention else "all rows settled"
        return f"{head}, {tail}{hidden}"
