"""Command line: parse options, call one library function, print the outcome.

`main` is the single error boundary: library exceptions become a one-line message and an exit
code (DESIGN.md); the traceback is shown only with --traceback.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from bulk_enroll import __version__
from bulk_enroll.connect import connect
from bulk_enroll.errors import AuthError, BulkEnrollError, ConfigError, InputFileError, SafetyStop
from bulk_enroll.jobs import JobOptions, JobResult, run_job, validate_job
from bulk_enroll.logs import (
    LOG_FORMATS,
    load_log_settings,
    register_secrets,
    setup_logging,
)
from bulk_enroll.model import ExitStatus, Status
from bulk_enroll.plan.summary import describe_plan
from bulk_enroll.read.safety import ReadLimits
from bulk_enroll.report.workbook import REPORT_FORMATS, ReportFormat
from bulk_enroll.results import status_counts
from bulk_enroll.settings.config import (
    AccountSettings,
    load_account,
    load_input_settings,
    load_run_settings,
    load_transport,
)
from bulk_enroll.settings.config_file import effective_environ, find_config_file, load_config_file
from bulk_enroll.validate.rows import RowDefaults

MAX_PROBLEMS_SHOWN = 10
Command = TypeVar("Command", bound=Callable[..., Any])
SECRET_NAMES = ("CLIENT_SECRET", "TOKEN", "SMTP_PASSWORD", "WEBHOOK_URL")
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
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="TOML configuration file [default: BULK_ENROLL_CONFIG, else "
    "$XDG_CONFIG_HOME/bulk-enroll/config.toml if it exists]. Environment variables override it.",
)
@click.option(
    "--log-format",
    type=click.Choice(LOG_FORMATS),
    help="Log lines for people (human) or one JSON object per line (json) [default: human].",
)
@click.option(
    "--log-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also log to this file, rotated by size; stderr then gets only warnings and errors.",
)
@click.pass_context
def cli(ctx: click.Context, verbose: int, traceback: bool, config_path: Path | None,
        log_format: str | None, log_file: Path | None) -> None:
    """Enroll learners in iSpring Learn courses from a spreadsheet.

    Example: bulk-enroll run --sandbox sample_data/new_hires_onboarding.xlsx
    """
    ctx.obj = {"traceback": traceback, "config_path": config_path}
    # A broken configuration file must not break --help or `sandbox`: it is reported by the
    # commands that read it. Logging uses whatever it can read now.
    try:
        environ = _effective_environ(ctx)
        log_settings = load_log_settings(environ, log_format=log_format, log_file=log_file)
    except ConfigError as exc:
        ctx.obj["config_error"] = exc  # raised by the first command that reads the settings
        log_settings = load_log_settings({}, log_format=log_format, log_file=log_file)
    setup_logging(verbose, log_settings)


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
        click.option(
            "--due-period", help="Due period in hours (or '10 days') for rows without one."
        ),
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


def _parse_aliases(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> dict[str, str]:
    from bulk_enroll.read.columns import parse_alias_options

    try:
        return {header: f.value for header, f in parse_alias_options(value).items()}
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _input_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """How to read the file: which sheet, how to read dates, extra header names, conflicts."""
    options = [
        click.option(
            "--sheet",
            help="Sheet to read: its name or 1-based position [default: the first sheet "
            "with a recognisable header].",
        ),
        click.option(
            "--date-order",
            type=click.Choice(["dmy", "mdy"]),
            help="How to read slash dates like 03/04/2027 (day first or month first); "
            "without it such dates are errors.",
        ),
        click.option(
            "--alias",
            "aliases",
            multiple=True,
            callback=_parse_aliases,
            metavar="HEADER=FIELD",
            help="Read column HEADER as FIELD (e.g. 'Mitarbeiter E-Mail=learner_email'); "
            "repeatable.",
        ),
        click.option(
            "--last-row-wins",
            is_flag=True,
            help="Same learner and course with different settings: use the last row's "
            "settings instead of marking the rows invalid.",
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
@click.option(
    "--report-format",
    type=click.Choice(["xlsx", "csv"]),
    help="Report as a workbook, or the Results rows as CSV (UTF-8 with BOM) "
    "[default: from --report's extension, else xlsx].",
)
@click.option(
    "--resend-unknown",
    is_flag=True,
    help="Send again pairs whose earlier call lost its answer and could not be checked "
    "(check the LMS first: they may already be enrolled).",
)
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    help="Folder of the journal [default: BULK_ENROLL_STATE_DIR or ~/.local/state/bulk-enroll].",
)
@click.option(
    "--check-server/--no-check-server",
    default=False,
    show_default=True,
    help="Ask the account which requested enrollments already exist and don't send those "
    "(reported already_enrolled). Needs BULK_ENROLL_API_URL.",
)
@_input_options
def run(
    file: Path,
    sandbox: bool,
    dry_run: bool,
    strict: bool,
    report_path: Path | None,
    report_format: str | None,
    resend_unknown: bool,
    state_dir: Path | None,
    check_server: bool,
    **file_options: Any,
) -> int:
    """Enroll the learners listed in FILE (CSV, XLSX, XLS or ODS) and write a result workbook.

    The account comes from BULK_ENROLL_* environment variables (see README); --sandbox uses
    the built-in emulator instead.

    Example: bulk-enroll run --dry-run hr_export.xlsx
    """
    options = _job_options(
        file,
        report_path=report_path,
        dry_run=dry_run,
        strict=strict,
        report_format=_report_format(report_format, report_path),
        resend_unknown=resend_unknown,
        state_dir=state_dir,
        interactive=True,
        check_server=check_server,
        **file_options,
    )
    environ = _effective_environ()
    settings = load_run_settings(environ)
    options = _configured(options, environ)
    with _account(sandbox, needed=not dry_run, environ=environ) as account, \
            _sandbox_state(sandbox) as scratch:
        if scratch is not None and state_dir is None:
            # Each --sandbox run starts a fresh emulator: its journal must not outlive it.
            options = dataclasses.replace(options, state_dir=scratch)

        def connection():  # type: ignore[no-untyped-def]
            assert account is not None
            return connect(account, settings)

        result = run_job(options, settings, connection if account else None)
    _print_result(result, sandbox=sandbox)
    return int(result.exit_status)


def _configured(options: JobOptions, environ: Mapping[str, str]) -> JobOptions:
    """Fill what the command line left open from the configuration: date order, aliases
    (the command line's win), and the input size limits."""
    configured = load_input_settings(environ)
    return dataclasses.replace(
        options,
        date_order=options.date_order or configured.date_order,
        aliases={**configured.aliases, **options.aliases},
        read_limits=ReadLimits.from_env(environ),
    )


def _job_options(
    file: Path,
    *,
    due_date_type: str | None,
    due_date: str | None,
    due_period: str | None,
    access_date: str | None,
    lock_after_due_date: str | None,
    aliases: dict[str, str] | None,
    **options: Any,
) -> JobOptions:
    """JobOptions from the options every file command shares (report, row defaults, input)."""
    defaults = RowDefaults(due_date_type, due_date, due_period, access_date, lock_after_due_date)
    return JobOptions(input_path=file, defaults=defaults, aliases=aliases or {}, **options)


def _report_format(chosen: str | None, report_path: Path | None) -> ReportFormat:
    """--report-format, else the --report file's extension, else xlsx; they must agree."""
    suffix = report_path.suffix.lower().lstrip(".") if report_path else ""
    if chosen is None:
        return "csv" if suffix == "csv" else "xlsx"
    if suffix in REPORT_FORMATS and suffix != chosen:
        raise click.UsageError(
            f"--report {report_path} is a .{suffix} file but --report-format is {chosen}"
        )
    return "csv" if chosen == "csv" else "xlsx"


@cli.command("validate")
@click.argument("file", type=click.Path(path_type=Path))
@report_options
@row_default_options
@_input_options
def validate_command(file: Path, **file_options: Any) -> int:
    """Read and check FILE without an account or network; write the result workbook.

    Prints rows, valid pairs, problems by kind and the first problems. Exit code 0 when the
    file is clean, 1 when some rows need fixing.

    Example: bulk-enroll validate --date-order dmy hr_export.csv
    """
    options = _job_options(file, dry_run=True, **file_options)
    environ = _effective_environ()
    result = validate_job(_configured(options, environ), load_run_settings(environ))
    _print_validation(result)
    return int(result.exit_status)


@cli.command("plan")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--sandbox", is_flag=True,
              help="Look names up in the built-in emulator instead of an account.")
