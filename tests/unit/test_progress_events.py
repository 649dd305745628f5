"""Progress events for the Python API, and the cancel token: ordered, monotonic, thread-safe."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from bulk_enroll.model import Batch, DueDateType, DueSettings, Status
from bulk_enroll.send.interrupt import CancelToken, stop_on_cancel
from bulk_enroll.send.progress import EventProgress, ProgressEvent
from bulk_enroll.send.sender import Sender
from bulk_enroll.send.throttle import Throttle
from bulk_enroll.transport import CallResult, CallVerdict, TransientError
from bulk_enroll.transport.auth import StaticToken

S = DueSettings(DueDateType.UNLIMITED)


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


class Transport:
    """Answers each call with `answer(call_number)`."""

    name = "fake"

    def __init__(self, answer=lambda n: CallResult(CallVerdict.SUCCESS)) -> None:  # noqa: B008
        self.answer, self.calls, self._lock = answer, 0, threading.Lock()

    def enroll(self, batch: Batch, token: str) -> CallResult:
        with self._lock:
            self.calls += 1
            number = self.calls
        return self.answer(number)


def batches(count: int, learners: int = 2) -> list[Batch]:
    return [Batch(f"b-{n}", S, tuple(f"l{n}-{i}" for i in range(learners)), ("c",))
            for n in range(count)]


def test_stages_then_send_counters_with_an_eta_from_the_rate():
    clock, events = Clock(), []
    progress = EventProgress(events.append, clock=clock)
    progress.stage("resolve", rows=12)
    progress.start(pairs=30, calls=3)
    clock.now += 10
    progress.called(retry=False)
    progress.settled(10, Status.ENROLLED)
    progress.called(retry=True)
    progress.waited(1.5, 19.5)
    progress.settled(20, Status.FAILED)
    progress.stage("done")
    assert [e.stage for e in events] == ["resolve", "send", "send", "send", "send", "send",
                                         "send", "done"]
    assert events[3] == ProgressEvent("send", rows=12, pairs_total=30, pairs_settled=10,
                                      calls_planned=3, calls_made=1, elapsed_s=10.0, eta_s=20.0)
    last = events[-1]
    assert (last.pairs_settled, last.not_enrolled, last.calls_made, last.retries) == (30, 20, 2, 1)
    assert last.rate_limit_wait_s == 1.5 and last.learned_rate_per_s == 19.5
    assert last.rows == 12 and last.eta_s is None
    assert events[1].eta_s is None  # nothing settled yet: no ETA rather than a guess


def test_a_failing_callback_is_logged_once_and_never_stops_the_run(caplog):
    calls = []

    def broken(event: ProgressEvent) -> None:
        calls.append(event)
        raise RuntimeError("display gone")

    progress = EventProgress(broken)
    with caplog.at_level(logging.ERROR, logger="bulk_enroll.send.progress"):
        progress.start(pairs=2, calls=1)
        progress.settled(2, Status.ENROLLED)
    assert len(calls) == 1
    assert "the progress callback failed" in caplog.text


def test_events_from_the_sending_threads_arrive_in_order_and_end_at_the_total():
    events: list[ProgressEvent] = []
    seen_threads: set[str] = set()

    def record(event: ProgressEvent) -> None:
        seen_threads.add(threading.current_thread().name)
        events.append(event)

    sender = Sender(Transport(), StaticToken("t"), concurrency=4, sleep=lambda s: None,
                    progress=EventProgress(record))
    sender.send(batches(40))
    settled = [e.pairs_settled for e in events]
    calls = [e.calls_made for e in events]
    assert settled == sorted(settled) and calls == sorted(calls)
    assert settled[-1] == events[-1].pairs_total == 80 and calls[-1] == 40
    assert len(seen_threads) > 1  # called from the sender's worker threads


def test_waiting_on_the_rate_limit_is_reported():
    events: list[ProgressEvent] = []
    paced = Sender(Transport(), StaticToken("t"), concurrency=1, progress=EventProgress(
        events.append), throttle=Throttle(max_rate=25))
    report = paced.send(batches(5))  # about 0.04 s between calls
    assert events[-1].rate_limit_wait_s > 0.1
    assert events[-1].learned_rate_per_s is None  # configured, not learned
    assert report.stats.rate_wait_s == pytest.approx(events[-1].rate_limit_wait_s, abs=0.05)


def test_the_learned_limit_and_the_wait_come_from_the_limiter_as_the_summary_has_them():
    events: list[ProgressEvent] = []
    waits: list[float] = []

    def answer(number: int) -> CallResult:
        if number == 11:  # ten calls got through: 429 with Retry-After: 1
            raise TransientError("HTTP 429", maybe_applied=False, retry_after=1, http_status=429)
        return CallResult(CallVerdict.SUCCESS)

    sender = Sender(Transport(answer), StaticToken("t"), concurrency=1, sleep=waits.append,
                    progress=EventProgress(events.append))
    report = sender.send(batches(15))
    last = events[-1]
    assert last.learned_rate_per_s == pytest.approx(10) == report.stats.learned_rate
    # The pause of 1 s, then the four calls left at 95% of 10 per second.
    assert last.rate_limit_wait_s == pytest.approx(1 + 4 / 9.5, abs=0.05)
    assert sum(waits) == pytest.approx(last.rate_limit_wait_s, abs=0.05)
    assert report.stats.rate_wait_s == pytest.approx(last.rate_limit_wait_s, abs=0.05)
    waited = [e.rate_limit_wait_s for e in events]
    assert waited == sorted(waited)
    assert report.stats.retries == 0 and last.calls_made == 16


def test_cancel_from_another_thread_stops_the_send_like_a_signal():
    token, started = CancelToken(), threading.Event()

    def answer(number: int) -> CallResult:
        started.set()
        time.sleep(0.02)
        return CallResult(CallVerdict.SUCCESS)

    sender = Sender(Transport(answer), StaticToken("t"), concurrency=1, sleep=lambda s: None)
    canceller = threading.Thread(target=lambda: started.wait() and token.cancel("cancelled"))
    canceller.start()
    with stop_on_cancel(token, sender.stop):
        report = sender.send(batches(50))
    canceller.join()
    statuses = [o.status for o in report.outcomes.values()]
    assert Status.ENROLLED in statuses  # the call in flight finished
    assert statuses.count(Status.NOT_SENT) > 80  # the rest never started
    assert report.stopped_reason == "cancelled"
    assert {o.message for o in report.outcomes.values() if o.status is Status.NOT_SENT} == {
        "not sent: cancelled"}


def test_a_token_cancelled_before_the_send_stops_it_at_once_and_stays_cancelled():
    token = CancelToken()
    token.cancel("cancelled from the web page")
    token.cancel("again")  # a second cancel changes nothing
    assert token.cancelled and token.reason == "cancelled from the web page"
    transport = Transport()
    sender = Sender(transport, StaticToken("t"), sleep=lambda s: None)
    with stop_on_cancel(token, sender.stop):
        report = sender.send(batches(3))
    assert transport.calls == 0
    assert report.stopped_reason == "cancelled from the web page"


def test_after_the_block_a_cancel_reaches_nobody():
    token, stops = CancelToken(), []
    with stop_on_cancel(token, stops.append):
        pass
    token.cancel()
    assert stops == [] and token.cancelled
