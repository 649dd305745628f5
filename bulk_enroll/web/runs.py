"""Runs the page started: each in a worker thread of its own, watched through its state.

The run belongs to the server, not to a browser tab: closing the tab changes nothing, and a
page opened later reads the same state (the event stream sends it first, then every change).
One run at a time per journal: a second start is refused while one is sending, and the
library's send lock refuses a run another process is making with the same journal. Cancel
goes through the library's `CancelToken` (calls in flight finish, the rest are `not_sent`,
the report says so). Finished runs are added to the page's history.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from bulk_enroll.api import CancelToken, EnrollResult, ProgressEvent, enroll, send_lock_holder
from bulk_enroll.errors import BulkEnrollError
from bulk_enroll.logs import log_internal_error, redact
from bulk_enroll.web.checks import Check, Choices
from bulk_enroll.web.history import PastRun
from bulk_enroll.web.page import Page

log = logging.getLogger(__name__)
CANCEL_REASON = "cancelled on the page"


class RunRefused(Exception):
    """A run cannot start now (another is sending with the same journal)."""


@dataclass
class Run:
    id: str
    check: Check
    choices: Choices  # as they were when the run started
    dry_run: bool
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now().replace(microsecond=0))
    token: CancelToken = field(default_factory=CancelToken)
    event: ProgressEvent | None = None
    result: EnrollResult | None = None
    error: str | None = None  # why the run stopped before its report
    finished: bool = False
    version: int = 0  # grows with every change: the event stream sends a state once
    followup: Check | None = None  # the rows needing attention, to fix and send again
    changed: threading.Condition = field(default_factory=threading.Condition, repr=False)

    @property
    def name(self) -> str:
        return self.check.name

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled

    def progress(self, event: ProgressEvent) -> None:
        """The library's progress callback (from the sending threads): keep it quick."""
        with self.changed:
            self.event = event
            self.version += 1
            self.changed.notify_all()

    def finish(self, result: EnrollResult | None, error: str | None) -> None:
        with self.changed:
            self.result, self.error, self.finished = result, error, True
            self.version += 1
            self.changed.notify_all()


# What the page does with a finished run's result (history, the follow-up check), in the
# run's thread before the run counts as finished.
FinishHook = Callable[[Run, EnrollResult], None]


class RunManager:
    def __init__(self, page: Page) -> None:
        self.page = page
        self._runs: dict[str, Run] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def get(self, run_id: str) -> Run | None:
        with self._lock:
            return self._runs.get(run_id)

    def active(self) -> Run | None:
        with self._lock:
            return next((run for run in self._runs.values() if not run.finished), None)

    def start(self, check: Check, on_finish: FinishHook) -> Run:
        """Start sending `check`'s file with its choices; `RunRefused` when a run is already
        sending with this journal (here, or in another process)."""
        with self._lock:
            busy = next((run for run in self._runs.values() if not run.finished), None)
            if busy is not None:
                raise RunRefused(
                    f"A run is already sending with this journal ({busy.name}, started "
                    f"{busy.started:%H:%M:%S}). Wait for it to finish, or cancel it, then "
                    "start this one.")
            holder = send_lock_holder(self.page.journal_dir) if self.page.live else None
            if holder is not None:
                raise RunRefused(redact(holder[0].upper() + holder[1:]))
            run = Run(secrets.token_urlsafe(9), check, check.choices, dry_run=not self.page.live)
            thread = threading.Thread(target=self._work, args=(run, on_finish),
                                      name=f"bulk-enroll-run-{run.id}", daemon=True)
            self._runs[run.id], self._threads[run.id] = run, thread
        thread.start()
        return run

    def cancel(self, run: Run) -> None:
        run.token.cancel(CANCEL_REASON)
        with run.changed:
            run.version += 1
            run.changed.notify_all()

    def shutdown(self, timeout_s: float = 120.0) -> None:
        """Cancel what is sending and wait for its report (the page is closing)."""
        with self._lock:
            runs = [run for run in self._runs.values() if not run.finished]
            threads = dict(self._threads)
        for run in runs:
            run.token.cancel("the page was stopped")
        for run in runs:
            threads[run.id].join(timeout_s)

    def _work(self, run: Run, on_finish: FinishHook) -> None:
        page, choices = self.page, run.choices
        result = error = None
        try:
            result = enroll(
                run.check.source, dry_run=run.dry_run, reports_dir=page.history.reports,
                sheet=choices.sheet, date_order=choices.date_order,
                due_date_type=choices.due_date_type,
                aliases={**page.history.aliases(), **choices.aliases}, edits=choices.edits,
                rows=choices.rows, progress=run.progress, cancel=run.token,
                **page.api_options())
        except BulkEnrollError as exc:
            error = redact(str(exc))
        except Exception as exc:  # a bug or the machine: the details go to the log
            log_internal_error(exc)
            error = ("An unexpected error stopped the run (details in the log). Rows already "
                     "confirmed are in the journal; starting again sends only the rest.")
        page.runs_finished += 1  # sent or not, the checks made before may be stale now
        try:
            if result is not None:
                on_finish(run, result)
        finally:
            run.finish(result, error)


def past_run(run: Run, result: EnrollResult, *, sandbox: bool) -> PastRun:
    """The history entry of a finished run."""
    return PastRun(
        id=run.id,
        started=run.started.isoformat(sep=" "),
        file=run.name,
        counts=dict(result.counts),
        verdict=str(result.summary.get("verdict", "")),
        report=result.report_path.name,
        sandbox=sandbox,
        dry_run=run.dry_run,
        exit_status=int(result.exit_status),
    )
