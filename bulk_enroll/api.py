"""The public Python API: enroll (or only check) rows from a spreadsheet or a pandas DataFrame.

    result = bulk_enroll.enroll(source, *, sandbox=False, dry_run=False, report=None, **options)
    result = bulk_enroll.validate(source, *, report=None, **options)
    result = bulk_enroll.preview(source, *, sandbox=False, report=None, **options)

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
from bulk_enroll.jobs import (
    SEND_LOCK_NAME,
    JobOptions,
    JobResult,
    run_job,
    validate_job,
    with_configuration,
)
from bulk_enroll.logs import register_secrets
from bulk_enroll.model import CourseKey, InputRow, LearnerKey
from bulk_enroll.plan.summary import PlanSummary
from bulk_enroll.read.cells import cell_text
from bulk_enroll.read.columns import Field, alias_target
from bulk_enroll.read.reader import Outline
from bulk_enroll.report.data import report_format_for
from bulk_enroll.report.sheets import public_url
from bulk_enroll.report.workbook import REPORT_FORMATS, ReportData, ReportFormat
from bulk_enroll.results import status_counts
from bulk_enroll.send.interrupt import CancelToken
from bulk_enroll.send.lock import lock_holder
from bulk_enroll.send.preview import SendPreview
from bulk_enroll.send.progress import ProgressCallback, ProgressEvent
from bulk_enroll.settings.config import (
    AccountSettings,
    RunSettings,
    configured_account,
    load_account,
    load_input_settings,
    load_read_limits,
    load_run_settings,
    load_transport,
)
from bulk_enroll.settings.config_file import read_configuration
from bulk_enroll.settings.environment import Environment
from bulk_enroll.validate.dates import DateOrder
from bulk_enroll.validate.rows import OPTION_NAMES, RowDefaults, parse_defaults

if TYPE_CHECKING:
    from pandas import DataFrame

__all__ = [
    "FIELDS",
    "CancelToken",
    "EnrollOptions",
    "EnrollResult",
    "Outline",
    "ProgressEvent",
    "RowOutcome",
    "RowProblem",
    "SendPreview",
    "Setup",
    "ValidateOptions",
    "enroll",
    "load_setup",
    "outline",
    "preview",
    "recognise",
    "send_lock_holder",
    "validate",
    "write_template",
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
    # Cells corrected before validation: {(row as the sheet shows it, header): value}.
    edits: Mapping[tuple[int, str], object] | None
    rows: Collection[int] | None  # only these rows (as the sheet shows them); None: all
    reports_dir: str | os.PathLike[str] | None  # the default report's folder (default reports/)


class EnrollOptions(ValidateOptions, total=False):
    """The options of `enroll`: the `run` command's, by keyword, plus the account and cancel."""

    strict: bool
    check_server: bool
    report_format: str | None  # "xlsx" or "csv"; default from the report's name, else xlsx
    resend_unknown: bool
    respect_removals: bool | None  # None: respect_removals in the configuration
    new_journal: bool  # a journal that exists but cannot be read: move it aside, start anew
    state_dir: str | os.PathLike[str] | None  # the journal's folder
    account: AccountSettings | None  # instead of the configuration file and environment
    cancel: CancelToken | None


VALIDATE_OPTIONS = frozenset(ValidateOptions.__optional_keys__)
ENROLL_OPTIONS = frozenset(EnrollOptions.__optional_keys__)
# A row default's name in messages: the keyword, not the command-line option.
KEYWORD_NAMES = {field_: field_.value for field_ in OPTION_NAMES}
DATE_ORDERS = tuple(order.value for order in DateOrder)
FRAME_NAME = "DataFrame"  # what messages and the report call a DataFrame source
FIELDS = tuple(field_.value for field_ in Field)  # what a column can mean (aliases=, mapping)


@dataclass(frozen=True)
class RowProblem:
    """One problem of one input row, for a table of problems (a web page's "Check" step)."""

    row: int  # as the sheet shows it; for a DataFrame its position (df.iloc[row])
    column: str | None  # as the input names it; None when the problem is not one cell's
    value: object  # the cell as read (None when empty, or when there is no column)
    message: str
    kind: str  # a short label to count problems by ("not a date", "conflicting settings")


@dataclass(frozen=True)
class RowOutcome:
    """One input row's cells and the status it ended with."""

    row: int  # as the sheet shows it; for a DataFrame its position
    values: dict[str, object]  # header as written -> the cell as read
    status: str
    message: str


