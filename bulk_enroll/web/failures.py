"""The page's last line of defence: an unexpected error becomes a short page, never a
traceback or a bare "Internal Server Error".

Every error a person can cause is answered where it happens (a refused upload, a file that
needs a mapping, an account that cannot be reached); what reaches this boundary is a bug or
the machine, so the page says so and the details go to the log, as the CLI does (exit 4).
"""

from __future__ import annotations

from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bulk_enroll.logs import log_internal_error

MESSAGE = ("<div class=\"error\" role=\"alert\"><p><strong>Something went wrong on the page's "
           "side.</strong> This is not a problem of your file (details in the log). Nothing "
           "more was sent; reload the page and try again.</p></div>")
FULL_PAGE = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Something "
             "went wrong · bulk-enroll</title><link rel=\"stylesheet\" href=\"/static/app.css\">"
             "</head><body><main class=\"narrow\"><h1>Something went wrong</h1>"
             f"{MESSAGE}<p><a href=\"/\">Back to the start</a></p></main></body></html>")


class InternalErrorBoundary:
    """Logs an exception a route let through and answers 500 with a page (a fragment for
    htmx, which shows it where the answer was going)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            log_internal_error(exc)
            if started:  # half an answer is out (a stream): all that is left is to stop
                return
            htmx = any(name == b"hx-request" for name, _ in scope.get("headers", ()))
            await HTMLResponse(MESSAGE if htmx else FULL_PAGE, status_code=500)(
                scope, receive, send)
