"""Which input column means which enrollment field.

People write headers in many ways ("Learner ID", "learner_id", "learnerId", "Employee email");
they are matched after folding case and dropping spaces, underscores, hyphens, dots and
parentheses, so each alias is listed once. Users add their own aliases (`--alias`), which win
over the built-in ones; an alias to `ignore` drops a column.

A header alone does not always decide: a "Learner" or "User" column may hold IDs, emails or
people's names, and an HR "User ID" may hold HR numbers. Such columns are read by their
content: values that are not IDs do not make an ID column (see `map_columns`). Two used
columns giving the same field, and headers that look like a typo of a field, are reported.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from bulk_enroll.read.cells import VALUE_SEPARATORS, cell_text, is_addresses, looks_like_id
from bulk_enroll.read.period_units import header_unit


class Field(StrEnum):
    """The enrollment fields a column can supply (canonical names as in the README)."""

    LEARNER_ID = "learner_id"
    LEARNER_EMAIL = "learner_email"
    LEARNER_LOGIN = "learner_login"
    COURSE_ID = "course_id"
    COURSE_TITLE = "course_title"
    ACCESS_DATE = "access_date"
    DUE_DATE_TYPE = "due_date_type"
    DUE_DATE = "due_date"
    DUE_PERIOD = "due_period"
    LOCK_AFTER_DUE_DATE = "lock_after_due_date"


# Canonical name, the API's own parameter name, then common human forms. Deliberately absent:
# "Employee ID" (an HR number, not the LMS's user ID), "User name" (often a person's name),
# "Title" (often a job title).
ALIASES: dict[Field, tuple[str, ...]] = {
    Field.LEARNER_ID: (
        "learner_id",
        "learnerId",
        "user_id",
        "learnerIds",
        "userId",
        "LMS user ID",
    ),
    Field.LEARNER_EMAIL: (
        "learner_email",
        "email",
        "e-mail",
        "email address",
        "e-mail address",
        "employee email",
        "work email",
        "business email",
        "user email",
        "learner email address",
        "employee email address",
        # the same in the languages HR writes headers in
        "e-mail-adresse", "adresse e-mail", "adresse email", "adresse mail", "courriel",
        "correo", "correo electrónico", "indirizzo email", "e-mailadres",
    ),
    Field.LEARNER_LOGIN: (
        "learner_login",
        "login",
        "user login",
        "login name",
        "employee login",
    ),
    Field.COURSE_ID: ("course_id", "courseId", "content_id", "courseIds", "contentId"),
    Field.COURSE_TITLE: (
        "course_title",
        "course",
        "course name",
        "courseTitle",
        "course title",
        "content title",
        "content name",
        "training",
        "training name",
        "training title",
        "courses",
        "kurs", "kursname", "kurstitel", "schulung", "formation", "cours", "curso", "corso",
        "cursus",
    ),
    Field.ACCESS_DATE: (  # not "Start date" or "Hire date": HR files use them for the hire date
        "access_date",
        "accessDate",
        "available from",
        "access from",
        "start studying",
    ),
    Field.DUE_DATE_TYPE: ("due_date_type", "dueDateType", "due type", "deadline type"),
    Field.DUE_DATE: (
        "due_date",
        "dueDate",
        "deadline",
        "due",
        "due by",
        "complete by",
        "completion deadline",
        "fälligkeitsdatum", "fällig am", "fällig bis", "date limite", "échéance",
        "date d'échéance", "fecha límite", "fecha de vencimiento", "scadenza",
        "data di scadenza", "vervaldatum", "uiterste datum", "prazo",
    ),
    Field.DUE_PERIOD: (
        "due_period",
        "duePeriod",
        "due_period_hours",
        "due period (hours)",
        "due in",
        "due in hours",
        "deadline period",
    ),
    Field.LOCK_AFTER_DUE_DATE: (
        "lock_after_due_date",
        "lockAfterDueDate",
        "lock",
        "lock after due",
        "lock after deadline",
        "lock course after due date",
        "sperren", "verrouiller", "bloquear", "bloccare", "blokkeren",
    ),
}

# Headers that name the learner without saying how: the column's content decides whether it
# holds IDs or emails; a column of people's names is not used.
GENERIC_LEARNER: tuple[str, ...] = (
    "learner",
    "user",
    "employee",
    "participant",
    "trainee",
    "attendee",
    "student",
)
IGNORE = "ignore"  # an alias target: the column is not read, whatever its header says
AliasTarget = Field | Literal["ignore"]

# A row must name a learner (by any of these columns) and a course; the first non-empty
# column of each group is used, in this order of preference.
LEARNER_FIELDS: tuple[Field, ...] = (Field.LEARNER_ID, Field.LEARNER_EMAIL, Field.LEARNER_LOGIN)
COURSE_FIELDS: tuple[Field, ...] = (Field.COURSE_ID, Field.COURSE_TITLE)
REQUIRED_GROUPS: dict[str, tuple[Field, ...]] = {
    "learner": LEARNER_FIELDS,
    "course": COURSE_FIELDS,
}

_FOLD = re.compile(r"[\s_\-().:/\\\u00a0\u200b\u200c\u200d\ufeff]+")


def fold_header(name: object) -> str:
    """A header's comparison form: case, spaces, underscores, hyphens, dots, brackets ignored."""
    if name is None:
        return ""
    return _FOLD.sub("", str(name)).casefold()


