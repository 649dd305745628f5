"""Sender + SOAP transport over requests-mock: what is retried on the wire and what is not."""

from __future__ import annotations

import pytest
import requests

from bulk_enroll.model import Batch, DueDateType, DueSettings, Status
from bulk_enroll.sender import RetryPolicy, Sender
from bulk_enroll.transport.auth import StaticToken
from bulk_enroll.transport.http import make_session
from bulk_enroll.transport.soap import SoapTransport

URL = "https://learn.example.com/soap"
BATCH = Batch("b-1", DueSettings(DueDateType.UNLIMITED), ("l1",), ("c1",))
SUCCESS = (b'<?xml version="1.0"?><e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/">'
           b"<e:Body><SuccessResult><success>true</success></SuccessResult></e:Body></e:Envelope>")


def fault(text: str) -> bytes:
    return (b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><e:Fault>'
            b"<faultcode>e:Client</faultcode><faultstring>" + text.encode()
            + b"</faultstring></e:Fault></e:Body></e:Envelope>")


def send(sleeps: list[float]) -> Sender:
    transport = SoapTransport(URL, session=make_session("test"), timeout=(1, 1))
    return Sender(transport, StaticToken("tok"), policy=RetryPolicy(max_attempts=4),
                  concurrency=1, sleep=sleeps.append)


@pytest.mark.parametrize("first", [
    {"status_code": 503, "text": "<html>busy</html>"},
    {"status_code": 502, "text": ""},
    {"status_code": 429, "text": "slow down", "headers": {"Retry-After": "2"}},
    {"exc": requests.exceptions.ConnectTimeout},
    {"exc": requests.exceptions.ReadTimeout},
    {"exc": requests.exceptions.ConnectionError},
])
def test_transient_answers_are_retried_then_succeed(requests_mock, first):
    requests_mock.post(URL, [first, {"status_code": 200, "content": SUCCESS}])
    sleeps: list[float] = []
    report = send(sleeps).send([BATCH])
    assert [o.status for o in report.outcomes.values()] == [Status.ENROLLED]
    assert requests_mock.call_count == 2 and len(sleeps) == 1
    if first.get("status_code") == 429:
        assert sleeps[0] >= 2


@pytest.mark.parametrize("reason", ["Permission denied", "Wrong parameters"])
def test_rejections_are_not_retried(requests_mock, reason):
    requests_mock.post(URL, status_code=500, content=fault(reason))
    sleeps: list[float] = []
    report = send(sleeps).send([BATCH])
    [outcome] = report.outcomes.values()
    assert (outcome.status, outcome.message) == (Status.FAILED, reason)
    assert requests_mock.call_count == 1 and sleeps == []


def test_attempts_are_bounded(requests_mock):
    requests_mock.post(URL, status_code=503, text="down")
    report = send([]).send([BATCH])
    assert requests_mock.call_count == 4
    assert [o.status for o in report.outcomes.values()] == [Status.UNKNOWN]
