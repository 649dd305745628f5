"""Raw table -> validated `InputRow`s: the method page's parameter rules, applied per row.

Pure: no files, no network. Every problem of every row is collected (a person fixes a file in
one pass, not one error per run), each naming the column as it is written in the file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from bulk_enroll import values
from bulk_enroll.columns import ALIASES, ColumnMap, Field, map_columns
from bulk_enroll.errors import InputFileError
from bulk_enroll.model import (
    CourseKey,
    CourseRef,
    DueDateType,
    DueSettings,
    InputRow,
    LearnerKey,
    LearnerRef,
    Request,
    RowIssue,
    SourceRef,
)
from bulk_enroll.reader import Table

# The command-line option that supplies each field when the file has no value for it.
OPTION_NAMES: dict[Field, str] = {
    Field.ACCESS_DATE: "--access-date",
    Field.DUE_DATE_TYPE: "--due-date-type",
    Field.DUE_DATE: "--due-date",
    Field.DUE_PERIOD: "--due-period",
    Field.LOCK_AFTER_DUE_DATE: "--lock-after-due-date",
}

_PARSERS: dict[Field, Callable[[object], object]] = {
    Field.ACCESS_DATE: values.parse_datetime,
    Field.DUE_DATE_TYPE: values.parse_due_date_type,
    Field.DUE_DATE: values.parse_date,
    Field.DUE_PERIOD: values.parse_hours,
    Field.LOCK_AFTER_DUE_DATE: values.parse_bool,
}


@dataclass(frozen=True)
class RowDefaults:
    """Values given on the command line for every row; a non-empty cell wins over them."""

    due_date_type: str | None = None
    due_date: str | None = None
    due_period: str | None = None
    access_date: str | None = None
    lock_after_due_date: str | None = None

    def raw(self) -> dict[Field, str]:
        given = {
            Field.DUE_DATE_TYPE: self.due_date_type,
            Field.DUE_DATE: self.due_date,
            Field.DUE_PERIOD: self.due_period,
            Field.ACCESS_DATE: self.access_date,
            Field.LOCK_AFTER_DUE_DATE: self.lock_after_due_date,
        }
        return {f: v for f, v in given.items() if v not in (None, "")}


@dataclass(frozen=True)
class ValidatedInput:
    """The table's header and one `InputRow` per data row, in file order."""

    file: str
    sheet: str | None
    headers: tuple[str, ...]
    columns: ColumnMap
    rows: list[InputRow]


def parse_defaults(defaults: RowDefaults) -> dict[Field, object]:
    """Parse command-line defaults once; a bad one is a usage error, not a row problem."""
    parsed: dict[Field, object] = {}
    for field_, raw in defaults.raw().items():
        try:
            parsed[field_] = _PARSERS[field_](raw)
        except ValueError as exc:
            raise InputFileError(f"{OPTION_NAMES[field_]}: {exc}") from None
    return parsed


def validate_table(table: Table, defaults: RowDefaults | None = None) -> ValidatedInput:
    """Check the header once, then every row; rows with problems carry `RowIssue`s, not pairs."""
    columns = map_columns(table.headers)
    _check_header(table, columns)
    parsed_defaults = parse_defaults(defaults or RowDefaults())
    if Field.DUE_DATE_TYPE not in columns.index and Field.DUE_DATE_TYPE not in parsed_defaults:
        raise InputFileError(
            f"{table.file}: no due date type: add a 'due_date_type' column "
            "or pass --due-date-type (unlimited, default, due_date or due_period)"
        )
    rows = [
        _validate_row(SourceRef(table.file, number, table.sheet), cells, columns, parsed_defaults)
        for number, cells in table.rows
    ]
    return ValidatedInput(table.file, table.sheet, table.headers, columns, rows)


def _check_header(table: Table, columns: ColumnMap) -> None:
    missing = columns.missing_required
    if not missing:
        return
    wanted = "; ".join(f"{f.value} (or {', '.join(ALIASES[f][1:3])})" for f in missing)
    found = ", ".join(repr(h) for h in table.headers)
    raise InputFileError(
        f"{table.file}: missing required column(s): {wanted}. Columns found: {found}"
    )


class _RowChecker:
    """Collects every problem of one row while parsing its fields."""

    def __init__(
        self,
        source: SourceRef,
        cells: tuple[object, ...],
        columns: ColumnMap,
        defaults: dict[Field, object],
    ) -> None:
        self.source, self.cells, self.columns, self.defaults = source, cells, columns, defaults
        self.issues: list[RowIssue] = []

    def label(self, field_: Field) -> str:
        if field_ in self.columns.index:
            return self.columns.header_of(field_)
        return OPTION_NAMES.get(field_, field_.value)

    def cell(self, field_: Field) -> object:
        position = self.columns.index.get(field_)
        return None if position is None else self.cells[position]

    def from_file(self, field_: Field) -> bool:
        return not values.is_blank(self.cell(field_))

    def problem(self, field_: Field | None, message: str) -> None:
        column = self.label(field_) if field_ is not None else None
        self.issues.append(RowIssue(self.source, column, message))

    def value(self, field_: Field, parse: Callable[[object], object] | None = None) -> object:
        """The cell's parsed value, else the default, else None; records a problem if bad."""
        if not self.from_file(field_):
            return self.defaults.get(field_)
        try:
            return (parse or _PARSERS[field_])(self.cell(field_))
        except ValueError as exc:
            self.problem(field_, str(exc))
            return None


