"""`bulk-enroll web`: the local web page for HR (needs the `web` extra)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import click

from bulk_enroll.cli.context import configured_environ
from bulk_enroll.errors import ConfigError, ExitStatus

WEB_MODULES = ("starlette", "jinja2", "uvicorn", "python_multipart", "sse_starlette")
NEEDS_EXTRA = ("the web page needs the 'web' extra, which is not installed ({missing}): "
               "pip install 'bulk-enroll[web]'")


@click.command("web")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Beyond loopback a password is required "
              "(BULK_ENROLL_WEB_PASSWORD or [web] password); serve it behind a TLS proxy.")
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: a free one).")
@click.option("--no-browser", is_flag=True, help="Print the link only; do not open a browser.")
@click.option("--sandbox", is_flag=True,
              help="Enroll into the built-in emulator of the API (the demo; nothing real is "
              "touched).")
@click.option("--sandbox-latency", default=0.0, show_default=True,
              type=click.FloatRange(0, 60),
              help="With --sandbox: seconds each API call takes (to watch the progress).")
@click.option("--public-url",
              help="The address people open behind your TLS proxy (e.g. "
              "https://enroll.example.com): its host and origin are accepted.")
def web_command(host: str, port: int, no_browser: bool, sandbox: bool, sandbox_latency: float,
                public_url: str | None) -> int:
    """Serve the page: drop a spreadsheet, fix it, review the plan, start, watch, download.

    The account and settings come from the same configuration and environment as `run`.
    The printed link holds a key for this launch; without it the page is not served.

    Example: bulk-enroll web --sandbox
    """
    if sandbox_latency and not sandbox:
        raise click.UsageError("--sandbox-latency applies to --sandbox only")
    missing = [name for name in WEB_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(NEEDS_EXTRA.format(missing=", ".join(missing)))
    from bulk_enroll.web.server import WebOptions, serve

    configured_environ()  # a broken configuration file stops here, before anything starts
    config_path: Path | None = click.get_current_context().find_root().params.get(
        "config_path")
    options = WebOptions(host=host, port=port, open_browser=not no_browser, sandbox=sandbox,
                         sandbox_latency_s=sandbox_latency, public_url=public_url,
                         config=config_path)

    def announce(url: str, target: str) -> None:
        click.echo(f"bulk-enroll web: {target}. Open this link (it holds this launch's key; "
                   f"Ctrl-C to stop):\n  {url}", err=False)

    serve(options, announce)
    return int(ExitStatus.OK)
