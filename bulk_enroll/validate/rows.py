"""Raw table -> validated `InputRow`s: the method page's parameter rules, applied per row.

Pure: no files, no network. Every problem of every row is collected (a person fixes a file in
one pass, not one error per run), each naming the column as it is written in the file.

Speed: a large file repeats the same few values (course IDs, due date types, dates) on every
row, so each distinct raw value is parsed once per column, and each distinct combination of
settings cells once; per row only dictionary look-ups and the row's own objects remain.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from bulk_enroll.errors import InputFileError
from bulk_enroll.gc_pause import gc_paused
from bulk_enroll.model import (
    CourseKey,
    CourseRef,
    DueDateType,
    DueSettings,
    InputRow,
    LearnerKey,
    LearnerRef,
    NamedTwice,
    Pair,
    Request,
    RowIssue,
    SourceRef,
)
from bulk_enroll.read.cells import (
    AddressError,
    cell_text,
    display_names,
    email_addresses,
    is_blank,
)
from bulk_enroll.read.columns import (
    COURSE_FIELDS,
    LEARNER_FIELDS,
    AliasTarget,
    ColumnMap,
    Field,
    expected_names,
    map_columns,
)
from bulk_enroll.read.table import KIND_FORMULA, KIND_OVERFLOW, ReadProblem, Table
from bulk_enroll.validate import dates, values
from bulk_enroll.validate.dates import DateOrder
from bulk_enroll.validate.values import CellError

# The command-line option that supplies each field when the file has no value for it.
OPTION_NAMES: dict[Field, str] = {
    Field.ACCESS_DATE: "--access-date",
    Field.DUE_DATE_TYPE: "--due-date-type",
    Field.DUE_DATE: "--due-date",
    Field.DUE_PERIOD: "--due-period",
    Field.LOCK_AFTER_DUE_DATE: "--lock-after-due-date",
}
SETTINGS_FIELDS: tuple[Field, ...] = tuple(OPTION_NAMES)
_WHAT: dict[Field, str] = {
    Field.LEARNER_ID: "learner ID",
    Field.LEARNER_EMAIL: "learner email",
    Field.LEARNER_LOGIN: "learner login",
    Field.COURSE_ID: "course ID",
    Field.COURSE_TITLE: "course title",
}

KIND_UNUSED = "value the due date type ignores"
HIDDEN_ROW = (
    "hidden in the sheet (filter or hidden row): not sent; --include-hidden-rows to send"
)
KIND_ORDER = "due date before access date"
KIND_UNCLEAR_TYPE = "due date or due period?"
_CACHE_LIMIT = 200_000

# (column as written, message, kind): a problem before it is tied to a row.
Problem = ReadProblem


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

    def or_else(self, fallback: RowDefaults) -> RowDefaults:
        """These values, each unset one taken from `fallback` (the configuration's, or those a
        report remembers)."""
        return RowDefaults(**{
            f.name: getattr(self, f.name) or getattr(fallback, f.name)
            for f in dataclasses.fields(self)
        })


@dataclass(frozen=True)
class ValidatedInput:
    """The table's header and one `InputRow` per data row, in file order."""

    file: str
    sheet: str | None
    headers: tuple[str, ...]
    columns: ColumnMap
    rows: list[InputRow]
    notes: tuple[str, ...] = ()
    origin_rows: Mapping[int, int] = dataclasses.field(default_factory=dict)  # a report fed back


def _field_parser(field_: Field, order: DateOrder | None) -> Callable[[object], object]:
    """The parser of one settings field, returning its value (notes dropped)."""
    if field_ is Field.ACCESS_DATE:
        return lambda cell: dates.parse_datetime(cell, order)[0]
    if field_ is Field.DUE_DATE:
        return lambda cell: dates.parse_date(cell, order)[0]
    if field_ is Field.DUE_DATE_TYPE:
        return values.parse_due_date_type
    if field_ is Field.DUE_PERIOD:
        return values.parse_hours
    return values.parse_bool


