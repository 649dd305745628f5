"""Start the page: the account (or a sandbox), the folders, the guards, uvicorn on a socket.

`serve` runs until Ctrl-C; then a run still sending is cancelled cleanly (its report is
written) before the sandbox and the private upload folder go away.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import shutil
import socket
import tempfile
import webbrowser
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from bulk_enroll.api import Setup, load_setup
from bulk_enroll.errors import ConfigError
from bulk_enroll.web.app import create_app
from bulk_enroll.web.history import History
from bulk_enroll.web.page import Page
from bulk_enroll.web.security import Guard, is_loopback_name

log = logging.getLogger(__name__)
PASSWORD_NEEDED = (
    "--host {host} lets other machines reach the page: set a password first "
    "(BULK_ENROLL_WEB_PASSWORD, or password in [web] of a chmod 600 configuration file), and "
    "serve it behind your TLS proxy (see the README's 'Serving a team')"
)


@dataclass(frozen=True)
class WebOptions:
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port
    open_browser: bool = True
    sandbox: bool = False
    sandbox_latency_s: float = 0.0  # each sandbox call takes this long (to watch progress)
    public_url: str | None = None  # the address people use behind a TLS proxy
    config: Path | None = None


@contextlib.contextmanager
def launch(options: WebOptions) -> Iterator[tuple[Page, socket.socket]]:
    """The page of one launch and its listening socket; everything it started is stopped and
    removed on the way out."""
    with contextlib.ExitStack() as stack:
        journal_dir = None
        setup = load_setup(options.config)
        check_exposure(options, setup)
        if options.sandbox:  # BULK_ENROLL_TRANSPORT=rest works with --sandbox too
            from bulk_enroll.sandbox.account import sandbox_account, scratch_state_dir
            from bulk_enroll.sandbox.server import Faults

            faults = Faults(latency_s=options.sandbox_latency_s)
            account = stack.enter_context(
                sandbox_account(transport=setup.transport, faults=faults))
            setup = dataclasses.replace(setup, account=account, account_problem=None)
            journal_dir = stack.enter_context(scratch_state_dir())
        listener = stack.enter_context(_listen(options.host, options.port))
        port = listener.getsockname()[1]
        upload_dir = Path(tempfile.mkdtemp(prefix="bulk-enroll-web-"))  # 0700
        stack.callback(shutil.rmtree, upload_dir, ignore_errors=True)
        guard = Guard.for_server(options.host, port, password=setup.web_password,
                                 public_url=options.public_url)
        page = Page(setup, options.sandbox, journal_dir or setup.state_dir, upload_dir,
                    options.config, guard, History(setup.state_dir / "web"))
        yield page, listener


def check_exposure(options: WebOptions, setup: Setup) -> None:
    """Beyond loopback the page needs a password (and a TLS proxy in front of it)."""
    if not is_loopback_name(options.host) and not setup.web_password:
        raise ConfigError(PASSWORD_NEEDED.format(host=options.host))


def serve(options: WebOptions, announce: Callable[[str, str], None]) -> None:
    """Serve until Ctrl-C; `announce` gets the link to open (it carries the launch's key) and
    where the page enrolls."""
    with launch(options) as (page, listener):
        app = create_app(page)
        url = page.guard.url(options.host, listener.getsockname()[1])
        announce(url, page.target)
        if options.open_browser:
            webbrowser.open(url)
        config = uvicorn.Config(app, log_config=None, access_log=False, log_level="warning",
                                timeout_graceful_shutdown=2)
        try:
            uvicorn.Server(config).run(sockets=[listener])
        finally:
            app.state.runs.shutdown()


@contextlib.contextmanager
def _listen(host: str, port: int) -> Iterator[socket.socket]:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host.strip("[]"), port))
        listener.listen(64)
    except OSError as exc:
        listener.close()
        raise ConfigError(f"the page cannot listen on {host}:{port}: {exc.strerror or exc} "
                          "(is the port in use? try --port 0)") from None
    with listener:
        yield listener
