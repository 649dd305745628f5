"""Batches -> outcomes per pair, through a transport: safe to run unattended.

- Retries (tenacity): errors that happened before the request left (connection refused, DNS,
  TLS handshake, 503) are retried with exponential backoff and full jitter, never sooner than
  Retry-After, within a per-call attempt limit and a per-run retry budget.
- 429 is the server pacing us, not a failure: the shared `Throttle` learns the limit and the
  call is sent again when it allows, without spending an attempt or the budget. What ends a
  run is no progress: no call accepted for `RetryPolicy.no_progress_s`.
- Lost answers (read timeout, reset after sending, 5xx other than 503): the call may have been
  applied, so it is never resent blindly. The pairs are settled by reading the server's
  enrollment list (an `EnrollmentLister`: the REST client); without one they end `unknown`.
- Rejections (Permission denied, Wrong parameters): a call with several learners or courses is
  halved and each half sent again, recursively, until the bad learner or course is alone; each
  bad ID costs about 2*log2(batch size) extra calls.
- A refused token is renewed once and the call repeated.
- Every call is journalled before it is sent and confirmed after (see `journal.py`).
- `stop()` (Ctrl-C) lets calls in flight finish and starts no new ones.

The clock, the sleep, the transport, the journal and the settler are parameters.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, stop_any
from tenacity.stop import stop_base
from tenacity.wait import wait_random_exponential

from bulk_enroll.errors import AuthError
from bulk_enroll.logs import log_internal_error
from bulk_enroll.model import Batch, BatchOutcome, Pair, PairOutcome, SendStats, Status
from bulk_enroll.plan.planner import plan
from bulk_enroll.send.journal import CallState
from bulk_enroll.send.throttle import Throttle
from bulk_enroll.transport import CallResult, CallVerdict, TransientError, Transport
from bulk_enroll.transport.auth import TokenSource
from bulk_enroll.transport.http import ProtocolError

log = logging.getLogger(__name__)

SETTLE_ATTEMPTS = 3


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: per call, and for the whole run."""

    max_attempts: int = 5
    base_wait_s: float = 0.5
    max_wait_s: float = 30.0
    max_retry_after_s: float = 300.0
    retry_budget: int = 200  # retries per run, across all calls: a dead server ends the run
    settle_delay_s: float = 2.0  # wait before reading back a call whose answer was lost
    no_progress_s: float = 600.0  # no call accepted for this long (only 429s): stop the run

    def wait_seconds(self, state: RetryCallState) -> float:
        """Full-jitter exponential backoff, but never sooner than the server's Retry-After."""
        backoff = wait_random_exponential(multiplier=self.base_wait_s, max=self.max_wait_s)(state)
        error = state.outcome.exception() if state.outcome else None
        retry_after = getattr(getattr(error, "cause", error), "retry_after", None)
        if retry_after is not None:
            return max(backoff, min(float(retry_after), self.max_retry_after_s))
        return backoff


class CallLog(Protocol):
    """Where calls are recorded before and after sending (the journal)."""

    def begin(self, batch: Batch, run_id: str) -> int: ...
    def confirm(self, call_id: int | None, pairs: Sequence[Pair], message: str = "") -> None: ...
    def finish(self, call_id: int, state: CallState, message: str = "") -> None: ...


class EnrollmentLister(Protocol):
    """Reads which of these learner x course pairs the server has enrolled (REST list)."""

    def list_enrollments(self, learner_ids: Iterable[str],
                         course_ids: Iterable[str]) -> set[tuple[str, str]]: ...


class Progress(Protocol):
    def start(self, pairs: int, calls: int) -> None: ...
    def settled(self, pairs: int, status: Status) -> None: ...
    def called(self, *, retry: bool) -> None: ...
    # The rate limit so far: seconds it held calls back, the limit learned (None: not yet).
    def waited(self, waited_s: float, learned_rate: float | None) -> None: ...
    def close(self) -> None: ...


class _NoLog:
    def begin(self, batch: Batch, run_id: str) -> int:
        return 0

    def confirm(self, call_id: int | None, pairs: Sequence[Pair], message: str = "") -> None:
        pass

    def finish(self, call_id: int, state: CallState, message: str = "") -> None:
        pass


