"""The app factory: routes, templates, static files and the guards, for one launch.

`create_app(page)` is all a server (uvicorn, or Starlette's test client) needs; the launch's
state lives in `app.state`: the page (configuration, account, folders, guards), the checks,
the runs and the templates.
"""

from __future__ import annotations

import dataclasses

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from bulk_enroll.api import EnrollResult
from bulk_enroll.web import routes, views
from bulk_enroll.web.checks import NEEDS_ATTENTION, Checks
from bulk_enroll.web.failures import InternalErrorBoundary
from bulk_enroll.web.page import Page
from bulk_enroll.web.runs import Run, RunManager, past_run
from bulk_enroll.web.security import LOGIN_PATH, GuardMiddleware

RESEND = tuple(status for status in NEEDS_ATTENTION if status != "unknown")


def create_app(page: Page) -> Starlette:
    environment = Environment(loader=PackageLoader("bulk_enroll.web", "templates"),
                              autoescape=select_autoescape(default=True), trim_blocks=True,
                              lstrip_blocks=True)
    environment.filters.update(views.FILTERS)
    environment.globals.update(page=page, views=views)
    checks = Checks()
    runs = RunManager(page)

    def finished(run: Run, result: EnrollResult) -> None:
        """History entry; the rows needing attention become a check of their own, to fix
        in place and send again."""
        page.history.add(past_run(run, result, sandbox=page.sandbox))
        rows = frozenset(outcome.row for outcome in result.outcomes(RESEND))
        if rows and not run.dry_run:
            followup = checks.new(page, run.name, run.check.source, parent_run=run.id,
                                  choices=dataclasses.replace(run.choices, rows=rows))
            followup.originals.update(run.check.originals)
            followup.run(page)
            run.followup = followup

    app = Starlette(
        routes=[
            Route("/", routes.home),
            Route("/template.xlsx", routes.template),
            Route("/upload", routes.upload, methods=["POST"]),
            Route("/checks/{check_id}", routes.check_page),
            Route("/checks/{check_id}/cells", routes.edit_cell, methods=["POST"]),
            Route("/checks/{check_id}/choices", routes.choose, methods=["POST"]),
            Route("/checks/{check_id}/problems.xlsx", routes.check_workbook),
            Route("/checks/{check_id}/start", routes.start, methods=["POST"]),
            Route("/runs/{run_id}", routes.run_page),
            Route("/runs/{run_id}/events", routes.run_events),
            Route("/runs/{run_id}/finished", routes.run_finished),
            Route("/runs/{run_id}/cancel", routes.cancel, methods=["POST"]),
            Route("/runs/{run_id}/report.xlsx", routes.run_report),
            Route("/history/{run_id}/report.xlsx", routes.past_report),
            Route(LOGIN_PATH, routes.login, methods=["GET", "POST"]),
            Mount("/static", StaticFiles(packages=[("bulk_enroll.web", "static")]),
                  name="static"),
        ],
        middleware=[Middleware(GuardMiddleware, guard=page.guard),  # type: ignore[arg-type]
                    Middleware(InternalErrorBoundary)],  # type: ignore[arg-type]
    )
    app.state.page = page
    app.state.checks = checks
    app.state.runs = runs
    app.state.finished = finished
    app.state.templates = Jinja2Templates(env=environment)
    return app
