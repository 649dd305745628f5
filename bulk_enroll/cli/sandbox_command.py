"""`bulk-enroll sandbox`: serve the built-in emulator of the API on loopback until Ctrl-C."""

from __future__ import annotations

import click

from bulk_enroll.errors import ConfigError, ExitStatus
from bulk_enroll.settings.environment import is_loopback


@click.command("sandbox")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback only)."
)
@click.option("--port", default=8089, show_default=True, type=click.IntRange(1, 65535),
              help="Port to listen on.")
@click.option("--latency", default=0.0, show_default=True, help="Seconds added to each call.")
@click.option(
    "--error-rate",
    default=0.0,
    show_default=True,
    help="Fraction of calls answered 503 (to watch the retries).",
)
@click.option("--rate-limit", type=click.IntRange(min=1),
              help="Calls allowed per --rate-window; more are answered 429.")
@click.option("--rate-window", default=1.0, show_default=True,
              type=click.FloatRange(min=0.001), help="Seconds of the rate limit's window.")
@click.option("--rate-shape", default="sliding", show_default=True,
              type=click.Choice(["sliding", "fixed", "bucket"]),  # rate_shapes.Shape
              help="sliding: any window; fixed: windows starting every --rate-window seconds; "
                   "bucket: a token bucket refilled at limit/window per second.")
@click.option("--rate-burst", type=click.IntRange(min=1),
              help="Calls a bucket holds [default: --rate-limit].")
@click.option("--no-retry-after", "retry_after", flag_value=False, default=True,
              help="Answer 429 without a Retry-After header.")
@click.option("--rate-headers", is_flag=True,
              help="Send RateLimit-Limit/-Remaining/-Reset/-Policy headers on API answers.")
@click.option(
    "--token-lifetime",
    default=1800,
    show_default=True,
    type=int,
    help="Seconds an issued token lives.",
)
@click.option(
    "--accept-any-learner",
    is_flag=True,
    help="Treat any well-formed learner ID as an active user (for load tests).",
)
def sandbox_command(
    host: str,
    port: int,
    latency: float,
    error_rate: float,
    rate_limit: int | None,
    rate_window: float,
    rate_shape: str,
    rate_burst: int | None,
    retry_after: bool,
    rate_headers: bool,
    token_lifetime: int,
    accept_any_learner: bool,
) -> int:
    """Serve the built-in emulator of the iSpring Learn API until Ctrl-C.

    It is seeded with the users and courses of sample_data/ and prints the BULK_ENROLL_*
    settings that point `bulk-enroll run` at it.

    Example: bulk-enroll sandbox --port 8089 --error-rate 0.2
    or, 100 calls per 5-second fixed window: --rate-limit 100 --rate-window 5 --rate-shape fixed
    """
    from bulk_enroll.sandbox import (
        SANDBOX_CLIENT_ID,
        SANDBOX_CLIENT_SECRET,
        Faults,
        SandboxState,
        default_directory,
        serve,
    )
    from bulk_enroll.sandbox.rate_shapes import RateRule, Shape

    if not is_loopback(host):
        raise ConfigError(f"the sandbox listens on loopback only, not {host}")
    try:
        rule = (RateRule(rate_limit, rate_window, Shape(rate_shape), rate_burst)
                if rate_limit else None)
        faults = Faults(latency_s=latency, error_rate=error_rate, rate_rule=rule,
                        retry_after=retry_after, rate_headers=rate_headers)
    except ValueError as exc:
        raise ConfigError(f"sandbox faults: {exc}") from None

    def announce(server) -> None:  # type: ignore[no-untyped-def]
        click.echo(f"Sandbox listening on {server.base_url} (Ctrl-C to stop). Point runs at it:")
        click.echo(f"  export BULK_ENROLL_SOAP_URL={server.soap_url}")
        click.echo(f"  export BULK_ENROLL_API_URL={server.api_url}")
        click.echo(f"  export BULK_ENROLL_CLIENT_ID={SANDBOX_CLIENT_ID}")
        click.echo(f"  export BULK_ENROLL_CLIENT_SECRET={SANDBOX_CLIENT_SECRET}  # sandbox only")
        click.echo("  # optional, to send over REST: export BULK_ENROLL_TRANSPORT=rest")

    state = SandboxState(
        default_directory(),
        token_lifetime_s=token_lifetime,
        accept_unknown_learners=accept_any_learner,
    )
    try:
        serve(host, port, state=state, faults=faults, on_ready=announce)
    except OSError as exc:
        raise ConfigError(f"the sandbox cannot listen on {host}:{port}: {exc.strerror or exc}"
                          " (is another sandbox running? try another --port)") from None
    click.echo("Sandbox stopped.")
    return int(ExitStatus.OK)
