"""The nightly inbox: process every ready file of a folder once, safely, and say what happened.

`run_inbox` holds the single-instance lock for the whole run, picks the ready files oldest
first (`inbox.scan`), and for each one:

0. takes it: a copy in the state folder is what is read, hashed and archived, and the inbox
   file is removed afterwards only if it did not change meanwhile (`inbox.snapshot`);
1. skips it as a *duplicate* when a file with the same content (SHA-256) was already applied to
   this account, even under another name (`inbox.ledger`), with a note next to the archived copy;
2. runs the normal job (`jobs.run_job`) with the safety limits as its guard, so a file
   over a limit is stopped before any call (unless `force`);
3. moves it to `archive/processed/DATE/` (every row settled well) or `archive/failed/DATE/`
   (rows need attention, unreadable, or stopped by a limit), never overwriting, and writes its
   report (and a JSON summary) into the reports folder.

A file whose send was cut short (SIGTERM, the retry budget ran out) stays in the inbox and ends
the run: the next run resumes it through the journal. The run's exit code is the worst of its
files (see `Outcome`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from bulk_enroll import logs
from bulk_enroll.connect import Connection
from bulk_enroll.errors import (
    AuthError,
    ConfigError,
    ExitStatus,
    InputFileError,
    SafetyStop,
    signal_exit_status,
    worst_exit_status,
)
from bulk_enroll.file_modes import SHARED_DIR, make_dirs, write_shared_text
from bulk_enroll.inbox.archive import dated_folder, free_name, move_into
from bulk_enroll.inbox.ledger import LEDGER_NAME, InboxLedger, ProcessedFile
from bulk_enroll.inbox.limits import (
    DEFAULT_MAX_INVALID_SHARE,
    DEFAULT_MAX_NEW_PER_FILE,
    DEFAULT_MAX_NEW_PER_RUN,
    SafetyLimits,
    check_limits,
)
from bulk_enroll.inbox.scan import scan_inbox
from bulk_enroll.inbox.snapshot import (
    ChangedWhileTaken,
    TakenFile,
    discard,
    discard_leftovers,
    release,
    take,
)
from bulk_enroll.jobs import (
    JobOptions,
    JobResult,
    PlanPreview,
    rebuild_hint,
    run_job,
    with_input_settings,
)
from bulk_enroll.read.safety import ReadLimits
from bulk_enroll.send.interrupt import stop_on_signals
from bulk_enroll.send.lock import InstanceLock
from bulk_enroll.settings.config import (
    InputSettings,
    RunSettings,
    load_input_settings,
    load_read_limits,
)
from bulk_enroll.settings.environment import Environment

log = logging.getLogger(__name__)
LOCK_NAME = "inbox.lock"
DEFAULT_STABLE_S = 60.0


class Outcome(StrEnum):
    """What happened to one file, and the exit code it stands for."""

    PROCESSED = "processed"  # 0: applied, every row settled well
    DUPLICATE = "duplicate"  # 0: same content as a file applied before; not applied again
    NEEDS_ATTENTION = "needs_attention"  # 1: applied; some rows invalid, failed or unknown
    UNREADABLE = "unreadable"  # 1: not a readable spreadsheet; nothing sent
    INTERRUPTED = "interrupted"  # 1: the send was cut short; left in the inbox to resume
    STOPPED = "stopped"  # 3: over a safety limit; nothing sent

    @property
    def exit_code(self) -> ExitStatus:
        return {Outcome.PROCESSED: ExitStatus.OK, Outcome.DUPLICATE: ExitStatus.OK,
                Outcome.STOPPED: ExitStatus.SAFETY_STOP}.get(self, ExitStatus.ROWS_NEED_ATTENTION)

    @property
    def archive_kind(self) -> str | None:
        return {Outcome.PROCESSED: "processed", Outcome.DUPLICATE: "duplicates",
                Outcome.INTERRUPTED: None}.get(self, "failed")


@dataclass(frozen=True)
class InboxSettings:
    inbox: Path
    archive: Path
    reports: Path
    stable_s: float = DEFAULT_STABLE_S
    limits: SafetyLimits = field(default_factory=SafetyLimits)
    # Nightly, ask the server which pairs already exist (needs the REST API): enrollments made
    # in the LMS by hand, or by a run whose journal is gone, are not sent again.
    check_server: bool = False
    input: InputSettings = field(default_factory=InputSettings)
    read_limits: ReadLimits | None = None


@dataclass
class FileOutcome:
    file: str
    outcome: Outcome
    sha256: str | None = None
    reason: str | None = None
    report: Path | None = None
    archived_to: Path | None = None
    new_enrollments: int = 0  # pairs the plan had to send (not settled by earlier runs)
    duration_s: float = 0.0
    job: dict[str, object] | None = None  # the job's summary
    internal_error: bool = False  # an unexpected error stopped its send (exit 4)
    signal_exit: ExitStatus | None = None  # a signal stopped it: 130 (Ctrl-C), 143 (SIGTERM)

    @property
    def exit_code(self) -> ExitStatus:
        if self.internal_error:
            return ExitStatus.INTERNAL
        return self.signal_exit or self.outcome.exit_code

    def as_dict(self) -> dict[str, object]:
        job = self.job or {}
        return {
            "file": self.file,
            "outcome": self.outcome.value,
            "exit_code": int(self.exit_code),
            "reason": self.reason,
            "sha256": self.sha256,
            "rows": job.get("rows"),
            "status_counts": job.get("status_counts"),
            "new_enrollments": self.new_enrollments,
            "api_calls": job.get("api_calls"),
            "duration_s": round(self.duration_s, 3),
            "report": str(self.report) if self.report else None,
            "archived_to": str(self.archived_to) if self.archived_to else None,
        }


@dataclass
class InboxResult:
    inbox: Path
    started: dt.datetime
    finished: dt.datetime | None = None
    files: list[FileOutcome] = field(default_factory=list)
    waiting: list[tuple[Path, str]] = field(default_factory=list)
    ignored: list[tuple[Path, str]] = field(default_factory=list)
    error: str | None = None  # what ended the run early (configuration, credentials)
    error_exit: ExitStatus = ExitStatus.USAGE
    duration_s: float = 0.0

    @property
    def exit_code(self) -> ExitStatus:
        """The worst over the files, and over what ended the run early."""
        return worst_exit_status([f.exit_code for f in self.files]
                                 + ([self.error_exit] if self.error else []))

    def counts(self) -> dict[str, int]:
        counts = {outcome.value: 0 for outcome in Outcome}
        for item in self.files:
            counts[item.outcome.value] += 1
        return counts

    def verdict(self) -> str:
        """The run in one line, e.g. "3 files: 2 processed, 1 stopped; 1 waiting"."""
        parts = [f"{n} {name.replace('_', ' ')}" for name, n in self.counts().items() if n]
        head = f"{len(self.files)} file{'s' if len(self.files) != 1 else ''}"
        text = f"{head}: {', '.join(parts)}" if parts else f"{head}"
        if self.waiting:
            text += f"; {len(self.waiting)} waiting for the next run"
        if self.error:
            text += f"; stopped: {self.error}"
        return text

    def as_dict(self) -> dict[str, object]:
        finished = self.finished or self.started
        return {
            "run_id": logs.run_id(),
            "host": socket.gethostname(),
            "inbox": str(self.inbox),
            "started": self.started.isoformat(),
            "finished": finished.isoformat(),
            "duration_s": round(self.duration_s, 3),
            "exit_code": int(self.exit_code),
            "verdict": self.verdict(),
            "counts": self.counts(),
            "error": self.error,
            "files": [item.as_dict() for item in self.files],
            "waiting": [{"file": p.name, "reason": why} for p, why in self.waiting],
            "ignored": [{"file": p.name, "reason": why} for p, why in self.ignored],
        }

    def reports(self) -> list[Path]:
        return [f.report for f in self.files if f.report is not None and f.report.is_file()]


def failed_run_summary(inbox: Path, error: BaseException, exit_code: int) -> dict[str, object]:
    """The summary of a run that could not start (no account, another run holds the lock) or
    that an unexpected error stopped (secrets masked: it leaves the machine)."""
    stamp = dt.datetime.now().replace(microsecond=0).isoformat()
    if exit_code == ExitStatus.INTERNAL:
        what = f"internal error: {type(error).__name__}: {error} (details in the log)"
        verdict = f"inbox stopped by an {what}"
    else:
        what = str(error)
        verdict = f"inbox not processed: {what}"
    return {"run_id": logs.run_id(), "host": socket.gethostname(), "inbox": str(inbox),
            "started": stamp, "finished": stamp, "exit_code": exit_code,
            "verdict": logs.redact(verdict), "error": logs.redact(what), "files": []}


def load_inbox_settings(environ: Mapping[str, str], *, inbox: Path | None = None,
                        archive: Path | None = None,
                        reports: Path | None = None) -> InboxSettings:
    """Options first, then BULK_ENROLL_INBOX_* (environment or the [inbox] section)."""
    env = Environment(environ)
    folder = (inbox.expanduser() if inbox else None) or env.path("INBOX_DIR")
    if folder is None:
        raise ConfigError("no inbox folder: give it as `bulk-enroll inbox DIR`, or set dir in "
                          "the [inbox] section of the configuration file")
    limits = SafetyLimits(
        max_new_per_file=env.whole("INBOX_MAX_NEW_PER_FILE", DEFAULT_MAX_NEW_PER_FILE, minimum=1),
        max_new_per_run=env.whole("INBOX_MAX_NEW_PER_RUN", DEFAULT_MAX_NEW_PER_RUN, minimum=1),
        max_invalid_share=env.number("INBOX_MAX_INVALID_SHARE", DEFAULT_MAX_INVALID_SHARE,
                                     minimum=0, maximum=1, percent=True),
    )
    return InboxSettings(
        inbox=folder,
        archive=(archive.expanduser() if archive else None) or env.path("INBOX_ARCHIVE_DIR")
        or folder / "archive",
        reports=(reports.expanduser() if reports else None) or env.path("INBOX_REPORTS_DIR")
        or folder / "reports",
        stable_s=env.seconds("INBOX_STABLE_SECONDS", DEFAULT_STABLE_S, minimum=0),
        limits=limits,
        check_server=env.flag("INBOX_CHECK_SERVER", default=env.text("API_URL") is not None),
        input=load_input_settings(environ),
        read_limits=load_read_limits(environ),
    )


def run_inbox(settings: InboxSettings, run: RunSettings, connect: Callable[[], Connection], *,
              force: bool = False, interactive: bool = False, new_journal: bool = False,
              now: Callable[[], dt.datetime] = lambda: dt.datetime.now().replace(microsecond=0),
              clock: Callable[[], float] = time.time,
              sleep: Callable[[float], None] = time.sleep) -> InboxResult:
    """Process the inbox once; raise `SafetyStop` if another run holds the lock.

    `new_journal`: a journal or ledger that exists but cannot be read is moved aside and a
    new one started, instead of stopping the run (exit 2)."""
    if not settings.inbox.is_dir():
        raise ConfigError(f"the inbox folder {settings.inbox} does not exist")
    began = time.monotonic()
    stop: list[str] = []  # a signal between files: finish this one, start no other
    signals: contextlib.AbstractContextManager[list[str]] = (
        stop_on_signals(stop.append) if interactive else contextlib.nullcontext([]))
    with InstanceLock(run.state_dir / LOCK_NAME, "inbox"), signals as received:
        result = InboxResult(settings.inbox, now())
        _check_folders(settings)
        scan = scan_inbox(settings.inbox, settings.stable_s, clock=clock, sleep=sleep)
        result.waiting, result.ignored = scan.waiting, scan.ignored
        for path, why in scan.waiting:
            log.info("%s: left for the next run: %s", path.name, why,
                     extra={"fields": {"event": "waiting", "file": path.name, "reason": why}})
        for path, why in scan.ignored:
            log.warning("%s: ignored: %s", path.name, why,
                        extra={"fields": {"event": "ignored", "file": path.name, "reason": why}})
        discard_leftovers(run.state_dir)  # copies a killed run took: their files are still here
        processor = _Processor(settings, run, connect, force=force, interactive=interactive,
                               new_journal=new_journal, now=now)
        try:
            for snapshot in scan.ready:
                if stop:
                    result.error, result.error_exit = f"{stop[0]}; the remaining files stay " \
                        "for the next run", (signal_exit_status(received[0]) if received
                                             else ExitStatus.ROWS_NEED_ATTENTION)
                    log.warning("inbox stopped: %s", result.error)
                    break
                item = processor.process(snapshot.path, (snapshot.size, snapshot.mtime_ns))
                if item is None:
                    continue
                result.files.append(item)
                _log_file(item)
                if item.outcome is Outcome.INTERRUPTED:
                    break
        except (ConfigError, AuthError) as exc:
            # The account or the configuration is wrong: no later file would do better.
            result.error = str(exc)
            log.error("inbox stopped: %s", exc)
        except SafetyStop as exc:  # another run (a manual one) is sending with this journal
            result.error = f"{exc}; the remaining files stay for the next run"
            result.error_exit = ExitStatus.SAFETY_STOP
            log.error("inbox stopped: %s", result.error)
        finally:
            processor.close()
        result.finished = now()
        result.duration_s = time.monotonic() - began
    _log_summary(result)
    return result


class _Processor:
    """Processes one file after another, sharing one connection, ledger and run budget."""

    def __init__(self, settings: InboxSettings, run: RunSettings,
                 connect: Callable[[], Connection], *, force: bool, interactive: bool,
                 new_journal: bool, now: Callable[[], dt.datetime]) -> None:
        self.settings, self.run, self._connect = settings, run, connect
        self.force, self.interactive, self.now = force, interactive, now
        self.new_journal = new_journal
        self.sent_this_run = 0
        self._connection: Connection | None = None
        self._ledger: InboxLedger | None = None

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()

    def ledger(self) -> tuple[Connection, InboxLedger]:
        if self._connection is None or self._ledger is None:
            self._connection = self._connect()
            # Wrong credentials are the account's problem, not the file's: find out before
            # touching any file (raises AuthError, which ends the run with exit code 2).
            self._connection.tokens.get()
            self._ledger = InboxLedger(self.run.state_dir / LEDGER_NAME, self._connection.account,
                                       aliases=self._connection.account_aliases,
                                       replace_unusable=self.new_journal)
        return self._connection, self._ledger

    def process(self, path: Path, seen: tuple[int, int] | None = None) -> FileOutcome | None:
        """Take the file (a copy: see `inbox.snapshot`), apply it, archive the copy, then
        remove the inbox file unless it changed meanwhile; None if it is gone or changing."""
        try:
            taken = take(path, self.run.state_dir, seen)
        except ChangedWhileTaken as exc:
            log.info("%s: left for the next run: %s", path.name, exc,
                     extra={"fields": {"event": "waiting", "file": path.name,
                                       "reason": str(exc)}})
            return None
        if taken is None:
            return None  # taken away since the scan: nothing to do
        try:
            return self._process(taken)
        finally:
            discard(taken.copy)

    def _process(self, taken: TakenFile) -> FileOutcome:
        started = time.monotonic()
        path, copy, sha256 = taken.original, taken.copy, taken.sha256
        connection, ledger = self.ledger()
        earlier = ledger.find(sha256)
        if earlier is not None:
            item = FileOutcome(path.name, Outcome.DUPLICATE, sha256,
                               reason=f"same content as {earlier.file_name}, processed "
                                      f"{earlier.processed_at}; not applied again")
            item.archived_to = self._archive(copy, item.outcome)
            _write_duplicate_note(item.archived_to, earlier)
            _release(taken)
            return item
        report = free_name(self.settings.reports,
                           f"{path.stem}-results-{self.now():%Y%m%d-%H%M%S}.xlsx")
        previews: list[PlanPreview] = []
        options = JobOptions(input_path=copy, report_path=report,
                             summary_json=report.with_suffix(".json"),
                             reports_dir=self.settings.reports, interactive=self.interactive,
                             guard=lambda preview: self._guard(preview, previews),
                             check_server=self.settings.check_server,
                             new_journal=self.new_journal)
        # a report dropped back in is read as its run read its file, then [input], [defaults]
        options = with_input_settings(options, self.settings.input,
                                      self.settings.read_limits or ReadLimits())
        try:
            job = run_job(options, self.run, lambda: connection, now=self.now)
        except InputFileError as exc:
            item = FileOutcome(path.name, Outcome.UNREADABLE, sha256, reason=str(exc))
            item.report = _write_error_note(report.with_suffix(".txt"), path.name, str(exc))
        else:
            item = self._classify(path, sha256, job, previews)
        item.duration_s = time.monotonic() - started
        item.archived_to = self._archive(copy, item.outcome)
        if item.outcome is Outcome.UNREADABLE and item.archived_to is not None:
            _write_reason(item.archived_to, item.reason or "")
        if item.outcome in (Outcome.PROCESSED, Outcome.NEEDS_ATTENTION):
            # Recorded after the move and before the inbox file is removed: a crash in
            # between leaves the file in the inbox, and the next run finds it a duplicate.
            ledger.record(ProcessedFile(
                sha256, path.name, self.now().isoformat(sep=" "), item.outcome.value,
                int(item.exit_code), str(item.report) if item.report else None,
                str(item.archived_to) if item.archived_to else None))
        if item.archived_to is not None:
            _release(taken)
        return item

    def _guard(self, preview: PlanPreview, previews: list[PlanPreview]) -> str | None:
        previews.append(preview)
        reason = check_limits(preview, self.settings.limits, self.sent_this_run)
        if reason is not None and self.force:
            log.warning("%s: %s; sending anyway: --force is on", preview.input_file,
                        reason.split(";")[0])
            return None
        return reason

    def _classify(self, path: Path, sha256: str, job: JobResult,
                  previews: list[PlanPreview]) -> FileOutcome:
        new = previews[-1].new_pairs if previews else 0
        item = FileOutcome(path.name, Outcome.PROCESSED, sha256, report=job.report_path,
                           new_enrollments=new, job=job.summary)
        if job.stop_reason is not None:
            item.outcome, item.reason = Outcome.STOPPED, job.stop_reason
            return item
        self.sent_this_run += new
        item.internal_error = job.exit_status is ExitStatus.INTERNAL
        if job.exit_status in (ExitStatus.INTERRUPTED, ExitStatus.TERMINATED):
            item.signal_exit = job.exit_status
        if job.cut_short or item.internal_error:  # the journal settles what was sent, next run
            item.outcome = Outcome.INTERRUPTED
            why = job.data.facts.note or "the send stopped early"
            if job.report_error is not None:  # sent, but no report (or summary)
                why = job.report_error if job.report_written else (
                    f"{job.report_error} ({rebuild_hint(job.run_id)})")
            item.reason = f"{why}; the file stays in the inbox and the next run resumes it"
        elif job.exit_status is not ExitStatus.OK:
            item.outcome = Outcome.NEEDS_ATTENTION
            item.reason = f"{job.summary.get('needs_attention')} row(s) need attention"
        return item

    def _archive(self, path: Path, outcome: Outcome) -> Path | None:
        kind = outcome.archive_kind
        if kind is None:
            return None
        return move_into(path, dated_folder(self.settings.archive, kind, self.now().date()))


def _check_folders(settings: InboxSettings) -> None:
    """Reports and archive must be writable before any file is touched."""
    for name, folder in (("reports", settings.reports), ("archive", settings.archive)):
        try:
            make_dirs(folder, SHARED_DIR)
        except OSError as exc:
            raise ConfigError(f"cannot create the {name} folder {folder}: "
                              f"{exc.strerror}") from None
        if not os.access(folder, os.W_OK):
            raise ConfigError(f"cannot write into the {name} folder {folder}")


def _release(taken: TakenFile) -> None:
    """Remove the processed file from the inbox, unless it was replaced meanwhile."""
    if not release(taken):
        log.warning("%s changed while it was processed: the new content stays in the inbox "
                    "for the next run", taken.original.name,
                    extra={"fields": {"event": "changed", "file": taken.original.name}})


def _write_duplicate_note(archived: Path | None, earlier: ProcessedFile) -> None:
    if archived is None:
        return
    note = archived.with_name(archived.name + ".duplicate.txt")
    write_shared_text(
        note,
        f"{archived.name} was not applied: its content (SHA-256 {earlier.sha256}) is the same "
        f"as {earlier.file_name}, processed on {earlier.processed_at} "
        f"({earlier.outcome.replace('_', ' ')}).\n"
        f"Report of that run: {earlier.report or '-'}\n"
        f"That file was archived as: {earlier.archived_to or '-'}\n"
        "Nothing was sent for this copy. To apply it on purpose, run it by hand with "
        "`bulk-enroll run FILE` (pairs already enrolled are still skipped).\n",
    )


def _write_reason(archived: Path, message: str) -> None:
    """Why an archived file could not be read, beside it (`NAME.reason.txt`)."""
    note = archived.with_name(archived.name + ".reason.txt")
    try:
        write_shared_text(note, f"{archived.name} could not be read; nothing was sent.\n"
                                f"{message}\n")
    except OSError as exc:  # a full disk: the log line still says why
        log.error("%s: could not write the note %s: %s", archived.name, note,
                  exc.strerror or exc)


def _write_error_note(path: Path, name: str, message: str) -> Path | None:
    target = free_name(path.parent, path.name)
    try:
        write_shared_text(target, f"{name} could not be processed; nothing was sent.\n"
                                  f"{message}\n")
    except OSError as exc:  # a full disk: the log line still says why
        log.error("%s: could not write the note %s: %s", name, target, exc.strerror or exc)
        return None
    return target


def _log_file(item: FileOutcome) -> None:
    level = logging.INFO if item.exit_code is ExitStatus.OK else logging.WARNING
    details = [item.outcome.value.replace("_", " ")]
    job = item.job or {}
    if job:
        details.append(str(job.get("verdict")))
        details.append(f"{item.new_enrollments} new, {job.get('api_calls')} API calls, "
                       f"{item.duration_s:.1f} s")
    if item.reason and item.outcome is not Outcome.NEEDS_ATTENTION:
        details.append(item.reason)
    if item.report:
        details.append(f"report {item.report}")
    details.append(f"archived as {item.archived_to}" if item.archived_to else "left in the inbox")
    log.log(level, "%s: %s", item.file, "; ".join(details),
            extra={"fields": {"event": "file", **item.as_dict()}})


def _log_summary(result: InboxResult) -> None:
    summary = result.as_dict()
    level = logging.INFO if result.exit_code is ExitStatus.OK else logging.WARNING
    log.log(level, "inbox %s: %s; exit %d in %.1f s", result.inbox, result.verdict(),
            result.exit_code, summary["duration_s"],
            extra={"fields": {"event": "summary", **{k: v for k, v in summary.items()
                                                      if k not in ("files", "run_id")}}})
