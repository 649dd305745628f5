"""Plain data passed between the pipeline stages.

Every stage of the flow (read -> validate -> plan -> send -> report) takes and returns these
frozen values, so each stage can be tested without files or a network. Nothing here does I/O.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum


class DueDateType(StrEnum):
    """The API's `dueDateType` values, spelled as the API spells them."""

    UNLIMITED = "unlimited"
    DEFAULT = "default"
    DUE_DATE = "due_date"
    DUE_PERIOD = "due_period"


class Status(StrEnum):
    """What finally happened to one input row; every row ends with exactly one."""

    ENROLLED = "enrolled"
    ALREADY_ENROLLED = "already_enrolled"
    DUPLICATE = "duplicate"
    INVALID = "invalid"
    FAILED = "failed"
    NOT_SENT = "not_sent"
    UNKNOWN = "unknown"


# The statuses that need nobody's attention: the row got what it asked for.
SETTLED_WELL = frozenset({Status.ENROLLED, Status.ALREADY_ENROLLED, Status.DUPLICATE})


def count(number: int, noun: str) -> str:
    """"1 row", "2,500 rows", "3 retries": a count with its noun in the right number (the one
    wording every message, log line and report sentence shares)."""
    if number == 1:
        return f"{number:,} {noun}"
    return f"{number:,} {noun[:-1]}ies" if noun.endswith("ry") else f"{number:,} {noun}s"


@dataclass(frozen=True, order=True)
class DueSettings:
    """The settings one API call applies to all its learners and courses: the grouping key.

    Only the fields that apply to `due_date_type` are set (validation guarantees it), so two
    rows that mean the same thing compare equal.
    """

    due_date_type: DueDateType
    access_date: dt.datetime | None = None
    due_date: dt.date | None = None
    due_period_hours: int | None = None
    lock_after_due_date: bool | None = None

    def describe(self) -> str:
        """A short human label, used in reports and plan printouts."""
        parts = [self.due_date_type.value]
        if self.due_date is not None:
            parts.append(f"due {self.due_date.isoformat()}")
        if self.due_period_hours is not None:
            parts.append(f"{self.due_period_hours} h")
        if self.access_date is not None:
            parts.append(f"access {self.access_date.isoformat(sep=' ')}")
        if self.lock_after_due_date is not None:
            parts.append("lock" if self.lock_after_due_date else "no lock")
        return ", ".join(parts)

    def sort_key(self) -> tuple[str, str, str, int, int]:
        """A total order usable even when optional fields are None (deterministic plans)."""
        return (
            self.due_date_type.value,
            self.access_date.isoformat() if self.access_date else "",
            self.due_date.isoformat() if self.due_date else "",
            self.due_period_hours if self.due_period_hours is not None else -1,
            -1 if self.lock_after_due_date is None else int(self.lock_after_due_date),
        )


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where a value came from, in the terms the file's author sees (Excel row numbers)."""

    file: str
    row: int
    sheet: str | None = None

    def describe(self) -> str:
        sheet = f", sheet {self.sheet!r}" if self.sheet else ""
        return f"{self.file}{sheet}, row {self.row}"


@dataclass(frozen=True, slots=True)
class RowIssue:
    """One problem with one input row; rows can have several, all reported at once."""

    source: SourceRef
    column: str | None
    message: str
    kind: str = ""  # a short label to count problems by ("not a date", "conflicting settings")

    def describe(self) -> str:
        column = f", column {self.column!r}" if self.column else ""
        return f"{self.source.describe()}{column}: {self.message}"


class LearnerKey(StrEnum):
    """How a spreadsheet names a learner."""

    ID = "id"
    EMAIL = "email"
    LOGIN = "login"


class CourseKey(StrEnum):
    """How a spreadsheet names a course."""

    ID = "id"
    TITLE = "title"


@dataclass(frozen=True, slots=True)
class LearnerRef:
    """A learner as the file names them; `value` is normalised (IDs and emails lower-cased)."""

    key: LearnerKey
    value: str


@dataclass(frozen=True, slots=True)
class CourseRef:
    """A course as the file names it; titles keep their case (matching folds it)."""

    key: CourseKey
    value: str


@dataclass(frozen=True, slots=True)
class Request:
    """One enrollment a row asks for, before names are turned into IDs."""

    learner: LearnerRef
    course: CourseRef
    settings: DueSettings


@dataclass(frozen=True, slots=True)
class Pair:
    """One requested enrollment: a learner in a course with settings. The unit of exactness."""

    learner_id: str
    course_id: str
    settings: DueSettings