@report_options
@row_default_options
@_input_options
def plan_command(file: Path, sandbox: bool, **file_options: Any) -> int:
    """Show the calls that would enroll the learners listed in FILE; send nothing.

    Reads, validates and plans FILE like `run` (emails, logins and titles are looked up when
    an account, or --sandbox, is configured), prints the calls per settings group, the largest
    call and a lower bound on the calls any exact plan needs, and writes the workbook (its
    Batches sheet lists every planned call).

    Example: bulk-enroll plan hr_export.xlsx --report plan.xlsx
    """
    options = _job_options(file, dry_run=True, **file_options)
    environ = _effective_environ()
    settings = load_run_settings(environ)
    options = _configured(options, environ)
    with _account(sandbox, needed=False, environ=environ) as account:
        connection = (lambda: connect(account, settings)) if account else None
        result = run_job(options, settings, connection)
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


@cli.command("template")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace OUT if it exists.")
def template_command(out: Path, force: bool) -> int:
    """Write an Excel template (OUT.xlsx) for HR to fill in.

    It has the canonical headers, dropdowns for the due date type and the lock flag, date and
    text formats, and an Instructions sheet; `run` and `validate` read it back as it is.

    Example: bulk-enroll template enrollments.xlsx
    """
    from bulk_enroll.read.template import write_template

    if out.suffix.lower() not in (".xlsx", ".xlsm"):
        raise click.BadParameter(f"{out.name}: the template is an Excel workbook; name it .xlsx")
    if out.exists() and not force:
        raise click.BadParameter(f"{out} exists; pass --force to replace it")
    write_template(out)
    click.echo(f"Template written: {out}")
    click.echo(f"Fill in the Enrollments sheet, then check it: bulk-enroll validate {out}")
    return int(ExitStatus.OK)


