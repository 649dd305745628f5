"""The public Python API: enroll (or only check) rows from a spreadsheet or a pandas DataFrame.

    result = bulk_enroll.enroll(source, *, sandbox=False, dry_run=False, report=None, **options)
    result = bulk_enroll.validate(source, *, report=None, **options)

For scheduled Python jobs (Airflow, Prefect, cron, notebooks) and the web page. It is a thin
layer on the jobs the CLI runs (`jobs.run_job`, `jobs.validate_job`): the options are the `run`
and `validate` commands' options as keyword arguments, checked here so that a mistake is a
`TypeError` (an unknown keyword) or a `ConfigError` naming the option, never a traceback from
deep inside. Account settings come from the configuration file and the environment, as for the
CLI, or from `account=`. pandas is imported only when a DataFrame comes in or goes out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import os
import sys
from collections.abc import Collection, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, Unpack

from bulk_enroll.connect import connect
from bulk_enroll.errors import ConfigError, ExitStatus, InputFileError
from bulk_enroll.jobs import JobOptions, JobResult, run_job, validate_job, with_configuration
from bulk_enroll.logs import register_secrets
from bulk_enroll.model import CourseKey, InputRow, LearnerKey
from bulk_enroll.plan.summary import PlanSummary
from bulk_enroll.read.cells import cell_text
from bulk_enroll.read.columns import alias_target
from bulk_enroll.report.workbook import REPORT_FORMATS, ReportData, ReportFormat
from bulk_enroll.results import status_counts
from bulk_enroll.send.interrupt import CancelToken, stop_on_signals
from bulk_enroll.send.progress import ProgressCallback, ProgressEvent
from bulk_enroll.settings.config import (
    AccountSettings,
    load_account,
    load_run_settings,
    load_transport,
)
from bulk_enroll.settings.config_file import read_configuration
from bulk_enroll.validate.dates import DateOrder
from bulk_enroll.validate.rows import OPTION_NAMES, RowDefaults, parse_defaults

if TYPE_CHECKING:
    from pandas import DataFrame

__all__ = [
    "CancelToken",
    "EnrollOptions",
    "EnrollResult",
    "ProgressEvent",
    "RowProblem",
    "ValidateOptions",
    "enroll",
    "validate",
]


class ValidateOptions(TypedDict, total=False):
    """The options of `validate` (and of `enroll`): the `validate` command's, by keyword."""

    sheet: str | int | None  # a sheet name or 1-based position (workbooks only)
    date_order: str | None  # "dmy" or "mdy", for slash dates like 03/04/2027
    aliases: Mapping[str, str] | None  # header as written -> field name (or "ignore")
    include_hidden_rows: bool  # send rows hidden in the sheet (by hand or by a filter)
    last_row_wins: bool
    due_date_type: str | None  # values for rows without them; a value in the input wins
    due_date: str | dt.date | None
    due_period: str | int | float | None
    access_date: str | dt.date | None
    lock_after_due_date: str | bool | None
    summary_json: str | os.PathLike[str] | None
    config: str | os.PathLike[str] | None  # the configuration file, as --config
    progress: ProgressCallback | None


class EnrollOptions(ValidateOptions, total=False):
    """The options of `enroll`: the `run` command's, by keyword, plus the account and cancel."""

    strict: bool
    check_server: bool
    report_format: str | None  # "xlsx" or "csv"; default from the report's name, else xlsx
    resend_unknown: bool
    state_dir: str | os.PathLike[str] | None  # the journal's folder
    account: AccountSettings | None  # instead of the configuration file and environment
    cancel: CancelToken | None


VALIDATE_OPTIONS = frozenset(ValidateOptions.__optional_keys__)
ENROLL_OPTIONS = frozenset(EnrollOptions.__optional_keys__)
# A row default's name in messages: the keyword, not the command-line option.
KEYWORD_NAMES = {field_: field_.value for field_ in OPTION_NAMES}
DATE_ORDERS = tuple(order.value for order in DateOrder)
FRAME_NAME = "DataFrame"  # what messages and the report call a DataFrame source


@dataclass(frozen=True)
class RowProblem:
    """One problem of one input row, for a table of problems (a web page's "Check" step)."""

    row: int  # as the sheet shows it; for a DataFrame its position (df.iloc[row])
    column: str | None  # as the input names it; None when the problem is not one cell's
    value: object  # the cell as read (None when empty, or when there is no column)
    message: str
    kind: str  # a short label to count problems by ("not a date", "conflicting settings")