def parse_defaults(
    defaults: RowDefaults,
    date_order: DateOrder | None = None,
    names: Mapping[Field, str] = OPTION_NAMES,
) -> dict[Field, object]:
    """Parse command-line defaults once; a bad one is a usage error, not a row problem. Its
    message names the option as `names` spell it (the Python API: keyword names)."""
    parsed: dict[Field, object] = {}
    for field_, raw in defaults.raw().items():
        try:
            parsed[field_] = _field_parser(field_, date_order)(raw)
        except ValueError as exc:
            raise InputFileError(f"{names[field_]}: {exc}") from None
    return parsed


def validate_table(
    table: Table,
    defaults: RowDefaults | None = None,
    *,
    date_order: DateOrder | str | None = None,
    aliases: Mapping[str, AliasTarget | str] | None = None,
    include_hidden_rows: bool = False,
) -> ValidatedInput:
    """Check the header once, then every row; rows with problems carry `RowIssue`s, not
    requests. `date_order` settles slash dates like 03/04/2027; `aliases` add header names.
    Rows hidden in the sheet are held back (not sent, said why) unless `include_hidden_rows`."""
    order = DateOrder(date_order) if date_order else None
    columns = map_columns(table.headers, aliases, rows=table.rows,
                          first_column=table.first_column, hidden=table.hidden_columns)
    _check_header(table, columns)
    parsed_defaults = parse_defaults(defaults or RowDefaults(), order)
    validator = _Validator(table, columns, parsed_defaults, order, include_hidden_rows)
    with gc_paused():
        rows = validator.validate_rows(table.rows)
    notes = (*table.notes, *columns.notes)
    if Field.DUE_DATE_TYPE not in columns.index:
        notes += (due_type_rule(rows, parsed_defaults.get(Field.DUE_DATE_TYPE)),)
    return ValidatedInput(table.file, table.sheet, table.headers, columns, rows, notes,
                          table.origin_rows)


def due_type_rule(rows: Sequence[InputRow], chosen: object) -> str:
    """The Summary's note for a file without a due date type column: the rule each row's type
    followed, with how many rows went each way."""
    counts: dict[DueDateType, int] = {}
    for row in rows:
        for due_type in {request.settings.due_date_type for request in row.requests}:
            counts[due_type] = counts.get(due_type, 0) + 1
    fallback = (
        f"{chosen.value} (the default you chose)" if isinstance(chosen, DueDateType)
        else f"{DueDateType.DEFAULT.value} (the course's own due date settings; "
             "--due-date-type or [defaults] due_date_type chooses another)"
    )
    counted = ", ".join(f"{n:,} {t.value}" for t, n in sorted(counts.items()))
    return (
        "the file has no due_date_type column: a row with a due date gets due_date, one "
        f"with a due period due_period, one with neither {fallback}"
        + (f"; rows: {counted}" if counted else "")
    )


def _check_header(table: Table, columns: ColumnMap) -> None:
    """Refuse a header that does not say which column is which (nothing is read)."""
    duplicates = columns.duplicate_message()
    if duplicates:
        raise InputFileError(f"{table.file}: {duplicates}")
    missing = columns.missing_required
    if not missing:
        return
    wanted = " and ".join(expected_names(group) for group in missing)
    found = ", ".join(repr(h) for h in table.headers)
    why = "".join(f"; {note}" for note in columns.notes)
    raise InputFileError(f"{table.file}: missing {wanted}. Columns found: {found}{why}")


def requests_as_pairs(rows: Sequence[InputRow]) -> list[InputRow]:
    """Give valid rows `pairs` that stand for their requests as written, without the LMS.

    For `validate`, which never asks the LMS: an ID stands for itself, an email, login or
    title for "the learner/course of that name", so duplicates and conflicts among rows that
    name things the same way are still found. Titles compare ignoring case.
    """
    out = []
    for row in rows:
        if row.issues or not row.requests:
            out.append(row)
            continue
        pairs = tuple(
            dict.fromkeys(
                Pair(
                    _key(r.learner.key, r.learner.value),
                    _key(r.course.key, r.course.value),
                    r.settings,
                )
                for r in row.requests
            )
        )
        out.append(dataclasses.replace(row, pairs=pairs))
    return out


def _key(kind: LearnerKey | CourseKey, value: str) -> str:
    if kind.value == "id":
        return value
    return f"{kind.value}:{value.casefold()}"