_BUILT_IN: dict[str, Field] = {
    fold_header(alias): field_ for field_, aliases in ALIASES.items() for alias in aliases
}
_GENERIC = frozenset(fold_header(header) for header in GENERIC_LEARNER)
_BUILT_IN.update(dict.fromkeys(_GENERIC, Field.LEARNER_ID))  # a learner column, to find headers
_CANONICAL = frozenset(fold_header(f.value) for f in Field)
# Headers that look like a field but are deliberately not one: said so, with the alias to use.
_NOT_ALIASED: dict[str, tuple[Field, str]] = {
    fold_header("start date"): (Field.ACCESS_DATE, "HR files use it for the hire date"),
    fold_header("start"): (Field.ACCESS_DATE, "HR files use it for the hire date"),
}
_SHOWN_ALIAS: dict[str, str] = {}  # folded -> the alias a suggestion shows (words over names)
for _aliases in ALIASES.values():
    for _alias in _aliases:
        if " " in _alias or fold_header(_alias) not in _SHOWN_ALIAS:
            _SHOWN_ALIAS[fold_header(_alias)] = _alias
_CONTENT_SAMPLE = 1000  # non-empty cells looked at to judge a column by its content
# A header naming a due period (or just "Due") and then its unit is a due period column in that
# unit: "Due period (days)", "Due in weeks", "Deadline (days)", "Due (Tage)".
_PERIOD_STEMS = frozenset(
    fold_header(stem) for stem in (*ALIASES[Field.DUE_PERIOD], "due", "deadline", "due within",
                                   "complete within", "time to complete")
)


# Due period headers that name no unit and are not the API's name ("due_period", "Due period",
# "duePeriod": hours): "Due in 14" is more likely days than hours, so a bare number there is
# asked about (`UNIT_NOT_STATED`), not read as hours.
_UNITLESS_PERIOD = frozenset(fold_header(h) for h in ("due in", "deadline period"))
UNIT_NOT_STATED = ("", 0)


def period_header_unit(header: object) -> tuple[str, int] | None:
    """(the unit as written, its hours) when the header is a due period stem and a unit."""
    found = header_unit(str(header)) if header is not None else None
    if found is None or fold_header(found[0]) not in _PERIOD_STEMS:
        return None
    return found[1], found[2]


def parse_alias_options(pairs: Iterable[str]) -> dict[str, AliasTarget]:
    """`Header=field` strings (the `--alias` option) -> a header-to-field mapping; the field
    may be `ignore` (drop the column).

    Raises `ValueError` naming the bad entry and the field names that exist.
    """
    aliases: dict[str, AliasTarget] = {}
    for entry in pairs:
        header, sep, name = entry.rpartition("=")
        if not sep or not header.strip():
            raise ValueError(
                f"{entry!r} is not HEADER=FIELD (e.g. 'Mitarbeiter E-Mail=learner_email')"
            )
        aliases[header.strip()] = alias_target(name)
    return aliases


