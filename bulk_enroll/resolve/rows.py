"""Requests as written (IDs, emails, logins, titles) -> `Pair`s of IDs. Pure given `Lookups`.

The lookups (one batched listing per kind, see `lookups.py`) are fetched before; this module
only decides, row by row, with reasons a person can act on: who does not exist, who cannot be
enrolled any more (inactive, employment ended), which title is ambiguous (with the candidate
IDs) or unknown (with the closest titles). A row with any unresolvable request asks for nothing.

Without lookups (no API configured) IDs pass through unchecked, as the server will judge them,
and rows naming people or courses by name are left unresolved (no pairs, no issues) for the
caller to report as not sent.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bulk_enroll.model import (
    ContentItem,
    CourseKey,
    CourseRef,
    DirectoryUser,
    InputRow,
    LearnerKey,
    LearnerRef,
    Pair,
    RowIssue,
    UserStatus,
)
from bulk_enroll.read.cells import fold_title
from bulk_enroll.resolve.lookups import Lookups, fold_name

MAX_SUGGESTIONS = 3
SUGGESTION_CUTOFF = 0.6  # difflib ratio: "Fire Safty" -> "Fire Safety", not "First Aid..."
MAX_CANDIDATES_SHOWN = 5

_STATUS_REASON = {
    UserStatus.INACTIVE: "is inactive (deactivated in the LMS)",
    UserStatus.TERMINATED: "has left the company (employment ended in the LMS)",
}


@dataclass(frozen=True)
class _Problem:
    column: str | None
    message: str


class _Resolver:
    """The lookups indexed once for the whole file."""

    def __init__(self, lookups: Lookups | None, columns: Mapping[str, str]) -> None:
        self.lookups = lookups
        self.columns = columns
        self.titles: dict[str, list[ContentItem]] = {}
        self.course_ids: set[str] | None = None
        if lookups is not None and lookups.contents is not None:
            for item in lookups.contents:
                self.titles.setdefault(fold_title(item.title), []).append(item)
            self.course_ids = {item.content_id for item in lookups.contents}
        self.original_titles = sorted(
            {item.title.strip() for items in self.titles.values() for item in items}
        )

    def row(self, row: InputRow) -> InputRow:
        if row.issues:
            return self._more_problems(row)
        pairs: list[Pair] = []
        problems: list[_Problem] = []
        unresolved = False
        for request in row.requests:
            learner = self.learner(request.learner)
            course = self.course(request.course)
            for outcome in (learner, course):
                if isinstance(outcome, _Problem) and outcome not in problems:
                    problems.append(outcome)
            if learner is None or course is None:
                unresolved = True
            elif isinstance(learner, str) and isinstance(course, str):
                pairs.append(Pair(learner, course, request.settings))
        if problems:
            issues = tuple(RowIssue(row.source, p.column, p.message) for p in problems)
            return dataclasses.replace(row, pairs=(), issues=issues)
        if unresolved:
            return dataclasses.replace(row, pairs=())
        return dataclasses.replace(row, pairs=tuple(dict.fromkeys(pairs)))

    def _more_problems(self, row: InputRow) -> InputRow:
        """An invalid row's lookup problems, added to its file problems (one pass to fix)."""
        if self.lookups is None or not row.references:
            return row
        found: list[RowIssue] = []
        for ref in row.references:
            outcome = self.learner(ref) if isinstance(ref, LearnerRef) else self.course(ref)
            if isinstance(outcome, _Problem):
                issue = RowIssue(row.source, outcome.column, outcome.message)
                if issue not in found and issue not in row.issues:
                    found.append(issue)
        return dataclasses.replace(row, issues=(*row.issues, *found)) if found else row

    # --- learners ----------------------------------------------------------------------------

    def learner(self, ref: LearnerRef) -> str | _Problem | None:
        """The learner's ID, a problem, or None when it could not be looked up."""
        column = self.columns.get(f"learner_{ref.key.value}")
        if ref.key is LearnerKey.ID:
            existing = self.lookups.existing_learner_ids if self.lookups else None
            if existing is not None and ref.value not in existing:
                return _Problem(column, f"no user with ID {ref.value!r}")
            known = self.lookups.users_by_id.get(ref.value) if self.lookups else None
            return ref.value if known is None else _usable(known, f"ID {ref.value!r}", column)
        if self.lookups is None:
            return None
        if ref.key is LearnerKey.EMAIL:
            users = self.lookups.users_by_email.get(fold_name(ref.value))
            label = "email"
        else:
            users = self.lookups.users_by_login.get(fold_name(ref.value))
            label = "login"
        if users is None:
            return None  # not looked up (should not happen when lookups were fetched)
        if ref.key is LearnerKey.LOGIN:
            exact = [u for u in users if u.login == ref.value.strip()]
            users = tuple(exact) if exact else users
        if not users:
            return _Problem(column, f"no user with {label} {ref.value!r}")
        if len(users) > 1:
            ids = ", ".join(u.user_id for u in users[:MAX_CANDIDATES_SHOWN])
            return _Problem(
                column, f"{len(users)} users have {label} {ref.value!r} ({ids}); use learner_id"
            )
        return _usable(users[0], f"{label} {ref.value!r}", column)

    # --- courses -----------------------------------------------------------------------------

    def course(self, ref: CourseRef) -> str | _Problem | None:
        column = self.columns.get(f"course_{ref.key.value}")
        if ref.key is CourseKey.ID:
            if self.course_ids is not None and ref.value not in self.course_ids:
                return _Problem(column, f"no course with ID {ref.value!r}")
            return ref.value
        if self.course_ids is None:
            return None
        matches = self.titles.get(fold_title(ref.value), [])
        if len(matches) == 1:
            return matches[0].content_id
        if matches:
            ids = ", ".join(m.content_id for m in matches[:MAX_CANDIDATES_SHOWN])
            return _Problem(
                column,
                f"{len(matches)} courses are titled {ref.value.strip()!r} ({ids}); "
                "give the course_id instead",
            )
        return _Problem(column, self.unknown_title(ref.value))

    def unknown_title(self, title: str) -> str:
        message = f"no course titled {title.strip()!r}"
        by_fold = {fold_title(t): t for t in self.original_titles}
        close = difflib.get_close_matches(
            fold_title(title), list(by_fold), n=MAX_SUGGESTIONS, cutoff=SUGGESTION_CUTOFF
        )
        if close:
            message += "; did you mean " + " or ".join(repr(by_fold[c]) for c in close) + "?"
        return message