# ---- the per-row work --------------------------------------------------------------------------


@dataclass(frozen=True)
class Unreadable:
    """A cell that looks empty but holds a formula with no saved value (or an error)."""

    message: str

# A parsed reference cell: (references, problems, notes). No references and no problems means
# the cell is blank.
_Parsed = tuple[tuple[Any, ...], tuple[Problem, ...], tuple[str, ...]]
_BLANK: _Parsed = ((), (), ())
# A row's references from one group of columns (learner or course): the references its
# requests use, problems, notes, and the names of every filled column when there are several.
_Picked = tuple[tuple[Any, ...], tuple[Problem, ...], tuple[str, ...], NamedTwice | None]
_BLANK_PICKED: _Picked = ((), (), (), None)
# Parsed settings cells: (settings or None when invalid, problems, notes).
_Settings = tuple[DueSettings | None, tuple[Problem, ...], tuple[str, ...]]


class _Validator:
    """Holds the column positions, parsed defaults and the per-value caches of one table."""

    def __init__(
        self,
        table: Table,
        columns: ColumnMap,
        defaults: dict[Field, object],
        order: DateOrder | None,
        include_hidden_rows: bool = False,
    ) -> None:
        self.table, self.columns, self.defaults, self.order = table, columns, defaults, order
        self.include_hidden_rows = include_hidden_rows
        self.learner_cols = [
            (columns.index[f], f, columns.header_of(f)) for f in columns.present(LEARNER_FIELDS)
        ]
        self.course_cols = [
            (columns.index[f], f, columns.header_of(f)) for f in columns.present(COURSE_FIELDS)
        ]
        self.settings_fields = columns.present(SETTINGS_FIELDS)
        positions = [columns.index[f] for f in self.settings_fields]
        if len(positions) == 1:
            position = positions[0]
            self.settings_cells: Callable[[Sequence[object]], tuple[object, ...]] = lambda cells: (
                cells[position],
            )
        elif positions:
            self.settings_cells = itemgetter(*positions)
        else:
            self.settings_cells = lambda cells: ()
        self.checkbox_lock = self._is_checkbox_column(Field.LOCK_AFTER_DUE_DATE)
        self.ref_caches: dict[Field, dict[object, _Picked]] = {f: {} for f in Field}
        self.settings_cache: dict[object, _Settings] = {}

    def label(self, field_: Field) -> str:
        if field_ in self.columns.index:
            return self.columns.header_of(field_)
        return OPTION_NAMES.get(field_, field_.value)

    def _is_checkbox_column(self, field_: Field) -> bool:
        """A column whose every filled cell is a mark like 'x' means 'no' where it is empty."""
        position = self.columns.index.get(field_)
        if position is None:
            return False
        distinct = {cells[position] for _, cells in self.table.rows}
        filled = [v for v in distinct if not is_blank(v)]
        return bool(filled) and all(values.is_check_mark(v) for v in filled)

    def validate_rows(self, rows: Iterable[tuple[int, tuple[object, ...]]]) -> list[InputRow]:
        file, sheet = self.table.file, self.table.sheet
        pick_learners = self._picker(self.learner_cols, "learner")
        pick_courses = self._picker(self.course_cols, "course")
        settings_cells, settings_cache = self.settings_cells, self.settings_cache
        settings_of = self._settings
        typed = self.table.typed
        special = self.table.special_rows()
        email_at = self.columns.index.get(Field.LEARNER_EMAIL)
        out: list[InputRow] = []
        append = out.append
        for number, cells in rows:
            source = SourceRef(file, number, sheet)
            if special and number in special:
                held = self._special_row(source, cells)
                if held is not None:
                    append(held)
                    continue
                parsed_cells = self._readable(number, cells)
                read_problems = self.table.row_problems.get(number, ())
            else:
                parsed_cells, read_problems = cells, ()
            learners, l_problems, l_notes, l_twice = pick_learners(parsed_cells)
            courses, c_problems, c_notes, c_twice = pick_courses(parsed_cells)
            raw = settings_cells(parsed_cells)
            # 1 == 1.0 == True: cells of other types than text must not share a cache entry
            key = (raw, tuple(map(type, raw))) if typed else raw
            cached = settings_cache.get(key)
            if cached is None:
                cached = settings_cache[key] = settings_of(raw)
                if len(settings_cache) > _CACHE_LIMIT:
                    settings_cache.clear()
            settings, s_problems, s_notes = cached
            if read_problems and _shifted(read_problems):
                # Its values are in the wrong columns: what they would mean is no problem of
                # the file's (a title read as the due date type); only the shift is.
                issues = tuple(RowIssue(source, column, message, kind)
                               for column, message, kind in read_problems)
                append(InputRow(source, cells, issues=issues))
                continue
            if l_problems or c_problems or s_problems or settings is None or read_problems:
                issues = tuple(
                    RowIssue(source, column, message, kind)
                    for column, message, kind in (
                        *read_problems, *l_problems, *c_problems, *s_problems
                    )
                )
                append(InputRow(source, cells, issues=issues, notes=l_notes + c_notes + s_notes,
                                references=(*learners, *courses)))
                continue
            if len(learners) == 1 and len(courses) == 1:
                requests: tuple[Request, ...] = (Request(learners[0], courses[0], settings),)
            else:
                requests = tuple(
                    dict.fromkeys(Request(lr, cr, settings) for lr in learners for cr in courses)
                )
            if l_twice or c_twice:
                twice = tuple(t for t in (l_twice, c_twice) if t is not None)
                append(InputRow(source, cells, requests, notes=l_notes + c_notes + s_notes,
                                named_twice=twice))
            elif l_notes or c_notes or s_notes:
                append(InputRow(source, cells, requests, notes=l_notes + c_notes + s_notes))
            else:
                append(InputRow(source, cells, requests))
            shown = parsed_cells[email_at] if email_at is not None else None
            if isinstance(shown, str) and "<" in shown and (names := display_names(shown)):
                out[-1] = dataclasses.replace(out[-1], display_names=names)
        return out

    def _special_row(self, source: SourceRef, cells: tuple[object, ...]) -> InputRow | None:
        """A hidden row, held back (not validated: what is hidden is not asked for)."""
        if source.row in self.table.hidden_rows and not self.include_hidden_rows:
            return InputRow(source, cells, held_back=HIDDEN_ROW)
        return None

    def _readable(self, number: int, cells: tuple[object, ...]) -> tuple[object, ...]:
        """The row's cells with each formula-without-a-value cell replaced by a marker, which
        the parsers report as such (instead of "is empty")."""
        marks = self.table.unreadable.get(number)
        if not marks:
            return cells
        return tuple(
            Unreadable(marks[i]) if i in marks else cell for i, cell in enumerate(cells)
        )

    def _picker(
        self, cols: list[tuple[int, Field, str]], group: str
    ) -> Callable[[Sequence[object]], _Picked]:
        """A function giving a row's references from a group of columns, each distinct cell
        value parsed once. The requests use the first filled column (ID before email before
        login); every other filled column is parsed too, and kept for the agreement check."""
        empty: _Picked = (*self._empty(cols, group), None)
        parsers = [
            (position, self.ref_caches[field_], self._ref_parser(field_))
            for position, field_, _ in cols
        ]
        labels = {position: label for position, _, label in cols}

        def parsed(
            raw: object, cache: dict[object, _Picked], parse: Callable[[object], _Parsed]
        ) -> _Picked:
            key = raw if raw.__class__ is str else (raw.__class__, raw)
            found = cache.get(key)
            if found is None:
                refs, problems, notes = result = parse(raw)
                found = _BLANK_PICKED if result is _BLANK else (refs, problems, notes, None)
                cache[key] = found
                if len(cache) > _CACHE_LIMIT:
                    cache.clear()
            return found

        if len(parsers) == 1:
            [(position, cache, parse)] = parsers

            def pick_one(cells: Sequence[object]) -> _Picked:
                found = parsed(cells[position], cache, parse)
                return empty if found is _BLANK_PICKED else found

            return pick_one

        def several(filled: list[tuple[int, _Picked]]) -> _Picked:
            """Two or more filled columns: the first one's names, all problems and notes, and
            every column's names for the agreement check."""
            names = [found for _, found in filled]
            notes = tuple(note for found in names for note in found[2])
            problems = tuple(problem for found in names for problem in found[1])
            if problems:
                return tuple(ref for found in names for ref in found[0]), problems, notes, None
            twice = NamedTwice(tuple([labels[position] for position, _ in filled]),
                               tuple([found[0] for found in names]))
            return names[0][0], (), notes, twice

        if len(parsers) == 2:  # the usual case (an ID and an email), kept quick
            (first, cache1, parse1), (second, cache2, parse2) = parsers
            headers = (labels[first], labels[second])

            def pick_two(cells: Sequence[object]) -> _Picked:
                raw = cells[first]
                one = cache1.get(raw if raw.__class__ is str else (raw.__class__, raw)) or (
                    parsed(raw, cache1, parse1))
                raw = cells[second]
                two = cache2.get(raw if raw.__class__ is str else (raw.__class__, raw)) or (
                    parsed(raw, cache2, parse2))
                if one is _BLANK_PICKED:
                    return empty if two is _BLANK_PICKED else two
                if two is _BLANK_PICKED:
                    return one
                if one[1] or one[2] or two[1] or two[2]:
                    return several([(first, one), (second, two)])
                return one[0], (), (), NamedTwice(headers, (one[0], two[0]))

            return pick_two

        def pick_all(cells: Sequence[object]) -> _Picked:
            filled = [
                (position, found) for position, cache, parse in parsers
                if (found := parsed(cells[position], cache, parse)) is not _BLANK_PICKED
            ]
            if len(filled) < 2:
                return filled[0][1] if filled else empty
            return several(filled)

        return pick_all

    def _ref_parser(self, field_: Field) -> Callable[[object], _Parsed]:
        """`_parse_refs` for one field, with a fast path for a plain, valid ID or email."""
        general = functools.partial(self._parse_refs, field_)
        if field_ in (Field.LEARNER_ID, Field.COURSE_ID):
            pattern = values.UUID_PATTERN
            make: Callable[[str], object] = (
                (lambda v: LearnerRef(LearnerKey.ID, v))
                if field_ is Field.LEARNER_ID
                else (lambda v: CourseRef(CourseKey.ID, v))
            )
        elif field_ is Field.LEARNER_EMAIL:
            pattern = values.EMAIL_PATTERN
            make = lambda v: LearnerRef(LearnerKey.EMAIL, v)  # noqa: E731
        else:
            return general

        def parse(raw: object) -> _Parsed:
            if raw.__class__ is str and pattern.fullmatch(raw):  # type: ignore[arg-type]
                text: str = raw  # type: ignore[assignment]
                return (make(text if text.islower() else text.lower()),), (), ()
            return general(raw)

        return parse

    def _empty(self, cols: list[tuple[int, Field, str]], group: str) -> _Parsed:
        if len(cols) == 1:
            _, field_, label = cols[0]
            return (), ((label, f"{_WHAT[field_]} is empty", values.KIND_EMPTY),), ()
        labels = " and ".join(repr(label) for _, _, label in cols)
        return (), ((cols[0][2], f"no {group}: {labels} are empty", values.KIND_EMPTY),), ()

    def _parse_refs(self, field_: Field, raw: object) -> _Parsed:
        label = self.label(field_)
        if isinstance(raw, Unreadable):
            return (), ((label, raw.message, KIND_FORMULA),), ()
        notes: tuple[str, ...] = ()
        number_text = values.numeric_identifier(raw)
        if number_text is not None and field_ in (Field.LEARNER_LOGIN, Field.COURSE_TITLE):
            text = number_text
            if field_ is Field.LEARNER_LOGIN:
                note = values.LEADING_ZEROS_NOTE.format(value=number_text)
                notes = (f"{label}: {note}",)
        else:
            text = cell_text(raw)
        if not text:
            return _BLANK
        if field_ is Field.LEARNER_EMAIL:
            try:
                parts, unwrapped = email_addresses(text)
            except AddressError as exc:
                return (), ((label, str(exc), values.KIND_EMAIL),), notes
            if unwrapped:
                notes = (*notes, f"{label}: {text!r} read as {', '.join(parts).lower()}")
        elif field_ is Field.COURSE_TITLE:  # titles hold commas: only IDs split on them here
            parts = [piece for part in values.split_values(text, commas=False)
                     for piece in _ids_or_title(part)]
        else:
            parts = values.split_values(text)
        refs: list[object] = []
        problems: list[Problem] = []
        for part in parts:
            try:
                refs.append(_reference(field_, part))
            except CellError as exc:
                problems.append((label, str(exc), exc.kind))
        if problems:
            return (), tuple(problems), notes
        return tuple(dict.fromkeys(refs)), (), notes

    # ---- settings (once per distinct combination of settings cells) ----

    def _settings(self, raw: tuple[object, ...]) -> _Settings:
        cells = dict(zip(self.settings_fields, raw, strict=True))
        check = _SettingsCheck(self, cells)
        settings = check.settings()
        return settings, tuple(check.problems), tuple(check.notes)