class _NoProgress:
    def start(self, pairs: int, calls: int) -> None:
        pass

    def settled(self, pairs: int, status: Status) -> None:
        pass

    def called(self, *, retry: bool) -> None:
        pass

    def waited(self, waited_s: float, learned_rate: float | None) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class SendReport:
    """Everything the sender learned: per pair, per call, and counters."""

    outcomes: dict[Pair, PairOutcome] = field(default_factory=dict)
    batches: list[BatchOutcome] = field(default_factory=list)
    stats: SendStats = field(default_factory=SendStats)
    stopped_reason: str | None = None
    internal_error: bool = False  # a bug or the disk stopped the send (exit 4)


@dataclass(frozen=True)
class _Attempt:
    status: Status
    message: str
    attempts: int
    rejected: bool = False
    applied: frozenset[tuple[str, str]] = frozenset()  # answer lost, server has only these


class _Unsent(Exception):
    """The run stopped while a call waited for its turn: it was never sent (or only refused)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _SafeToRetry(Exception):
    """Wraps a failure after which resending cannot enroll anyone twice."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


class Sender:
    """Sends batches concurrently; one instance per run (it holds the run's counters)."""

    def __init__(
        self,
        transport: Transport,
        tokens: TokenSource,
        *,
        policy: RetryPolicy | None = None,
        concurrency: int = 4,
        throttle: Throttle | None = None,
        journal: CallLog | None = None,
        settler: EnrollmentLister | None = None,
        progress: Progress | None = None,
        run_id: str = "",
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now().replace(microsecond=0),
    ) -> None:
        self.transport = transport
        self.tokens = tokens
        self.policy = policy or RetryPolicy()
        self.concurrency = max(1, concurrency)
        self.throttle = throttle or Throttle(sleep=sleep)
        self.journal: CallLog = journal or _NoLog()
        self.settler = settler
        self.progress: Progress = progress or _NoProgress()
        self.run_id = run_id
        self._sleep = sleep
        self._now = now
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._shown_lock = threading.Lock()
        self._shown: tuple[float, float | None] = (0.0, None)  # rate-limit figures in progress
        self._retries_left = self.policy.retry_budget
        self._report = SendReport()

    def stop(self, reason: str) -> None:
        """Start no new call; calls in flight finish. Safe to call from a signal handler."""
        if self._report.stopped_reason is None:
            self._report.stopped_reason = reason
        self._stop.set()

    def send(self, batches: Sequence[Batch]) -> SendReport:
        """Send every batch; after a stop, the rest are left `not_sent` with the reason."""
        self.progress.start(sum(b.size for b in batches), len(batches))
        started = time.monotonic()
        try:
            with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
                list(pool.map(self._send_top_level, batches))
        finally:
            self._show_rate_limit()
            self.progress.close()
        self._report.stats.send_seconds = round(time.monotonic() - started, 3)
        self._report.stats.token_renewals = getattr(self.tokens, "renewals", 0)
        self._report.stats.rate_limited = self.throttle.refusals
        self._report.stats.rate_wait_s = round(self.throttle.waited_s, 1)
        self._report.stats.learned_rate = _rounded(self.throttle.learned_rate)
        return self._report

    # --- one batch ----------------------------------------------------------------------------

    def _send_top_level(self, batch: Batch) -> None:
        """One planned batch (and its split parts); a failure of the run stops the run, but
        every pair still gets an outcome so the report is written."""
        try:
            self._send_or_split(batch, parent_id=None)
        except AuthError as exc:
            self.stop(f"stopped: {exc}")
            self._record_unsettled(batch, _Attempt(Status.NOT_SENT, f"stopped: {exc}", 0))
        except Exception as exc:  # a bug or the disk (journal) failing: stop, keep the report
            log.error("batch %s: unexpected error; stopping the run: %s", batch.batch_id, exc)
            log_internal_error(exc)  # the traceback, for the log file
            self._report.internal_error = True
            self.stop(f"stopped by an unexpected error: {exc}")
            # The call may have gone out before the error: never claim it was not sent. The
            # journal still holds it in flight, so the next run settles it.
            self._record_unsettled(batch, _Attempt(
                Status.UNKNOWN, f"unexpected error ({exc}); the next run will check whether "
                "it was applied", 0))

    def _send_or_split(self, batch: Batch, parent_id: str | None) -> None:
        if self._stop.is_set():
            reason = self._report.stopped_reason or "stopped"
            self._record(batch, _Attempt(Status.NOT_SENT, f"not sent: {reason}", 0),
                         parent_id=parent_id)
            return
        call_id = self.journal.begin(batch, self.run_id)
        started = time.monotonic()
        try:
            attempt = self._attempt(batch)
        except AuthError:
            self.journal.finish(call_id, CallState.NOT_APPLIED, "token refused")
            raise
        duration = time.monotonic() - started

        if attempt.applied:
            self._settle_partial(batch, attempt, call_id, duration, parent_id)
            return
        if attempt.status is Status.ENROLLED:
            self.journal.confirm(call_id, batch.pairs(), attempt.message)
        elif attempt.rejected:
            self.journal.finish(call_id, CallState.REJECTED, attempt.message)
        elif attempt.status is Status.UNKNOWN:
            self.journal.finish(call_id, CallState.UNKNOWN, attempt.message)
        else:
            self.journal.finish(call_id, CallState.NOT_APPLIED, attempt.message)

        if attempt.rejected and batch.size > 1:
            self._record_call(BatchOutcome(batch, Status.FAILED, f"split: {attempt.message}",
                                           attempt.attempts, duration, parent_id))
            for part in split_batch(batch):
                with self._lock:
                    self._report.stats.isolation_calls += 1
                self._send_or_split(part, parent_id=batch.batch_id)
            return
        self._record(batch, attempt, duration, parent_id)

    def _settle_partial(self, batch: Batch, attempt: _Attempt, call_id: int, duration: float,
                        parent_id: str | None) -> None:
        """A lost answer whose call was partly applied: keep what is there, send the rest."""
        applied = [p for p in batch.pairs() if (p.learner_id, p.course_id) in attempt.applied]
        missing = [p for p in batch.pairs() if (p.learner_id, p.course_id) not in attempt.applied]
        self.journal.confirm(call_id, applied, "partly applied; confirmed by reading the server")
        done = _Attempt(Status.ENROLLED, "answer lost; confirmed by reading the server's "
                        "enrollments", attempt.attempts)
        self._record_pairs(batch, applied, done)
        self._record_call(BatchOutcome(batch, Status.ENROLLED, "partly applied; the rest resent",
                                       attempt.attempts, duration, parent_id))
        for part in plan(missing):
            self._send_or_split(part, parent_id=batch.batch_id)

    def _attempt(self, batch: Batch) -> _Attempt:
        """Call until an answer, a settled loss, or the limits; classify the answer."""
        retrying = Retrying(
            stop=stop_any(stop_after_attempt(self.policy.max_attempts), _BudgetSpent(self)),
            wait=self.policy.wait_seconds,
            retry=retry_if_exception_type(_SafeToRetry),
            sleep=self._sleep,
            before_sleep=self._before_retry(batch),
            reraise=True,
        )
        attempts = 0
        try:
            for attempt in retrying:
                with attempt:
                    if attempts and self._stop.is_set():
                        reason = self._report.stopped_reason or "stopped"
                        return _Attempt(Status.NOT_SENT, f"not retried: {reason}", attempts)
                    attempts += 1
                    outcome = self._one_call(batch, attempts)
                    if outcome is not None:
                        return outcome
        except _SafeToRetry as wrapped:
            spent = " (the run's retry budget is spent)" if self._retries_left <= 0 else ""
            return _Attempt(Status.NOT_SENT, f"not enrolled: no answer after {attempts} "
                            f"attempt(s){spent}: {wrapped.cause}", attempts)
        raise AssertionError("unreachable: tenacity either returns or reraises")

    def _one_call(self, batch: Batch, attempts: int) -> _Attempt | None:
        """One call; returns the outcome, or raises `_SafeToRetry`."""
        try:
            result = self._paced_call(batch, attempts)
        except _Unsent as unsent:
            return _Attempt(Status.NOT_SENT, unsent.reason, attempts)
        except TransientError as exc:
            if not exc.maybe_applied:
                raise _SafeToRetry(exc) from exc
            settled = self._settle(batch, exc, attempts)
            if settled is None:
                raise _SafeToRetry(exc) from exc  # the server shows nothing applied
            return settled
        except ProtocolError as exc:
            if _wrong_endpoint(exc):  # every other call would get the same answer
                self.stop(f"stopped: {exc}")
            settled = self._settle(batch, exc, attempts) if exc.maybe_applied else None
            return settled or _Attempt(Status.FAILED, str(exc), attempts)
        if result.verdict is CallVerdict.SUCCESS:
            return _Attempt(Status.ENROLLED, "", attempts)
        return _Attempt(Status.FAILED, result.message or "rejected by the server", attempts,
                        rejected=True)

    def _paced_call(self, batch: Batch, attempts: int) -> CallResult:
        """One call when the throttle allows, sent again for as long as the server answers
        429: that is pacing, not failure, so it costs no attempt and no retry budget. Raises
        `_Unsent` when the run stops meanwhile (a stop, or no progress for too long)."""
        while True:
            sent_at = self.throttle.acquire(cancelled=self._stop.is_set)
            if sent_at is None:
                raise _Unsent(f"not sent: {self._report.stopped_reason or 'stopped'}")
            self.progress.called(retry=attempts > 1)
            try:
                result = self._call_with_fresh_token(batch)
            except TransientError as exc:
                if not exc.rate_limited:
                    raise
                wait = self.throttle.refused(sent_at, exc.retry_after, exc.rate_limit)
                self._show_rate_limit()
                log.debug("batch %s: %s; sent again in turn", batch.batch_id, exc)
                self._stop_without_progress()
                self.throttle.wait(wait, cancelled=self._stop.is_set)
                continue
            self.throttle.accepted(sent_at, result.rate_limit)
            self._show_rate_limit()
            return result

    def _show_rate_limit(self) -> None:
        """Tell progress the throttle's figures (time it held calls back, limit learned) when
        they changed; under a lock, so they reach it in order. Called after an answer, never
        between a slot and its call: a worker held up there would send late, in a bunch."""
        with self._shown_lock:
            shown = (round(self.throttle.waited_s, 3), self.throttle.learned_rate)
            if shown != self._shown:
                self._shown = shown
                self.progress.waited(*shown)

    def _stop_without_progress(self) -> None:
        """Stop the run once no call has been accepted for `no_progress_s`, or at once when
        the server's limit holds the next call longer than that (no use waiting it out)."""
        idle, ahead = self.throttle.stalled()
        limit = self.policy.no_progress_s
        if self._stop.is_set() or max(idle, ahead) < limit:
            return
        if idle >= limit:
            reason = (f"the server accepted no call for {_seconds(limit)} (it kept answering "
                      "429 Too Many Requests)")
        else:
            reason = (f"the server's rate limit holds the next call for {_seconds(ahead)}, "
                      f"past the no-progress limit of {_seconds(limit)}")
        log.warning("%s; stopping", reason)
        self.stop(f"stopped: {reason} (BULK_ENROLL_NO_PROGRESS_TIMEOUT)")

    def _settle(self, batch: Batch, error: Exception, attempts: int) -> _Attempt | None:
        """After a lost answer: read what the server has. None means nothing was applied."""
        if self.settler is None:
            return _Attempt(Status.UNKNOWN, f"sent, but the answer was lost ({error}); it may "
                            "have been applied. Check in the LMS, or rerun with the REST API "
                            "configured to settle it (--resend-unknown to send again)", attempts)
        self._sleep(self.policy.settle_delay_s)
        wanted = {(p.learner_id, p.course_id) for p in batch.pairs()}
        for attempt in range(1, SETTLE_ATTEMPTS + 1):
            try:
                with self._lock:
                    self._report.stats.extra["settle_reads"] = (
                        self._report.stats.extra.get("settle_reads", 0) + 1)
                present = wanted & self.settler.list_enrollments(batch.learner_ids,
                                                               batch.course_ids)
                break
            except Exception as exc:  # any failure to read means we cannot know
                log.warning("batch %s: reading the enrollment list failed (%s)",
                            batch.batch_id, exc)
                if attempt == SETTLE_ATTEMPTS:
                    return _Attempt(Status.UNKNOWN, f"sent, but the answer was lost ({error}) "
                                    f"and the enrollment list could not be read ({exc})",
                                    attempts)
                self._sleep(self.policy.settle_delay_s * attempt)
        if present == wanted:
            return _Attempt(Status.ENROLLED, "answer lost; confirmed by reading the server's "
                            "enrollments", attempts)
        if not present:
            log.info("batch %s: answer lost, nothing applied: sending again", batch.batch_id)
            return None
        return _Attempt(Status.ENROLLED, "partly applied", attempts, applied=frozenset(present))

    def _call_with_fresh_token(self, batch: Batch) -> CallResult:
        """One call; if the token was refused, renew it once and repeat the call."""
        token = self.tokens.get()
        with self._lock:
            self._report.stats.api_calls += 1
        result = self.transport.enroll(batch, token)
        if result.verdict is not CallVerdict.AUTH:
            return result
        log.info("token refused (%s); renewing it", result.message)
        token = self.tokens.renew(token)
        with self._lock:
            self._report.stats.api_calls += 1
        result = self.transport.enroll(batch, token)
        if result.verdict is CallVerdict.AUTH:
            raise AuthError(f"the server refused a freshly issued token ({result.message})")
        return result


    def _take_retry(self) -> bool:
        with self._lock:
            if self._retries_left <= 0:
                return False
            self._retries_left -= 1
            return True

    def _before_retry(self, batch: Batch) -> Callable[[RetryCallState], None]:
        def before_sleep(state: RetryCallState) -> None:
            with self._lock:
                self._report.stats.retries += 1
            error = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            log.warning("batch %s: attempt %d failed (%s); retrying in %.1f s",
                        batch.batch_id, state.attempt_number, error, wait)
        return before_sleep

    # --- recording ----------------------------------------------------------------------------

    def _record(self, batch: Batch, attempt: _Attempt, duration: float = 0.0,
                parent_id: str | None = None) -> None:
        self._record_pairs(batch, batch.pairs(), attempt)
        self._record_call(BatchOutcome(batch, attempt.status, attempt.message, attempt.attempts,
                                       duration, parent_id))

    def _record_unsettled(self, batch: Batch, attempt: _Attempt) -> None:
        """Give `attempt` to the pairs of `batch` that have no outcome yet (after a stop, the
        parts of a split batch that were already settled keep their outcome)."""
        with self._lock:
            open_pairs = [p for p in batch.pairs() if p not in self._report.outcomes]
        self._record_pairs(batch, open_pairs, attempt)
        self._record_call(BatchOutcome(batch, attempt.status, attempt.message, attempt.attempts))

    def _record_pairs(self, batch: Batch, pairs: Sequence[Pair], attempt: _Attempt) -> None:
        outcome = PairOutcome(attempt.status, attempt.message, batch.batch_id, attempt.attempts,
                              self._now())
        with self._lock:
            for pair in pairs:
                self._report.outcomes[pair] = outcome
        self.progress.settled(len(pairs), attempt.status)

    def _record_call(self, outcome: BatchOutcome) -> None:
        with self._lock:
            self._report.batches.append(outcome)


