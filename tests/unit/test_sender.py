"""Sender with a scripted transport: retries, Retry-After, token renewal, bad-ID isolation."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from bulk_enroll.errors import AuthError
from bulk_enroll.model import Batch, DueDateType, DueSettings, Pair, Status
from bulk_enroll.send.sender import RetryPolicy, Sender, split_batch
from bulk_enroll.transport import CallResult, CallVerdict, TransientError
from bulk_enroll.transport.auth import StaticToken
from bulk_enroll.transport.http import ProtocolError

S = DueSettings(DueDateType.UNLIMITED)
OK = CallResult(CallVerdict.SUCCESS)


class ScriptedTransport:
    """Answers each call with `decide(batch, token, call_number)`; records every call."""

    name = "fake"

    def __init__(self, decide: Callable[[Batch, str, int], CallResult]) -> None:
        self.decide = decide
        self.calls: list[tuple[Batch, str]] = []
        self._lock = threading.Lock()

    def enroll(self, batch: Batch, token: str) -> CallResult:
        with self._lock:
            self.calls.append((batch, token))
            number = len(self.calls)
        return self.decide(batch, token, number)


class RenewingTokens:
    def __init__(self) -> None:
        self.current, self.renewals = "t0", 0

    def get(self) -> str:
        return self.current

    def renew(self, stale: str) -> str:
        if stale == self.current:
            self.renewals += 1
            self.current = f"t{self.renewals}"
        return self.current


def batch(learners: int, courses: int = 1, batch_id: str = "b-1") -> Batch:
    return Batch(
        batch_id, S, tuple(f"l{i}" for i in range(learners)), tuple(f"c{i}" for i in range(courses))
    )


def make_sender(transport, tokens=None, sleeps=None, attempts=4) -> Sender:
    return Sender(
        transport,
        tokens or StaticToken("tok"),
        policy=RetryPolicy(max_attempts=attempts, base_wait_s=0.01, max_wait_s=0.05),
        concurrency=2,
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
    )


def test_transient_errors_are_retried_until_success():
    def decide(b, t, n):
        if n < 3:
            raise TransientError("HTTP 503", maybe_applied=False)
        return OK

    transport, sleeps = ScriptedTransport(decide), []
    report = make_sender(transport, sleeps=sleeps).send([batch(2)])
    assert {o.status for o in report.outcomes.values()} == {Status.ENROLLED}
    assert len(transport.calls) == 3 and report.stats.retries == 2 and len(sleeps) == 2
    assert report.outcomes[Pair("l0", "c0", S)].attempts == 3


def test_retry_after_sets_the_minimum_wait():
    def decide(b, t, n):
        if n == 1:
            raise TransientError("HTTP 503", maybe_applied=False, retry_after=3)
        return OK

    sleeps: list[float] = []
    make_sender(ScriptedTransport(decide), sleeps=sleeps).send([batch(1)])
    assert sleeps and sleeps[0] >= 3


def too_many(retry_after: float | None = 1) -> TransientError:
    return TransientError("HTTP 429", maybe_applied=False, retry_after=retry_after,
                          http_status=429)


def test_429s_spend_neither_the_calls_attempts_nor_the_runs_retry_budget():
    def decide(b, t, n):
        if n <= 12:  # twelve 429s for a call allowed two attempts, in a run with no budget
            raise too_many()
        return OK

    transport = ScriptedTransport(decide)
    sender = Sender(transport, StaticToken("t"), concurrency=1, sleep=lambda s: None,
                    policy=RetryPolicy(max_attempts=2, retry_budget=0))
    report = sender.send([batch(3)])
    assert {o.status for o in report.outcomes.values()} == {Status.ENROLLED}
    assert report.stats.retries == 0 and report.stats.rate_limited == 12
    assert report.outcomes[Pair("l0", "c0", S)].attempts == 1


def test_a_503_still_spends_the_budget_while_429s_do_not():
    def decide(b, t, n):
        if n % 2:
            raise too_many()
        raise TransientError("HTTP 503", maybe_applied=False)

    sender = Sender(ScriptedTransport(decide), StaticToken("t"), concurrency=1,
                    sleep=lambda s: None, policy=RetryPolicy(max_attempts=3, retry_budget=10))
    report = sender.send([batch(1)])
    [outcome] = report.outcomes.values()
    assert outcome.status is Status.NOT_SENT and outcome.attempts == 3
    assert report.stats.retries == 2 and report.stats.rate_limited == 3


def test_no_call_accepted_for_the_no_progress_time_stops_the_run_with_not_sent_rows():
    calls = []

    def refuse_all(b, t, n):
        calls.append(b.batch_id)
        raise too_many(retry_after=5)

    class Journal:
        def __init__(self):
            self.finished = []

        def begin(self, b, run_id):
            return len(self.finished)

        def confirm(self, call_id, pairs, message=""):
            raise AssertionError("nothing was accepted")

        def finish(self, call_id, state, message=""):
            self.finished.append(state)

    journal = Journal()
    sender = Sender(ScriptedTransport(refuse_all), StaticToken("t"), concurrency=2,
                    sleep=lambda s: None, journal=journal,
                    policy=RetryPolicy(retry_budget=0, no_progress_s=60))
    report = sender.send([batch(2, batch_id=f"b-{i}") for i in range(5)])
    assert {o.status for o in report.outcomes.values()} == {Status.NOT_SENT}
    assert "accepted no call for 60 s" in report.stopped_reason
    assert all("BULK_ENROLL_NO_PROGRESS_TIMEOUT" in o.message for o in report.outcomes.values())
    assert 10 <= len(calls) <= 40  # paced retries, then the stop; not a hot loop
    assert {state.value for state in journal.finished} == {"not_applied"}  # safe to resend


def test_a_retry_after_longer_than_the_no_progress_time_stops_at_once():
    def refuse(b, t, n):
        raise too_many(retry_after=3600)

    sender = Sender(ScriptedTransport(refuse), StaticToken("t"), concurrency=1,
                    sleep=lambda s: None, policy=RetryPolicy(no_progress_s=600))
    report = sender.send([batch(1)])
    assert "holds the next call for 60 min" in report.stopped_reason
    assert report.stats.api_calls == 1


def test_a_lost_answer_without_a_settler_is_unknown_and_never_resent():
    def lost(b, t, n):
        raise TransientError("read timeout", maybe_applied=True)

    transport = ScriptedTransport(lost)
    report = make_sender(transport).send([batch(1)])
    assert [o.status for o in report.outcomes.values()] == [Status.UNKNOWN]
    assert len(transport.calls) == 1


def test_exhausted_safe_retries_leave_the_pairs_not_sent():
    def refused(b, t, n):
        raise TransientError("connection refused", maybe_applied=False)

    report = make_sender(ScriptedTransport(refused)).send([batch(1)])
    [outcome] = report.outcomes.values()
    assert outcome.status is Status.NOT_SENT
    assert "no answer after 4 attempt(s)" in outcome.message


def test_the_run_retry_budget_caps_retries_across_calls():
    def refused(b, t, n):
        raise TransientError("connection refused", maybe_applied=False)

    transport = ScriptedTransport(refused)
    sender = Sender(transport, StaticToken("t"), concurrency=1, sleep=lambda s: None,
                    policy=RetryPolicy(max_attempts=10, retry_budget=5))
    report = sender.send([batch(1, batch_id=f"b-{i}") for i in range(4)])
    assert report.stats.retries == 5
    assert len(transport.calls) == 4 + 5  # one first attempt per batch, five retries in all
    assert all("retry budget is spent" in o.message for o in report.outcomes.values()
               if o.batch_id != "b-0")


def test_a_partly_applied_lost_call_confirms_what_is_there_and_resends_only_the_rest():
    class Settler:
        def list_enrollments(self, learners, courses):
            return {("l0", "c0"), ("l1", "c0")}

    def decide(b, t, n):
        if n == 1:
            raise TransientError("read timeout", maybe_applied=True)
        return OK

    transport = ScriptedTransport(decide)
    sender = Sender(transport, StaticToken("t"), concurrency=1, sleep=lambda s: None,
                    settler=Settler())
    report = sender.send([batch(4)])
    assert {o.status for o in report.outcomes.values()} == {Status.ENROLLED}
    resent = {p for b, _ in transport.calls[1:] for p in b.pairs()}
    assert {p.learner_id for p in resent} == {"l2", "l3"}


def test_stop_lets_nothing_new_start():
    sender = make_sender(ScriptedTransport(lambda b, t, n: OK))
    sender.stop("interrupted (Ctrl-C)")
    report = sender.send([batch(2)])
    assert {o.status for o in report.outcomes.values()} == {Status.NOT_SENT}
    assert report.stopped_reason == "interrupted (Ctrl-C)"


def test_every_call_is_journalled_before_sending_and_settled_after():
    events: list[tuple[str, object]] = []

    class Log:
        def begin(self, b, run_id):
            events.append(("begin", b.batch_id))
            return len(events)

        def confirm(self, call_id, pairs, message=""):
            events.append(("confirm", len(pairs)))

        def finish(self, call_id, state, message=""):
            events.append(("finish", state.value))

    def decide(b, t, n):
        assert events[-1][0] == "begin"  # journalled before the call left
        return CallResult(CallVerdict.REJECTED, "Wrong parameters") if "l1" in b.learner_ids \
            else OK

    sender = Sender(ScriptedTransport(decide), StaticToken("t"), concurrency=1,
                    sleep=lambda s: None, journal=Log())
    sender.send([batch(2)])
    assert events == [("begin", "b-1"), ("finish", "rejected"), ("begin", "b-1.1"),
                      ("confirm", 1), ("begin", "b-1.2"), ("finish", "rejected")]


@pytest.mark.parametrize("reason", ["Permission denied", "Wrong parameters"])
def test_rejections_are_not_retried_and_isolate_exactly_the_bad_learner(reason):
    def decide(b, t, n):
        return CallResult(CallVerdict.REJECTED, reason) if "l5" in b.learner_ids else OK

    transport = ScriptedTransport(decide)
    report = make_sender(transport).send([batch(16)])
    failed = {p.learner_id for p, o in report.outcomes.items() if o.status is Status.FAILED}
    enrolled = {p.learner_id for p, o in report.outcomes.items() if o.status is Status.ENROLLED}
    assert failed == {"l5"} and len(enrolled) == 15
    assert report.outcomes[Pair("l5", "c0", S)].message == reason
    # 1 + 2 * log2(16) calls: logarithmic in the batch size for one bad ID
    assert len(transport.calls) == 9 and report.stats.isolation_calls == 8


def test_a_bad_course_is_isolated_across_courses():
    def decide(b, t, n):
        return CallResult(CallVerdict.REJECTED, "Wrong parameters") if "c2" in b.course_ids else OK

    report = make_sender(ScriptedTransport(decide)).send([batch(3, 4)])
    failed = {p.course_id for p, o in report.outcomes.items() if o.status is Status.FAILED}
    assert failed == {"c2"}
    assert sum(o.status is Status.ENROLLED for o in report.outcomes.values()) == 9


def test_a_refused_token_is_renewed_once_and_the_call_repeated():
    def decide(b, t, n):
        return OK if t != "t0" else CallResult(CallVerdict.AUTH, "Token expired")

    tokens, transport = RenewingTokens(), ScriptedTransport(decide)
    report = make_sender(transport, tokens=tokens).send([batch(2)])
    assert {o.status for o in report.outcomes.values()} == {Status.ENROLLED}
    assert [t for _, t in transport.calls] == ["t0", "t1"]
    assert report.stats.token_renewals == 1


def test_a_static_token_refused_stops_the_run_and_leaves_the_rest_not_sent():
    transport = ScriptedTransport(lambda b, t, n: CallResult(CallVerdict.AUTH, "Invalid token"))
    sender = Sender(transport, StaticToken("tok"), concurrency=1, sleep=lambda s: None)
    report = sender.send([batch(1, batch_id="b-1"), batch(1, 2, batch_id="b-2")])
    assert {o.status for o in report.outcomes.values()} == {Status.NOT_SENT}
    assert report.stopped_reason and "BULK_ENROLL_TOKEN" in report.stopped_reason
    assert len(transport.calls) == 1  # the second batch was never attempted


def test_split_halves_the_longer_side_and_keeps_every_pair():
    parent = batch(5, 2)
    first, second = split_batch(parent)
    assert (first.batch_id, second.batch_id) == ("b-1.1", "b-1.2")
    assert sorted(first.pairs() + second.pairs(), key=repr) == sorted(parent.pairs(), key=repr)
    assert len(first.learner_ids) == 2 and len(second.learner_ids) == 3


def test_auth_error_type_is_what_static_tokens_raise():
    with pytest.raises(AuthError):
        StaticToken("x").renew("x")


def test_an_unreadable_answer_is_unknown_and_not_split():
    def decide(b, t, n):
        raise ProtocolError("the server's answer was not a SOAP response (HTTP 200: HTML)")

    transport = ScriptedTransport(decide)
    report = make_sender(transport).send([batch(8)])
    assert {o.status for o in report.outcomes.values()} == {Status.UNKNOWN}
    assert len(transport.calls) == 1 and report.stats.isolation_calls == 0


def test_a_refused_token_in_the_middle_of_a_split_keeps_the_halves_already_enrolled():
    def decide(b, t, n):
        if n == 1:
            return CallResult(CallVerdict.REJECTED, "Wrong parameters")
        if b.batch_id == "b-1.1":
            return OK
        return CallResult(CallVerdict.AUTH, "Invalid token")

    sender = Sender(ScriptedTransport(decide), StaticToken("tok"), concurrency=1,
                    sleep=lambda s: None)
    report = sender.send([batch(4)])
    status = {p.learner_id: o.status for p, o in report.outcomes.items()}
    assert status == {"l0": Status.ENROLLED, "l1": Status.ENROLLED,
                      "l2": Status.NOT_SENT, "l3": Status.NOT_SENT}


def test_an_unexpected_error_stops_the_run_but_every_pair_gets_an_outcome():
    class BrokenJournal:
        def begin(self, b, run_id):
            return 1

        def confirm(self, call_id, pairs, message=""):
            raise OSError("database or disk is full")

        def finish(self, call_id, state, message=""):
            pass

    transport = ScriptedTransport(lambda b, t, n: OK)
    sender = Sender(transport, StaticToken("tok"), concurrency=1, sleep=lambda s: None,
                    journal=BrokenJournal())
    first, second = Batch("b-1", S, ("a",), ("c0",)), Batch("b-2", S, ("b",), ("c0",))
    report = sender.send([first, second])
    assert len(transport.calls) == 1  # the run stopped after the first failure
    statuses = {p.learner_id: o.status for p, o in report.outcomes.items()}
    assert statuses == {"a": Status.UNKNOWN, "b": Status.NOT_SENT}
    assert "database or disk is full" in (report.stopped_reason or "")


def test_concurrent_workers_never_overspend_the_retry_budget():
    def refused(b, t, n):
        raise TransientError("connection refused", maybe_applied=False)

    sender = Sender(ScriptedTransport(refused), StaticToken("t"), concurrency=8,
                    sleep=lambda s: None, policy=RetryPolicy(max_attempts=50, retry_budget=7))
    report = sender.send([batch(1, batch_id=f"b-{i}") for i in range(16)])
    assert report.stats.retries == 7
