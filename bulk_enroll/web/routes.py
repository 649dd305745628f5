"""The page's routes: each parses the request, calls the library (through a check or a run)
and renders a template. Blocking library calls run in a worker thread, off the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from html import escape as html_escape
from pathlib import Path
from typing import Any

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from bulk_enroll.api import FIELDS, write_template
from bulk_enroll.errors import BulkEnrollError
from bulk_enroll.logs import redact
from bulk_enroll.web.checks import Check
from bulk_enroll.web.page import Page, private_folder
from bulk_enroll.web.runs import Run, RunRefused
from bulk_enroll.web.security import FAILED_LOGIN_DELAY_S
from bulk_enroll.web.upload import UploadRefused, receive_upload
from bulk_enroll.web.views import NOT_USED, stage_sentence

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_CELL_CHARS = 2000
EVENT_POLL_S = 0.2


# ---- helpers ------------------------------------------------------------------------------------


def _page(request: Request) -> Page:
    page: Page = request.app.state.page
    return page


def _render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, name, context, status_code=status)
    return response


def _go(request: Request, url: str) -> Response:
    """Navigate: htmx follows HX-Redirect, a plain form a 303."""
    if request.headers.get("hx-request"):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def _check(request: Request) -> Check:
    check: Check | None = request.app.state.checks.get(request.path_params["check_id"])
    if check is None:
        raise HTTPException(404, "No such check in this launch (the page was restarted?): "
                                 "upload the file again.")
    return check


def _run(request: Request) -> Run:
    run: Run | None = request.app.state.runs.get(request.path_params["run_id"])
    if run is None:
        raise HTTPException(404, "No such run in this launch; past runs are on the home page.")
    return run


def _download(path: Path | None, filename: str) -> FileResponse:
    if path is None or not path.is_file():
        raise HTTPException(404, "That workbook is not there any more.")
    return FileResponse(path, media_type=XLSX, filename=filename)


# ---- home and upload ----------------------------------------------------------------------------


async def home(request: Request) -> Response:
    page = _page(request)
    return _render(request, "home.html", past=page.history.runs(sandbox=page.sandbox),
                   active=request.app.state.runs.active())


async def template(request: Request) -> Response:
    page = _page(request)
    path = page.upload_dir / "bulk-enroll-template.xlsx"
    if not path.is_file():
        await run_in_threadpool(write_template, path)
    return _download(path, "bulk-enroll-template.xlsx")


async def upload(request: Request) -> Response:
    """A new file (from the home page or "Upload a fixed file"): stream it in, check it."""
    page = _page(request)
    folder = private_folder(page.upload_dir / "uploads")
    try:
        received = await receive_upload(request, folder, page.setup.max_file_bytes)
    except UploadRefused as refused:
        return _render(request, "_upload_error.html", status=refused.status,
                       message=str(refused))
    check: Check = request.app.state.checks.new(page, received.name, received.path)
    await run_in_threadpool(check.run, page)
    if check.refused:
        return _render(request, "_upload_error.html", status=400, message=check.error)
    return _go(request, f"/checks/{check.id}")


# ---- the check ----------------------------------------------------------------------------


async def check_page(request: Request) -> Response:
    check = _check(request)
    if check.stale(_page(request)):
        await run_in_threadpool(check.run, _page(request))
    return _render(request, "check.html", check=check)


async def edit_cell(request: Request) -> Response:
    """One corrected cell: checked again at once, the check's body sent back."""
    check = _check(request)
    form = await request.form()
    row, column, value = form.get("row"), form.get("column"), form.get("value")
    if not (isinstance(row, str) and row.isdigit() and isinstance(column, str)
            and isinstance(value, str)):
        return _edit_refused(request, check, "An edit needs a row number, a column and a value.")
    if len(value) > MAX_CELL_CHARS:
        return _edit_refused(request, check, f"That value is {len(value):,} characters long; a "
                             f"cell takes at most {MAX_CELL_CHARS:,} here. Nothing was changed.")
    if check.result is None or column not in check.result.headers:
        return _edit_refused(request, check, f"The file has no column {column!r}.")
    check.edit(int(row), column, value.strip())
    await run_in_threadpool(check.run, _page(request))
    return _render(request, "_check_body.html", check=check, edited=(int(row), column))


def _edit_refused(request: Request, check: Check, reason: str) -> Response:
    """The check stays on the page, the reason above it (htmx swaps a 400 too: a bare text
    answer would have replaced the whole check)."""
    return _render(request, "_check_body.html", status=400, check=check, edit_refused=reason)