@cli.command("sandbox")
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
    from bulk_enroll.settings.config import is_loopback

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


@cli.command("inbox")
@click.argument("directory", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--archive",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where processed files go, under processed/, failed/ and duplicates/ by date "
    "[default: [inbox] archive_dir, else DIRECTORY/archive].",
)
@click.option(
    "--reports",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where each file's report goes [default: [inbox] reports_dir, else DIRECTORY/reports].",
)
@click.option(
    "--force",
    is_flag=True,
    help="Send files even when they exceed a safety limit (after you have checked them).",
)
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    help="Folder of the journal, the processed-files ledger and the lock "
    "[default: BULK_ENROLL_STATE_DIR or ~/.local/state/bulk-enroll].",
)
def inbox_command(directory: Path | None, archive: Path | None, reports: Path | None,
                  force: bool, state_dir: Path | None) -> int:
    """Process every spreadsheet dropped into DIRECTORY once, oldest first (for schedulers).

    Files still being written are left for the next run; each processed file is moved to the
    archive and gets a report; a file with the same content as one processed before is not
    applied again. Only one inbox run at a time (exit 3 otherwise). Safety limits stop a file
    before anything is sent (exit 3) unless --force. Exit code: the worst over the files (0 ok,
    1 rows need attention, 2 configuration, 3 safety limit or lock).

    \b
    Example: bulk-enroll --config /etc/bulk-enroll/config.toml inbox /srv/hr-drop
    """
    from bulk_enroll.inbox.notify import load_notify_settings, notify
    from bulk_enroll.inbox.runner import failed_run_summary, load_inbox_settings, run_inbox

    environ = _effective_environ()
    notify_settings = load_notify_settings(environ)
    register_secrets([notify_settings.smtp.password if notify_settings.smtp else None])
    settings = load_inbox_settings(environ, inbox=directory, archive=archive, reports=reports)
    run_settings = load_run_settings(environ)
    if state_dir is not None:
        run_settings = dataclasses.replace(run_settings, state_dir=state_dir)
    try:
        account = _registered(load_account(environ))
        result = run_inbox(settings, run_settings, lambda: connect(account, run_settings),
                           force=force, interactive=True)
    except BulkEnrollError as exc:
        # Nothing was processed (no account, another run holds the lock): say so anyway.
        notify(notify_settings, failed_run_summary(settings.inbox, exc,
                                                   int(exit_status_for(exc))))
        raise
    notify(notify_settings, result.as_dict(), result.reports())
    return result.exit_code