@dataclass(frozen=True)
class EnrollResult:
    """What a run or a check did: the CLI's exit status, the counts, the report, every row.

    `exit_status` is the code the CLI would exit with (0 every row settled well, 1 some rows
    need attention, 3 a safety limit stopped the run); `counts` has every row status, zeros
    included; `plan` the calls planned and their lower bound; `problems` every problem of
    every row; `job` everything the run knows (rows, results, calls) for tools that need more.
    """

    exit_status: ExitStatus
    counts: dict[str, int]
    report_path: Path
    summary: dict[str, object] = field(repr=False)
    plan: PlanSummary | None = field(repr=False)
    problems: tuple[RowProblem, ...] = field(repr=False)
    notes: tuple[str, ...] = field(repr=False)  # facts about the input (sheet, encoding)
    stop_reason: str | None  # why a safety limit stopped the run
    job: JobResult = field(repr=False, compare=False)
    source_frame: DataFrame | None = field(default=None, repr=False, compare=False)
    ids_resolved: bool = field(default=True, repr=False)  # pairs hold LMS IDs (not `validate`)

    def to_frame(self) -> DataFrame:
        """One row per input row: the input's columns (headers and values as given), then
        `status`, `message`, `resolved_learner_id`, `resolved_course_id` (several IDs are
        joined by ", ") and `row` (as the sheet shows it; a DataFrame's position). A result
        column whose name the input already uses gets the prefix `result_`."""
        import pandas as pd

        data = self.job.data
        if self.source_frame is not None:
            positions = [row.source.row for row in data.rows]
            inputs = self.source_frame.iloc[positions].reset_index(drop=True)
        else:
            inputs = pd.DataFrame([list(row.values) for row in data.rows],
                                  columns=list(data.headers))
        ids = [row_ids(row, resolved=self.ids_resolved) for row in data.rows]
        results = {
            "status": [result.status.value for result in data.results],
            "message": [result.message for result in data.results],
            "resolved_learner_id": [learners for learners, _ in ids],
            "resolved_course_id": [courses for _, courses in ids],
            "row": [row.source.row for row in data.rows],
        }
        taken = set(inputs.columns)
        named = {(f"result_{name}" if name in taken else name): values
                 for name, values in results.items()}
        return pd.concat([inputs, pd.DataFrame(named, index=inputs.index)], axis=1)


def enroll(
    source: str | os.PathLike[str] | DataFrame,
    *,
    sandbox: bool = False,
    dry_run: bool = False,
    report: str | os.PathLike[str] | None = None,
    **options: Unpack[EnrollOptions],
) -> EnrollResult:
    """Enroll the learners that `source` (a spreadsheet path or a DataFrame) lists, as
    `bulk-enroll run` does, and write the result workbook.

    `sandbox=True` sends to the built-in emulator; `dry_run=True` sends nothing; `report` is the
    workbook (default reports/<name>-results-<time>.xlsx). Options: see `EnrollOptions`. In the
    main thread, Ctrl-C or SIGTERM during the run stop it cleanly, as `cancel` does (a second
    Ctrl-C aborts); from any other thread no signal handler is installed.

    Raises `TypeError` for an unknown option, `ConfigError` for a bad option or configuration,
    `InputFileError` for an unreadable input, `AuthError` for refused credentials, and
    `SafetyStop` when another run holds the journal: nothing was sent in each case.
    """
    _check_known("enroll", options, ENROLL_OPTIONS)
    sandbox, dry_run = _flag("sandbox", sandbox), _flag("dry_run", dry_run)
    environ = _environ(options.get("config"))
    settings = load_run_settings(environ)
    job, frame = _job_options(source, report, options, environ, dry_run=dry_run)
    report_format = _choice("report_format", options.get("report_format"), REPORT_FORMATS)
    job = dataclasses.replace(
        job,
        strict=_flag("strict", options.get("strict", False)),
        check_server=_flag("check_server", options.get("check_server", False)),
        resend_unknown=_flag("resend_unknown", options.get("resend_unknown", False)),
        state_dir=_path("state_dir", options.get("state_dir")),
        report_format=_report_format(report_format, job.report_path),
    )
    account = options.get("account")
    if account is not None and not isinstance(account, AccountSettings):
        raise ConfigError(f"account={account!r}: give an AccountSettings")
    if sandbox and account is not None:
        raise ConfigError("give sandbox=True or account=..., not both")
    token = options.get("cancel") or CancelToken()
    if not isinstance(token, CancelToken):
        raise ConfigError(f"cancel={token!r}: give a bulk_enroll.CancelToken")
    with ExitStack() as stack:
        if sandbox:
            from bulk_enroll.sandbox.account import sandbox_account, scratch_state_dir

            account = stack.enter_context(sandbox_account(transport=load_transport(environ)))
            if job.state_dir is None:  # each sandbox starts empty: so does its journal
                job = dataclasses.replace(job, state_dir=stack.enter_context(scratch_state_dir()))
        elif account is None:
            account = _configured_account(environ, needed=not dry_run)
        if account is not None:
            register_secrets([account.client_secret, account.token])
        reachable = account
        connection = (lambda: connect(reachable, settings)) if reachable else None
        stack.enter_context(stop_on_signals(token.cancel))  # main thread only
        result = run_job(dataclasses.replace(job, cancel=token), settings, connection)
    return _result(result, frame, ids_resolved=True)


