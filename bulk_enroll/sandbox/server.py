"""The sandbox's HTTP face: the token endpoint, the SOAP method and the REST API on loopback.

Routing is a table of (method, path) -> handler: the SOAP route, and the REST endpoints
(`/users/v2`, `/users/find_existing`, `/contents`, `/enrollment`, `/enrollments`) from
`sandbox/rest.py`. Handlers are plain functions of a `Request` to a `Response`; injected faults
wrap them in one place, and every answered request is logged in the state.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import random
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from email.message import Message
from enum import StrEnum
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from bulk_enroll.sandbox.directory import default_directory
from bulk_enroll.sandbox.rate_shapes import Admission, RateModel, RateRule, Shape
from bulk_enroll.sandbox.rest import RestAnswer, RestApi, RestHandler
from bulk_enroll.sandbox.soap import CONTENT_TYPE as SOAP_CONTENT_TYPE
from bulk_enroll.sandbox.soap import fault_response, parse_enroll_request, success_response
from bulk_enroll.sandbox.state import InvalidCredentials, SandboxState, SoapFault

logger = logging.getLogger(__name__)

TOKEN_PATH = "/api/v3/token"
STATS_PATH = "/_sandbox/stats"  # not part of the vendor's API: counters for benchmarks
MAX_BODY_BYTES = 16 * 1024 * 1024
JSON_CONTENT_TYPE = "application/json"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"


# --- faults ----------------------------------------------------------------------------------


class FaultKind(StrEnum):
    """The names injected faults are counted under in `SandboxState.fault_counts()`."""

    LATENCY = "latency"
    ERROR = "error"  # 503 before applying
    RATE_LIMIT = "rate_limit"  # 429 (with Retry-After unless turned off)
    DROP_BEFORE = "drop_before"  # connection closed, nothing applied
    DROP_AFTER = "drop_after"  # applied, then connection closed without an answer
    DROP_ANSWER = "drop_answer"  # a chosen enrollment call: applied, answer dropped


@dataclass(frozen=True)
class Faults:
    """Misbehaviour to inject into API calls (not the token endpoint); all off by default.

    The three rates are fractions of calls and are mutually exclusive (one random draw per call
    decides), so they must add up to at most 1. `seed` makes the sequence reproducible.
    `drop_answers` picks enrollment calls by number (1 is the first the server receives, SOAP
    and REST `POST /enrollment` counted together): each is applied, and its connection then
    closed without an answer, whatever the other faults draw.

    The rate limit is `rate_rule` (calls per window, sliding, fixed or a token bucket), or the
    shorthand `rate_limit_per_s` (a bucket of that rate holding one second's calls). A 429
    carries `Retry-After` in whole seconds, rounded up from the real wait (`retry_after_s`
    overrides it; `retry_after=False` leaves it out); `rate_headers` adds `RateLimit-Limit`,
    `-Remaining`, `-Reset` and `RateLimit-Policy` to every answer of an API route.
    """

    latency_s: float = 0.0
    error_rate: float = 0.0
    rate_limit_per_s: float | None = None
    rate_rule: RateRule | None = None
    retry_after: bool = True
    retry_after_s: int | None = None
    rate_headers: bool = False
    drop_before_rate: float = 0.0
    drop_after_rate: float = 0.0
    seed: int = 0
    paths: tuple[str, ...] | None = None  # only these routes misbehave (None: every API route)
    drop_answers: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        rates = (self.error_rate, self.drop_before_rate, self.drop_after_rate)
        if any(not 0 <= rate <= 1 for rate in rates) or sum(rates) > 1:
            raise ValueError("fault rates must be within 0..1 and add up to at most 1")
        if self.latency_s < 0 or (self.retry_after_s or 0) < 0:
            raise ValueError("latency_s and retry_after_s must not be negative")
        if self.rate_limit_per_s is not None and self.rate_limit_per_s <= 0:
            raise ValueError("rate_limit_per_s must be positive (or None for no limit)")

    def rule(self) -> RateRule | None:
        """The rate limit in force, the shorthand turned into a rule."""
        per_s = self.rate_limit_per_s
        if self.rate_rule is not None or per_s is None:
            return self.rate_rule
        calls = max(1, int(per_s))
        return RateRule(calls, calls / per_s, Shape.BUCKET)


class FaultInjector:
    """Decides, per API call, which fault (if any) to inject; counts each one in the state."""

    def __init__(
        self, faults: Faults, state: SandboxState, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.faults = faults
        self._state = state
        self._clock = clock
        self._random = random.Random(faults.seed)
        self._lock = threading.Lock()
        self._enrollment_calls = 0
        rule = faults.rule()
        self._limit = RateModel(rule, start=clock()) if rule is not None else None

    def answer_dropped(self) -> bool:
        """Count one enrollment call; True if its answer is to be dropped after applying it."""
        with self._lock:
            self._enrollment_calls += 1
            chosen = self._enrollment_calls in self.faults.drop_answers
        if chosen:
            self._state.record_fault(FaultKind.DROP_ANSWER)
        return chosen

    def draw(self) -> tuple[FaultKind | None, Admission | None]:
        """The fault to inject into this call (after waiting out any configured latency), and
        the rate limit's decision on it (None without a limit)."""
        if self.faults.latency_s > 0:
            self._state.record_fault(FaultKind.LATENCY)
            time.sleep(self.faults.latency_s)
        with self._lock:
            admission = self._limit.admit(self._clock()) if self._limit is not None else None
            if admission is not None and not admission.admitted:
                kind: FaultKind | None = FaultKind.RATE_LIMIT
            else:
                kind = self._draw_locked()
        if kind is not None:
            self._state.record_fault(kind)
        return kind, admission

    def rate_headers(self, admission: Admission | None) -> dict[str, str]:
        """What the server tells about its limit: Retry-After on a 429, RateLimit-* if on."""
        if admission is None:
            return {}
        headers: dict[str, str] = {}
        if not admission.admitted and self.faults.retry_after:
            wait = self.faults.retry_after_s
            headers["Retry-After"] = str(wait if wait is not None else math.ceil(admission.wait_s))
        rule = self._limit.rule if self._limit is not None else None
        if self.faults.rate_headers and rule is not None:
            headers.update({
                "RateLimit-Limit": str(admission.limit),
                "RateLimit-Remaining": str(max(0, admission.remaining)),
                "RateLimit-Reset": str(math.ceil(admission.reset_s)),
                "RateLimit-Policy": f"{rule.limit};w={rule.window_s:g}",
            })
        return headers

    def _draw_locked(self) -> FaultKind | None:
        roll = self._random.random()
        for kind, share in (
            (FaultKind.ERROR, self.faults.error_rate),
            (FaultKind.DROP_BEFORE, self.faults.drop_before_rate),
            (FaultKind.DROP_AFTER, self.faults.drop_after_rate),
        ):
            if roll < share:
                return kind
            roll -= share
        return None


# --- routing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = TEXT_CONTENT_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering

    @classmethod
    def json(cls, status: int, payload: object) -> Response:
        return cls(status, json.dumps(payload).encode(), JSON_CONTENT_TYPE)

    @classmethod
    def text(cls, status: HTTPStatus, headers: dict[str, str] | None = None) -> Response:
        body = f"{status.value} {status.phrase}\n".encode()
        return cls(status.value, body, headers=headers or {})

    @classmethod
    def error(cls, status: HTTPStatus, message: str) -> Response:
        """The REST API's error body: `{code, message}` (code is an integer in the vendor spec)."""
        return cls.json(status.value, {"code": status.value, "message": message})


Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    handler: Handler
    faulty: bool = True  # API calls get injected faults; the token endpoint does not
    enrolls: bool = False  # an enrollment call (SOAP, POST /enrollment): see `drop_answers`


class SandboxApp:
    """The emulated API without the socket: a route table over one `SandboxState`."""

    def __init__(
        self, state: SandboxState, soap_path: str = "/soap", faults: Faults | None = None
    ) -> None:
        self.state = state
        self.soap_path = soap_path
        self.injector = FaultInjector(faults or Faults(), state)
        self.routes: dict[tuple[str, str], Route] = {
            ("POST", TOKEN_PATH): Route(self.issue_token, faulty=False),
            ("POST", soap_path): Route(self.soap, enrolls=True),
            ("GET", STATS_PATH): Route(self.stats, faulty=False),
        }
        self.rest = RestApi(state)
        for key, rest_handler in self.rest.routes().items():
            self.routes[key] = Route(_json_route(rest_handler),
                                     enrolls=key in self.rest.enrollment_routes)

    def dispatch(self, request: Request) -> Response:
        response = self._route(request)
        self.state.record_request(
            request.method, request.path, 0 if response.drop else response.status
        )
        return response

    def _route(self, request: Request) -> Response:
        route = self.routes.get((request.method, request.path))
        if route is None:
            allowed = sorted(method for method, path in self.routes if path == request.path)
            if allowed:
                return Response.text(HTTPStatus.METHOD_NOT_ALLOWED, {"Allow": ", ".join(allowed)})
            return Response.error(HTTPStatus.NOT_FOUND, f"no such endpoint: {request.path}")
        if not route.faulty:
            return route.handler(request)
        if route.enrolls and self.injector.answer_dropped():
            route.handler(request)  # applied (or refused) as usual; the client never hears
            return Response(0, drop=True)
        return self._with_faults(route.handler, request)

    def _with_faults(self, handler: Handler, request: Request) -> Response:
        paths = self.injector.faults.paths
        if paths is not None and request.path not in paths:
            return handler(request)
        kind, admission = self.injector.draw()
        limit_headers = self.injector.rate_headers(admission)
        if kind is FaultKind.ERROR:
            return Response.text(HTTPStatus.SERVICE_UNAVAILABLE)
        if kind is FaultKind.RATE_LIMIT:
            return Response.text(HTTPStatus.TOO_MANY_REQUESTS, limit_headers)
        if kind is FaultKind.DROP_BEFORE:
            return Response(0, drop=True)
        response = handler(request)
        if kind is FaultKind.DROP_AFTER:
            return Response(0, drop=True)
        if limit_headers:
            return replace(response, headers={**response.headers, **limit_headers})
        return response

    # --- endpoints ---------------------------------------------------------------------------

    def issue_token(self, request: Request) -> Response:
        form = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)

        def value(name: str) -> str:
            return form.get(name, [""])[0]

        if value("grant_type") != "client_credentials":
            return Response.error(HTTPStatus.BAD_REQUEST, "grant_type must be client_credentials")
        try:
            token, expires_in = self.state.issue_token(value("client_id"), value("client_secret"))
        except InvalidCredentials:
            return Response.error(HTTPStatus.UNAUTHORIZED, "Invalid client credentials")
        return Response.json(
            HTTPStatus.OK.value,
            {"access_token": token, "expires_in": expires_in, "token_type": "bearer"},
        )

    def stats(self, request: Request) -> Response:
        """Counters a benchmark in another process reads (calls, enrollments, faults)."""
        calls = self.state.calls()
        return Response.json(HTTPStatus.OK.value, {
            "calls": len(calls),
            "successful_calls": sum(1 for c in calls if c.outcome == "success"),
            "enrollments": len(self.state.enrollments()),
            "faults": self.state.fault_counts(),
        })

    def soap(self, request: Request) -> Response:
        try:
            call = parse_enroll_request(request.body)
        except SoapFault as fault:
            self.state.record_rejected_request(fault)
            return _soap_fault(fault)
        try:
            self.state.enroll(call.token, call.learner_ids, call.course_ids, call.fields)
        except SoapFault as fault:
            return _soap_fault(fault)
        return Response(HTTPStatus.OK.value, success_response(), SOAP_CONTENT_TYPE)