@cli.group("config")
def config_group() -> None:
    """Check the configuration (TOML file and environment) before a scheduler relies on it.

    Example: bulk-enroll --config /etc/bulk-enroll/config.toml config check
    """


@config_group.command("check")
@click.option("--offline", is_flag=True, help="Check the settings only; do not contact the LMS.")
@click.option(
    "--test-notifications",
    is_flag=True,
    help="Also send a test notification to the configured webhook and e-mail.",
)
def config_check_command(offline: bool, test_notifications: bool) -> int:
    """Validate the configuration and test the connection; enrolls nobody.

    Loads the file and the environment as a run would, fetches a token (and, with the REST
    transport, makes one cheap read call). Exit 0 when everything is usable, 2 otherwise.

    \b
    Example: bulk-enroll --config ~/.config/bulk-enroll/config.toml config check
    """
    from bulk_enroll.config_check import check_configuration, send_test_notification

    environ = _effective_environ()
    root = click.get_current_context().find_root().obj
    with contextlib.suppress(ConfigError):
        _registered(load_account(environ))
    checks = check_configuration(root.get("config_file"), environ,
                                 test_connection=not offline)
    for check in checks:
        click.echo(check.line())
    failed = sum(1 for c in checks if c.verdict == "fail")
    if test_notifications and not failed:
        check = send_test_notification(environ)
        click.echo(check.line())
        failed += check.verdict == "fail"
    if failed:
        click.echo(f"{failed} problem(s): fix them before a scheduler runs bulk-enroll.")
        return int(ExitStatus.USAGE)
    click.echo("Configuration OK (nobody was enrolled).")
    return int(ExitStatus.OK)


@contextlib.contextmanager
def _sandbox_state(sandbox: bool) -> Iterator[Path | None]:
    if not sandbox:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="bulk-enroll-sandbox-") as scratch:
        yield Path(scratch)


@contextlib.contextmanager
def _account(sandbox: bool, *, needed: bool,
             environ: Mapping[str, str] | None = None) -> Iterator[AccountSettings | None]:
    """The real account from the environment, or a sandbox started for this run only."""
    if not sandbox:
        if needed:
            yield _registered(load_account(environ))
        else:
            try:
                account = _registered(load_account(environ))
            except ConfigError:
                account = None
            yield account
        return
    from bulk_enroll.sandbox import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SandboxServer

    transport = load_transport(environ)  # BULK_ENROLL_TRANSPORT=rest works with --sandbox too
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
            transport=transport,
        )


def _registered(account: AccountSettings) -> AccountSettings:
    """The account, its secrets now masked in every log line."""
    register_secrets([account.client_secret, account.token])
    return account


