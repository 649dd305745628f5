"""The `bulk-enroll` command group, its global options, and `main`, the one error boundary.

Each command lives in a module of its own and only parses options, calls one library function
and prints; `main` turns whatever ended a command into one line on stderr and the exit code of
the policy in `errors.py`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from bulk_enroll._version import __version__
from bulk_enroll.cli.config_commands import config_group
from bulk_enroll.cli.console import print_error
from bulk_enroll.cli.context import defer_error, remember_configuration
from bulk_enroll.cli.inbox_command import inbox_command
from bulk_enroll.cli.report_command import report_command
from bulk_enroll.cli.run_commands import plan_command, run, validate_command
from bulk_enroll.cli.sandbox_command import sandbox_command
from bulk_enroll.cli.template_command import template_command
from bulk_enroll.cli.web_command import web_command
from bulk_enroll.errors import ConfigError, ExitStatus, exit_codes_legend, exit_status_for
from bulk_enroll.logs import LOG_FORMATS, log_internal_error, setup_logging
from bulk_enroll.settings.log_settings import load_log_settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]},
             epilog=exit_codes_legend())
@click.version_option(__version__, prog_name="bulk-enroll")
@click.option("-v", "--verbose", count=True, help="More log lines on stderr (-vv for debug).")
@click.option("--traceback", is_flag=True,
              help="Show the Python traceback of an error on stderr (an internal error's "
              "traceback always goes to the --log-file).")
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
    # Logging uses whatever it can read now; a broken file is reported by the commands that
    # read the settings.
    try:
        environ = remember_configuration(ctx, config_path).environ
        log_settings = load_log_settings(environ, log_format=log_format, log_file=log_file)
    except ConfigError as exc:
        defer_error(ctx, exc)
        log_settings = load_log_settings({}, log_format=log_format, log_file=log_file)
    setup_logging(verbose, log_settings, tracebacks=traceback)


for command in (run, validate_command, plan_command, report_command, template_command,
                sandbox_command, inbox_command, config_group, web_command):
    cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run the CLI; every error becomes one line on stderr and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        status = cli.main(args=args, prog_name="bulk-enroll", standalone_mode=False)
    except click.exceptions.Exit as exc:  # --help, --version
        return int(exc.exit_code)
    except click.exceptions.Abort:  # Ctrl-C (click turns KeyboardInterrupt into Abort)
        click.echo("Aborted.", err=True)
        return int(ExitStatus.INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        return int(ExitStatus.USAGE)
    except Exception as exc:
        failed = exit_status_for(exc)
        if failed is ExitStatus.INTERNAL:  # its traceback: the log file, stderr with --traceback
            log_internal_error(exc)
        print_error(exc, failed, show_traceback="--traceback" in args)
        return int(failed)
    return int(status or 0)