def validate(
    source: str | os.PathLike[str] | DataFrame,
    *,
    report: str | os.PathLike[str] | None = None,
    **options: Unpack[ValidateOptions],
) -> EnrollResult:
    """Read and check `source` (a spreadsheet path or a DataFrame) without an account or any
    network call, as `bulk-enroll validate` does, and write the result workbook.

    Valid rows are `not_sent` (with the batch they would go in); `exit_status` is 0 when the
    input has no problems, 1 otherwise. Options: see `ValidateOptions`.
    """
    _check_known("validate", options, VALIDATE_OPTIONS)
    environ = _environ(options.get("config"))
    job, frame = _job_options(source, report, options, environ, dry_run=True)
    return _result(validate_job(job, load_run_settings(environ)), frame, ids_resolved=False)


# ---- options -----------------------------------------------------------------------------------


def _check_known(function: str, options: Mapping[str, object], known: Collection[str]) -> None:
    """An unknown keyword is a TypeError naming it, as Python's own would be."""
    for name in options:
        if name in known:
            continue
        hint = ""
        if name in ENROLL_OPTIONS:
            hint = " (enroll() takes it)"
        elif close := difflib.get_close_matches(name, sorted(known), n=1):
            hint = f" (did you mean {close[0]!r}?)"
        raise TypeError(f"{function}() got an unexpected keyword argument {name!r}{hint}")


def _job_options(
    source: object,
    report: object,
    options: ValidateOptions,
    environ: Mapping[str, str],
    *,
    dry_run: bool,
) -> tuple[JobOptions, DataFrame | None]:
    """The options both jobs share; the source read into a table when it is a DataFrame."""
    frame = _as_frame(source)
    if frame is not None:
        input_path = Path(FRAME_NAME)
    elif isinstance(source, str | os.PathLike):
        input_path = Path(source)
    else:
        raise TypeError(f"source must be a file path or a pandas DataFrame, "
                        f"not {type(source).__name__}")
    sheet = _sheet(options.get("sheet"))
    if frame is not None and sheet is not None:
        raise ConfigError("sheet= applies to workbooks, not to a DataFrame")
    job = with_configuration(
        JobOptions(
            input_path=input_path,
            report_path=_path("report", report),
            summary_json=_path("summary_json", options.get("summary_json")),
            dry_run=dry_run,
            sheet=sheet,
            date_order=_choice("date_order", options.get("date_order"), DATE_ORDERS),
            aliases=_aliases(options.get("aliases")),
            last_row_wins=_flag("last_row_wins", options.get("last_row_wins", False)),
            include_hidden_rows=_flag("include_hidden_rows",
                                      options.get("include_hidden_rows", False)),
            progress=_callable("progress", options.get("progress")),
        ),
        environ,
    )
    # Checked with the date order the configuration may have added; the configuration's
    # [defaults] fill what the keywords leave open.
    job = dataclasses.replace(
        job, defaults=_row_defaults(options, job.date_order).or_else(job.defaults)
    )
    if frame is None:
        return job, None
    from bulk_enroll.read.frame import read_frame

    return dataclasses.replace(job, table=read_frame(frame, aliases=job.aliases)), frame


def _as_frame(source: object) -> DataFrame | None:
    """`source` if it is a DataFrame (pandas cannot have made one if it was never imported)."""
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(source, pandas.DataFrame):
        return source
    return None


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{name}={value!r}: give True or False")
    return value


def _choice(name: str, value: object, choices: Collection[str]) -> str | None:
    if value is None:
        return None
    folded = value.strip().lower() if isinstance(value, str) else value
    if folded not in choices:
        listed = " or ".join(repr(choice) for choice in choices)
        raise ConfigError(f"{name}={value!r}: use {listed}")
    return str(folded)


