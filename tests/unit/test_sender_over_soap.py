"""Sender + SOAP transport over requests-mock: what is resent on the wire, and what never is."""

from __future__ import annotations

import pytest
import requests

from bulk_enroll.model import Batch, DueDateType, DueSettings, Status
from bulk_enroll.send.sender import RetryPolicy, Sender
from bulk_enroll.transport.auth import StaticToken
from bulk_enroll.transport.http import make_session
from bulk_enroll.transport.soap import SoapTransport

URL = "https://learn.example.com/soap"
BATCH = Batch("b-1", DueSettings(DueDateType.UNLIMITED), ("l1",), ("c1",))
SUCCESS = (b'<?xml version="1.0"?><e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/">'
           b"<e:Body><SuccessResult><success>true</success></SuccessResult></e:Body></e:Envelope>")
OK = {"status_code": 200, "content": SUCCESS}


def fault(text: str) -> bytes:
    return (b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><e:Fault>'
            b"<faultcode>e:Client</faultcode><faultstring>" + text.encode()
            + b"</faultstring></e:Fault></e:Body></e:Envelope>")


class FixedSettler:
    def __init__(self, present: set[tuple[str, str]]) -> None:
        self.present, self.reads = present, 0

    def list_enrollments(self, learner_ids, course_ids):
        self.reads += 1
        return self.present


def sender(sleeps: list[float], settler=None) -> Sender:
    transport = SoapTransport(URL, session=make_session("test"), timeout=(1, 1))
    return Sender(transport, StaticToken("tok"), policy=RetryPolicy(max_attempts=4),
                  concurrency=1, sleep=sleeps.append, settler=settler)


@pytest.mark.parametrize("first", [
    {"status_code": 503, "text": "<html>busy</html>"},
    {"status_code": 429, "text": "slow down", "headers": {"Retry-After": "2"}},
    {"exc": requests.exceptions.ConnectTimeout},
])
def test_failures_before_the_server_took_the_call_are_resent_without_a_check(requests_mock,
                                                                            first):
    requests_mock.post(URL, [first, OK])
    sleeps: list[float] = []
    report = sender(sleeps).send([BATCH])
    assert [o.status for o in report.outcomes.values()] == [Status.ENROLLED]
    assert requests_mock.call_count == 2
    if first.get("status_code") == 429:  # pacing, not a failure: no retry spent, the wait kept
        assert report.stats.retries == 0 and report.stats.rate_limited == 1
        assert sum(sleeps) >= 1.9  # Retry-After: 2, less the time the answer took
    else:
        assert report.stats.retries == 1


@pytest.mark.parametrize("lost", [
    {"status_code": 502, "text": ""},
    {"status_code": 500, "text": "<html>oops</html>"},
    {"exc": requests.exceptions.ReadTimeout},
])
def test_a_lost_answer_is_never_resent_blindly(requests_mock, lost):
    requests_mock.post(URL, [lost, OK])
    report = sender([]).send([BATCH])
    [outcome] = report.outcomes.values()
    assert outcome.status is Status.UNKNOWN and "may have been applied" in outcome.message
    assert requests_mock.call_count == 1


def test_a_lost_answer_found_applied_on_the_server_is_enrolled_without_resending(requests_mock):
    requests_mock.post(URL, [{"exc": requests.exceptions.ReadTimeout}, OK])
    settler = FixedSettler({("l1", "c1")})
    report = sender([], settler).send([BATCH])
    [outcome] = report.outcomes.values()
    assert outcome.status is Status.ENROLLED and "confirmed by reading" in outcome.message
    assert requests_mock.call_count == 1 and settler.reads == 1


def test_a_lost_answer_found_not_applied_is_resent(requests_mock):
    requests_mock.post(URL, [{"status_code": 504, "text": ""}, OK])
    settler = FixedSettler(set())
    report = sender([], settler).send([BATCH])
    assert [o.status for o in report.outcomes.values()] == [Status.ENROLLED]
    assert requests_mock.call_count == 2 and settler.reads == 1


@pytest.mark.parametrize("reason", ["Permission denied", "Wrong parameters"])
def test_rejections_are_not_retried(requests_mock, reason):
    requests_mock.post(URL, status_code=500, content=fault(reason))
    sleeps: list[float] = []
    report = sender(sleeps).send([BATCH])
    [outcome] = report.outcomes.values()
    assert (outcome.status, outcome.message) == (Status.FAILED, reason)
    assert requests_mock.call_count == 1 and sleeps == []


def test_attempts_are_bounded(requests_mock):
    requests_mock.post(URL, status_code=503, text="down")
    report = sender([]).send([BATCH])
    assert requests_mock.call_count == 4
    [outcome] = report.outcomes.values()
    assert outcome.status is Status.NOT_SENT and "no answer after 4 attempt(s)" in outcome.message


def test_a_wrong_endpoint_fails_once_and_stops_the_run_without_splitting(requests_mock):
    requests_mock.post(URL, status_code=404, text="<html>Not Found</html>")
    big = Batch("b-1", DueSettings(DueDateType.UNLIMITED), tuple(f"l{i}" for i in range(8)),
                ("c1",))
    other = Batch("b-2", DueSettings(DueDateType.UNLIMITED), ("l9",), ("c2",))
    report = sender([]).send([big, other])
    assert requests_mock.call_count == 1  # no halving, and the next batch is not tried
    statuses = {o.status for o in report.outcomes.values()}
    assert statuses == {Status.FAILED, Status.NOT_SENT}
    assert "SOAP endpoint" in (report.stopped_reason or "")
