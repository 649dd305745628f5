"""The `run` job: read -> validate -> plan -> send -> report, as one library function.

The CLI only parses options and calls `run_job`; tests call it directly with their own
connection, clock and paths.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bulk_enroll.config import RunSettings
from bulk_enroll.connect import Connection
from bulk_enroll.errors import InputFileError
from bulk_enroll.model import Batch, ExitStatus, Pair, PairOutcome, RowIssue, Status
from bulk_enroll.plan_summary import PlanSummary, rows_covered, summarize_plan
from bulk_enroll.planner import plan
from bulk_enroll.reader import read_table
from bulk_enroll.report import ReportData, RunFacts, summary_dict, write_report, write_summary_json
from bulk_enroll.resolve import resolve_rows
from bulk_enroll.results import SETTLED_WELL, settle_rows, unique_pairs
from bulk_enroll.sender import RetryPolicy, Sender, SendReport
from bulk_enroll.validate import RowDefaults, validate_table

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobOptions:
    input_path: Path
    report_path: Path | None = None
    summary_json: Path | None = None
    dry_run: bool = False
    strict: bool = False
    defaults: RowDefaults = field(default_factory=RowDefaults)
    reports_dir: Path = Path("reports")


@dataclass(frozen=True)
class JobResult:
    exit_status: ExitStatus
    report_path: Path
    summary: dict[str, object]
    data: ReportData
    issues: list[RowIssue]
    plan: PlanSummary | None = None


def default_report_path(input_path: Path, reports_dir: Path, now: dt.datetime) -> Path:
    return reports_dir / f"{input_path.stem}-results-{now:%Y%m%d-%H%M%S}.xlsx"


def run_job(
    options: JobOptions,
    settings: RunSettings,
    connect: Callable[[], Connection] | None,
    *,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now().replace(microsecond=0),
) -> JobResult:
    """Run one file end to end and write its report; `connect` is not called on a dry run."""
    started = now()
    report_path = options.report_path or default_report_path(
        options.input_path, options.reports_dir, started
    )
    _check_writable(report_path)  # before sending: a report that cannot be written is a usage error
    validated = validate_table(read_table(options.input_path), options.defaults)
    rows = resolve_rows(validated.rows)
    issues = [issue for row in rows for issue in row.issues]
    batches = plan(unique_pairs(rows), settings.limits)
    plan_summary = summarize_plan(batches, rows, settings.limits)
    log.info(
        "%s: %d rows, %d invalid, %d calls planned",
        validated.file,
        len(rows),
        sum(1 for r in rows if r.issues),
        len(batches),
    )

    sent = SendReport()
    endpoint = transport_name = None
    note = None
    if options.dry_run:
        sent.outcomes = _not_sent(batches, "dry run: would be sent in batch {batch}")
        note = "dry run: nothing was sent"
    elif options.strict and issues:
        reason = f"not sent: --strict is on and {len(issues)} problem(s) were found"
        sent.outcomes = _not_sent(batches, reason)
        note = reason
    elif batches:
        if connect is None:
            raise ValueError("a live run needs a connection")
        connection = connect()
        endpoint, transport_name = connection.endpoint, connection.transport.name
        sent = Sender(
            connection.transport,
            connection.tokens,
            policy=RetryPolicy(max_attempts=settings.max_attempts),
            concurrency=settings.concurrency,
            now=now,
        ).send(batches)
        note = sent.stopped_reason

    results = settle_rows(rows, sent.outcomes)
    data = ReportData(
        facts=RunFacts(
            validated.file,
            validated.sheet,
            started,
            now(),
            options.dry_run,
            endpoint,
            transport_name,
            note,
        ),
        headers=validated.headers,
        rows=rows,
        results=results,
        planned=batches,
        calls=sent.batches,
        stats=sent.stats,
        rows_covered=rows_covered(rows, [*batches, *(call.batch for call in sent.batches)]),
    )
    # A dry run is clean when the file is; a live run when every row settled well.
    clean = not issues if options.dry_run else all(r.status in SETTLED_WELL for r in results)
    exit_status = ExitStatus.OK if clean else ExitStatus.ROWS_NEED_ATTENTION
    write_report(report_path, data)
    summary = summary_dict(data, report_path, int(exit_status))
    summary["plan"] = plan_summary.as_dict()
    if options.summary_json:
        write_summary_json(options.summary_json, summary)
    return JobResult(exit_status, report_path, summary, data, issues, plan_summary)


def _check_writable(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputFileError(
            f"cannot create the report folder {path.parent}: {exc.strerror}"
        ) from None
    if not os.access(path.parent, os.W_OK):
        raise InputFileError(f"cannot write the report into {path.parent}: permission denied")


def _not_sent(batches: list[Batch], template: str) -> dict[Pair, PairOutcome]:
    return {
        pair: PairOutcome(Status.NOT_SENT, template.format(batch=batch.batch_id), batch.batch_id)
        for batch in batches
        for pair in batch.pairs()
    }