def alias_target(name: str) -> AliasTarget:
    """What an alias reads a column as: a field, or `ignore`."""
    return "ignore" if fold_header(name) == IGNORE else field_named(name)


def field_named(name: str) -> Field:
    """The field with this canonical name (or any built-in alias of it)."""
    folded = fold_header(name)
    found = _BUILT_IN.get(folded) if folded not in _GENERIC else None
    if found is None:
        fields = ", ".join(f.value for f in Field)
        raise ValueError(f"{name.strip()!r} is not a field; use one of {fields} (or {IGNORE})")
    return found


class HeaderMatcher:
    """Recognises headers: the built-in aliases plus the user's (which win; `ignore` drops)."""

    def __init__(self, extra_aliases: Mapping[str, AliasTarget | str] | None = None) -> None:
        self.by_folded: dict[str, Field | None] = dict(_BUILT_IN)
        self.chosen: set[str] = set()  # folded headers the user aliased: never second-guessed
        for header, target in (extra_aliases or {}).items():
            folded = fold_header(header)
            self.chosen.add(folded)
            chosen = target if isinstance(target, Field) else alias_target(target)
            self.by_folded[folded] = chosen if isinstance(chosen, Field) else None  # ignore

    def field_of(self, header: object) -> Field | None:
        folded = fold_header(header)
        if folded in self.by_folded:
            return self.by_folded[folded]
        return Field.DUE_PERIOD if period_header_unit(header) else None

    def by_content(self, header: object) -> bool:
        """Whether the column's values must confirm its field (a generic learner header, or an
        ID header other than the canonical name), unless the user aliased it."""
        folded = fold_header(header)
        if folded in self.chosen or folded in _CANONICAL:
            return False
        return folded in _GENERIC or self.by_folded.get(folded) in _ID_FIELDS

    def recognised(self, headers: Iterable[object]) -> set[Field]:
        return {f for f in map(self.field_of, headers) if f is not None}

    def is_header(self, headers: Iterable[object]) -> bool:
        """A header row names at least one learner column and one course column."""
        found = self.recognised(headers)
        return all(found.intersection(group) for group in REQUIRED_GROUPS.values())


_ID_FIELDS = (Field.LEARNER_ID, Field.COURSE_ID)