def _path(name: str, value: object) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, str | os.PathLike) or not str(value).strip():
        raise ConfigError(f"{name}={value!r}: give a file path")
    return Path(value).expanduser()


def _sheet(value: object) -> str | None:
    if value is None or (isinstance(value, str) and value.strip()):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return str(value)
    raise ConfigError(f"sheet={value!r}: give a sheet name or its 1-based position")


def _aliases(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"aliases={value!r}: give a mapping of header -> field name")
    try:
        return {str(header): str(alias_target(str(name))) for header, name in value.items()}
    except ValueError as exc:
        raise ConfigError(f"aliases: {exc}") from None


def _row_defaults(options: ValidateOptions, date_order: str | None) -> RowDefaults:
    """The row defaults as the text the CLI would pass, checked now (a bad one is a
    ConfigError naming the keyword)."""
    values: Mapping[str, object] = options
    given: dict[str, str | None] = {}
    for field_ in OPTION_NAMES:
        value = values.get(field_.value)
        if value is not None and not isinstance(value, str | int | float | dt.date):
            raise ConfigError(f"{field_.value}={value!r}: give text, a number, a date or a bool")
        given[field_.value] = None if value is None else cell_text(value)
    defaults = RowDefaults(**given)
    try:
        parse_defaults(defaults, DateOrder(date_order) if date_order else None, KEYWORD_NAMES)
    except InputFileError as exc:
        raise ConfigError(str(exc)) from None
    return defaults


def _callable(name: str, value: object) -> ProgressCallback | None:
    if value is not None and not callable(value):
        raise ConfigError(f"{name}={value!r}: give a function")
    return value  # type: ignore[return-value]


def _report_format(chosen: str | None, report_path: Path | None) -> ReportFormat:
    """report_format, else the report's extension, else xlsx; they must agree."""
    suffix = report_path.suffix.lower().lstrip(".") if report_path else ""
    if chosen is None:
        return "csv" if suffix == "csv" else "xlsx"
    if suffix in REPORT_FORMATS and suffix != chosen:
        raise ConfigError(f"report={str(report_path)!r} is a .{suffix} file but "
                          f"report_format={chosen!r}")
    return "csv" if chosen == "csv" else "xlsx"


# ---- account and environment -------------------------------------------------------------------


def _environ(config: object) -> dict[str, str]:
    """The configuration file's settings overridden by the environment, as the CLI reads them."""
    return dict(read_configuration(_path("config", config)).environ)


def _configured_account(environ: Mapping[str, str], *, needed: bool) -> AccountSettings | None:
    """The account of the configuration; a dry run does without one."""
    try:
        return load_account(environ)
    except ConfigError:
        if needed:
            raise
        return None


# ---- results -----------------------------------------------------------------------------------


def _result(job: JobResult, frame: DataFrame | None, *, ids_resolved: bool) -> EnrollResult:
    return EnrollResult(
        exit_status=job.exit_status,
        counts=status_counts(job.data.results),
        report_path=job.report_path,
        summary=job.summary,
        plan=job.plan,
        problems=row_problems(job.data),
        notes=job.notes,
        stop_reason=job.stop_reason,
        job=job,
        source_frame=frame,
        ids_resolved=ids_resolved,
    )


def row_problems(data: ReportData) -> tuple[RowProblem, ...]:
    """Every problem of every row, with the cell it is about."""
    position: dict[str, int] = {}
    for index, header in enumerate(data.headers):
        position.setdefault(header, index)  # a repeated header: the column validation used
    problems = []
    for row in data.rows:
        for issue in row.issues:
            at = position.get(issue.column) if issue.column is not None else None
            value = row.values[at] if at is not None and at < len(row.values) else None
            problems.append(RowProblem(issue.source.row, issue.column, value, issue.message,
                                       issue.kind))
    return tuple(problems)


def row_ids(row: InputRow, *, resolved: bool) -> tuple[str | None, str | None]:
    """The row's learner and course IDs, ", "-joined: the resolved ones after a run; after a
    check (nothing looked up) only those the row gives as IDs."""
    if resolved:
        learners = [pair.learner_id for pair in row.pairs]
        courses = [pair.course_id for pair in row.pairs]
    else:
        learners = [r.learner.value for r in row.requests if r.learner.key is LearnerKey.ID]
        courses = [r.course.value for r in row.requests if r.course.key is CourseKey.ID]
    return ", ".join(dict.fromkeys(learners)) or None, ", ".join(dict.fromkeys(courses)) or None