def _usable(user: DirectoryUser, named: str, column: str | None) -> str | _Problem:
    if user.is_active:
        return user.user_id
    try:
        reason = _STATUS_REASON[UserStatus(user.status)]
    except ValueError:
        reason = f"has status {user.status} in the LMS, not active"
    named_by_id = f"ID {user.user_id!r}" == named
    who = f"the user with {named}" + ("" if named_by_id else f" ({user.user_id})")
    return _Problem(column, f"{who} {reason} and cannot be enrolled")


def resolve_rows(
    rows: Sequence[InputRow],
    lookups: Lookups | None = None,
    columns: Mapping[str, str] | None = None,
) -> list[InputRow]:
    """Fill in `pairs` for every valid row; unresolvable requests become the row's issues.

    `columns` maps each kind of reference ("learner_id", "learner_email", "learner_login",
    "course_id", "course_title") to the file's header holding it, so a problem names the
    column its author will look at.
    """
    resolver = _Resolver(lookups, columns or {})
    return [resolver.row(row) for row in rows]


def needs_lookup(row: InputRow) -> bool:
    """Whether the row names a learner or a course by something other than an ID."""
    return any(
        r.learner.key is not LearnerKey.ID or r.course.key is not CourseKey.ID
        for r in row.requests
    )


def is_unresolved(row: InputRow) -> bool:
    """A valid row that asks for something but got no pairs: its names were not looked up."""
    return not row.issues and bool(row.requests) and not row.pairs

