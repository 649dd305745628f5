"""What a report is made of: the run's facts and every row's result, apart from any writer.

The workbook, CSV and JSON writers all read a `ReportData`; keeping it here lets them import it
without importing each other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from bulk_enroll.model import Batch, BatchOutcome, InputRow, RowResult, SendStats, Status
from bulk_enroll.results import SETTLED_WELL, status_counts

ReportFormat = Literal["xlsx", "csv"]
REPORT_FORMATS: tuple[ReportFormat, ...] = ("xlsx", "csv")
RESULT_COLUMNS = ("Status", "Message", "Batch", "Attempts", "Time")


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
    api_host: str | None = None  # scheme://host[:port]; derived from `endpoint` when None


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

    def verdict(self) -> str:
        """The report in one line, e.g. "1,204 enrolled, 37 need attention"."""
        counts = status_counts(self.results)
        if self.facts.dry_run:  # every valid row is not_sent: only the invalid ones need work
            invalid = counts[Status.INVALID.value]
            ready, calls = counts[Status.NOT_SENT.value], len(self.planned)
            head = f"dry run, nothing sent: {_count(ready, 'row')} ready in {_count(calls, 'call')}"
            return f"{head}, {invalid:,} need fixing" if invalid else f"{head}, no problems found"
        good = sum(counts[s.value] for s in SETTLED_WELL)
        attention = len(self.results) - good
        head = f"{counts['enrolled']:,} enrolled"
        return f"{head}, {attention:,} need attention" if attention else f"{head}, all rows settled"


@dataclass(frozen=True)
class Fact:
    """One fact for both the Summary sheet (label, shown) and the JSON summary (key, value)."""

    label: str
    key: str
    value: object
    shown: object


def rate_limit_facts(stats: SendStats) -> list[Fact]:
    """The server's rate limit as this run met it: learned rate, time paused, 429 answers."""
    learned = stats.learned_rate
    return [
        Fact("Server rate limit learned", "learned_rate_per_s", learned,
             f"{learned:.3g} calls/s" if learned is not None else "none met"),
        Fact("Waited on the rate limit", "rate_wait_s", stats.rate_wait_s,
             f"{stats.rate_wait_s:.1f} s"),
        Fact("429 answers", "rate_limited", stats.rate_limited, stats.rate_limited),
    ]


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" if number == 1 else f"{number:,} {noun}s"