def _rounded(rate: float | None) -> float | None:
    return None if rate is None else round(rate, 2)


def _seconds(value: float) -> str:
    if value >= 2 * 3600:
        return f"{value / 3600:.0f} h"
    return f"{value / 60:.3g} min" if value >= 120 else f"{value:.3g} s"


def _wrong_endpoint(error: ProtocolError) -> bool:
    """A redirect, 404 or 405: the configured URL is not the API, for this call or any other."""
    status = error.http_status or 0
    return 300 <= status < 400 or status in (404, 405)


class _BudgetSpent(stop_base):
    """Tenacity stop condition: the run's retry budget is used up."""

    def __init__(self, sender: Sender) -> None:
        self.sender = sender

    def __call__(self, retry_state: RetryCallState) -> bool:
        """Stop if the budget is spent; otherwise take one retry from it, atomically (checked
        and taken under one lock, so concurrent workers never overspend it)."""
        return not self.sender._take_retry()


def split_batch(batch: Batch) -> tuple[Batch, Batch]:
    """Halve the longer side; the parts' IDs extend the parent's, so the report traces them."""
    learners, courses = batch.learner_ids, batch.course_ids
    if len(learners) >= len(courses):
        mid = len(learners) // 2
        parts = ((learners[:mid], courses), (learners[mid:], courses))
    else:
        mid = len(courses) // 2
        parts = ((learners, courses[:mid]), (learners, courses[mid:]))
    first, second = (
        Batch(f"{batch.batch_id}.{n}", batch.settings, part_learners, part_courses)
        for n, (part_learners, part_courses) in enumerate(parts, start=1)
    )
    return first, second