@dataclass(frozen=True)
class EnrollResult:
    """What a run or a check did: the CLI's exit status, the counts, the report, every row.

    `exit_status` is the code the CLI would exit with (0 every row settled well, 1 some rows
    need attention, 3 a safety limit stopped the run, 4 an unexpected error stopped the send
    or the report could not be written, 130/143 Ctrl-C/SIGTERM stopped it); `counts` has
    every row status, zeros included; `plan` the calls planned and their lower bound;
    `problems` every problem of every row; `job` everything the run knows (rows, results,
    calls) for tools that need more.
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
    preview: SendPreview | None = field(default=None, repr=False)  # `preview()` only

    @property
    def headers(self) -> tuple[str, ...]:
        """The input's column headers, as written."""
        return self.job.data.headers

    def outcomes(self, statuses: Collection[str] | None = None) -> list[RowOutcome]:
        """Every input row (or those whose status is in `statuses`) with its cells and status,
        in input order: a page's table of rows, without pandas."""
        return [
            RowOutcome(row.source.row, dict(zip(self.headers, row.values, strict=False)),
                       result.status.value, result.message)
            for row, result in zip(self.job.data.rows, self.job.data.results, strict=True)
            if statuses is None or result.status.value in statuses
        ]

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
    return _enroll(source, sandbox=sandbox, dry_run=dry_run, report=report, options=options)


def preview(
    source: str | os.PathLike[str] | DataFrame,
    *,
    sandbox: bool = False,
    report: str | os.PathLike[str] | None = None,
    **options: Unpack[EnrollOptions],
) -> EnrollResult:
    """What `enroll` would do now, sending nothing: a dry run (names looked up when there is an
    account, `check_server` asks the server) that also leaves out the pairs the journal
    (`state_dir`) already settled. `result.preview` has the numbers to review before starting:
    new enrollments, people, courses, calls, pairs already enrolled (journal, server), and
    whether another run holds the journal. Takes `enroll`'s options.
    """
    _check_known("preview", options, ENROLL_OPTIONS)
    return _enroll(source, sandbox=sandbox, dry_run=True, report=report, options=options,
                   preview_send=True)


def _enroll(source: object, *, sandbox: object, dry_run: object, report: object,
            options: EnrollOptions, preview_send: bool = False) -> EnrollResult:
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
        respect_removals=_optional_flag("respect_removals", options.get("respect_removals")),
        new_journal=_flag("new_journal", options.get("new_journal", False)),
        state_dir=_path("state_dir", options.get("state_dir")),
        report_format=_report_format(report_format, job.report_path),
        preview=preview_send,
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
        # In the main thread, Ctrl-C and SIGTERM stop the run as `token.cancel()` does.
        result = run_job(dataclasses.replace(job, cancel=token, catch_signals=True), settings,
                         connection)
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
    reports_dir = _path("reports_dir", options.get("reports_dir"))
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
            edits=_edits(options.get("edits")),
            rows=_rows(options.get("rows")),
            reports_dir=reports_dir or JobOptions.reports_dir,
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


def _optional_flag(name: str, value: object) -> bool | None:
    return None if value is None else _flag(name, value)


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


def _edits(value: object) -> dict[tuple[int, str], object]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
            isinstance(key, tuple) and len(key) == 2 and _is_int(key[0])
            and isinstance(key[1], str) for key in value):
        raise ConfigError(f"edits={value!r}: give a mapping of (row, column header) -> value")
    return dict(value)


def _rows(value: object) -> frozenset[int] | None:
    if value is None:
        return None
    if isinstance(value, str | bytes) or not isinstance(value, Collection) or not all(
            _is_int(number) for number in value):
        raise ConfigError(f"rows={value!r}: give the row numbers as the sheet shows them")
    return frozenset(value)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _callable(name: str, value: object) -> ProgressCallback | None:
    if value is not None and not callable(value):
        raise ConfigError(f"{name}={value!r}: give a function")
    return value  # type: ignore[return-value]


def _report_format(chosen: str | None, report_path: Path | None) -> ReportFormat:
    """report_format, else the report's extension, else xlsx; they must agree."""
    report_format = report_format_for(chosen, report_path)
    if report_format is None:
        suffix = report_path.suffix.lower() if report_path else ""
        raise ConfigError(f"report={str(report_path)!r} is a {suffix} file but "
                          f"report_format={chosen!r}")
    return report_format


# ---- account and environment -------------------------------------------------------------------


def _environ(config: object) -> dict[str, str]:
    """The configuration file's settings overridden by the environment, as the CLI reads them."""
    return dict(read_configuration(_path("config", config)).environ)


def _configured_account(environ: Mapping[str, str], *, needed: bool) -> AccountSettings | None:
    """The account of the configuration; a dry run does without one (when none is set)."""
    return load_account(environ) if needed else configured_account(environ)


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
        preview=job.preview,
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