@dataclass(frozen=True, slots=True)
class NamedTwice:
    """A row that names its learners (or its courses) in several columns, the requests' column
    first (ID, then email, then login; ID, then title). Every column must come to the same
    people (courses), or the row is invalid: the ID never silently wins."""

    headers: tuple[str, ...]  # the columns, as the file names them
    names: tuple[tuple[LearnerRef | CourseRef, ...], ...]  # each column's names, in that order


@dataclass(frozen=True, slots=True)
class ServerEnrollment:
    """A learner's enrollment in a course as the account lists it (`/enrollments`): what the
    LMS tells of its settings (None when it does not say)."""

    learner_id: str
    course_id: str
    access_date: dt.date | None = None
    due_date: dt.date | None = None
    lock_after_due_date: bool | None = None


@dataclass(frozen=True, slots=True)
class InputRow:
    """One data row of the input file after validation (and, later, resolution).

    `values` are the row's original cells in the file's column order (carried into the report);
    `requests` are the enrollments the row asks for, as written (several for a multi-value
    cell); `pairs` are those requests with IDs, filled in by `resolve/rows.py`. A row with issues
    is invalid and asks for nothing; its `references` (the learners and courses it names that
    could be read) are still looked up, so every problem of the row is reported at once.
    `notes` are warnings that do not make the row invalid ("'10 days' read as 240 hours"); the
    report shows them in the row's message. `held_back` says why a row is deliberately not
    sent though nothing is wrong with it (a row hidden in the sheet); it asks for nothing.
    `named_twice` holds the learners or courses the row names in more than one column, which
    resolution checks for agreement.
    """

    source: SourceRef
    values: tuple[object, ...]
    requests: tuple[Request, ...] = ()
    pairs: tuple[Pair, ...] = ()
    issues: tuple[RowIssue, ...] = ()
    notes: tuple[str, ...] = ()
    references: tuple[LearnerRef | CourseRef, ...] = ()
    held_back: str = ""
    named_twice: tuple[NamedTwice, ...] = ()

    @property
    def is_valid(self) -> bool:
        return not self.issues


@dataclass(frozen=True)
class Batch:
    """One API call: every learner here is enrolled in every course here with `settings`."""

    batch_id: str
    settings: DueSettings
    learner_ids: tuple[str, ...]
    course_ids: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.learner_ids) * len(self.course_ids)

    def pairs(self) -> list[Pair]:
        return [
            Pair(learner, course, self.settings)
            for learner in self.learner_ids
            for course in self.course_ids
        ]


@dataclass(frozen=True)
class PairOutcome:
    """What the sender learned about one pair."""

    status: Status
    message: str = ""
    batch_id: str | None = None
    attempts: int = 0
    at: dt.datetime | None = None


@dataclass(frozen=True)
class RowResult:
    """The one status a row ends with, and why. `held_back`: a `not_sent` row the file itself
    left out (hidden in the sheet), which needs no attention."""

    status: Status
    message: str = ""
    batch_ids: tuple[str, ...] = ()
    attempts: int = 0
    at: dt.datetime | None = None
    held_back: bool = False


@dataclass(frozen=True)
class BatchOutcome:
    """What happened to one API call (or one part of a split call), for the Batches sheet."""

    batch: Batch
    status: Status
    message: str = ""
    attempts: int = 0
    duration_s: float = 0.0
    parent_id: str | None = None


@dataclass
class SendStats:
    """Counters a run reports in its summary."""

    api_calls: int = 0
    retries: int = 0
    isolation_calls: int = 0
    token_renewals: int = 0
    send_seconds: float = 0.0
    rate_limited: int = 0  # 429 answers (the server pacing us; each call was sent again)
    rate_wait_s: float = 0.0  # wall-clock seconds the rate limit held calls back (pacing, pauses)
    learned_rate: float | None = None  # the server's limit learned this run, calls per second
    extra: dict[str, int] = field(default_factory=dict)


class UserStatus(IntEnum):
    """The API's `UserStatus` codes: only active users can be enrolled."""

    ACTIVE = 1
    INACTIVE = 3
    TERMINATED = 5


@dataclass(frozen=True)
class DirectoryUser:
    """A user as the account lists them (`/users/v2`): enough to resolve and judge a row."""

    user_id: str
    login: str
    email: str
    status: int
    name: str = ""  # first and last name, when the account gives them (for messages)

    @property
    def is_active(self) -> bool:
        return self.status == UserStatus.ACTIVE


@dataclass(frozen=True)
class ContentItem:
    """A content item as `/contents` lists it (courses are content items)."""

    content_id: str
    title: str
    content_type: str | None = None