def _effective_environ(ctx: click.Context | None = None) -> dict[str, str]:
    """The configuration file's settings overridden by the environment (read once per run)."""
    ctx = ctx or click.get_current_context()
    obj = ctx.find_root().obj if ctx.find_root().obj is not None else {}
    if obj.get("config_error") is not None:
        raise obj["config_error"]
    if "environ" not in obj:
        path = find_config_file(obj.get("config_path"))
        obj["config_file"] = load_config_file(path) if path else None
        obj["environ"] = effective_environ(obj["config_file"])
        environ = obj["environ"]
        register_secrets([*(obj["config_file"].secrets if obj["config_file"] else ()),
                          *(environ.get(f"BULK_ENROLL_{name}") for name in SECRET_NAMES)])
    return dict(obj["environ"])


def _print_result(result: JobResult, *, sandbox: bool = False) -> None:
    summary = result.summary
    counts = {k: v for k, v in status_counts(result.data.results).items() if v}
    breakdown = ", ".join(f"{count} {status}" for status, count in counts.items())
    click.echo(f"{summary['input']}: {summary['rows']} rows: {breakdown}.")
    click.echo(
        f"{summary['batches_planned']} calls planned, {summary['api_calls']} API calls made"
        f" ({summary['retries']} retries, {summary['isolation_calls']} isolation calls)."
    )
    if summary.get("lookup_calls"):
        click.echo(f"{summary['lookup_calls']} lookup call(s) to check people and courses.")
    _print_issues(result)
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
    _print_next_step(result, sandbox=sandbox)


def _print_next_step(result: JobResult, *, sandbox: bool) -> None:
    """What to do with the report's Needs attention sheet, when there is something to do."""
    counts = status_counts(result.data.results)
    to_fix = counts[Status.INVALID.value] + counts[Status.FAILED.value]
    to_send = counts[Status.NOT_SENT.value] + counts[Status.UNKNOWN.value]
    if result.data.facts.dry_run or result.report_path.suffix.lower() != ".xlsx":
        return
    again = f"bulk-enroll run {'--sandbox ' if sandbox else ''}{result.report_path}"
    if to_fix:
        click.echo(f"To retry: fix the {to_fix} row(s) marked invalid or failed on its "
                   f"'Needs attention' sheet, save it, and run: {again}")
    elif to_send:
        click.echo(f"{to_send} row(s) were not confirmed (see the report); when the cause is "
                   f"dealt with, run: {again}")


def _print_validation(result: JobResult) -> None:
    from collections import Counter

    data = result.data
    valid_rows = [row for row in data.rows if not row.issues]
    pairs = sum(len(row.pairs) for row in valid_rows)
    unique = len({pair for row in valid_rows for pair in row.pairs})
    counts = {k: v for k, v in status_counts(data.results).items() if v}
    breakdown = ", ".join(f"{count} {status}" for status, count in counts.items())
    click.echo(f"{data.facts.input_file}: {_count(len(data.rows), 'row')} ({breakdown or 'none'}).")
    click.echo(
        f"{_count(pairs, 'valid pair')} ({unique} distinct), "
        f"{_count(len(data.planned), 'call')} would be needed."
    )
    for note in result.notes:
        click.echo(f"Note: {note}")
    warned = [row for row in data.rows if row.notes]
    if warned:
        first = warned[0]
        click.echo(
            f"{len(warned)} row(s) with warnings (see the report's Message column), e.g. "
            f"{first.source.describe()}: {first.notes[0]}"
        )
    if result.issues:
        kinds = Counter(issue.kind or "other" for issue in result.issues)
        listed = ", ".join(f"{count} {kind}" for kind, count in kinds.most_common())
        click.echo(f"{len(result.issues)} problem(s): {listed}.")
        for issue in result.issues[:MAX_PROBLEMS_SHOWN]:
            click.echo(f"  {issue.describe()}")
        if len(result.issues) > MAX_PROBLEMS_SHOWN:
            click.echo(f"  ... and {len(result.issues) - MAX_PROBLEMS_SHOWN} more in the report.")
    else:
        click.echo("No problems found.")
    click.echo(f"Report: {result.report_path}")


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


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
