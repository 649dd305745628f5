"""The `run` job: read -> validate -> plan -> send -> report, as one library function.

The CLI only parses options and calls `run_job`; tests call it directly with their own
connection, clock and paths.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bulk_enroll.config import RunSettings
from bulk_enroll.connect import Connection
from bulk_enroll.errors import InputFileError
from bulk_enroll.interrupt import stop_on_signals
from bulk_enroll.journal import Journal
from bulk_enroll.model import Batch, ExitStatus, Pair, PairOutcome, RowIssue, Status
from bulk_enroll.planner import plan
from bulk_enroll.progress import make_progress
from bulk_enroll.reader import read_table
from bulk_enroll.reconcile import reconcile, settle_leftovers
from bulk_enroll.report import (
    ReportData,
    ReportFormat,
    RunFacts,
    summary_dict,
    write_report,
    write_summary_json,
)
from bulk_enroll.resolve import resolve_rows
from bulk_enroll.results import SETTLED_WELL, settle_rows, unique_pairs
from bulk_enroll.sender import RetryPolicy, Sender, SendReport
from bulk_enroll.throttle import AdaptiveThrottle
from bulk_enroll.validate import RowDefaults, validate_table

log = logging.getLogger(__name__)
JOURNAL_NAME = "journal.sqlite3"


@dataclass(frozen=True)
class PlanPreview:
    """What a live run is about to send, shown to `JobOptions.guard` before any call."""

    input_file: str
    rows: int
    invalid_rows: int
    new_pairs: int  # pairs to send: not confirmed (or left unknown) by an earlier run
    settled_pairs: int  # pairs an earlier run already settled; they cost no call
    calls: int


# Returns why the file must not be sent (a safety limit), or None to go ahead.
Guard = Callable[[PlanPreview], str | None]


@dataclass(frozen=True)
class JobOptions:
    input_path: Path
    report_path: Path | None = None
    summary_json: Path | None = None
    dry_run: bool = False
    strict: bool = False
    defaults: RowDefaults = field(default_factory=RowDefaults)
    reports_dir: Path = Path("reports")
    report_format: ReportFormat = "xlsx"
    resend_unknown: bool = False
    state_dir: Path | None = None  # journal folder; None: the settings' state_dir
    interactive: bool = False  # a CLI run: progress display and Ctrl-C handling
    guard: Guard | None = None  # safety limits: a reason to stop, checked before any call


@dataclass(frozen=True)
class JobResult:
    exit_status: ExitStatus
    report_path: Path
    summary: dict[str, object]
    data: ReportData
    issues: list[RowIssue]
    stop_reason: str | None = None  # the guard's reason when a safety limit stopped the file


def default_report_path(
    input_path: Path, reports_dir: Path, now: dt.datetime, report_format: ReportFormat = "xlsx"
) -> Path:
    return reports_dir / f"{input_path.stem}-results-{now:%Y%m%d-%H%M%S}.{report_format}"


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
        options.input_path, options.reports_dir, started, options.report_format
    )
    _check_writable(report_path)  # before sending: a report that cannot be written is a usage error
    validated = validate_table(read_table(options.input_path), options.defaults)
    input_sha256 = file_sha256(options.input_path)
    rows = resolve_rows(validated.rows)
    issues = [issue for row in rows for issue in row.issues]
    pairs = unique_pairs(rows)
    batches = plan(pairs, settings.limits)
    log.info(
        "%s: %d rows, %d invalid, %d calls planned",
        validated.file,
        len(rows),
        sum(1 for r in rows if r.issues),
        len(batches),
    )

    sent = SendReport()
    endpoint = transport_name = None
    note = stop_reason = None

    def guard(to_send: list[Pair], settled: int, calls: int) -> str | None:
        if options.guard is None or options.dry_run or options.strict and issues:
            return None
        invalid = sum(1 for r in rows if r.issues)
        return options.guard(PlanPreview(validated.file, len(rows), invalid, len(to_send),
                                         settled, calls))

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
        journal_path = (options.state_dir or settings.state_dir) / JOURNAL_NAME
        with Journal(journal_path, connection.account, now=now) as journal:
            unknown = settle_leftovers(journal, connection.settler,
                                       resend_unknown=options.resend_unknown)
            to_send, already = reconcile(pairs, journal.confirmed(pairs), unknown)
            batches = plan(to_send, settings.limits)
            stop_reason = guard(to_send, len(already), len(batches))
            if stop_reason is None:
                sent = _send(batches, connection, journal, settings, options, started, now)
            else:
                sent.outcomes = _stopped(batches, stop_reason)
            sent.outcomes.update(already)
        note = stop_reason or sent.stopped_reason
    else:  # nothing to send; the limits on the file (its share of invalid rows) still apply
        note = stop_reason = guard([], 0, 0)

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
            input_sha256=input_sha256,
        ),
        headers=validated.headers,
        rows=rows,
        results=results,
        planned=batches,
        calls=sent.batches,
        stats=sent.stats,
    )
    # A dry run is clean when the file is; a live run when every row settled well.
    clean = not issues if options.dry_run else all(r.status in SETTLED_WELL for r in results)
    exit_status = ExitStatus.OK if clean else ExitStatus.ROWS_NEED_ATTENTION
    if stop_reason is not None:
        exit_status = ExitStatus.SAFETY_STOP
    write_report(report_path, data, report_format=options.report_format)
    summary = summary_dict(data, report_path, int(exit_status))
    if options.summary_json:
        write_summary_json(options.summary_json, summary)
    return JobResult(exit_status, report_path, summary, data, issues, stop_reason)


def file_sha256(path: Path) -> str:
    """The input's checksum for the report: says exactly which file a report belongs to."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _send(batches: list[Batch], connection: Connection, journal: Journal, settings: RunSettings,
          options: JobOptions, started: dt.datetime,
          now: Callable[[], dt.datetime]) -> SendReport:
    """Send through the connection, journalled; Ctrl-C stops cleanly in a CLI run."""
    sender = Sender(
        connection.transport,
        connection.tokens,
        policy=RetryPolicy(max_attempts=settings.max_attempts,
                           retry_budget=settings.retry_budget),
        concurrency=settings.concurrency,
        throttle=AdaptiveThrottle(settings.rate_limit),
        journal=journal,
        settler=connection.settler,
        progress=make_progress() if options.interactive else None,
        run_id=f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}",
        now=now,
    )
    guard = stop_on_signals(sender.stop) if options.interactive else contextlib.nullcontext()
    with guard:
        return sender.send(batches)


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


def _stopped(batches: list[Batch], reason: str) -> dict[Pair, PairOutcome]:
    return {
        pair: PairOutcome(Status.NOT_SENT, f"not sent: {reason}", batch.batch_id)
        for batch in batches
        for pair in batch.pairs()
    }