async def choose(request: Request) -> Response:
    """The sheet, the date order, a row default or a column mapping the file needed."""
    check = _check(request)
    form = await request.form()
    changes: dict[str, Any] = {}
    for name in ("sheet", "date_order", "due_date_type"):
        value = form.get(name)
        if isinstance(value, str):
            changes[name] = value.strip() or None
    mapping = {}
    for key, value in form.multi_items():
        if key.startswith("map:") and isinstance(value, str) and (
                value in FIELDS or value == NOT_USED):
            mapping[key[4:]] = value
    if form.get("forget") == "mappings":  # the remembered ones and this file's: asked afresh
        _page(request).history.forget_aliases()
        changes["aliases"] = {}
    elif mapping:
        changes["aliases"] = {**check.choices.aliases, **mapping}
        if form.get("remember") == "yes":
            _page(request).history.remember_aliases(mapping)
    if "sheet" in changes and changes["sheet"] == check.choices.sheet:
        del changes["sheet"]
    check.choose(**changes)
    await run_in_threadpool(check.run, _page(request))
    return _go(request, f"/checks/{check.id}")


async def check_workbook(request: Request) -> Response:
    check = _check(request)
    try:
        workbook = await run_in_threadpool(check.problems_workbook, _page(request))
    except BulkEnrollError as exc:  # the file changed under the page, or the account
        raise HTTPException(409, redact(str(exc))) from None
    return _download(workbook, f"{Path(check.name).stem}-problems.xlsx")


async def start(request: Request) -> Response:
    check = _check(request)
    try:
        run = request.app.state.runs.start(check, request.app.state.finished)
    except RunRefused as refused:
        return _render(request, "_start_refused.html", status=409, message=str(refused))
    return _go(request, f"/runs/{run.id}")


# ---- the run ------------------------------------------------------------------------------


async def run_page(request: Request) -> Response:
    run = _run(request)
    if run.finished:
        return _render(request, "result.html", run=run, check=run.followup)
    return _render(request, "sending.html", run=run)


async def run_events(request: Request) -> Response:
    """The run's state now, then every change, as server-sent events ("progress" with the
    progress panel, "done" once the report is written). A page opened later sees it live."""
    run = _run(request)
    templates = request.app.state.templates

    async def events() -> AsyncIterator[ServerSentEvent]:
        seen, said = -1, ""
        while True:
            version, finished = run.version, run.finished
            if version != seen:
                seen = version
                html = templates.get_template("_progress.html").render(run=run)
                yield ServerSentEvent(data=html, event="progress")
                stage = stage_sentence(run.event, cancelled=run.cancelled, finished=finished)
                if stage != said:  # "stage": only when it changes (a live region reads it)
                    said = stage
                    yield ServerSentEvent(data=html_escape(stage), event="stage")
                if finished:
                    yield ServerSentEvent(data=run.id, event="done")
                    return
            await asyncio.sleep(EVENT_POLL_S)

    return EventSourceResponse(events(), ping=15, headers={"Cache-Control": "no-store"})


async def run_finished(request: Request) -> Response:
    run = _run(request)
    return _go(request, f"/runs/{run.id}")


async def cancel(request: Request) -> Response:
    run = _run(request)
    if not run.finished:
        request.app.state.runs.cancel(run)
    return _render(request, "_progress.html", run=run)


async def run_report(request: Request) -> Response:
    run = _run(request)
    report = run.result.report_path if run.result is not None else None
    return _download(report, report.name if report else "report.xlsx")


async def past_report(request: Request) -> Response:
    history = _page(request).history
    entry = history.find(request.path_params["run_id"])
    if entry is None:
        raise HTTPException(404, "No such run in the history.")
    return _download(history.report_path(entry), entry.report)


# ---- serving a team: the password ---------------------------------------------------------------


async def login(request: Request) -> Response:
    guard = _page(request).guard
    if guard.password_hash is None:
        return RedirectResponse("/", status_code=303)
    if request.method == "GET":
        return _render(request, "login.html")
    form = await request.form()
    given = form.get("password")
    if isinstance(given, str) and await run_in_threadpool(guard.password_matches, given):
        return guard.session_cookie(_go(request, "/"))
    await asyncio.sleep(FAILED_LOGIN_DELAY_S)
    return _render(request, "login.html", status=403, failed=True)
