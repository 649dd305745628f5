"""Who may use the page, and from where: the guards every request passes first.

A page on 127.0.0.1 is still reachable by every web site the person visits (their scripts can
post to localhost) and by DNS rebinding (a hostile name that resolves to 127.0.0.1). So:

- a per-launch random key, printed in the URL once, is exchanged for an HttpOnly,
  SameSite=Strict cookie; without it nothing is served (403 and a short explanation);
- the Host header must name this server (loopback names, the bound host, the public URL's
  host): a rebound hostile name is refused;
- every state-changing request must come from this page (Origin, else Referer): a cross-site
  form or script is refused even if the browser would send the cookie;
- serving a team (`--host` beyond loopback) needs a password, compared as a scrypt hash in
  constant time;
- every answer carries a CSP without inline script, X-Frame-Options DENY and no-referrer.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.datastructures import Headers
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "bulk_enroll_session"
TOKEN_PARAMETER = "token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
LOGIN_PATH = "/login"
FAILED_LOGIN_DELAY_S = 1.0  # slows password guessing down to one try a second per request

SECURITY_HEADERS = (
    ("content-security-policy",
     "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
     "object-src 'none'"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    ("cache-control", "no-store"),
    ("cross-origin-opener-policy", "same-origin"),
)

FORBIDDEN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Open the link bulk-enroll printed</title><link rel="stylesheet" href="/static/app.css">
</head><body><main class="narrow"><h1>Open the link bulk-enroll printed</h1>
<p>{reason}</p><p>This page only opens through the link <code>bulk-enroll web</code> printed
when it started (it holds a key for this launch). Copy that link into the address bar, or
start <code>bulk-enroll web</code> again.</p></main></body></html>"""


def hash_password(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=2**14, r=8, p=1, dklen=32)


@dataclass(frozen=True)
class Guard:
    """The launch's secrets and the names this server answers to."""

    allowed_hosts: frozenset[str]  # Host header values (name[:port]), lower case
    allowed_origins: frozenset[str]  # scheme://name[:port]
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    session: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    password_hash: bytes | None = field(default=None, repr=False)
    salt: bytes = field(default_factory=lambda: os.urandom(16), repr=False)
    secure_cookie: bool = False  # behind a TLS proxy: the cookie only travels over HTTPS

    @classmethod
    def for_server(cls, host: str, port: int, *, password: str | None = None,
                   public_url: str | None = None) -> Guard:
        names = {*LOOPBACK_NAMES, _bracketed(host)} if is_loopback_name(host) else {
            _bracketed(host)}
        hosts = {f"{name}:{port}" for name in names}
        origins = {f"http://{value}" for value in hosts}
        secure = False
        if public_url:
            parts = urlsplit(public_url)
            netloc = (parts.netloc or "").lower()
            hosts.add(netloc)
            origins.add(f"{parts.scheme}://{netloc}")
            secure = parts.scheme == "https"
        salt = os.urandom(16)
        hashed = hash_password(password, salt) if password else None
        return cls(frozenset(h.lower() for h in hosts), frozenset(o.lower() for o in origins),
                   password_hash=hashed, salt=salt, secure_cookie=secure)

    def url(self, host: str, port: int) -> str:
        """The link to print: it carries the launch's key once."""
        return f"http://{_bracketed(host)}:{port}/?{urlencode({TOKEN_PARAMETER: self.token})}"

    def password_matches(self, given: str) -> bool:
        if self.password_hash is None:
            return False
        return hmac.compare_digest(hash_password(given, self.salt), self.password_hash)

    def session_cookie(self, response: Response) -> Response:
        response.set_cookie(COOKIE, self.session, httponly=True, samesite="strict",
                            secure=self.secure_cookie, path="/")
        return response


class GuardMiddleware:
    """Refuses what the guards refuse, adds the security headers to every answer."""

    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        self.app, self.guard = app, guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = await self._refusal(scope)
        if refusal is not None:
            await _with_headers(refusal)(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name.encode(), value.encode()) for name, value in SECURITY_HEADERS
                            if name.encode() not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _refusal(self, scope: Scope) -> Response | None:
        headers = Headers(scope=scope)
        guard = self.guard
        host = headers.get("host", "").lower()
        if host not in guard.allowed_hosts:
            return HTMLResponse(
                "<!doctype html><title>Wrong address</title><p>This server does not answer to "
                "that address. Open the link bulk-enroll printed.</p>", status_code=400)
        method = scope["method"]
        if method not in SAFE_METHODS and not self._same_origin(headers, host):
            return HTMLResponse(
                "<!doctype html><title>Refused</title><p>Refused: this request did not come "
                "from the bulk-enroll page itself (cross-site requests are not accepted). "
                "Reload the page and try again.</p>", status_code=403)
        path = scope["path"]
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        given = query.get(TOKEN_PARAMETER)
        if given is not None and method in SAFE_METHODS:
            if hmac.compare_digest(given.encode(), guard.token.encode()):
                rest = urlencode([(k, v) for k, v in query.items() if k != TOKEN_PARAMETER])
                return guard.session_cookie(
                    RedirectResponse(path + (f"?{rest}" if rest else ""), status_code=303))
            return _forbidden("That link's key is not this launch's (the page was restarted?).")
        if self._has_session(headers):
            return None
        if guard.password_hash is not None and path == LOGIN_PATH:
            return None  # the login page and its form
        if path.startswith("/static/"):
            return None if guard.password_hash is not None else _forbidden("")
        if guard.password_hash is not None and method in SAFE_METHODS:
            return RedirectResponse(LOGIN_PATH, status_code=303)
        return _forbidden("This browser has not opened the page's link yet.")

    def _has_session(self, headers: Headers) -> bool:
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed cookie header: as if there were none
            return False
        morsel = cookie.get(COOKIE)
        return morsel is not None and hmac.compare_digest(morsel.value.encode(),
                                                          self.guard.session.encode())

    def _same_origin(self, headers: Headers, host: str) -> bool:
        """Origin (else Referer) names this server: the request came from its own page."""
        allowed = self.guard.allowed_origins
        origin = headers.get("origin")
        if origin is not None:
            return origin.lower() in allowed
        referer = headers.get("referer")
        if referer:
            parts = urlsplit(referer)
            return f"{parts.scheme}://{parts.netloc}".lower() in allowed
        return False


def _forbidden(reason: str) -> HTMLResponse:
    from html import escape

    return HTMLResponse(FORBIDDEN_PAGE.format(reason=escape(reason)), status_code=403)


def _with_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS:
        response.headers.setdefault(name, value)
    return response


def is_loopback_name(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: only this machine can reach it."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def _bracketed(host: str) -> str:
    """An IPv6 address as a Host header writes it."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