def _validate_row(
    source: SourceRef, cells: tuple[object, ...], columns: ColumnMap, defaults: dict[Field, object]
) -> InputRow:
    check = _RowChecker(source, cells, columns, defaults)
    learner = _learner_ref(check)
    course = _course_ref(check)
    settings = _settings(check)
    if check.issues or learner is None or course is None or settings is None:
        return InputRow(source, cells, issues=tuple(check.issues))
    return InputRow(source, cells, requests=(Request(learner, course, settings),))


# --- learner and course by ID or by name (minimal; the reader's richer version replaces it) ---

_LEARNER_COLUMNS = (
    (Field.LEARNER_ID, LearnerKey.ID),
    (Field.LEARNER_EMAIL, LearnerKey.EMAIL),
    (Field.LEARNER_LOGIN, LearnerKey.LOGIN),
)
_COURSE_COLUMNS = ((Field.COURSE_ID, CourseKey.ID), (Field.COURSE_TITLE, CourseKey.TITLE))


def _learner_ref(check: _RowChecker) -> LearnerRef | None:
    """The first non-empty of learner ID, email, login (in that order) names the learner."""
    for field_, key in _LEARNER_COLUMNS:
        if field_ in check.columns.index and check.from_file(field_):
            value = check.value(field_, _LEARNER_PARSERS[key])
            return None if value is None else LearnerRef(key, value)  # type: ignore[arg-type]
    _missing(check, _LEARNER_COLUMNS)
    return None


def _course_ref(check: _RowChecker) -> CourseRef | None:
    """The course ID if given, else the course title."""
    for field_, key in _COURSE_COLUMNS:
        if field_ in check.columns.index and check.from_file(field_):
            parse = values.parse_id if key is CourseKey.ID else values.cell_text
            value = check.value(field_, parse)
            return None if value is None else CourseRef(key, value)  # type: ignore[arg-type]
    _missing(check, _COURSE_COLUMNS)
    return None


_WHAT = {
    Field.LEARNER_ID: "learner ID",
    Field.LEARNER_EMAIL: "learner email",
    Field.LEARNER_LOGIN: "learner login",
    Field.COURSE_ID: "course ID",
    Field.COURSE_TITLE: "course title",
}


def _missing(check: _RowChecker, fields: tuple[tuple[Field, object], ...]) -> None:
    present = [f for f, _ in fields if f in check.columns.index]
    if len(present) == 1:
        check.problem(present[0], f"{_WHAT[present[0]]} is empty")
    else:
        names = [repr(check.label(f)) for f in present]
        listed = ", ".join(names[:-1]) + " and " + names[-1]
        check.problem(None, f"{listed} are all empty: fill in one of them")


def _parse_email(cell: object) -> str:
    text = values.cell_text(cell)
    local, at, domain = text.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in text):
        raise ValueError(f"{text!r} is not an email address")
    return text.lower()


_LEARNER_PARSERS: dict[LearnerKey, Callable[[object], object]] = {
    LearnerKey.ID: values.parse_id,
    LearnerKey.EMAIL: _parse_email,
    LearnerKey.LOGIN: values.cell_text,
}


def _settings(check: _RowChecker) -> DueSettings | None:
    """The row's due settings, keeping only the fields its due date type uses."""
    due_type = check.value(Field.DUE_DATE_TYPE)
    access = check.value(Field.ACCESS_DATE)
    lock = check.value(Field.LOCK_AFTER_DUE_DATE)
    due_date = check.value(Field.DUE_DATE) if due_type == DueDateType.DUE_DATE else None
    period = check.value(Field.DUE_PERIOD) if due_type == DueDateType.DUE_PERIOD else None

    if due_type is None:
        if not check.from_file(Field.DUE_DATE_TYPE):
            check.problem(Field.DUE_DATE_TYPE, "due date type is empty (or pass --due-date-type)")
        return None
    if (
        due_type == DueDateType.DUE_DATE
        and due_date is None
        and not check.from_file(Field.DUE_DATE)
    ):
        check.problem(Field.DUE_DATE, "due date is required when the due date type is due_date")
    if (
        due_type == DueDateType.DUE_PERIOD
        and period is None
        and not check.from_file(Field.DUE_PERIOD)
    ):
        check.problem(
            Field.DUE_PERIOD, "due period (hours) is required when the due date type is due_period"
        )
    _reject_unused(check, due_type)  # type: ignore[arg-type]
    if (
        isinstance(due_date, dt.date)
        and isinstance(access, dt.datetime)
        and due_date < access.date()
    ):
        check.problem(
            Field.DUE_DATE, f"due date {due_date} is before the access date {access.date()}"
        )
    if check.issues:
        return None
    return DueSettings(
        due_date_type=due_type,  # type: ignore[arg-type]
        access_date=access,  # type: ignore[arg-type]
        due_date=due_date,  # type: ignore[arg-type]
        due_period_hours=period,  # type: ignore[arg-type]
        lock_after_due_date=lock,  # type: ignore[arg-type]
    )


def _reject_unused(check: _RowChecker, due_type: DueDateType) -> None:
    """A due date or period written in a row whose type ignores it is a mistake worth flagging."""
    if due_type != DueDateType.DUE_DATE and check.from_file(Field.DUE_DATE):
        check.problem(
            Field.DUE_DATE,
            f"a due date is given but the due date type is {due_type.value}; "
            "set the type to due_date or clear the due date",
        )
    if due_type != DueDateType.DUE_PERIOD and check.from_file(Field.DUE_PERIOD):
        check.problem(
            Field.DUE_PERIOD,
            f"a due period is given but the due date type is {due_type.value}; "
            "set the type to due_period or clear the due period",
        )