@dataclass(frozen=True)
class ColumnMap:
    """Which column index holds each field, plus the file's header as written.

    `duplicates` lists the fields more than one used column gives (an error: which one?);
    `period_unit`: the unit the due period column's header names ("days", 24), in which a bare
    number there is read (None: hours; `UNIT_NOT_STATED`: a loose header such as "Due in",
    where a bare number is a question);
    `notes` say why a column that looks like a field is not used, or what a misspelt header
    may have meant. `first_column` and `hidden` (positions) are for showing the mapping.
    """

    headers: tuple[str, ...]
    index: Mapping[Field, int]
    duplicates: Mapping[Field, tuple[int, ...]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    first_column: int = 0
    hidden: frozenset[int] = frozenset()
    period_unit: tuple[str, int] | None = None

    def header_of(self, field_: Field) -> str:
        """The column's name as written in the file (for messages the file's author recognises)."""
        return self.headers[self.index[field_]]

    def letter(self, position: int) -> str:
        """The column's letter as the spreadsheet shows it."""
        return column_letter(self.first_column + position)

    def name(self, position: int) -> str:
        """The column by letter and header, e.g. "B 'Email'"."""
        return f"{self.letter(position)} {self.headers[position]!r}"

    @property
    def missing_required(self) -> list[str]:
        """The required groups ("learner", "course") no column supplies."""
        return [
            name
            for name, group in REQUIRED_GROUPS.items()
            if not any(f in self.index for f in group)
        ]

    def present(self, fields: Iterable[Field]) -> tuple[Field, ...]:
        return tuple(f for f in fields if f in self.index)

    def describe(self) -> str:
        """The mapping used, column by column: "B 'Email' -> learner_email, ..."."""
        used = sorted((position, f) for f, position in self.index.items())
        return ", ".join(
            f"{self.name(position)} -> {f.value}"
            + (" (hidden column)" if position in self.hidden else "")
            for position, f in used
        )

    def duplicate_message(self) -> str | None:
        """The error for columns that give the same field, or None."""
        if not self.duplicates:
            return None
        parts = []
        for f, positions in self.duplicates.items():
            names = [self.name(p) for p in positions]
            listed = ", ".join(names[:-1]) + f" and {names[-1]}"
            parts.append(f"columns {listed} {'both' if len(names) == 2 else 'all'} give "
                         f"{f.value}")
        same_name = any(
            len({fold_header(self.headers[p]) for p in positions}) < len(positions)
            for positions in self.duplicates.values()
        )
        fix = (
            "rename or delete all but one of them"
            if same_name
            else "keep one: delete the others, or drop one with --alias 'HEADER=ignore'"
        )
        return f"{'; '.join(parts)}: which one to read is not clear; {fix}"


def map_columns(
    headers: Iterable[str],
    extra_aliases: Mapping[str, AliasTarget | str] | None = None,
    *,
    rows: Sequence[tuple[int, Sequence[object]]] = (),
    first_column: int = 0,
    hidden: frozenset[int] = frozenset(),
) -> ColumnMap:
    """Match headers to fields, judging by `rows` the columns whose header does not decide
    (`HeaderMatcher.by_content`): a generic learner column is `learner_id` when most of its
    values are IDs, `learner_email` when most are emails, and unused otherwise; an ID column
    whose values are mostly not IDs is unused. Without rows the header decides."""
    matcher = HeaderMatcher(extra_aliases)
    headers = tuple(headers)
    claims: dict[Field, list[int]] = {}
    notes: list[str] = []

    def name(position: int) -> str:
        return f"{column_letter(first_column + position)} {headers[position]!r}"

    for position, header in enumerate(headers):
        field_ = matcher.field_of(header)
        if field_ is not None and rows and matcher.by_content(header):
            field_, note = _by_content(field_, header, _sample(rows, position), name(position))
            if note:
                notes.append(note)
        if field_ is not None:
            claims.setdefault(field_, []).append(position)
    index = {f: positions[0] for f, positions in claims.items()}
    duplicates = {f: tuple(p) for f, p in claims.items() if len(p) > 1}
    unused = (position for position, header in enumerate(headers)
              if matcher.field_of(header) is None and fold_header(header) not in matcher.chosen)
    # A "did you mean" costs a fuzzy match: only for the first columns (an export of 100,000
    # columns is read in seconds, not minutes; its typos are near the front, if anywhere).
    for position in itertools.islice(unused, _UNUSED_NOTES_CHECKED):
        note = _unused_note(headers[position], name(position), index)
        if note:
            notes.append(note)
    notes.extend(_headerless_notes(headers, rows, first_column))
    return ColumnMap(headers, index, duplicates, tuple(notes), first_column, hidden,
                     _period_unit(headers, index))


def _headerless_notes(headers: Sequence[str], rows: Sequence[tuple[int, Sequence[object]]],
                      first_column: int) -> Iterator[str]:
    """A column between named ones that has no header but holds values ("2 weeks") may mean
    something for its rows, and nothing says what: it is not read, and said so. A column of
    running numbers (the index a program such as pandas writes first) is not worth a word."""
    unnamed = [header == f"Column {column_letter(first_column + p)}"  # as the reader names
               or not fold_header(header) for p, header in enumerate(headers)]  # them
    # Columns after the last named one are values beyond the header: a problem on their rows.
    last_named = max((p for p, blank in enumerate(unnamed) if not blank), default=-1)
    blank = (p for p in range(last_named) if unnamed[p])
    for position in itertools.islice(blank, _UNUSED_NOTES_CHECKED):
        values = _sample(rows, position)
        if values and not all(v.isdigit() for v in values):
            example = next(v for v in values if not v.isdigit())
            yield (f"column {column_letter(first_column + position)} has no header but holds "
                   f"values (e.g. {example!r}): not read; if they mean something for their "
                   "rows, give the column a header")


def _period_unit(headers: Sequence[str], index: Mapping[Field, int]) -> tuple[str, int] | None:
    """The unit the due period column's header names (see `ColumnMap.period_unit`)."""
    if Field.DUE_PERIOD not in index:
        return None
    header = headers[index[Field.DUE_PERIOD]]
    unit = header_unit(header)
    if unit is not None:
        return unit[1], unit[2]
    return UNIT_NOT_STATED if fold_header(header) in _UNITLESS_PERIOD else None


_UNUSED_NOTES_CHECKED = 200


def _sample(rows: Sequence[tuple[int, Sequence[object]]], position: int) -> list[str]:
    """Up to `_CONTENT_SAMPLE` non-empty values of one column, as text."""
    found: list[str] = []
    for _, cells in rows:
        text = cell_text(cells[position]) if position < len(cells) else ""
        if text:
            found.append(text)
            if len(found) >= _CONTENT_SAMPLE:
                break
    return found


def _by_content(
    field_: Field, header: str, values: list[str], name: str
) -> tuple[Field | None, str | None]:
    """The field a column's values confirm (None: not used), and a note when not used."""
    if not values:
        return field_, None  # nothing to judge by: the header decides
    ids = sum(1 for v in values if _all_parts(v, looks_like_id))
    if 2 * ids > len(values):
        return (Field.COURSE_ID if field_ is Field.COURSE_ID else Field.LEARNER_ID), None
    example = next(v for v in values if not _all_parts(v, looks_like_id))
    if field_ is Field.COURSE_ID:
        return None, (
            f"column {name} holds no course IDs (e.g. {example!r}): not used; if they are "
            f"titles, pass --alias '{header}=course_title'"
        )
    emails = sum(1 for v in values if is_addresses(v))
    if fold_header(header) in _GENERIC and 2 * emails > len(values):
        return Field.LEARNER_EMAIL, None
    return None, (
        f"column {name} holds neither learner IDs nor emails (e.g. {example!r}): not used; "
        f"if they are logins, pass --alias '{header}=learner_login'"
    )


def _all_parts(value: str, test: object) -> bool:
    """Whether every value of a cell (several are separated by ; , or line breaks) passes."""
    parts = [p.strip() for p in VALUE_SEPARATORS.split(value) if p.strip()]
    return bool(parts) and all(test(p) for p in parts)  # type: ignore[operator]


def _unused_note(header: str, name: str, index: Mapping[Field, int]) -> str | None:
    """Why an unrecognised header is worth a word: a header deliberately not read as a field,
    or a typo of one ("Emial"), when that field has no column."""
    folded = fold_header(header)
    if not folded:
        return None
    if folded in _NOT_ALIASED:
        field_, why = _NOT_ALIASED[folded]
        if field_ in index:
            return None
        return (
            f"column {name} is not read as {field_.value} ({why}); if it is, pass "
            f"--alias '{header}={field_.value}'"
        )
    typo = next((alias for alias in difflib.get_close_matches(folded, _SHOWN_ALIAS, 3, 0.7)
                 if _looks_like_typo(folded, alias)), None)
    if typo is None or _BUILT_IN[typo] in index:
        return None
    field_, shown = _BUILT_IN[typo], _SHOWN_ALIAS[typo]
    which = "" if shown == field_.value else f" ({field_.value})"
    return f"column {name} is not used: did you mean {shown!r}{which}?"


def _looks_like_typo(written: str, alias: str) -> bool:
    """Close enough to be a slip of the keyboard: nearly the same, or the same letters in
    another order ("emial"); "Training date" is not a typo of "training name"."""
    ratio = difflib.SequenceMatcher(None, written, alias).ratio()
    return ratio >= 0.85 or sorted(written) == sorted(alias)


def column_letter(index: int) -> str:
    """Excel's name for a zero-based column index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


_EXAMPLES: dict[str, tuple[str, ...]] = {
    "learner": ("Learner ID", "User ID", "Email", "Employee email", "Login"),
    "course": ("Course ID", "Course", "Course title", "Course name"),
}


def expected_names(group: str) -> str:
    """How to name a required group's columns, for the missing-column message."""
    canonical = ", ".join(f.value for f in REQUIRED_GROUPS[group])
    examples = ", ".join(repr(e) for e in _EXAMPLES[group])
    return f"a {group} column ({canonical}; also e.g. {examples})"