def _ids_or_title(part: str) -> list[str]:
    """A title cell's part: course IDs when every comma-separated piece is one, else the
    title as written (resolution splits titles against the account's list)."""
    if "," not in part:
        return [part]
    pieces = [piece.strip() for piece in part.split(",") if piece.strip()]
    return pieces if all(map(values.looks_like_id, pieces)) else [part]


def _reference(field_: Field, text: str) -> LearnerRef | CourseRef:
    if field_ is Field.LEARNER_ID:
        return LearnerRef(LearnerKey.ID, values.parse_id(text))
    if field_ is Field.LEARNER_EMAIL:
        return LearnerRef(LearnerKey.EMAIL, values.parse_email(text))
    if field_ is Field.LEARNER_LOGIN:
        return LearnerRef(LearnerKey.LOGIN, text)
    if field_ is Field.COURSE_ID:
        return CourseRef(CourseKey.ID, values.parse_id(text))
    if values.looks_like_id(text):  # an ID in a "Course" column is taken as the ID it is
        return CourseRef(CourseKey.ID, values.parse_id(text))
    return CourseRef(CourseKey.TITLE, text)


def _shifted(problems: Iterable[ReadProblem]) -> bool:
    """Whether a text row has more values than the header: every value after the separator
    that should have been quoted sits one column to the right of where it belongs."""
    return any(kind == KIND_OVERFLOW and column is None for column, _, kind in problems)


