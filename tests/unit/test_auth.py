"""Token lifecycle: fetched once, renewed ahead of expiry and once per refusal, secrets kept."""

from __future__ import annotations

import threading
import time
import urllib.parse

import pytest
import requests
import requests_mock

from bulk_enroll.errors import AuthError
from bulk_enroll.transport.auth import ClientCredentialsToken, StaticToken, TokenSource

API = "https://api-learn.example.test/"
TOKEN_URL = "https://api-learn.example.test/api/v3/token"
CLIENT_ID = "client-42"
SECRET = "s3cr3t-VALUE-xyz"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def token_answer(token: str, expires_in: int = 1800) -> dict:
    return {
        "json": {"access_token": token, "expires_in": expires_in, "token_type": "bearer"},
        "status_code": 200,
    }


@pytest.fixture
def mock() -> requests_mock.Adapter:
    return requests_mock.Adapter()


@pytest.fixture
def session(mock: requests_mock.Adapter) -> requests.Session:
    session = requests.Session()
    session.mount("https://", mock)
    return session


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def source(session, clock, sleeps) -> ClientCredentialsToken:
    return ClientCredentialsToken(
        API, CLIENT_ID, SECRET, session=session, clock=clock, sleep=sleeps.append
    )


# --- StaticToken ----------------------------------------------------------------------------------


def test_static_token_is_returned_and_cannot_be_renewed():
    static = StaticToken("given-token")

    assert static.get() == "given-token"
    with pytest.raises(AuthError) as info:
        static.renew("given-token")
    assert str(info.value) == (
        "the server refused BULK_ENROLL_TOKEN; issue a new token or configure "
        "BULK_ENROLL_CLIENT_ID and BULK_ENROLL_CLIENT_SECRET"
    )
    assert static.renewals == 0
    assert "given-token" not in repr(static)


def test_both_sources_satisfy_the_protocol(source):
    sources: list[TokenSource] = [StaticToken("x"), source]

    assert all(hasattr(s, "renewals") and callable(s.renew) for s in sources)


# --- ClientCredentialsToken: fetching and caching ----------------------------------------------


def test_token_is_fetched_with_form_credentials_and_cached(mock, source):
    mock.register_uri("POST", TOKEN_URL, [token_answer("tok-1")])

    assert source.get() == "tok-1"
    assert source.get() == "tok-1"

    assert mock.call_count == 1
    sent = mock.last_request
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert urllib.parse.parse_qs(sent.body) == {
        "client_id": [CLIENT_ID],
        "client_secret": [SECRET],
        "grant_type": ["client_credentials"],
    }
    assert sent.timeout == (10, 30)
    assert source.renewals == 0


def test_trailing_slash_of_api_url_is_stripped(source):
    assert source.token_url == TOKEN_URL


def test_token_is_renewed_ahead_of_expiry(mock, source, clock):
    mock.register_uri("POST", TOKEN_URL, [token_answer("tok-1"), token_answer("tok-2")])

    assert source.get() == "tok-1"
    clock.now += 1800 - 121  # 121 s left: more than the 120 s margin
    assert source.get() == "tok-1"
    clock.now += 2  # 119 s left
    assert source.get() == "tok-2"

    assert mock.call_count == 2
    assert source.renewals == 1


def test_short_lifetime_renews_at_three_quarters(mock, source, clock):
    mock.register_uri("POST", TOKEN_URL, [token_answer("tok-1", 2), token_answer("tok-2", 2)])

    assert source.get() == "tok-1"
    clock.now += 1.4
    assert source.get() == "tok-1"
    clock.now += 0.2  # 1.6 s of 2 s: past the 1.5 s mark
    assert source.get() == "tok-2"


def test_renew_fetches_a_new_token_once_then_returns_it(mock, source):
    mock.register_uri("POST", TOKEN_URL, [token_answer("tok-1"), token_answer("tok-2")])
    stale = source.get()

    assert source.renew(stale) == "tok-2"
    assert source.renew(stale) == "tok-2"  # a late report of the same stale token

    assert mock.call_count == 2
    assert source.renewals == 1


def test_concurrent_renewals_of_the_same_stale_token_make_one_request(mock, session, clock):
    issued = iter(f"tok-{n}" for n in range(1, 100))

    def answer(request, context):
        time.sleep(0.05)  # keep the first renewal in flight while the others arrive
        return {"access_token": next(issued), "expires_in": 1800, "token_type": "bearer"}

    mock.register_uri("POST", TOKEN_URL, json=answer)
    source = ClientCredentialsToken(API, CLIENT_ID, SECRET, session=session, clock=clock)
    stale = source.get()
    barrier = threading.Barrier(8)
    results: list[str] = []

    def worker() -> None:
        barrier.wait()
        results.append(source.renew(stale))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert mock.call_count == 2  # the first get, then exactly one renewal
    assert results == ["tok-2"] * 8
    assert source.renewals == 1


