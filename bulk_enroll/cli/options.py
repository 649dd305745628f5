"""Option groups shared by the commands that read a file, and turning them into `JobOptions`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from bulk_enroll.jobs import JobOptions
from bulk_enroll.report.data import ReportFormat, report_format_for
from bulk_enroll.validate.rows import RowDefaults

Command = TypeVar("Command", bound=Callable[..., Any])


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
    `job_options` builds a `RowDefaults` from them."""
    options = [
        click.option(
            "--due-date-type",
            type=click.Choice(["unlimited", "default", "due_date", "due_period"]),
            help="Due date type for rows that give no type, due date or due period "
            "[default: [defaults] due_date_type, else default].",
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


def input_options(command: Command) -> Command:
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
            help="Read column HEADER as FIELD (e.g. 'Mitarbeiter E-Mail=learner_email'), or "
            "drop it with 'HEADER=ignore'; repeatable.",
        ),
        click.option(
            "--include-hidden-rows",
            is_flag=True,
            help="Send rows hidden in the sheet (by hand or by a filter) too; by default they "
            "are reported and not sent.",
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


def _parse_aliases(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> dict[str, str]:
    from bulk_enroll.read.columns import parse_alias_options

    try:
        return {header: str(target) for header, target in parse_alias_options(value).items()}
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def job_options(
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


def chosen_report_format(chosen: str | None, report_path: Path | None) -> ReportFormat:
    """--report-format, else the --report file's extension, else xlsx; they must agree."""
    report_format = report_format_for(chosen, report_path)
    if report_format is None:
        suffix = report_path.suffix.lower() if report_path else ""
        raise click.UsageError(f"--report {report_path} is a {suffix} file but --report-format "
                               f"is {chosen}")
    return report_format
