"""Which input column means which enrollment field.

People write headers in many ways ("Learner ID", "learner_id", "learnerId"); they are matched
after folding case and dropping spaces, underscores and hyphens, so each alias is listed once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Field(StrEnum):
    """The enrollment fields a column can supply (canonical names as in the README)."""

    LEARNER_ID = "learner_id"
    COURSE_ID = "course_id"
    ACCESS_DATE = "access_date"
    DUE_DATE_TYPE = "due_date_type"
    DUE_DATE = "due_date"
    DUE_PERIOD = "due_period"
    LOCK_AFTER_DUE_DATE = "lock_after_due_date"
    # A learner may be named by email or login and a course by title instead of an ID.
    LEARNER_EMAIL = "learner_email"
    LEARNER_LOGIN = "learner_login"
    COURSE_TITLE = "course_title"


# Canonical name, the API's own parameter name, then common human forms.
ALIASES: dict[Field, tuple[str, ...]] = {
    Field.LEARNER_ID: ("learner_id", "learnerId", "learner", "user_id", "userId"),
    Field.COURSE_ID: ("course_id", "courseId", "content_id", "contentId"),
    Field.ACCESS_DATE: ("access_date", "accessDate", "start_date"),
    Field.DUE_DATE_TYPE: ("due_date_type", "dueDateType"),
    Field.DUE_DATE: ("due_date", "dueDate"),
    Field.DUE_PERIOD: ("due_period", "duePeriod", "due_period_hours", "due_period (hours)"),
    Field.LOCK_AFTER_DUE_DATE: ("lock_after_due_date", "lockAfterDueDate", "lock"),
    Field.LEARNER_EMAIL: (
        "learner_email", "learnerEmail", "email", "e-mail", "email address", "user_email"
    ),
    Field.LEARNER_LOGIN: ("learner_login", "learnerLogin", "login", "username", "user_login"),
    Field.COURSE_TITLE: ("course_title", "courseTitle"),
}

REQUIRED_FIELDS: tuple[Field, ...] = (Field.LEARNER_ID, Field.COURSE_ID)
#: The other columns that can stand in for each required one (any one of them will do).
ALTERNATIVES: dict[Field, tuple[Field, ...]] = {
    Field.LEARNER_ID: (Field.LEARNER_EMAIL, Field.LEARNER_LOGIN),
    Field.COURSE_ID: (Field.COURSE_TITLE,),
}

_FOLD = re.compile(r"[\s_\-()]+")


def fold_header(name: str) -> str:
    """The comparison form of a header: case, spaces, underscores, hyphens, parentheses ignored."""
    return _FOLD.sub("", name).casefold()


_BY_FOLDED: dict[str, Field] = {
    fold_header(alias): field_ for field_, aliases in ALIASES.items() for alias in aliases
}


@dataclass(frozen=True)
class ColumnMap:
    """Which column index holds each field, plus the file's header as written."""

    headers: tuple[str, ...]
    index: Mapping[Field, int]

    def header_of(self, field_: Field) -> str:
        """The column's name as written in the file (for messages the file's author recognises)."""
        return self.headers[self.index[field_]]

    @property
    def missing_required(self) -> list[Field]:
        return [
            f
            for f in REQUIRED_FIELDS
            if f not in self.index and not any(a in self.index for a in ALTERNATIVES[f])
        ]


def map_columns(headers: Iterable[str]) -> ColumnMap:
    """Match headers to fields; the first column claiming a field wins, others stay extra."""
    headers = tuple(headers)
    index: dict[Field, int] = {}
    for position, header in enumerate(headers):
        field_ = _BY_FOLDED.get(fold_header(header))
        if field_ is not None and field_ not in index:
            index[field_] = position
    return ColumnMap(headers=headers, index=index)
