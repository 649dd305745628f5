"""`run`, `validate` and `plan`: the commands that read one file.

Each builds `JobOptions` from its options, fills the rest from the configuration and calls one
job of `bulk_enroll.jobs`; `console` prints the outcome.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shlex
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import click

from bulk_enroll.cli.console import print_plan, print_run, print_validation
from bulk_enroll.cli.context import config_option, configured_environ, traceback_wanted
from bulk_enroll.cli.options import (
    chosen_report_format,
    input_options,
    job_options,
    report_options,
    row_default_options,
)
from bulk_enroll.connect import connect
from bulk_enroll.jobs import run_job, validate_job, with_configuration
from bulk_enroll.read.reader import check_input_path
from bulk_enroll.settings.config import (
    AccountSettings,
    configured_account,
    load_account,
    load_run_settings,
    load_transport,
)


@click.command()
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
@click.option(
    "--respect-removals/--resend-removals",
    default=None,
    help="With --check-server: leave out (not_sent) enrollments an earlier run made that were "
    "removed in the LMS since, instead of enrolling them again [default: respect_removals "
    "in the configuration, else resend].",
)
@click.option(
    "--new-journal",
    is_flag=True,
    help="If the journal exists but cannot be read (emptied, damaged), move it aside and "
    "start a new one; a readable journal is kept.",
)
@input_options
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
    respect_removals: bool | None,
    new_journal: bool,
    **file_options: Any,
) -> int:
    """Enroll the learners listed in FILE (CSV, XLSX, XLS or ODS) and write a result workbook.

    The account comes from BULK_ENROLL_* environment variables (see README); --sandbox uses
    the built-in emulator instead.

    Example: bulk-enroll run --dry-run hr_export.xlsx
    """
    options = job_options(
        file,
        report_path=report_path,
        dry_run=dry_run,
        strict=strict,
        report_format=chosen_report_format(report_format, report_path),
        resend_unknown=resend_unknown,
        state_dir=state_dir,
        interactive=True,
        check_server=check_server,
        respect_removals=respect_removals,
        new_journal=new_journal,
        **file_options,
    )
    environ = configured_environ()
    settings = load_run_settings(environ)
    options = with_configuration(options, environ)
    check_input_path(file)  # a missing file is said before a missing account
    with _account(sandbox, needed=not dry_run, environ=environ) as account, \
            _sandbox_state(sandbox) as scratch:
        if scratch is not None and state_dir is None:
            # Each --sandbox run starts a fresh emulator: its journal must not outlive it.
            options = dataclasses.replace(options, state_dir=scratch)

        def connection():  # type: ignore[no-untyped-def]
            assert account is not None
            return connect(account, settings)

        result = run_job(options, settings, connection if account else None)
    retry = retry_command(result.report_path, sandbox=sandbox, state_dir=state_dir,
                          check_server=check_server, strict=strict)
    print_run(result, retry=retry, sandbox=sandbox, show_traceback=traceback_wanted())
    return int(result.exit_status)


def retry_command(report: Path, *, sandbox: bool, state_dir: Path | None, check_server: bool,
                  strict: bool) -> str:
    """The command that runs a report again, exactly as it can be pasted: the reading options
    are in the report; what is not (the configuration file, the journal, how to send) is
    repeated here."""
    words = ["bulk-enroll", *config_option(), "run"]
    words += ["--sandbox"] if sandbox else []
    words += ["--state-dir", str(state_dir)] if state_dir is not None else []
    words += ["--check-server"] if check_server else []
    words += ["--strict"] if strict else []
    return shlex.join([*words, str(report)])


@click.command("validate")
@click.argument("file", type=click.Path(path_type=Path))
@report_options
@row_default_options
@input_options
def validate_command(file: Path, **file_options: Any) -> int:
    """Read and check FILE without an account or network; write the result workbook.

    Prints rows, valid pairs, problems by kind and the first problems. Exit code 0 when the
    file is clean, 1 when some rows need fixing.

    Example: bulk-enroll validate --date-order dmy hr_export.csv
    """
    options = job_options(file, dry_run=True, **file_options)
    environ = configured_environ()
    result = validate_job(with_configuration(options, environ), load_run_settings(environ))
    print_validation(result)
    return int(result.exit_status)


@click.command("plan")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--sandbox", is_flag=True,
              help="Look names up in the built-in emulator instead of an account.")
@report_options
@row_default_options
@input_options
def plan_command(file: Path, sandbox: bool, **file_options: Any) -> int:
    """Show the calls that would enroll the learners listed in FILE; send nothing.

    Reads, validates and plans FILE like `run` (emails, logins and titles are looked up when
    an account, or --sandbox, is configured), prints the calls per settings group, the largest
    call and a lower bound on the calls any exact plan needs, and writes the workbook (its
    Batches sheet lists every planned call).

    Example: bulk-enroll plan hr_export.xlsx --report plan.xlsx
    """
    options = job_options(file, dry_run=True, **file_options)
    environ = configured_environ()
    settings = load_run_settings(environ)
    options = with_configuration(options, environ)
    check_input_path(file)
    with _account(sandbox, needed=False, environ=environ) as account:
        connection = (lambda: connect(account, settings)) if account else None
        result = run_job(options, settings, connection)
    print_plan(result)
    return int(result.exit_status)


@contextlib.contextmanager
def _sandbox_state(sandbox: bool) -> Iterator[Path | None]:
    if not sandbox:
        yield None
        return
    from bulk_enroll.sandbox.account import scratch_state_dir

    with scratch_state_dir() as scratch:
        yield scratch


@contextlib.contextmanager
def _account(sandbox: bool, *, needed: bool,
             environ: Mapping[str, str] | None = None) -> Iterator[AccountSettings | None]:
    """The real account from the environment, or a sandbox started for this run only."""
    if not sandbox:
        yield load_account(environ) if needed else configured_account(environ)
        return
    from bulk_enroll.sandbox.account import sandbox_account

    # BULK_ENROLL_TRANSPORT=rest works with --sandbox too
    with sandbox_account(transport=load_transport(environ)) as account:
        click.echo(
            f"Using the built-in sandbox at {account.api_url} (no real account is touched).",
            err=True,
        )
        yield account
