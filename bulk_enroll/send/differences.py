"""What a row asks that an existing enrollment does not have, in words a person reads. Pure.

A pair already enrolled is not sent again, whatever settings it was enrolled with: sending it
again would reset an enrollment someone may be halfway through. When the row asks for other
settings, its message says which, with the values the journal (every setting it was sent
with) or the server (the access date, due date and lock it lists) know:
"already enrolled with due date 2027-01-15; this row asks for 2027-03-01: not changed".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from bulk_enroll.model import DueDateType, DueSettings, ServerEnrollment


@dataclass(frozen=True)
class Phrase:
    """One setting in words: "due date" + "2027-01-15", or a phrase with no label."""

    label: str
    value: str

    def __str__(self) -> str:
        return f"{self.label} {self.value}" if self.label else self.value


def journal_difference(existing: DueSettings, asked: DueSettings) -> str | None:
    """How `asked` differs from the settings an earlier run sent; None when it does not."""
    changes = [
        (_due(existing), _due(asked)),
        (_access(existing.access_date), _access(asked.access_date)),
        (_lock(bool(existing.lock_after_due_date)), _lock(bool(asked.lock_after_due_date))),
    ]
    return describe([(old, new) for old, new in changes if old != new])


def server_difference(existing: ServerEnrollment, asked: DueSettings) -> str | None:
    """How `asked` differs from what the server lists; only settings the server shows and the
    row sets are compared (a due period or the course's default cannot be checked)."""
    changes: list[tuple[Phrase, Phrase]] = []
    if asked.due_date_type in (DueDateType.DUE_DATE, DueDateType.UNLIMITED):
        on_server = _due_date(existing.due_date)
        changes.append((on_server, _due(asked)))
    if asked.access_date is not None and existing.access_date is not None:
        changes.append((_access_day(existing.access_date), _access_day(asked.access_date.date())))
    if asked.lock_after_due_date is not None and existing.lock_after_due_date is not None:
        changes.append((_lock(existing.lock_after_due_date), _lock(asked.lock_after_due_date)))
    return describe([(old, new) for old, new in changes if old != new])


def describe(changes: Sequence[tuple[Phrase, Phrase]]) -> str | None:
    """"already enrolled with OLD; this row asks for NEW: not changed" (None: no change)."""
    if not changes:
        return None
    if len(changes) == 1:
        old, new = changes[0]
        asked = new.value if old.label and old.label == new.label else str(new)
        return f"already enrolled with {old}; this row asks for {asked}: not changed"
    olds = _listed([str(old) for old, _ in changes])
    news = _listed([str(new) for _, new in changes])
    return f"already enrolled with {olds}; this row asks for {news}: not changed"


def _listed(phrases: list[str]) -> str:
    return phrases[0] if len(phrases) == 1 else f"{', '.join(phrases[:-1])} and {phrases[-1]}"


def _due(settings: DueSettings) -> Phrase:
    """The due date type with its date or period, as one phrase."""
    if settings.due_date_type is DueDateType.DUE_DATE:
        return _due_date(settings.due_date)
    if settings.due_date_type is DueDateType.DUE_PERIOD:
        return Phrase("due period", f"{settings.due_period_hours} hours")
    if settings.due_date_type is DueDateType.DEFAULT:
        return Phrase("", "the course's default due date")
    return Phrase("", "no due date")


def _due_date(day: dt.date | None) -> Phrase:
    return Phrase("due date", day.isoformat()) if day else Phrase("", "no due date")


def _access(when: dt.datetime | None) -> Phrase:
    if when is None:
        return Phrase("", "access from the day of enrollment")
    text = when.date().isoformat() if when.time() == dt.time() else when.isoformat(sep=" ")
    return Phrase("access date", text)


def _access_day(day: dt.date) -> Phrase:
    return Phrase("access date", day.isoformat())


def _lock(lock: bool) -> Phrase:
    return Phrase("", "lock after the due date" if lock else "no lock after the due date")
