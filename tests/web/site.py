"""A launched page for the HTTP tests: the app, a client holding the launch's cookie, the
sandbox behind it. Built with the same `launch` as `bulk-enroll web`."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.testclient import TestClient

from bulk_enroll.web.app import create_app
from bulk_enroll.web.page import Page
from bulk_enroll.web.runs import Run
from bulk_enroll.web.server import WebOptions, launch

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HTMX = {"HX-Request": "true"}


@dataclass
class Site:
    page: Page
    app: Starlette
    client: TestClient
    base: str

    def enter(self) -> None:
        """Open the printed link: the key becomes the session cookie."""
        response = self.client.get(f"/?token={self.page.guard.token}")
        assert response.status_code == 200, response.text

    def upload(self, path: Path, *, name: str | None = None) -> str:
        """Drop a file on the page; returns the check's URL."""
        response = self.client.post("/upload", headers=HTMX,
                                    files={"file": (name or path.name, path.read_bytes())})
        assert response.status_code == 200, response.text
        return response.headers["HX-Redirect"]

    def start(self, check_url: str) -> str:
        response = self.client.post(f"{check_url}/start", headers=HTMX)
        assert response.status_code == 200, response.text
        return response.headers["HX-Redirect"]

    def run(self, run_url: str) -> Run:
        run = self.app.state.runs.get(run_url.rsplit("/", 1)[-1])
        assert run is not None
        return run

    def wait(self, run_url: str, timeout_s: float = 60) -> Run:
        run = self.run(run_url)
        deadline = time.monotonic() + timeout_s
        while not run.finished:
            assert time.monotonic() < deadline, "the run did not finish"
            time.sleep(0.05)
        return run


@contextlib.contextmanager
def site(**options: object) -> Iterator[Site]:
    """A page launched as `bulk-enroll web` would be (default: on a sandbox), and a client
    that opened its link."""
    settings = {"sandbox": True, "open_browser": False, **options}
    with launch(WebOptions(**settings)) as (page, listener):  # type: ignore[arg-type]
        app = create_app(page)
        base = f"http://127.0.0.1:{listener.getsockname()[1]}"
        try:
            with TestClient(app, base_url=base, headers={"Origin": base}) as client:
                result = Site(page, app, client, base)
                result.enter()
                yield result
        finally:
            app.state.runs.shutdown()
