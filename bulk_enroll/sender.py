"""Batches -> outcomes per pair, through a transport: retries, token renewal, bad-row isolation.

The API answers a whole call with one success flag. So a rejected call with several learners or
courses is split in two and each half is sent again, recursively, until the offending learner or
course is alone: its pairs fail with the server's reason and everything else is enrolled. Each
bad ID costs about 2*log2(batch size) extra calls.

Transient failures (network, 5xx, 429) are retried with exponential backoff and full jitter,
honouring Retry-After. The clock, the sleep and the transport are parameters so tests run fast.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_random_exponential

from bulk_enroll.errors import AuthError
from bulk_enroll.model import Batch, BatchOutcome, Pair, PairOutcome, SendStats, Status
from bulk_enroll.transport import CallResult, CallVerdict, TransientError, Transport
from bulk_enroll.transport.auth import TokenSource
from bulk_enroll.transport.http import ProtocolError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one call before giving up on it."""

    max_attempts: int = 5
    base_wait_s: float = 0.5
    max_wait_s: float = 30.0
    max_retry_after_s: float = 300.0

    def wait_seconds(self, state: RetryCallState) -> float:
        """Full-jitter exponential backoff, but never sooner than the server's Retry-After."""
        backoff = wait_random_exponential(multiplier=self.base_wait_s, max=self.max_wait_s)(state)
        error = state.outcome.exception() if state.outcome else None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return max(backoff, min(float(retry_after), self.max_retry_after_s))
        return backoff


@dataclass
class SendReport:
    """Everything the sender learned: per pair, per call, and counters."""

    outcomes: dict[Pair, PairOutcome] = field(default_factory=dict)
    batches: list[BatchOutcome] = field(default_factory=list)
    stats: SendStats = field(default_factory=SendStats)
    stopped_reason: str | None = None


@dataclass(frozen=True)
class _Attempt:
    status: Status
    message: str
    attempts: int
    rejected: bool = False


class Sender:
    """Sends batches concurrently; one instance per run (it holds the run's counters)."""

    def __init__(
        self,
        transport: Transport,
        tokens: TokenSource,
        *,
        policy: RetryPolicy | None = None,
        concurrency: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now().replace(microsecond=0),
    ) -> None:
        self.transport = transport
        self.tokens = tokens
        self.policy = policy or RetryPolicy()
        self.concurrency = max(1, concurrency)
        self._sleep = sleep
        self._now = now
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._report = SendReport()

    def send(self, batches: Sequence[Batch]) -> SendReport:
        """Send every batch; after an authentication failure, the rest are left `not_sent`."""
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            list(pool.map(self._send_top_level, batches))
        self._report.stats.token_renewals = getattr(self.tokens, "renewals", 0)
        return self._report

    def _send_top_level(self, batch: Batch) -> None:
        if self._stop.is_set():
            self._record(batch, _Attempt(Status.NOT_SENT, self._report.stopped_reason or "", 0))
            return
        try:
            self._send_or_split(batch, parent_id=None)
        except AuthError as exc:
            with self._lock:
                if self._report.stopped_reason is None:
                    self._report.stopped_reason = f"stopped: {exc}"
            self._stop.set()
            self._record(batch, _Attempt(Status.NOT_SENT, f"stopped: {exc}", 0))

    def _send_or_split(self, batch: Batch, parent_id: str | None) -> None:
        started = time.monotonic()
        attempt = self._attempt(batch)
        duration = time.monotonic() - started
        if attempt.rejected and batch.size > 1:
            self._record_call(
                BatchOutcome(
                    batch,
                    Status.FAILED,
                    f"split: {attempt.message}",
                    attempt.attempts,
                    duration,
                    parent_id,
                )
            )
            for part in split_batch(batch):
                with self._lock:
                    self._report.stats.isolation_calls += 1
                self._send_or_split(part, parent_id=batch.batch_id)
            return
        self._record(batch, attempt, duration, parent_id)

    def _attempt(self, batch: Batch) -> _Attempt:
        """Call until an answer or the attempt limit; classify what that answer means."""
        retrying = Retrying(
            stop=stop_after_attempt(self.policy.max_attempts),
            wait=self.policy.wait_seconds,
            retry=retry_if_exception_type(TransientError),
            sleep=self._sleep,
            before_sleep=self._log_retry(batch),
            reraise=True,
        )
        attempts = 0
        maybe_applied = False
        try:
            for attempt in retrying:
                with attempt:
                    attempts += 1
                    try:
                        result = self._call_with_fresh_token(batch)
                    except TransientError as exc:
                        maybe_applied = maybe_applied or exc.maybe_applied
                        raise
        except ProtocolError as exc:
            # The server took the POST but its answer is unreadable: the call may have been
            # applied, and splitting would only repeat the same garbage, so no isolation.
            status = Status.UNKNOWN if exc.maybe_applied else Status.FAILED
            return _Attempt(status, str(exc), attempts)
        except TransientError as exc:
            if maybe_applied:
                return _Attempt(
                    Status.UNKNOWN,
                    f"no answer after {attempts} attempts ({exc}); "
                    "the enrollment may or may not have been applied",
                    attempts,
                )
            return _Attempt(
                Status.NOT_SENT,
                f"could not reach the server after {attempts} attempts ({exc})",
                attempts,
            )
        if result.verdict is CallVerdict.SUCCESS:
            return _Attempt(Status.ENROLLED, "", attempts)
        return _Attempt(
            Status.FAILED, result.message or "rejected by the server", attempts, rejected=True
        )

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

    def _log_retry(self, batch: Batch) -> Callable[[RetryCallState], None]:
        def before_sleep(state: RetryCallState) -> None:
            with self._lock:
                self._report.stats.retries += 1
            error = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            log.warning(
                "batch %s: attempt %d failed (%s); retrying in %.1f s",
                batch.batch_id,
                state.attempt_number,
                error,
                wait,
            )

        return before_sleep

    def _record(
        self, batch: Batch, attempt: _Attempt, duration: float = 0.0, parent_id: str | None = None
    ) -> None:
        at = self._now()
        outcome = PairOutcome(attempt.status, attempt.message, batch.batch_id, attempt.attempts, at)
        with self._lock:
            for pair in batch.pairs():
                self._report.outcomes[pair] = outcome
        self._record_call(
            BatchOutcome(
                batch, attempt.status, attempt.message, attempt.attempts, duration, parent_id
            )
        )

    def _record_call(self, outcome: BatchOutcome) -> None:
        with self._lock:
            self._report.batches.append(outcome)


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
