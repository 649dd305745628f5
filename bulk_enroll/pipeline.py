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
from bulk_enroll.conflicts import mark_conflicts
from bulk_enroll.connect import Connection
from bulk_enroll.errors import InputFileError
from bulk_enroll.model import Batch, ExitStatus, Pair, PairOutcome, RowIssue, Status
from bulk_enroll.planner import plan
from bulk_enroll.reader import read_table
from bulk_enroll.report import ReportData, RunFacts, summary_dict, write_report, write_summary_json
from bulk_enroll.resolve import resolve_rows
from bulk_enroll.results import SETTLED_WELL, settle_rows, unique_pairs
from bulk_enroll.sender import RetryPolicy, Sender, SendReport
from bulk_enroll.validate import RowDefaults, ValidatedInput, requests_as_pairs, validate_table

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
    sheet: str | None = None  # a sheet name or 1-based position; default: first recognisable
    date_order: str | None = None  # "dmy" or "mdy", for slash dates like 03/04/2027
    aliases: dict[str, str] = field(default_factory=dict)  # extra header -> field names
    last_row_wins: bool = False  # same pair, different settings: use the last row's


@dataclass(frozen=True)
class JobResult:
    exit_status: ExitStatus
    report_path: Path
    summary: dict[str, object]
    data: ReportData
    issues: list[RowIssue]
    notes: tuple[str, ...] = ()  # facts about the input file (guessed encoding, sheet chosen)


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
    validated = read_and_validate(options)
    for file_note in validated.notes:
        log.warning("%s", file_note)
    rows = mark_conflicts(resolve_rows(validated.rows), last_row_wins=options.last_row_wins)
    issues = [issue for row in rows for issue in row.issues]
    batches = plan(unique_pairs(rows), settings.limits)
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
    note = "; ".join(n for n in (*validated.notes, note or "") if n) or None
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
    )
    # A dry run is clean when the file is; a live run when every row settled well.
    clean = not issues if options.dry_run else all(r.status in SETTLED_WELL for r in results)
    exit_status = ExitStatus.OK if clean else ExitStatus.ROWS_NEED_ATTENTION
    write_report(report_path, data)
    summary = summary_dict(data, report_path, int(exit_status))
    if options.summary_json:
        write_summary_json(options.summary_json, summary)
    return JobResult(exit_status, report_path, summary, data, issues, validated.notes)


def read_and_validate(options: JobOptions) -> ValidatedInput:
    """Read the input file and validate its rows (the first two stages of every job)."""
    table = read_table(options.input_path, sheet=options.sheet, aliases=options.aliases)
    validated = validate_table(
        table, options.defaults, date_order=options.date_order, aliases=options.aliases
    )
    return validated


def validate_job(
    options: JobOptions,
    settings: RunSettings,
    *,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now().replace(microsecond=0),
) -> JobResult:
    """Read and validate only: no account, no network. Rows are compared as written (an email
    and an ID naming the same person are not known to be one), planned as if each name were an
    ID, and reported as `not_sent`; exit 0 when the file has no problems."""
    started = now()
    report_path = options.report_path or default_report_path(
        options.input_path, options.reports_dir, started
    )
    _check_writable(report_path)
    validated = read_and_validate(options)
    rows = mark_conflicts(requests_as_pairs(validated.rows), last_row_wins=options.last_row_wins)
    issues = [issue for row in rows for issue in row.issues]
    batches = plan(unique_pairs(rows), settings.limits)
    results = settle_rows(rows, _not_sent(batches, "valid: would be sent in batch {batch}"))
    note = "; ".join(("validate only: nothing was looked up or sent", *validated.notes))
    data = ReportData(
        facts=RunFacts(validated.file, validated.sheet, started, now(), True, note=note),
        headers=validated.headers,
        rows=rows,
        results=results,
        planned=batches,
        calls=[],
        stats=SendReport().stats,
    )
    exit_status = ExitStatus.ROWS_NEED_ATTENTION if issues else ExitStatus.OK
    write_report(report_path, data)
    summary = summary_dict(data, report_path, int(exit_status))
    if options.summary_json:
        write_summary_json(options.summary_json, summary)
    return JobResult(exit_status, report_path, summary, data, issues, validated.notes)


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