def test_same_token_issued_again_after_refusal_is_an_auth_error(mock, source):
    mock.register_uri("POST", TOKEN_URL, [token_answer("tok-1"), token_answer("tok-1")])
    stale = source.get()

    with pytest.raises(AuthError, match="issued again"):
        source.renew(stale)


def test_missing_expires_in_falls_back_to_the_documented_lifetime(mock, source, clock):
    mock.register_uri(
        "POST", TOKEN_URL, [{"json": {"access_token": "tok-1"}}, token_answer("tok-2")]
    )

    assert source.get() == "tok-1"
    clock.now += 1800 - 121
    assert source.get() == "tok-1"
    clock.now += 2
    assert source.get() == "tok-2"


# --- ClientCredentialsToken: failures -----------------------------------------------------------


@pytest.mark.parametrize("status", [400, 401, 403])
def test_refused_credentials_are_an_auth_error_without_the_secret(mock, source, sleeps, status):
    mock.register_uri(
        "POST",
        TOKEN_URL,
        status_code=status,
        json={"code": status, "message": f"Invalid client {SECRET}"},
    )

    with pytest.raises(AuthError) as info:
        source.get()

    message = str(info.value)
    assert message == (
        f"the account refused the client ID or secret (HTTP {status}: Invalid client ***)"
    )
    assert SECRET not in message
    assert mock.call_count == 1  # not retried
    assert sleeps == []


def test_5xx_then_success_is_retried_with_backoff(mock, source, sleeps):
    mock.register_uri(
        "POST",
        TOKEN_URL,
        [
            {"status_code": 502, "text": "<html>bad gateway</html>"},
            {"status_code": 503, "text": "busy"},
            token_answer("tok-1"),
        ],
    )

    assert source.get() == "tok-1"

    assert mock.call_count == 3
    assert sleeps == [0.5, 1.0]


def test_429_honours_retry_after(mock, source, sleeps):
    mock.register_uri(
        "POST",
        TOKEN_URL,
        [
            {"status_code": 429, "headers": {"Retry-After": "3"}},
            token_answer("tok-1"),
        ],
    )

    assert source.get() == "tok-1"
    assert sleeps == [3.0]


def test_network_errors_then_give_up_with_a_clear_message(mock, source, sleeps):
    mock.register_uri("POST", TOKEN_URL, exc=requests.exceptions.ConnectTimeout("timed out"))

    with pytest.raises(AuthError) as info:
        source.get()

    message = str(info.value)
    assert message.startswith(f"could not obtain a token from {TOKEN_URL}: ")
    assert "timed out" in message
    assert SECRET not in message
    assert mock.call_count == 4
    assert sleeps == [0.5, 1.0, 2.0]


def test_persistent_5xx_gives_up_naming_the_status(mock, source, sleeps):
    mock.register_uri(
        "POST",
        TOKEN_URL,
        status_code=500,
        reason="Internal Server Error",
        text="<html>oops</html>",
        headers={"Content-Type": "text/html"},
    )

    with pytest.raises(AuthError) as info:
        source.get()

    assert str(info.value) == (
        f"could not obtain a token from {TOKEN_URL}: HTTP 500: Internal Server Error"
    )
    assert mock.call_count == 4


@pytest.mark.parametrize(
    "answer",
    [
        {"status_code": 200, "text": "not json"},
        {"status_code": 200, "json": {"token": "x"}},
        {"status_code": 200, "json": ["tok"]},
    ],
)
def test_answer_without_a_token_is_an_auth_error(mock, source, answer):
    mock.register_uri("POST", TOKEN_URL, **answer)

    with pytest.raises(AuthError, match="the answer has no access_token"):
        source.get()
    assert mock.call_count == 1


def test_wrong_api_url_is_not_retried(mock, source):
    mock.register_uri("POST", TOKEN_URL, status_code=404, reason="Not Found")

    with pytest.raises(AuthError, match="HTTP 404: Not Found"):
        source.get()
    assert mock.call_count == 1


def test_repr_hides_the_secret_and_token(mock, source):
    mock.register_uri("POST", TOKEN_URL, [token_answer("tok-visible")])
    source.get()

    text = repr(source)
    assert SECRET not in text
    assert "tok-visible" not in text
    assert CLIENT_ID in text and "***" in text
