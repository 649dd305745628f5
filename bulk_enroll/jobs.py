"""The jobs, each one library function: `run_job` (read -> validate -> resolve -> plan -> send
-> report), `validate_job` (read, validate and plan; no account, no network) and `report_job`
(write again the report of a run the journal keeps).

`with_configuration` fills the reading options a caller left open. The CLI and the API only
build `JobOptions` and call a job; tests call them directly with their own connection, clock
and paths.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gc
import hashlib
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bulk_enroll.connect import Connection
from bulk_enroll.errors import (
    ApiError,
    ConfigError,
    ExitStatus,
    InputFileError,
    Interrupted,
    run_exit_status,
)
from bulk_enroll.file_modes import SHARED_DIR, make_dirs
from bulk_enroll.logs import log_internal_error, unraisable_to_log
from bulk_enroll.model import (
    Batch,
    InputRow,
    Pair,
    PairOutcome,
    RowIssue,
    Status,
    count,
)
from bulk_enroll.plan.planner import plan
from bulk_enroll.plan.summary import PlanSummary, rows_covered, summarize_plan
from bulk_enroll.read.columns import ColumnMap, Field
from bulk_enroll.read.edits import CellEdits, apply_edits, keep_rows
from bulk_enroll.read.feedback import ReadingOptions
from bulk_enroll.read.reader import read_table, stored_reading_options
from bulk_enroll.read.safety import ReadLimits
from bulk_enroll.read.table import Table
from bulk_enroll.report.columns import left_out_note
from bulk_enroll.report.workbook import (
    ReportData,
    ReportFormat,
    RunFacts,
    summary_dict,
    write_report,
    write_summary_json,
)
from bulk_enroll.resolve.cache import LookupCache
from bulk_enroll.resolve.lookups import Lookups, References, fetch_lookups, gather_references
from bulk_enroll.resolve.rows import resolve_rows
from bulk_enroll.results import asked_statuses, settle_rows, unique_pairs
from bulk_enroll.run_records import load_run_record, new_run_id, save_run_record
from bulk_enroll.send.interrupt import CancelToken, stop_on_cancel, stop_on_signals
from bulk_enroll.send.journal import Journal, RunEntry
from bulk_enroll.send.lock import InstanceLock
from bulk_enroll.send.preview import SendPreview, journal_view, send_preview
from bulk_enroll.send.progress import EventProgress, ProgressCallback, Stage, make_progress
from bulk_enroll.send.rate_memory import RememberedRate, recall, remember
from bulk_enroll.send.reconcile import (
    confirmed_in_journal,
    note_removals,
    reconcile,
    server_enrollments,
    settle_leftovers,
    split_already_enrolled,
)
from bulk_enroll.send.sender import RetryPolicy, Sender, SendReport
from bulk_enroll.send.throttle import Throttle
from bulk_enroll.settings.config import (
    InputSettings,
    RunSettings,
    load_input_settings,
    load_read_limits,
)
from bulk_enroll.transport.lookup_client import RestClient
from bulk_enroll.validate.conflicts import mark_conflicts
from bulk_enroll.validate.rows import RowDefaults, ValidatedInput, requests_as_pairs, validate_table

log = logging.getLogger(__name__)
summary_log = logging.getLogger("bulk_enroll.summary")  # see logs.SUMMARY_LOGGER
JOURNAL_NAME = "journal.sqlite3"
SEND_LOCK_NAME = "send.lock"


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
    # Pairs an earlier run enrolled that were removed in the LMS since (seen with check_server):
    # True leaves them out (not_sent), False sends them again; None: the settings' choice.
    respect_removals: bool | None = None
    new_journal: bool = False  # a journal that exists but cannot be read: move it aside
    state_dir: Path | None = None  # journal folder; None: the settings' state_dir
    interactive: bool = False  # a CLI run: progress display, and signals as `catch_signals`
    # Ctrl-C and SIGTERM stop the run cleanly at any stage (main thread only; see `run_job`).
    catch_signals: bool = False
    check_server: bool = False  # ask the server which planned pairs exist; don't send those
    sheet: str | None = None  # a sheet name or 1-based position; default: first recognisable
    date_order: str | None = None  # "dmy" or "mdy", for slash dates like 03/04/2027
    aliases: dict[str, str] = field(default_factory=dict)  # extra header -> field (or "ignore")
    include_hidden_rows: bool = False  # send rows hidden in the sheet (by hand or a filter)
    last_row_wins: bool = False  # same pair, different settings: use the last row's
    read_limits: ReadLimits | None = None  # file size limits; None: from the environment
    guard: Guard | None = None  # safety limits: a reason to stop, checked before any call
    # Rows already read (a pandas DataFrame, by read.frame); `input_path` then only names them.
    table: Table | None = None
    progress: ProgressCallback | None = None  # ProgressEvents: the stages, then the send
    cancel: CancelToken | None = None  # cancel() stops the run as SIGTERM does
    run_id: str | None = None  # the run's ID (journal, report record); None: a new one
    edits: CellEdits = field(default_factory=dict)  # cells corrected before validation
    rows: frozenset[int] | None = None  # only these rows (as the sheet numbers them); None: all
    preview: bool = False  # a dry run also leaves out what the journal settled (SendPreview)
    # The options a report fed back remembered (applied by `with_configuration`), for the note.
    remembered: ReadingOptions | None = None


@dataclass(frozen=True)
class JobResult:
    exit_status: ExitStatus
    report_path: Path
    summary: dict[str, object]
    data: ReportData
    issues: list[RowIssue]
    notes: tuple[str, ...] = ()  # facts about the input file (guessed encoding, sheet chosen)
    plan: PlanSummary | None = None
    stop_reason: str | None = None  # the guard's reason when a safety limit stopped the file
    # Some pairs were left unsent by a stop (a signal, the retry budget, a failed lookup): a
    # rerun resumes them. Pairs left out on purpose (--respect-removals) do not count.
    cut_short: bool = False
    preview: SendPreview | None = None  # what a live run would send (dry runs with `preview`)
    # A live run's ID when the journal keeps its report data (`bulk-enroll report RUN_ID`).
    run_id: str | None = None
    report_error: str | None = None  # why the report (or summary) could not be written
    report_written: bool = True  # False when `report_error` is the report's (not the summary's)


def default_report_path(
    input_path: Path, reports_dir: Path, now: dt.datetime, report_format: ReportFormat = "xlsx"
) -> Path:
    """reports/<input>-results-<time>.<format>, never an existing file (two runs in one second
    get -2, -3...)."""
    base = f"{input_path.stem}-results-{now:%Y%m%d-%H%M%S}"
    candidate, number = reports_dir / f"{base}.{report_format}", 2
    while candidate.exists():
        candidate, number = reports_dir / f"{base}-{number}.{report_format}", number + 1
    return candidate


def run_job(
    options: JobOptions,
    settings: RunSettings,
    connect: Callable[[], Connection] | None,
    *,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now().replace(microsecond=0),
) -> JobResult:
    """Run one file end to end and write its report.

    With a connection, even a dry run looks names and IDs up (read-only calls), so its verdict
    covers them; only a live run enrolls.

    `options.cancel`, and Ctrl-C or SIGTERM with `interactive` or `catch_signals`, stop the run
    at whatever stage it is: the lookups after the read in flight, the send after the calls in
    flight; the rows left are `not_sent` with the reason and the report is written. A run a
    signal stopped exits 130 (Ctrl-C) or 143 (SIGTERM).
    """
    token = options.cancel or CancelToken()
    signals: contextlib.AbstractContextManager[list[str]] = (
        stop_on_signals(token.cancel) if options.interactive or options.catch_signals
        else contextlib.nullcontext([]))
    run_id = options.run_id or new_run_id(now())
    with signals as received:
        return _run_job(dataclasses.replace(options, cancel=token, run_id=run_id), settings,
                        connect, now, received)


def _run_job(options: JobOptions, settings: RunSettings,
             connect: Callable[[], Connection] | None, now: Callable[[], dt.datetime],
             signals: list[str]) -> JobResult:
    started = now()
    report_path = options.report_path or default_report_path(
        options.input_path, options.reports_dir, started, options.report_format
    )
    # Before anything is sent: a report that cannot be written is a usage error (exit 2).
    check_output_paths(options, report_path)
    journal_path = (options.state_dir or settings.state_dir) / JOURNAL_NAME
    events = EventProgress(options.progress) if options.progress else None
    _stage(events, "read")
    validated = read_and_validate(options)
    file_notes = file_notes_of(validated, options.report_format)
    for file_note in file_notes:
        log.warning("%s", file_note)
    input_sha256 = input_checksum(options)
    _stage(events, "resolve", rows=len(validated.rows))
    connection = connect() if connect is not None else None
    directory = connection.directory if connection else None
    with _reads_stop(directory, options.cancel):
        prepared = prepare_rows(validated, options, settings, directory)
    rows = prepared.rows
    unchecked = sum(1 for row in rows if row.named_twice and row.pairs) if not directory else 0
    if unchecked:  # said on each row; a clean-looking run must say it too
        note_unchecked = NOT_CHECKED_ROWS.format(rows=count(unchecked, "row"))
        log.warning("%s", note_unchecked)
        validated = dataclasses.replace(validated, notes=(*validated.notes, note_unchecked))
        file_notes = (*file_notes, note_unchecked)
    issues = [issue for row in rows for issue in row.issues]
    _stage(events, "plan")
    batches = plan(prepared.to_send, settings.limits)
    plan_summary = summarize_plan(batches, prepared.to_send, settings.limits)
    log.info(
        "%s: %s, %d invalid, %s planned",
        validated.file,
        count(len(rows), "row"),
        sum(1 for r in rows if r.issues),
        count(len(batches), "call"),
    )

    sent = SendReport()
    endpoint = transport_name = None
    note = stop_reason = None
    kept_out: set[Pair] = set()  # not sent on purpose (--respect-removals)
    preview = None

    def guard(to_send: list[Pair], settled: int, calls: int) -> str | None:
        if options.guard is None or options.dry_run or options.strict and issues:
            return None
        invalid = sum(1 for r in rows if r.issues)
        return options.guard(PlanPreview(validated.file, len(rows), invalid, len(to_send),
                                         settled, calls))

    if prepared.stop:  # a lookup failed: even a dry run cannot say the file is clean
        sent.outcomes = _not_sent(batches, prepared.stop)
        note = prepared.stop
    elif options.dry_run:
        settled: dict[Pair, PairOutcome] = {}
        if options.preview:
            batches, plan_summary, settled, preview = _preview(options, settings, connection,
                                                              prepared)
        sent.outcomes = {**_not_sent(batches, "dry run: would be sent in batch {batch}"),
                         **settled}
        note = "dry run: nothing was sent"
    elif options.strict and issues:
        found = "was" if len(issues) == 1 else "were"
        reason = f"not sent: --strict is on and {count(len(issues), 'problem')} {found} found"
        sent.outcomes = _not_sent(batches, reason)
        note = reason
    elif batches:
        if connection is None:
            raise ValueError("a live run needs a connection")
        endpoint, transport_name = connection.endpoint, connection.transport.name
        # Two runs sending with one journal could both find a pair unconfirmed and both send
        # it: the second waits for nothing, it stops (exit 3) before sending anything.
        sending = InstanceLock(journal_path.with_name(SEND_LOCK_NAME), "run using this journal")
        with sending, Journal(journal_path, connection.account,
                              aliases=connection.account_aliases,
                              replace_unusable=options.new_journal, now=now) as journal:
            try:
                with _reads_stop(connection.directory, options.cancel):
                    unknown = settle_leftovers(journal, connection.directory,
                                               resend_unknown=options.resend_unknown,
                                               wanted=prepared.to_send)
                    view = confirmed_in_journal(
                        journal, prepared.to_send,
                        connection.directory if options.check_server else None)
            except Interrupted as exc:  # Ctrl-C, SIGTERM: send nothing, report
                interrupted = f"{exc} while settling earlier runs' calls with the server"
                sent.outcomes, sent.stopped_reason = _stopped(batches, interrupted), interrupted
            else:
                respect = (settings.respect_removals if options.respect_removals is None
                           else options.respect_removals)
                reconciled = reconcile(view.wanted, view.confirmed, unknown,
                                       server_checked=view.server_checked,
                                       respect_removals=respect)
                already = {**view.on_server, **reconciled.settled}
                kept_out.update(p for p, o in reconciled.settled.items()
                                if o.status is Status.NOT_SENT)
                batches = plan(reconciled.to_send, settings.limits)
                stop_reason = guard(reconciled.to_send, len(already) + len(prepared.already),
                                    len(batches))
                if stop_reason is None:
                    sent = _send(batches, connection, journal, settings, options, started, now,
                                 events)
                    sent.outcomes = note_removals(sent.outcomes, reconciled.removed)
                else:
                    sent.outcomes = _stopped(batches, stop_reason)
                sent.outcomes.update(already)
        note = stop_reason or sent.stopped_reason
    else:  # nothing to send; the limits on the file (its share of invalid rows) still apply
        note = stop_reason = guard([], 0, 0)

    if connection is not None and connection.directory is not None:
        sent.stats.extra["lookup_calls"] = connection.directory.requests_made
    results = settle_rows(rows, {**prepared.already, **sent.outcomes}, prepared.unresolved)
    cut_short = prepared.stop is not None or sent.internal_error or any(
        outcome.status is Status.NOT_SENT
        for pair, outcome in sent.outcomes.items() if pair not in kept_out)
    note = "; ".join(n for n in (*file_notes, note or "") if n) or None
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
            columns=validated.columns.describe(),
            reading=reading_options(options),
        ),
        headers=validated.headers,
        rows=rows,
        results=results,
        planned=batches,
        calls=sent.batches,
        stats=sent.stats,
        names_looked_up=bool(connection and connection.directory and not prepared.stop),
        rows_covered=rows_covered(rows, [*batches, *(call.batch for call in sent.batches)]),
        origin_rows=validated.origin_rows,
    )
    exit_status = run_exit_status(asked_statuses(results), dry_run=options.dry_run,
                                  lookup_failed=prepared.stop is not None,
                                  stopped_by_limit=stop_reason is not None,
                                  internal_error=sent.internal_error, no_rows=not rows,
                                  stopped_by_signal=signals[0] if signals else None)
    # Before the report: its rows and results go to the journal, so a report that cannot be
    # written (a full disk) can be written later with `bulk-enroll report RUN_ID`.
    run_id = None
    if connection is not None and not options.dry_run and options.run_id is not None and (
            save_run_record(journal_path, connection.account, options.run_id, data,
                            report_path, int(exit_status))):
        run_id = options.run_id
    _stage(events, "report")
    written = write_outputs(data, report_path, options, exit_status, run_id,
                            {"plan": plan_summary.as_dict()})
    _stage(events, "done")
    return JobResult(written.exit_status, report_path, written.summary, data, issues,
                     validated.notes, plan_summary, stop_reason, preview=preview,
                     cut_short=cut_short and not options.dry_run, run_id=run_id,
                     report_error=written.error, report_written=written.report_written)


@dataclass(frozen=True)
class Outputs:
    exit_status: ExitStatus  # 4 when the report or the summary could not be written
    summary: dict[str, object]
    error: str | None = None  # why the report (else the summary) could not be written
    report_written: bool = True  # False: `error` is the report's; it can be written later


def write_outputs(data: ReportData, report_path: Path, options: JobOptions,
                  exit_status: ExitStatus, run_id: str | None,
                  extra: Mapping[str, object]) -> Outputs:
    """The report, the JSON summary and the log line of a file, each even when another could
    not be written: a full disk or a bug in a writer ends in exit 4 with the reason, never
    with the outcome lost (the summary and the log line say how to write the report later)."""
    report_error = _attempt("the report", report_path, lambda: write_report(
        report_path, data, report_format=options.report_format))
    if report_error is not None:
        exit_status = ExitStatus.INTERNAL
    summary = {**summary_dict(data, None if report_error else report_path, int(exit_status)),
               **extra, "run_id": run_id, "report_error": report_error}
    error = report_error
    if options.summary_json:
        summary_path = options.summary_json
        failed = _attempt("the summary", summary_path,
                          lambda: write_summary_json(summary_path, summary))
        if failed is not None:
            exit_status, error = ExitStatus.INTERNAL, error or failed
            summary["exit_code"] = int(exit_status)
    # The one line a log file keeps of this file (the console prints its own summary).
    fields = {key: summary[key] for key in ("input", "rows", "status_counts", "api_calls",
                                            "retries", "rate_limited", "learned_rate_per_s",
                                            "rate_wait_s", "report", "exit_code",
                                            "report_error")}
    if error is None:
        summary_log.info("%s: %s; exit %d; report %s", data.facts.input_file, data.verdict(),
                         int(exit_status), report_path,
                         extra={"fields": {"event": "file_summary", "run": run_id, **fields}})
    else:  # how to get the report, or (only the summary failed) where it is
        then = rebuild_hint(run_id) if report_error else f"report {report_path}"
        summary_log.error("%s: %s; exit %d; %s; %s", data.facts.input_file, data.verdict(),
                          int(exit_status), error, then,
                          extra={"fields": {"event": "file_summary", "run": run_id, **fields}})
    return Outputs(exit_status, summary, error, report_written=report_error is None)


@dataclass(frozen=True)
class RebuiltReport:
    run: RunEntry
    report_path: Path
    data: ReportData
    error: str | None = None  # why it could not be written this time either


def report_job(run_id: str, state_dir: Path, *, report_path: Path | None = None,
               report_format: ReportFormat = "xlsx", summary_json: Path | None = None,
               reports_dir: Path = Path("reports")) -> RebuiltReport:
    """Write again the report of a run the journal keeps (`bulk-enroll report RUN_ID`): for
    the person told "the report could not be written". By default where that report was to
    go (unless something is there now), else `reports/<input>-results-<run's start>`."""
    entry, data = load_run_record(state_dir / JOURNAL_NAME, run_id)
    if report_path is None:
        intended = Path(entry.report) if entry.report else None
        if intended and intended.suffix.lower() == f".{report_format}" and not intended.exists():
            report_path = intended
        else:
            report_path = default_report_path(Path(entry.input), reports_dir, data.facts.started,
                                              report_format)
    options = JobOptions(input_path=Path(entry.input), report_path=report_path,
                         summary_json=summary_json, report_format=report_format)
    check_output_paths(options, report_path)
    error = _attempt("the report", report_path,
                     lambda: write_report(report_path, data, report_format=report_format))
    if error is None and summary_json is not None:
        summary = {**summary_dict(data, report_path, entry.exit_code), "run_id": entry.run_id,
                   "report_error": None}
        error = _attempt("the summary", summary_json,
                         lambda: write_summary_json(summary_json, summary))
    return RebuiltReport(entry, report_path, data, error)


def rebuild_hint(run_id: str | None) -> str:
    """How to get the report that could not be written."""
    if run_id is None:
        return ("the outcome of every pair sent is in the journal: running the file again "
                "reports them, and sends nothing twice")
    return (f"every row's outcome is in the journal: write the report later with "
            f"`bulk-enroll report {run_id}`")


def _attempt(what: str, path: Path, write: Callable[[], object]) -> str | None:
    """Run `write`; on any failure, log it as an internal error and say what went wrong. What
    the failed writer leaves half-open is closed here, quietly (no tracebacks on stderr)."""
    with unraisable_to_log():
        try:
            write()
        except Exception as exc:  # a full disk, a folder gone, a bug in a writer
            log_internal_error(exc)
            failed = f"{what} could not be written to {path}: {_os_reason(exc)}"
        else:
            return None
        gc.collect()  # the writer's objects, freed now that the exception is gone
    return failed


def _os_reason(error: BaseException) -> str:
    """What the system said ("No space left on device"), also when a writer wrapped it in an
    error of its own (XlsxWriter's FileCreateError); else the error's own words."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
        cause = cause.__cause__ or cause.__context__
    return str(error) or type(error).__name__


def _preview(options: JobOptions, settings: RunSettings, connection: Connection | None,
             prepared: PreparedRows
             ) -> tuple[list[Batch], PlanSummary, dict[Pair, PairOutcome], SendPreview]:
    """A dry run's review of the live run: the journal's settled pairs left out (when there
    is an account to name in it), the calls re-planned for the rest."""
    to_send, settled, locked_by = prepared.to_send, {}, None
    if connection is not None:
        journal_path = (options.state_dir or settings.state_dir) / JOURNAL_NAME
        view = journal_view(journal_path, journal_path.with_name(SEND_LOCK_NAME),
                            connection.account, prepared.to_send,
                            aliases=connection.account_aliases)
        to_send, settled, locked_by = view.to_send, view.settled, view.locked_by
    batches = plan(to_send, settings.limits)
    preview = send_preview(to_send, len(batches), settled, on_server=len(prepared.already),
                           locked_by=locked_by)
    return batches, summarize_plan(batches, to_send, settings.limits), settled, preview


def with_configuration(options: JobOptions,
                       environ: Mapping[str, str] | None = None) -> JobOptions:
    """Fill what the caller left open: from the reading options a report fed back remembers,
    then from the configuration (`environ`: the configuration file merged with the
    environment, default the environment): the date order, the aliases (the caller's win),
    hidden rows, the row defaults and the input size limits."""
    limits = options.read_limits or load_read_limits(environ)
    return with_input_settings(options, load_input_settings(environ), limits)


def with_input_settings(options: JobOptions, configured: InputSettings,
                        limits: ReadLimits) -> JobOptions:
    """`options`, what they leave open filled from the options its input (a report fed back)
    remembers, then from `configured`. A report's settings beat the configuration's: the
    retry must read the rows as its run did, whatever the configuration says today."""
    stored = (stored_reading_options(options.input_path, limits)
              if options.table is None else None)
    if stored is not None:
        options = dataclasses.replace(
            options,
            date_order=options.date_order or stored.date_order,
            aliases={**stored.aliases, **options.aliases},
            include_hidden_rows=options.include_hidden_rows or stored.include_hidden_rows,
            last_row_wins=options.last_row_wins or stored.last_row_wins,
            defaults=options.defaults.or_else(RowDefaults(**stored.row_defaults)),
            remembered=stored,
        )
    return dataclasses.replace(
        options,
        date_order=options.date_order or configured.date_order,
        aliases={**configured.aliases, **options.aliases},
        include_hidden_rows=options.include_hidden_rows or configured.include_hidden_rows,
        defaults=options.defaults.or_else(RowDefaults(**configured.row_defaults)),
        read_limits=limits,
    )


def reading_options(options: JobOptions) -> ReadingOptions:
    """The options the input was read with, for the report to remember (the sheet of a
    report fed back is its own: the one its first run read is kept)."""
    remembered = options.remembered
    return ReadingOptions(
        sheet=options.sheet or (remembered.sheet if remembered else None),
        date_order=options.date_order,
        aliases=dict(options.aliases),
        row_defaults={name: value for name, value in dataclasses.asdict(options.defaults).items()
                      if value},
        include_hidden_rows=options.include_hidden_rows,
        last_row_wins=options.last_row_wins,
    )


def remembered_note(options: JobOptions) -> str | None:
    """What a report fed back brought with it, for the terminal and the Summary sheet."""
    if options.remembered is None:
        return None
    given = [f"{what.lower()}: {how}" for what, how in options.remembered.describe()
             if not how.startswith(("none", "not sent", "invalid"))]
    listed = "; ".join(given) if given else "none beyond the defaults"
    return (f"read with the settings this report remembers from its run ({listed}); options "
            "given now win")


def read_and_validate(options: JobOptions) -> ValidatedInput:
    """Read the input file (unless its rows were given) and validate its rows (the first two
    stages of every job)."""
    table = options.table or read_table(options.input_path, sheet=options.sheet,
                                        aliases=options.aliases,
                                        limits=options.read_limits or load_read_limits())
    table = keep_rows(apply_edits(table, options.edits), options.rows)
    validated = validate_table(
        table, options.defaults, date_order=options.date_order, aliases=options.aliases,
        include_hidden_rows=options.include_hidden_rows,
    )
    note = remembered_note(options)
    return dataclasses.replace(validated, notes=(note, *validated.notes)) if note else validated


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
    check_output_paths(options, report_path)
    events = EventProgress(options.progress) if options.progress else None
    _stage(events, "read")
    validated = read_and_validate(options)
    _stage(events, "plan", rows=len(validated.rows))
    rows = mark_conflicts(requests_as_pairs(validated.rows), last_row_wins=options.last_row_wins)
    issues = [issue for row in rows for issue in row.issues]
    pairs = unique_pairs(rows)
    batches = plan(pairs, settings.limits)
    plan_summary = summarize_plan(batches, pairs, settings.limits)
    results = settle_rows(rows, _not_sent(batches, "valid: would be sent in batch {batch}"))
    unchecked = sum(1 for row in rows if row.named_twice)
    if unchecked:
        validated = dataclasses.replace(validated, notes=(*validated.notes, UNCHECKED_NAMES.format(
            rows=count(unchecked, "row"))))
    note = "; ".join(("validate only: nothing was looked up or sent",
                      *file_notes_of(validated, options.report_format)))
    data = ReportData(
        facts=RunFacts(validated.file, validated.sheet, started, now(), True, note=note,
                       columns=validated.columns.describe(), reading=reading_options(options)),
        headers=validated.headers,
        rows=rows,
        results=results,
        planned=batches,
        calls=[],
        stats=SendReport().stats,
        names_looked_up=False,
        rows_covered=rows_covered(rows, batches),
        origin_rows=validated.origin_rows,
    )
    exit_status = run_exit_status(asked_statuses(results), dry_run=True, no_rows=not rows)
    _stage(events, "report")
    write_report(report_path, data)
    summary = summary_dict(data, report_path, int(exit_status))
    summary["plan"] = plan_summary.as_dict()
    if options.summary_json:
        write_summary_json(options.summary_json, summary)
    _stage(events, "done")
    return JobResult(exit_status, report_path, summary, data, issues, validated.notes, plan_summary)


def file_notes_of(validated: ValidatedInput, report_format: ReportFormat) -> tuple[str, ...]:
    """Facts about the input for the report's Summary: the reader's notes, and the columns a
    workbook leaves out of an input wider than a worksheet."""
    too_wide = left_out_note(validated.headers) if report_format == "xlsx" else None
    return (*validated.notes, too_wide) if too_wide else validated.notes


def file_sha256(path: Path) -> str:
    """The input's checksum for the report: says exactly which file a report belongs to."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def input_checksum(options: JobOptions) -> str | None:
    """The input file's checksum; None for rows given as a table (there is no file)."""
    return None if options.table is not None else file_sha256(options.input_path)


def _stage(events: EventProgress | None, stage: Stage, **counts: int) -> None:
    if events is not None:
        events.stage(stage, **counts)


def _send(batches: list[Batch], connection: Connection, journal: Journal, settings: RunSettings,
          options: JobOptions, started: dt.datetime,
          now: Callable[[], dt.datetime], events: EventProgress | None = None) -> SendReport:
    """Send through the connection, journalled; `options.cancel` (which the job's signal
    handler cancels on Ctrl-C and SIGTERM) stops it cleanly. The rate limit learned for the
    account is recalled from the state folder and kept for next time."""
    state_dir = options.state_dir or settings.state_dir
    known = recall(state_dir, connection.account)
    throttle = Throttle(settings.rate_limit, remembered=known.limit_per_s if known else None,
                        window=known.window_s if known else None)
    if known:
        log.info("starting near the rate limit learned earlier: %.3g calls/s", known.limit_per_s)
    sender = Sender(
        connection.transport,
        connection.tokens,
        policy=RetryPolicy(max_attempts=settings.max_attempts,
                           retry_budget=settings.retry_budget,
                           no_progress_s=settings.no_progress_timeout_s),
        concurrency=settings.concurrency,
        throttle=throttle,
        journal=journal,
        settler=connection.directory,
        progress=events or (make_progress() if options.interactive else None),
        run_id=options.run_id or new_run_id(started),
        now=now,
    )
    with contextlib.ExitStack() as stops:
        if options.cancel is not None:
            stops.enter_context(stop_on_cancel(options.cancel, sender.stop))
        report = sender.send(batches)
    if throttle.learned_rate is not None:
        log.info("server rate limit learned: %.3g calls/s; %.1f s waited on it, %d 429 "
                 "answer(s)", throttle.learned_rate, throttle.waited_s, throttle.refusals)
    confirmed = throttle.confirmed_rate
    if confirmed is not None:
        remember(state_dir, connection.account, RememberedRate(confirmed, throttle.window),
                 now())
    elif throttle.learned_rate is not None:
        log.info("the rate limit estimate was not confirmed by an accepted call: not kept for "
                 "the next run")
    return report


def _reads_stop(directory: RestClient | None,
                cancel: CancelToken | None) -> contextlib.AbstractContextManager[None]:
    """The account's reads (lookups, the server check, settling) end early on a stop."""
    if directory is None:
        return contextlib.nullcontext()
    return directory.stopping_when(cancel)


NEEDS_API = (
    "the file names {what}; looking them up needs the account's REST API: set "
    "BULK_ENROLL_API_URL (and BULK_ENROLL_TOKEN or the client ID and secret)"
)
CHECK_NEEDS_API = (
    "--check-server lists the account's enrollments through its REST API: set "
    "BULK_ENROLL_API_URL"
)
NOT_LOOKED_UP = "not looked up: a dry run without an account cannot turn {what} into IDs"
NOT_CHECKED_ROWS = (
    "{rows} with a learner or course named in more than one column (an ID and an email, ...): "
    "without the account's REST API (BULK_ENROLL_API_URL) the names could not be checked "
    "against each other, and the ID was used; each row's message says which"
)
UNCHECKED_NAMES = (
    "{rows} with a learner or course named in more than one column (an ID and an email, ...): "
    "validate looks nothing up, so whether both name the same one is checked by run"
)


@dataclass(frozen=True)
class PreparedRows:
    """Rows after resolution and server reconciliation: what to plan, and why not the rest."""

    rows: list[InputRow]
    to_send: list[Pair]
    already: dict[Pair, PairOutcome] = field(default_factory=dict)
    stop: str | None = None  # a lookup failed: send nothing, this is why
    unresolved: str = "not sent"  # the message of rows whose names were not looked up


def prepare_rows(
    validated: ValidatedInput,
    options: JobOptions,
    settings: RunSettings,
    directory: RestClient | None,
) -> PreparedRows:
    """Resolve names through the account (one batched lookup per kind) and, with
    `check_server`, drop pairs the server already holds. A lookup that fails stops the run
    before anything is sent; rows are still reported."""
    refs = gather_references(validated.rows)
    columns = reference_columns(validated.columns)
    # Names beside an ID only need a lookup to be checked; without the API, rows say so.
    needed = gather_references(validated.rows, checks=False)
    what = " and ".join(needed.names)

    def resolved(lookups: Lookups | None) -> list[InputRow]:
        # Conflicts are judged on IDs: an email and an ID naming one person are one learner.
        rows = resolve_rows(validated.rows, lookups, columns)
        return mark_conflicts(rows, last_row_wins=options.last_row_wins)

    if directory is None:
        if needed.names and not options.dry_run:
            raise ConfigError(NEEDS_API.format(what=what))
        if options.check_server and not options.dry_run:
            raise ConfigError(CHECK_NEEDS_API)
        rows = resolved(None)
        return PreparedRows(rows, unique_pairs(rows), unresolved=NOT_LOOKED_UP.format(what=what))
    try:
        lookups = _lookups(refs, directory, settings) if not refs.empty else None
    except (ApiError, Interrupted) as exc:  # a refused token is a configuration error: exit 2
        stop = _stopped_reading("look up learners and courses", exc)
        rows = resolved(None)
        return PreparedRows(rows, unique_pairs(rows), stop=stop, unresolved=stop)
    rows = resolved(lookups)
    pairs = unique_pairs(rows)
    if not options.check_server:
        return PreparedRows(rows, pairs)
    try:
        existing = server_enrollments(pairs, directory)
    except (ApiError, Interrupted) as exc:  # a refused token is a configuration error: exit 2
        stop = _stopped_reading("list existing enrollments", exc)
        return PreparedRows(rows, pairs, stop=stop, unresolved=stop)
    to_send, already = split_already_enrolled(pairs, existing)
    log.info("%d planned pair(s) already enrolled on the server", len(already))
    return PreparedRows(rows, to_send, already)


def _stopped_reading(doing: str, error: ApiError | Interrupted) -> str:
    """Why nothing was sent when a read of the account failed or was stopped."""
    if isinstance(error, Interrupted):  # Ctrl-C, SIGTERM, a cancel: error is the reason
        return f"stopped before sending: {error} while trying to {doing}"
    return f"stopped before sending: could not {doing}: {error}"


def _lookups(refs: References, directory: RestClient, settings: RunSettings) -> Lookups:
    cache = None
    if settings.lookup_cache is not None:
        cache = LookupCache(
            settings.lookup_cache, directory.api_url, settings.lookup_cache_max_age_h * 3600
        ).load()
    return fetch_lookups(refs, directory, cache)


def reference_columns(columns: ColumnMap) -> dict[str, str]:
    """Each kind of reference ("learner_email"...) -> the file's header holding it."""
    kinds = (
        Field.LEARNER_ID,
        Field.LEARNER_EMAIL,
        Field.LEARNER_LOGIN,
        Field.COURSE_ID,
        Field.COURSE_TITLE,
    )
    return {f.value: columns.header_of(f) for f in kinds if f in columns.index}


REPORT_SUFFIXES = {"xlsx": (".xlsx",), "csv": (".csv",)}


def check_output_paths(options: JobOptions, report_path: Path) -> None:
    """Refuse, before anything is read or sent, a report or summary that could not be written
    or would destroy something: a folder, the input file itself, a wrong extension."""
    wanted = REPORT_SUFFIXES[options.report_format]
    if report_path.suffix.lower() not in wanted:
        raise InputFileError(f"--report {report_path}: the report is a .{options.report_format} "
                             f"file; give a name ending in {wanted[0]}")
    for option, path in (("--report", report_path), ("--summary-json", options.summary_json)):
        if path is None:
            continue
        if path.is_dir():
            raise InputFileError(f"{option} {path} is a folder; give a file name in it")
        if options.table is None and path.exists() and (
                path.resolve() == options.input_path.resolve()):
            raise InputFileError(f"{option} {path} is the input file; it would be overwritten")
        _check_writable(path)


def _check_writable(path: Path) -> None:
    try:
        make_dirs(path.parent, SHARED_DIR)
    except OSError as exc:
        raise InputFileError(
            f"cannot create the report folder {path.parent}: {exc.strerror}"
        ) from None
    if not os.access(path.parent, os.W_OK):
        raise InputFileError(f"cannot write the report into {path.parent}: permission denied")


def _not_sent(batches: list[Batch], message: str) -> dict[Pair, PairOutcome]:
    """Every pair of `batches` not sent, with `message` ("{batch}" in it: the pair's batch ID;
    any other brace, say in a server's error text, stays as it is)."""
    return {
        pair: PairOutcome(Status.NOT_SENT, message.replace("{batch}", batch.batch_id),
                          batch.batch_id)
        for batch in batches
        for pair in batch.pairs()
    }


def _stopped(batches: list[Batch], reason: str) -> dict[Pair, PairOutcome]:
    return _not_sent(batches, f"not sent: {reason}")