# ---- for front ends (the web page): the file's outline, the setup, the template ---------------


def outline(path: str | os.PathLike[str], *, sheet: str | int | None = None,
            aliases: Mapping[str, str] | None = None, config: object = None,
            max_rows: int = 12) -> Outline:
    """The first non-blank rows of a spreadsheet as text, its visible sheets and the row taken
    as the header (None when no row names a learner and a course column), for a person to
    map the columns of a file whose header is not recognised. The same safety checks as a
    run; the configuration's aliases count."""
    from bulk_enroll.read.reader import outline as read_outline

    environ = _environ(config)
    known = {**load_input_settings(environ).aliases, **_aliases(aliases)}
    return read_outline(Path(path), sheet=_sheet(sheet), aliases=known,
                        limits=load_read_limits(environ), max_rows=max_rows)


def recognise(headers: Collection[str], *, aliases: Mapping[str, str] | None = None,
              config: object = None) -> dict[str, str | None]:
    """The field each header means (built-in names, the configuration's aliases, then
    `aliases`), None for a header no name matches: what a mapping can start from."""
    from bulk_enroll.read.columns import HeaderMatcher

    known = {**load_input_settings(_environ(config)).aliases, **_aliases(aliases)}
    matcher = HeaderMatcher(known)
    return {header: (found.value if (found := matcher.field_of(header)) else None)
            for header in headers}


@dataclass(frozen=True)
class Setup:
    """What a front end shows and enforces from the configuration, read once at its start.

    `account` is None when none is configured (`account_problem` says why): runs are then dry
    runs. `limits` are the safety limits a run applies, in words; never a secret anywhere.
    """

    account: AccountSettings | None
    account_problem: str | None
    state_dir: Path  # the journal's folder
    max_file_bytes: int  # files larger than this are refused (the CLI's limit)
    limits: tuple[str, ...]
    aliases: dict[str, str]  # the configuration's header -> field names
    web_password: str | None = field(default=None, repr=False)  # [web] password
    transport: str = "soap"  # how enrollments are sent (also to a sandbox): soap or rest


def load_setup(config: object = None, *, account: AccountSettings | None = None) -> Setup:
    """The configuration (file and environment) as a front end needs it; `account` replaces
    the configured one (the sandbox). Raises `ConfigError` for a broken configuration."""
    environ = _environ(config)
    settings = load_run_settings(environ)
    read_limits = load_read_limits(environ)
    problem = None
    if account is None:
        try:
            account = load_account(environ)
        except ConfigError as exc:
            problem = str(exc)
    if account is not None:
        register_secrets([account.client_secret, account.token])
    return Setup(account, problem, settings.state_dir, read_limits.max_file_bytes,
                 describe_limits(settings, read_limits.max_file_bytes),
                 load_input_settings(environ).aliases,
                 web_password=Environment(environ).text("WEB_PASSWORD"),
                 transport=load_transport(environ))


def describe_limits(settings: RunSettings, max_file_bytes: int) -> tuple[str, ...]:
    """The safety limits of a run, for people."""
    limits = settings.limits
    per_call = (f"at most {limits.max_learners:,} people and {limits.max_courses:,} courses "
                "in one call")
    if limits.max_pairs:
        per_call += f", {limits.max_pairs:,} enrollments"
    rate = (f"at most {settings.rate_limit:g} calls per second" if settings.rate_limit
            else "slows down by itself when the server answers 429 (rate limit)")
    return (
        per_call,
        f"{settings.concurrency} {'call' if settings.concurrency == 1 else 'calls'} at once; "
        f"{rate}",
        f"up to {settings.max_attempts} attempts per call and {settings.retry_budget} retries "
        "in all: a failing server ends the run instead of retrying for hours",
        "nothing is sent twice: the journal remembers every enrollment confirmed",
        f"files up to {max_file_bytes / (1024 * 1024):,.0f} MB",
    )


def account_host(account: AccountSettings) -> str:
    """Where an account is (scheme://host[:port]), for people: never a path, user or secret."""
    return public_url(account.api_url or account.soap_url, path=False) or "(unknown)"


def send_lock_holder(state_dir: str | os.PathLike[str]) -> str | None:
    """Why a run on the journal in `state_dir` would be refused now (another run is sending
    with it), else None."""
    return lock_holder(Path(state_dir) / SEND_LOCK_NAME, "run using this journal")


def write_template(path: str | os.PathLike[str]) -> Path:
    """Write the Excel template to fill in (as `bulk-enroll template`)."""
    from bulk_enroll.read.template import write_template as write

    return write(Path(path))
