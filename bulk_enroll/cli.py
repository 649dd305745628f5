"""Command line: parse options, call one library function, print the outcome.

`main` is the single error boundary: library exceptions become a one-line message and an exit
code (DESIGN.md); the traceback is shown only with --traceback.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from bulk_enroll import __version__
from bulk_enroll.config import AccountSettings, load_account, load_run_settings
from bulk_enroll.connect import connect
from bulk_enroll.errors import AuthError, BulkEnrollError, ConfigError, InputFileError, SafetyStop
from bulk_enroll.model import ExitStatus, Status
from bulk_enroll.pipeline import JobOptions, JobResult, run_job
from bulk_enroll.plan_summary import describe_plan
from bulk_enroll.results import status_counts
from bulk_enroll.validate import RowDefaults

MAX_PROBLEMS_SHOWN = 10
Command = TypeVar("Command", bound=Callable[..., Any])
_EXIT_FOR_ERROR: dict[type[BulkEnrollError], ExitStatus] = {
    InputFileError: ExitStatus.USAGE,
    ConfigError: ExitStatus.USAGE,
    AuthError: ExitStatus.USAGE,
    SafetyStop: ExitStatus.SAFETY_STOP,
}


def exit_status_for(error: BaseException) -> ExitStatus:
    """The exit code for an exception that ended the run (the mapping tests pin down)."""
    if isinstance(error, KeyboardInterrupt):
        return ExitStatus.INTERRUPTED
    for kind, status in _EXIT_FOR_ERROR.items():
        if isinstance(error, kind):
            return status
    if isinstance(error, click.exceptions.UsageError | click.exceptions.BadParameter):
        return ExitStatus.USAGE
    return ExitStatus.ROWS_NEED_ATTENTION


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bulk-enroll")
@click.option("-v", "--verbose", count=True, help="More log lines on stderr (-vv for debug).")
@click.option("--traceback", is_flag=True, help="Show the Python traceback on errors.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, traceback: bool) -> None:
    """Enroll learners in iSpring Learn courses from a spreadsheet.

    Example: bulk-enroll run --sandbox sample_data/new_hires_onboarding.xlsx
    """
    ctx.obj = {"traceback": traceback}
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(levelname)s %(message)s", force=True
    )


def report_options(command: Command) -> Command:
    """--report and --summary-json, shared by every command that writes a workbook."""
    command = click.option(
        "--summary-json",
        type=click.Path(path_type=Path),
        help="Also write a JSON summary here (for schedulers).",
    )(command)
    return click.option(
        "--report",
        "report_path",
        type=click.Path(path_type=Path),
        help="Result workbook path [default: reports/<file>-results-<time>.xlsx].",
    )(command)


def row_default_options(command: Command) -> Command:
    """The values for rows (or files) without them, shared by every command that reads a file;
    the command builds a `RowDefaults` from them."""
    options = [
        click.option(
            "--due-date-type",
            type=click.Choice(["unlimited", "default", "due_date", "due_period"]),
            help="Due date type for rows without one.",
        ),
        click.option("--due-date", help="Due date (YYYY-MM-DD) for rows without one."),
        click.option("--due-period", help="Due period in hours for rows without one."),
        click.option(
            "--access-date", help="Access date (YYYY-MM-DD [HH:MM:SS]) for rows without one."
        ),
        click.option(
            "--lock-after-due-date",
            type=click.Choice(["true", "false"]),
            help="Lock courses after the due date, for rows without a value.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--sandbox",
    is_flag=True,
    help="Send to a built-in emulator of the API on 127.0.0.1 instead of an account.",
)
@report_options
@click.option("--dry-run", is_flag=True, help="Read, validate, plan and report; send nothing.")
@click.option("--strict", is_flag=True, help="If any row is invalid, send nothing (exit 1).")
@row_default_options
def run(
    file: Path,
    sandbox: bool,
    report_path: Path | None,
    summary_json: Path | None,
    dry_run: bool,
    strict: bool,
    due_date_type: str | None,
    due_date: str | None,
    due_period: str | None,
    access_date: str | None,
    lock_after_due_date: str | None,
) -> int:
    """Enroll the learners listed in FILE (CSV or XLSX) and write a result workbook.

    The account comes from BULK_ENROLL_* environment variables (see README); --sandbox uses
    the built-in emulator instead.

    Example: bulk-enroll run --dry-run hr_export.xlsx
    """
    options = JobOptions(
        input_path=file,
        report_path=report_path,
        summary_json=summary_json,
        dry_run=dry_run,
        strict=strict,
        defaults=RowDefaults(due_date_type, due_date, due_period, access_date, lock_after_due_date),
    )
    settings = load_run_settings()
    with _account(sandbox, needed=not dry_run) as account:

        def connection():  # type: ignore[no-untyped-def]
            assert account is not None
            return connect(account, settings)

        result = run_job(options, settings, connection if account else None)
    _print_result(result)
    return int(result.exit_status)


@cli.command("plan")
@click.argument("file", type=click.Path(path_type=Path))
@report_options
@row_default_options
def plan_command(
    file: Path,
    report_path: Path | None,
    summary_json: Path | None,
    due_date_type: str | None,
    due_date: str | None,
    due_period: str | None,
    access_date: str | None,
    lock_after_due_date: str | None,
) -> int:
    """Show the calls that would enroll the learners listed in FILE; send nothing.

    Reads, validates and plans FILE like `run` (no account needed), prints the calls per
    settings group, the largest call and a lower bound on the calls any exact plan needs, and
    writes the workbook (its Batches sheet lists every planned call).

    Example: bulk-enroll plan hr_export.xlsx --report plan.xlsx
    """
    options = JobOptions(
        input_path=file,
        report_path=report_path,
        summary_json=summary_json,
        dry_run=True,
        defaults=RowDefaults(due_date_type, due_date, due_period, access_date, lock_after_due_date),
    )
    result = run_job(options, load_run_settings(), None)
    invalid = sum(1 for row in result.data.rows if row.issues)
    click.echo(
        f"{result.summary['input']}: {len(result.data.rows):,} rows"
        + (f", {invalid:,} invalid (not planned)." if invalid else ".")
    )
    _print_plan(result)
    _print_issues(result)
    click.echo(f"Report: {result.report_path}")
    return int(result.exit_status)


def _print_plan(result: JobResult) -> None:
    if result.plan is not None:
        for line in describe_plan(result.plan):
            click.echo(line)


def _print_issues(result: JobResult) -> None:
    if result.issues:
        click.echo(f"{len(result.issues)} problem(s) in the file:")
        for issue in result.issues[:MAX_PROBLEMS_SHOWN]:
            click.echo(f"  {issue.describe()}")
        if len(result.issues) > MAX_PROBLEMS_SHOWN:
            click.echo(f"  ... and {len(result.issues) - MAX_PROBLEMS_SHOWN} more in the report.")


@cli.command("sandbox")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback only)."
)
@click.option("--port", default=8089, show_default=True, type=int, help="Port to listen on.")
@click.option("--latency", default=0.0, show_default=True, help="Seconds added to each call.")
@click.option(
    "--error-rate",
    default=0.0,
    show_default=True,
    help="Fraction of calls answered 503 (to watch the retries).",
)
@click.option("--rate-limit", type=float, help="Calls per second above which 429 is answered.")
@click.option(
    "--token-lifetime",
    default=1800,
    show_default=True,
    type=int,
    help="Seconds an issued token lives.",
)
def sandbox_command(
    host: str,
    port: int,
    latency: float,
    error_rate: float,
    rate_limit: float | None,
    token_lifetime: int,
) -> int:
    """Serve the built-in emulator of the iSpring Learn API until Ctrl-C.

    It is seeded with the users and courses of sample_data/ and prints the BULK_ENROLL_*
    settings that point `bulk-enroll run` at it.

    Example: bulk-enroll sandbox --port 8089 --error-rate 0.2
    """
    from bulk_enroll.config import is_loopback
    from bulk_enroll.sandbox import (
        SANDBOX_CLIENT_ID,
        SANDBOX_CLIENT_SECRET,
        Faults,
        SandboxState,
        default_directory,
        serve,
    )

    if not is_loopback(host):
        raise ConfigError(f"the sandbox listens on loopback only, not {host}")
    try:
        faults = Faults(latency_s=latency, error_rate=error_rate, rate_limit_per_s=rate_limit)
    except ValueError as exc:
        raise ConfigError(f"sandbox faults: {exc}") from None

    def announce(server) -> None:  # type: ignore[no-untyped-def]
        click.echo(f"Sandbox listening on {server.base_url} (Ctrl-C to stop). Point runs at it:")
        click.echo(f"  export BULK_ENROLL_SOAP_URL={server.soap_url}")
        click.echo(f"  export BULK_ENROLL_API_URL={server.api_url}")
        click.echo(f"  export BULK_ENROLL_CLIENT_ID={SANDBOX_CLIENT_ID}")
        click.echo(f"  export BULK_ENROLL_CLIENT_SECRET={SANDBOX_CLIENT_SECRET}  # sandbox only")

    state = SandboxState(default_directory(), token_lifetime_s=token_lifetime)
    serve(host, port, state=state, faults=faults, on_ready=announce)
    click.echo("Sandbox stopped.")
    return int(ExitStatus.OK)


@contextlib.contextmanager
def _account(sandbox: bool, *, needed: bool) -> Iterator[AccountSettings | None]:
    """The real account from the environment, or a sandbox started for this run only."""
    if not sandbox:
        if needed:
            yield load_account()
        else:
            try:
                yield load_account()
            except ConfigError:
                yield None
        return
    from bulk_enroll.sandbox import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SandboxServer

    with SandboxServer().start() as server:
        click.echo(
            f"Using the built-in sandbox at {server.base_url} (no real account is touched).",
            err=True,
        )
        yield AccountSettings(
            soap_url=server.soap_url,
            api_url=server.api_url,
            client_id=SANDBOX_CLIENT_ID,
            client_secret=SANDBOX_CLIENT_SECRET,
        )


def _print_result(result: JobResult) -> None:
    summary = result.summary
    counts = {k: v for k, v in status_counts(result.data.results).items() if v}
    breakdown = ", ".join(f"{count} {status}" for status, count in counts.items())
    click.echo(f"{summary['input']}: {summary['rows']} rows: {breakdown}.")
    click.echo(
        f"{summary['batches_planned']} calls planned, {summary['api_calls']} API calls made"
        f" ({summary['retries']} retries, {summary['isolation_calls']} isolation calls)."
    )
    if result.issues:
        click.echo(f"{len(result.issues)} problem(s) in the file:")
        for issue in result.issues[:MAX_PROBLEMS_SHOWN]:
            click.echo(f"  {issue.describe()}")
        if len(result.issues) > MAX_PROBLEMS_SHOWN:
            click.echo(f"  ... and {len(result.issues) - MAX_PROBLEMS_SHOWN} more in the report.")
    unsettled = [
        (row, outcome)
        for row, outcome in zip(result.data.rows, result.data.results, strict=True)
        if outcome.status in (Status.FAILED, Status.UNKNOWN, Status.NOT_SENT)
        and not result.data.facts.dry_run
    ]
    if unsettled:
        click.echo(f"{len(unsettled)} row(s) not enrolled:")
        for row, outcome in unsettled[:MAX_PROBLEMS_SHOWN]:
            click.echo(f"  {row.source.describe()}: {outcome.status.value}: {outcome.message}")
        if len(unsettled) > MAX_PROBLEMS_SHOWN:
            click.echo(f"  ... and {len(unsettled) - MAX_PROBLEMS_SHOWN} more in the report.")
    if result.data.facts.dry_run:
        _print_plan(result)
    click.echo(f"Report: {result.report_path}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run the CLI and turn every user-caused error into a message and exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    show_traceback = "--traceback" in args
    try:
        status = cli.main(args=args, prog_name="bulk-enroll", standalone_mode=False)
    except click.exceptions.Exit as exc:  # --help, --version
        return int(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return int(ExitStatus.INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        return int(ExitStatus.USAGE)
    except (BulkEnrollError, KeyboardInterrupt, OSError) as exc:
        if show_traceback:
            raise
        message = str(exc) or type(exc).__name__
        if isinstance(exc, OSError):
            message = f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")
        click.echo(f"Error: {message}", err=True)
        return int(exit_status_for(exc))
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())
