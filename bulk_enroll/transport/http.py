"""HTTP plumbing shared by the transports: one session factory, one reading of network failures.

Whether a failed call may already have been applied decides between "retry freely" and "check
before resending", so that judgement lives here once instead of in each wire format.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import http.client
import math
import socket
import ssl
from collections.abc import Callable, Iterable, Iterator, Mapping
from http import HTTPStatus
from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from bulk_enroll.errors import ConfigError
from bulk_enroll.transport import CallResult, TransientError
from bulk_enroll.transport.rate_headers import parse_rate_limit

MAX_DETAIL_CHARS = 300  # keeps exception messages readable in reports and logs


class ProtocolError(Exception):
    """The server answered, but not in the format the transport speaks (HTML page, no result).

    Not transient: repeating the call gets the same answer (usually a wrong endpoint URL or a
    proxy in the way), and splitting the batch cannot help. `maybe_applied` is True when the
    server accepted the request (2xx), so the enrollment may exist despite the odd answer.
    """

    def __init__(
        self, message: str, *, http_status: int | None = None, maybe_applied: bool = True
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.maybe_applied = maybe_applied


def post_call(
    session: requests.Session,
    url: str,
    body: bytes,
    *,
    headers: Mapping[str, str],
    timeout: tuple[float, float],
    token: str,
    parse: Callable[[int, bytes, Mapping[str, str]], CallResult],
) -> CallResult:
    """POST one enrollment call and read its answer with `parse` (the wire format's reader).

    Shared by every transport so they fail alike: network errors are classified (sent or
    not), redirects are not followed (requests would resend the body, token included, to the
    new host on 307/308, and turn the POST into a GET on 301/302), and no message, result or
    exception ever carries the token.
    """
    try:
        response = session.post(url, data=body, headers=dict(headers), timeout=timeout,
                                allow_redirects=False)
        status, content, answer_headers = response.status_code, response.content, response.headers
    except requests.RequestException as exc:
        raise classify_network_error(exc, redact=[token]) from None
    hint = parse_rate_limit(answer_headers)
    try:
        result = parse(status, content, answer_headers)
    except TransientError as exc:
        raise TransientError(redact(str(exc), token), maybe_applied=exc.maybe_applied,
                             retry_after=exc.retry_after, http_status=exc.http_status,
                             rate_limit=hint) from None
    except ProtocolError as exc:
        raise ProtocolError(redact(str(exc), token), http_status=exc.http_status,
                            maybe_applied=exc.maybe_applied) from None
    return CallResult(result.verdict, redact(result.message, token), result.http_status, hint)


def redact(text: str, token: str) -> str:
    return text.replace(token, "***") if token else text


class _Session(requests.Session):
    """A requests session that never sends plain http:// through a proxy.

    Plain http is allowed only to this machine (config.check_url); an `http_proxy` variable
    would otherwise carry the client secret and tokens in clear text across the network.
    HTTPS keeps honouring HTTPS_PROXY (the proxy sees only an encrypted tunnel).
    """

    def merge_environment_settings(self, url, proxies, stream, verify, cert):  # type: ignore[no-untyped-def]
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if urlsplit(url).scheme == "http":
            settings["proxies"] = {}
        return settings


def make_session(user_agent: str, *, pool_maxsize: int = 10) -> requests.Session:
    """A session for the API: keep-alive, sized for the sender's worker threads.

    Certificate verification is left on (requests' default) and urllib3's own retries are off:
    retrying is the sender's job, because only it knows whether a resend is safe.
    """
    session = _Session()
    session.headers["User-Agent"] = user_agent
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_maxsize, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def http_url(url: str, what: str) -> str:
    """`url` if it is an http(s) URL with a host; else a `ConfigError` naming `what`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{what} {url!r} is not an http(s) URL")
    return url


def status_text(status: int) -> str:
    """"HTTP 503: Service Unavailable", for messages."""
    try:
        return f"HTTP {status}: {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}: unexpected status"


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP-date); None if unusable.

    A date in the past or a negative number means "now" (0). `now` is injectable for tests.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" zone: RFC 9110 dates are always GMT
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """Case-insensitive header lookup that also works on a plain dict (tests, other clients)."""
    if not headers:
        return None
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


# Failures that happen before a single byte of the request reached the server.
_NOT_SENT = (
    urllib3.exceptions.NewConnectionError,  # refused, unreachable, DNS (NameResolutionError)
    urllib3.exceptions.ConnectTimeoutError,
    urllib3.exceptions.SSLError,
    urllib3.exceptions.ProxyError,
    requests.exceptions.SSLError,  # TLS handshake, certificate verification
    socket.gaierror,
    ConnectionRefusedError,
    ssl.SSLError,
)
# Failures after the request was (maybe partly) sent: the server may have acted on it. Checked
# first, so an ambiguous TLS end-of-stream counts as "maybe sent" even inside an SSLError.
_MAYBE_SENT = (
    urllib3.exceptions.ReadTimeoutError,
    urllib3.exceptions.ProtocolError,
    http.client.RemoteDisconnected,
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
    ssl.SSLEOFError,  # TLS closed abruptly: may be after the request went out
    ssl.SSLZeroReturnError,
)


def classify_network_error(
    exc: requests.RequestException, *, redact: Iterable[str] = ()
) -> TransientError:
    """Turn a requests failure into a `TransientError` that says whether the call may have landed.

    Only failures that provably happen before sending (connect, DNS, TLS handshake, proxy) get
    `maybe_applied=False`; everything else, including the unrecognised, is treated as possibly
    applied, so the sender checks before resending rather than enrolling twice.
    `redact` lists strings (a token) that must never appear in the message.
    """
    maybe_applied = _maybe_applied(exc)
    phase = (
        "the request may have reached the server, but its answer was lost"
        if maybe_applied
        else "the request could not be sent"
    )
    message = f"{phase} ({_describe(exc)})"
    for secret in redact:
        if secret:
            message = message.replace(secret, "***")
    return TransientError(message, maybe_applied=maybe_applied)


def _maybe_applied(exc: requests.RequestException) -> bool:
    exceptions = requests.exceptions
    if isinstance(exc, exceptions.ConnectTimeout | exceptions.ProxyError):
        return False
    if isinstance(
        exc,
        exceptions.ReadTimeout | exceptions.ChunkedEncodingError | exceptions.ContentDecodingError,
    ):
        return True
    causes = list(_causes(exc))
    if any(isinstance(cause, _MAYBE_SENT) for cause in causes):
        return True
    return not any(isinstance(cause, _NOT_SENT) for cause in causes)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and everything it wraps: args, urllib3's `.reason`, `__cause__`, `__context__`."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        wrapped = [
            *current.args,
            getattr(current, "reason", None),
            current.__cause__,
            current.__context__,
        ]
        stack.extend(item for item in wrapped if isinstance(item, BaseException))


def _describe(exc: BaseException) -> str:
    """The innermost cause's type and text, short: what an operator needs to fix the network."""
    innermost = list(_causes(exc))[-1]
    text = str(innermost) or type(innermost).__name__
    if len(text) > MAX_DETAIL_CHARS:
        text = text[: MAX_DETAIL_CHARS - 3] + "..."
    return f"{type(innermost).__name__}: {text}"
