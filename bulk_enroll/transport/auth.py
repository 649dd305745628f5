"""Where the API token comes from, and how it is renewed during a long run.

A token lives 30 minutes; a nightly run can last longer. Worker threads share one source, so a
refused token is renewed once, not once per thread, and the client secret never leaves here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

import requests
import tenacity

from bulk_enroll.errors import AuthError
from bulk_enroll.transport.http import classify_network_error, header, parse_retry_after

STATIC_TOKEN_REFUSED = (
    "the server refused BULK_ENROLL_TOKEN; issue a new token or configure "
    "BULK_ENROLL_CLIENT_ID and BULK_ENROLL_CLIENT_SECRET"
)
TOKEN_PATH = "/api/v3/token"
DEFAULT_LIFETIME_S = 1800  # the documented lifetime, used if the answer omits expires_in
MAX_MESSAGE_CHARS = 200
MAX_RETRY_AFTER_S = 60.0


class TokenSource(Protocol):
    """What the sender needs: a usable token now, and a new one when the server refuses it."""

    renewals: int

    def get(self) -> str:
        """A token believed valid (fetched or renewed as needed)."""
        ...

    def renew(self, stale: str) -> str:
        """A token other than `stale`, which the server just refused.

        When several threads report the same stale token, only the first fetches; the others
        get the token it fetched.
        """
        ...


class StaticToken:
    """A token given by the user (BULK_ENROLL_TOKEN): usable until refused, never renewable."""

    def __init__(self, token: str) -> None:
        self._token = token
        self.renewals = 0

    def __repr__(self) -> str:
        return "StaticToken(token='***')"

    def get(self) -> str:
        return self._token

    def renew(self, stale: str) -> str:
        raise AuthError(STATIC_TOKEN_REFUSED)


class _RetryableFetch(Exception):
    """A token request that may succeed if repeated (network, 429, 5xx)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class ClientCredentialsToken:
    """Tokens from `POST {api_url}/api/v3/token` (client credentials), renewed before expiry.

    Thread-safe: one lock guards the token, so at most one request for a token is in flight.
    A token is renewed when less than `renew_margin_s`, or a quarter of its lifetime if that is
    smaller, remains. `clock` and `sleep` are injectable for tests.
    """

    def __init__(
        self,
        api_url: str,
        client_id: str,
        client_secret: str,
        *,
        session: requests.Session,
        clock: Callable[[], float] = time.monotonic,
        renew_margin_s: float = 120,
        timeout: tuple[float, float] = (10, 30),
        max_attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.token_url = api_url.rstrip("/") + TOKEN_PATH
        self.client_id = client_id
        self._secret = client_secret
        self._session = session
        self._clock = clock
        self._renew_margin_s = renew_margin_s
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self.renewals = 0

    def __repr__(self) -> str:
        return (
            f"ClientCredentialsToken(token_url={self.token_url!r}, "
            f"client_id={self.client_id!r}, client_secret='***')"
        )

    def get(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                return self._fetch()
            return self._token

    def renew(self, stale: str) -> str:
        with self._lock:
            if self._token is not None and self._token != stale:
                return self._token  # another thread already renewed it
            token = self._fetch()
            if token == stale:
                raise AuthError(
                    "the token service issued again the token the server had just "
                    "refused; check the account's API permissions"
                )
            return token

    def _fetch(self) -> str:
        """Request a token (caller holds the lock); retries transient failures, then gives up."""
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_RetryableFetch),
            stop=tenacity.stop_after_attempt(self._max_attempts),
            wait=_wait_for_server,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            token, lifetime, started = retrying(self._request_once)
        except _RetryableFetch as exc:
            reason = self._redact(str(exc))
            raise AuthError(f"could not obtain a token from {self.token_url}: {reason}") from None
        if self._token is not None:
            self.renewals += 1
        self._token = token
        self._renew_at = started + lifetime - min(self._renew_margin_s, lifetime / 4)
        return token

    def _request_once(self) -> tuple[str, float, float]:
        started = self._clock()  # the lifetime counts from before the request, to be safe
        try:
            response = self._session.post(
                self.token_url,
                data={
                    "client_id": self.client_id,
                    "client_secret": self._secret,
                    "grant_type": "client_credentials",
                },
                headers={"Accept": "application/json"},
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise _RetryableFetch(str(classify_network_error(exc))) from None
        status = response.status_code
        if status in (400, 401, 403):
            message = self._redact(_server_message(response))
            raise AuthError(
                f"the account refused the client ID or secret (HTTP {status}: {message})"
            )
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(header(response.headers, "Retry-After"))
            raise _RetryableFetch(f"HTTP {status}: {_server_message(response)}", retry_after)
        if status != 200:
            raise AuthError(
                f"could not obtain a token from {self.token_url}: HTTP {status}: "
                f"{self._redact(_server_message(response))}"
            )
        return (*_read_token(response, self.token_url), started)

    def _redact(self, text: str) -> str:
        for secret in (self._secret, self._token):
            if secret:
                text = text.replace(secret, "***")
        return text


def _wait_for_server(state: tenacity.RetryCallState) -> float:
    """Honour the server's Retry-After (capped), else back off exponentially: 0.5, 1, 2... s."""
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, _RetryableFetch) and exc.retry_after is not None:
        return min(exc.retry_after, MAX_RETRY_AFTER_S)
    return min(0.5 * 2 ** (state.attempt_number - 1), 8.0)


def _read_token(response: requests.Response, url: str) -> tuple[str, float]:
    """(access_token, lifetime in seconds) from the JSON answer; never echoes the answer."""
    try:
        data = response.json()
    except ValueError:
        data = None
    token = data.get("access_token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise AuthError(f"could not obtain a token from {url}: the answer has no access_token")
    lifetime = data.get("expires_in", DEFAULT_LIFETIME_S)
    if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
        lifetime = DEFAULT_LIFETIME_S
    return token, float(lifetime)


def _server_message(response: requests.Response) -> str:
    """The server's own words: `message` of the API's `{code, message}` body (or an OAuth-style
    `error_description`), a plain-text body, else the HTTP reason; never an HTML page."""
    try:
        data = response.json()
    except ValueError:
        data = None
    text = ""
    if isinstance(data, dict):
        text = next(
            (
                data[key]
                for key in ("message", "error_description", "error")
                if isinstance(data.get(key), str) and data[key]
            ),
            "",
        )
    content_type = header(response.headers, "Content-Type") or ""
    if not text and content_type.startswith("text/plain"):
        text = " ".join(response.text.split())
    return (text or response.reason or "no message")[:MAX_MESSAGE_CHARS]