def _json_route(handler: RestHandler) -> Handler:
    """A REST handler as a route: its status and payload become a JSON answer."""

    def route(request: Request) -> Response:
        answer: RestAnswer = handler(request)
        if answer.payload is None:
            return Response(answer.status)
        return Response.json(answer.status, answer.payload)

    return route


def _soap_fault(fault: SoapFault) -> Response:
    # SOAP 1.1 over HTTP: faults travel with status 500.
    return Response(
        HTTPStatus.INTERNAL_SERVER_ERROR.value, fault_response(fault), SOAP_CONTENT_TYPE
    )


# --- HTTP plumbing -------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    """Knows its app and its open connections, so `stop()` can end idle keep-alive sessions."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _RequestHandler)

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._connections_lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that went away mid-answer (killed, timed out) is what the sandbox is for,
        not an error: one debug line, not socketserver's traceback on the console."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            logger.debug("client %s went away: %s", client_address, error)
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every answer carries Content-Length
    server: _HTTPServer
    timeout = 60  # an idle keep-alive connection is closed after this many seconds

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm holds the body
        # until the client's delayed ACK (about 40 ms per request on loopback).
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("%s - " + format, self.address_string(), *args)

    def _handle(self) -> None:
        length_text = self.headers.get("Content-Length", "0")
        if not length_text.isdigit():
            self._send(Response.text(HTTPStatus.BAD_REQUEST))
            self.close_connection = True
            return
        length = int(length_text)
        if length > MAX_BODY_BYTES:
            self._send(Response.text(HTTPStatus.REQUEST_ENTITY_TOO_LARGE))
            self.close_connection = True
            return
        url = urlsplit(self.path)
        request = Request(
            self.command, url.path, parse_qs(url.query), self.headers, self.rfile.read(length)
        )
        response = self.server.app.dispatch(request)
        if response.drop:
            self.close_connection = True  # no answer at all: the client sees the socket close
            return
        self._send(response)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


