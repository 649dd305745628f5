"""The REST transport (`POST /enrollment`) and its meaning of answers, over requests-mock."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import requests

from bulk_enroll.model import Batch, DueDateType, DueSettings, Status
from bulk_enroll.send.sender import RetryPolicy, Sender
from bulk_enroll.transport import CallResult, CallVerdict, TransientError
from bulk_enroll.transport.auth import StaticToken
from bulk_enroll.transport.http import ProtocolError, make_session
from bulk_enroll.transport.rest import (
    RestTransport,
    build_enrollment,
    parse_enroll_response,
    server_message,
)
from tests.support import make_id

API = "https://api-learn.example.com"
URL = API + "/enrollment"
L1, L2, BAD = make_id("l1"), make_id("l2"), make_id("bad")
C1 = make_id("c1")
UNLIMITED = DueSettings(DueDateType.UNLIMITED)


def batch(settings: DueSettings = UNLIMITED, learners: tuple[str, ...] = (L1,)) -> Batch:
    return Batch("b-1", settings, learners, (C1,))


def error_body(code: int, message: str) -> dict[str, object]:
    return {"code": code, "message": message}


# --- the body ----------------------------------------------------------------------------------


def test_body_holds_only_the_fields_the_due_date_type_uses():
    dated = DueSettings(
        DueDateType.DUE_DATE,
        access_date=dt.datetime(2027, 1, 4),
        due_date=dt.date(2027, 3, 31),
        due_period_hours=99,  # does not apply to due_date: never written
        lock_after_due_date=True,
    )
    assert build_enrollment(batch(dated, (L1, L2))) == {
        "courseIds": [C1],
        "learnerIds": [L1, L2],
        "dueDateType": "due_date",
        "dueDate": "2027-03-31",
        "accessDate": "2027-01-04",  # midnight: a plain date, as the schema says
        "lockAfterDueDate": True,
    }
    period = DueSettings(DueDateType.DUE_PERIOD, due_period_hours=720, lock_after_due_date=False)
    assert build_enrollment(batch(period)) == {
        "courseIds": [C1],
        "learnerIds": [L1],
        "dueDateType": "due_period",
        "duePeriod": 720,
        "lockAfterDueDate": False,
    }
    assert build_enrollment(batch()) == {
        "courseIds": [C1],
        "learnerIds": [L1],
        "dueDateType": "unlimited",
    }


def test_an_access_time_of_day_is_kept_in_the_soap_methods_format():
    timed = DueSettings(DueDateType.UNLIMITED, access_date=dt.datetime(2027, 1, 4, 9, 30))
    assert build_enrollment(batch(timed))["accessDate"] == "2027-01-04 09:30:00"


@pytest.mark.parametrize(
    "settings",
    [DueSettings(DueDateType.DUE_DATE), DueSettings(DueDateType.DUE_PERIOD)],
    ids=["due_date-without-date", "due_period-without-period"],
)
def test_inconsistent_batches_are_programming_errors(settings):
    with pytest.raises(ValueError):
        build_enrollment(batch(settings))


# --- the answer --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [201, 200, 204])
def test_created_is_success(status):
    assert parse_enroll_response(status, b"", {}) == CallResult(CallVerdict.SUCCESS, "", status)


@pytest.mark.parametrize("status", [400, 403])
def test_400_and_403_reject_with_the_servers_message(status):
    body = json.dumps(error_body(status, "Permission denied")).encode()
    result = parse_enroll_response(status, body, {"Content-Type": "application/json"})
    assert result == CallResult(CallVerdict.REJECTED, "Permission denied", status)


def test_401_asks_for_a_new_token():
    body = json.dumps(error_body(401, "Token expired")).encode()
    assert parse_enroll_response(401, body, {}) == CallResult(
        CallVerdict.AUTH, "Token expired", 401
    )
    assert parse_enroll_response(401, b"", {}).message == "HTTP 401: Unauthorized"


def test_a_rejection_without_a_message_names_the_status():
    assert parse_enroll_response(400, b"<html>oops</html>", {}).message == "HTTP 400: Bad Request"


@pytest.mark.parametrize(
    ("status", "maybe_applied"),
    [(429, False), (408, False), (500, True), (502, True), (503, False), (504, True)],
)
def test_busy_and_server_errors_are_transient(status, maybe_applied):
    with pytest.raises(TransientError) as caught:
        parse_enroll_response(status, b"", {"Retry-After": "7"})
    assert caught.value.maybe_applied is maybe_applied
    assert caught.value.retry_after == 7 and caught.value.http_status == status


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (404, {}, "is BULK_ENROLL_API_URL the account's API host?"),
        (405, {}, "is BULK_ENROLL_API_URL the account's API host?"),
        (301, {"Location": "https://other.example/enrollment"}, "configure that URL instead"),
    ],
)
def test_wrong_endpoint_answers_are_protocol_errors_not_rejections(status, headers, expected):
    # A rejection would make the sender split the batch again and again; this cannot help.
    with pytest.raises(ProtocolError) as caught:
        parse_enroll_response(status, b"", headers)
    assert expected in str(caught.value) and caught.value.maybe_applied is False


def test_an_html_page_with_200_is_not_taken_for_success():
    with pytest.raises(ProtocolError) as caught:
        parse_enroll_response(200, b"<html>login</html>", {"Content-Type": "text/html"})
    assert caught.value.maybe_applied is True


def test_server_message_reads_json_or_short_plain_text_only():
    assert server_message(b'{"code": 400, "message": "Wrong  parameters"}', {}) == (
        "Wrong parameters"
    )
    assert server_message(b"busy", {"Content-Type": "text/plain"}) == "busy"
    assert server_message(b"<html>busy</html>", {"Content-Type": "text/html"}) == ""
    assert len(server_message(json.dumps({"message": "x" * 5000}).encode(), {})) == 300


# --- on the wire ----------------------------------------------------------------------------


def transport() -> RestTransport:
    return RestTransport(API + "/", session=make_session("test"), timeout=(1, 1))


def test_enroll_posts_json_with_a_bearer_token_and_never_follows_redirects(requests_mock):
    requests_mock.post(URL, status_code=201)
    assert transport().enroll(batch(), "tok-1").verdict is CallVerdict.SUCCESS
    sent = requests_mock.last_request
    assert sent.headers["Authorization"] == "Bearer tok-1"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.json() == build_enrollment(batch())
    requests_mock.post(URL, status_code=307, headers={"Location": "https://evil.example/x"})
    with pytest.raises(ProtocolError):
        transport().enroll(batch(), "tok-1")
    assert requests_mock.call_count == 2  # the redirect was not followed with the token


def test_the_token_never_appears_in_messages(requests_mock):
    echo = error_body(400, "bad token tok-SECRET in request")
    requests_mock.post(URL, status_code=400, json=echo)
    result = transport().enroll(batch(), "tok-SECRET")
    assert "tok-SECRET" not in result.message and "***" in result.message
    requests_mock.post(URL, exc=requests.exceptions.ConnectionError("to host?token=tok-SECRET"))
    with pytest.raises(TransientError) as caught:
        transport().enroll(batch(), "tok-SECRET")
    assert "tok-SECRET" not in str(caught.value)


# --- with the sender: same retries and isolation as SOAP ---------------------------------------


def sender(sleeps: list[float]) -> Sender:
    return Sender(transport(), StaticToken("tok"), policy=RetryPolicy(max_attempts=4),
                  concurrency=1, sleep=sleeps.append)


def test_transient_answers_are_retried_then_succeed(requests_mock):
    requests_mock.post(URL, [{"status_code": 503}, {"status_code": 429, "headers":
                       {"Retry-After": "2"}}, {"status_code": 201}])
    sleeps: list[float] = []
    report = sender(sleeps).send([batch()])
    assert [o.status for o in report.outcomes.values()] == [Status.ENROLLED]
    assert requests_mock.call_count == 3 and sum(sleeps[1:]) >= 1.9  # Retry-After: 2 kept
    assert report.stats.retries == 1 and report.stats.rate_limited == 1  # the 503 alone retried


def test_a_rejected_batch_is_split_until_the_bad_learner_is_alone(requests_mock):
    def answer(request, context):
        learners = request.json()["learnerIds"]
        if BAD in learners:
            context.status_code = 400
            return error_body(400, f"Wrong parameters: unknown learner ID '{BAD}'")
        context.status_code = 201
        return None

    requests_mock.post(URL, json=answer)
    report = sender([]).send([batch(learners=(L1, BAD, L2))])
    by_learner = {pair.learner_id: outcome for pair, outcome in report.outcomes.items()}
    assert by_learner[L1].status is by_learner[L2].status is Status.ENROLLED
    assert by_learner[BAD].status is Status.FAILED
    assert by_learner[BAD].message == f"Wrong parameters: unknown learner ID '{BAD}'"
    assert report.stats.isolation_calls > 0


def test_a_wrong_api_url_fails_the_batch_once_without_splitting(requests_mock):
    requests_mock.post(URL, status_code=404, json=error_body(404, "no such endpoint"))
    report = sender([]).send([batch(learners=(L1, L2))])
    assert {o.status for o in report.outcomes.values()} == {Status.FAILED}
    assert requests_mock.call_count == 1 and report.stats.isolation_calls == 0