class _SettingsCheck:
    """Collects every problem and note of one combination of settings cells."""

    def __init__(self, validator: _Validator, cells: dict[Field, object]) -> None:
        self.v, self.cells = validator, cells
        self.problems: list[Problem] = []
        self.notes: list[str] = []

    def given(self, field_: Field) -> bool:
        return not is_blank(self.cells.get(field_))

    def problem(self, field_: Field, message: str, kind: str) -> None:
        """A problem named by the file's column; one the file has no column for says so."""
        if field_ in self.v.columns.index:
            self.problems.append((self.v.label(field_), message, kind))
            return
        option = OPTION_NAMES.get(field_)
        hint = f" (the file has no {field_.value} column: add one, or pass {option})"
        self.problems.append((None, message + (hint if option else ""), kind))

    def value(self, field_: Field) -> object:
        """The cell's parsed value, else the default, else None; records a problem if bad."""
        if not self.given(field_):
            if field_ is Field.LOCK_AFTER_DUE_DATE and self.v.checkbox_lock:
                return False
            return self.v.defaults.get(field_)
        cell = self.cells[field_]
        if isinstance(cell, Unreadable):
            self.problem(field_, cell.message, KIND_FORMULA)
            return None
        order = self.v.order
        note: str | None = None
        try:
            result: object
            if field_ is Field.ACCESS_DATE:
                result, note = dates.parse_datetime(cell, order)
            elif field_ is Field.DUE_DATE:
                result, note = dates.parse_date(cell, order)
            elif field_ is Field.DUE_PERIOD:
                result, note = values.parse_due_period(cell, self.v.columns.period_unit)
            elif field_ is Field.DUE_DATE_TYPE:
                result = values.parse_due_date_type(cell)
            else:
                result = values.parse_bool(cell)
        except CellError as exc:
            self.problem(field_, str(exc), exc.kind)
            return None
        if note:
            self.notes.append(f"{self.v.label(field_)}: {note}")
        return result

    def due_type(self) -> object:
        """The row's due date type: its cell; else what the row gives (a due date: due_date; a
        due period: due_period); else the chosen default type; else what the chosen defaults
        give; else `default` (the course's own settings). A type the row does not write says
        how it was decided, in a note, unless the person chose it (an option, the config)."""
        if self.given(Field.DUE_DATE_TYPE):
            return self.value(Field.DUE_DATE_TYPE)
        date, period = self.given(Field.DUE_DATE), self.given(Field.DUE_PERIOD)
        chosen = not (date or period)
        if chosen:
            defaults = self.v.defaults
            if Field.DUE_DATE_TYPE in defaults:
                return defaults[Field.DUE_DATE_TYPE]
            date, period = Field.DUE_DATE in defaults, Field.DUE_PERIOD in defaults
            if not (date or period):
                self.notes.append(f"due date type {DueDateType.DEFAULT.value} (the course's own "
                                  "due date settings): the row gives no type, due date or period")
                return DueDateType.DEFAULT
        if date and period:
            self.problem(
                Field.DUE_DATE_TYPE,
                "both a due date and a due period are given and no due date type: which one "
                "applies is not clear; set the type (due_date or due_period) or clear one",
                KIND_UNCLEAR_TYPE,
            )
            return None
        inferred = DueDateType.DUE_DATE if date else DueDateType.DUE_PERIOD
        if not chosen:
            what = "due date" if date else "due period"
            self.notes.append(f"due date type {inferred.value}: the row gives a {what} and no "
                              "type")
        return inferred

    def settings(self) -> DueSettings | None:
        """The due settings, keeping only the fields the due date type uses."""
        due_type = self.due_type()
        access = self.value(Field.ACCESS_DATE)
        lock = self.value(Field.LOCK_AFTER_DUE_DATE)
        due_date = self.value(Field.DUE_DATE) if due_type == DueDateType.DUE_DATE else None
        period = self.value(Field.DUE_PERIOD) if due_type == DueDateType.DUE_PERIOD else None

        if due_type is None:
            return None
        assert isinstance(due_type, DueDateType)
        if due_type is DueDateType.DUE_DATE and due_date is None and not self.given(Field.DUE_DATE):
            self.problem(
                Field.DUE_DATE,
                "due date is required when the due date type is due_date",
                values.KIND_EMPTY,
            )
        if (
            due_type is DueDateType.DUE_PERIOD
            and period is None
            and not self.given(Field.DUE_PERIOD)
        ):
            self.problem(
                Field.DUE_PERIOD,
                "due period (hours) is required when the due date type is due_period",
                values.KIND_EMPTY,
            )
        self._reject_unused(due_type)
        if (
            isinstance(due_date, dt.date)
            and isinstance(access, dt.datetime)
            and due_date < access.date()
        ):
            self.problem(
                Field.DUE_DATE,
                f"due date {due_date} is before the access date {access.date()}",
                KIND_ORDER,
            )
        if self.problems:
            return None
        return DueSettings(
            due_date_type=due_type,
            access_date=access,  # type: ignore[arg-type]
            due_date=due_date,  # type: ignore[arg-type]
            due_period_hours=period,  # type: ignore[arg-type]
            lock_after_due_date=lock,  # type: ignore[arg-type]
        )

    def _reject_unused(self, due_type: DueDateType) -> None:
        """A due date or period in a row whose type ignores it is a mistake worth flagging."""
        if due_type is not DueDateType.DUE_DATE and self.given(Field.DUE_DATE):
            self.problem(
                Field.DUE_DATE,
                f"a due date is given but the due date type is {due_type.value}; "
                "set the type to due_date or clear the due date",
                KIND_UNUSED,
            )
        if due_type is not DueDateType.DUE_PERIOD and self.given(Field.DUE_PERIOD):
            self.problem(
                Field.DUE_PERIOD,
                f"a due period is given but the due date type is {due_type.value}; "
                "set the type to due_period or clear the due period",
                KIND_UNUSED,
            )
