"""Which input column means which enrollment field.

People write headers in many ways ("Learner ID", "learner_id", "learnerId", "Employee email");
they are matched after folding case and dropping spaces, underscores, hyphens, dots and
parentheses, so each alias is listed once. Users add their own aliases (`--alias`), which win
over the built-in ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


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
        "learner",
        "user",
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
    ),
    Field.ACCESS_DATE: (
        "access_date",
        "accessDate",
        "start_date",
        "start",
        "available from",
        "access from",
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
    ),
}

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


def parse_alias_options(pairs: Iterable[str]) -> dict[str, Field]:
    """`Header=field` strings (the `--alias` option) -> a header-to-field mapping.

    Raises `ValueError` naming the bad entry and the field names that exist.
    """
    aliases: dict[str, Field] = {}
    for entry in pairs:
        header, sep, name = entry.rpartition("=")
        if not sep or not header.strip():
            raise ValueError(
                f"{entry!r} is not HEADER=FIELD (e.g. 'Mitarbeiter E-Mail=learner_email')"
            )
        aliases[header.strip()] = field_named(name)
    return aliases


def field_named(name: str) -> Field:
    """The field with this canonical name (or any built-in alias of it)."""
    found = _BUILT_IN.get(fold_header(name))
    if found is None:
        fields = ", ".join(f.value for f in Field)
        raise ValueError(f"{name.strip()!r} is not a field; use one of {fields}")
    return found


class HeaderMatcher:
    """Recognises headers: the built-in aliases plus the user's (which win)."""

    def __init__(self, extra_aliases: Mapping[str, Field | str] | None = None) -> None:
        self.by_folded = dict(_BUILT_IN)
        for header, target in (extra_aliases or {}).items():
            self.by_folded[fold_header(header)] = (
                target if isinstance(target, Field) else field_named(target)
            )

    def field_of(self, header: object) -> Field | None:
        return self.by_folded.get(fold_header(header))

    def recognised(self, headers: Iterable[object]) -> set[Field]:
        return {f for f in map(self.field_of, headers) if f is not None}

    def is_header(self, headers: Iterable[object]) -> bool:
        """A header row names at least one learner column and one course column."""
        found = self.recognised(headers)
        return all(found.intersection(group) for group in REQUIRED_GROUPS.values())


@dataclass(frozen=True)
class ColumnMap:
    """Which column index holds each field, plus the file's header as written."""

    headers: tuple[str, ...]
    index: Mapping[Field, int]

    def header_of(self, field_: Field) -> str:
        """The column's name as written in the file (for messages the file's author recognises)."""
        return self.headers[self.index[field_]]

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


def map_columns(
    headers: Iterable[str], extra_aliases: Mapping[str, Field | str] | None = None
) -> ColumnMap:
    """Match headers to fields; the first column claiming a field wins, others stay extra."""
    matcher = HeaderMatcher(extra_aliases)
    headers = tuple(headers)
    index: dict[Field, int] = {}
    for position, header in enumerate(headers):
        field_ = matcher.field_of(header)
        if field_ is not None and field_ not in index:
            index[field_] = position
    return ColumnMap(headers=headers, index=index)


_EXAMPLES: dict[str, tuple[str, ...]] = {
    "learner": ("Learner ID", "User ID", "Email", "Employee email", "Login"),
    "course": ("Course ID", "Course", "Course title", "Course name"),
}


def expected_names(group: str) -> str:
    """How to name a required group's columns, for the missing-column message."""
    canonical = ", ".join(f.value for f in REQUIRED_GROUPS[group])
    examples = ", ".join(repr(e) for e in _EXAMPLES[group])
    return f"a {group} column ({canonical}; also e.g. {examples})"