# --- public API ------------------------------------------------------------------------------


class SandboxServer:
    """A running emulator on loopback; use as a context manager or `start()`/`stop()`.

    The port is bound on construction (port 0 picks a free one), so `base_url` is known before
    the server starts answering.
    """

    def __init__(
        self,
        state: SandboxState | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        soap_path: str = "/soap",
        faults: Faults | None = None,
    ) -> None:
        self.state = state if state is not None else SandboxState(default_directory())
        self.faults = faults or Faults()
        self.soap_path = soap_path
        self.app = SandboxApp(self.state, soap_path, self.faults)
        self._httpd = _HTTPServer((host, port), self.app)
        self._thread: threading.Thread | None = None
        self._foreground = False

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """Where the REST API and the token endpoint live (the `api_host` of the config)."""
        return self.base_url

    @property
    def soap_url(self) -> str:
        return self.base_url + self.soap_path

    def start(self) -> SandboxServer:
        if self._thread is not None:
            raise RuntimeError("the sandbox server is already running")
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Answer requests in the calling thread until `stop()` (from another thread) or Ctrl-C."""
        self._foreground = True
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._foreground = False

    def stop(self) -> None:
        """Stop answering, end open keep-alive connections and release the port."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        elif self._foreground:
            self._httpd.shutdown()  # returns once `serve_forever` has left its loop
        self._httpd.close_connections()
        self._httpd.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start() if self._thread is None else self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    state: SandboxState | None = None,
    soap_path: str = "/soap",
    faults: Faults | None = None,
    on_ready: Callable[[SandboxServer], None] | None = None,
) -> None:
    """Run the sandbox in the foreground until Ctrl-C (for `bulk-enroll sandbox`).

    Prints nothing: `on_ready` receives the bound server so the caller can show its URLs.
    """
    server = SandboxServer(state, host=host, port=port, soap_path=soap_path, faults=faults)
    try:
        if on_ready is not None:
            on_ready(server)
        server.serve_forever()
    except KeyboardInterrupt:
        pass  # Ctrl-C is how the foreground sandbox is meant to end
    finally:
        server.stop()
