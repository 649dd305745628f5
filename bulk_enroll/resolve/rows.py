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
    NamedTwice,
    Pair,
    RowIssue,
    UserStatus,
)
from bulk_enroll.read.cells import fold_title, looks_like_id
from bulk_enroll.resolve.lookups import Lookups, fold_name

MAX_SUGGESTIONS = 3
SUGGESTION_CUTOFF = 0.6  # difflib ratio: "Fire Safty" -> "Fire Safety", not "First Aid..."
MAX_CANDIDATES_SHOWN = 5

_STATUS_REASON = {
    UserStatus.INACTIVE: "is inactive (deactivated in the LMS)",
    UserStatus.TERMINATED: "has left the company (employment ended in the LMS)",
}


KIND_DISAGREE = "identifiers disagree"
KIND_CANNOT_ENROL = "user cannot be enrolled"  # inactive, left: the LMS must change, not the file
LMS_KINDS = frozenset({KIND_CANNOT_ENROL})
NOT_CHECKED = (
    "{other} ({values}) was not checked against {used}: it can only be looked up through the "
    "account's REST API (set BULK_ENROLL_API_URL to have them checked); {used} was used"
)


@dataclass(frozen=True)
class _Problem:
    column: str | None
    message: str
    kind: str = ""


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
        self.contents_by_id = {item.content_id: item for item in lookups.contents or ()} if (
            lookups is not None) else {}
        self.users: dict[str, DirectoryUser] = {}  # by ID: for people's names in messages
        if lookups is not None:
            for found in (*lookups.users_by_email.values(), *lookups.users_by_login.values()):
                self.users.update((user.user_id, user) for user in found)
            self.users.update(lookups.users_by_id)

    def row(self, row: InputRow) -> InputRow:
        if row.issues:
            return self._more_problems(row)
        pairs: list[Pair] = []
        problems: list[_Problem] = []
        notes: list[str] = []
        unresolved = False
        for request in row.requests:
            learner = self.learner(request.learner)
            courses = self.expand(request.course, notes)
            outcomes = [learner, *(self.course(ref) for ref in courses)] if isinstance(
                courses, list) else [learner, courses]
            for outcome in outcomes:
                if isinstance(outcome, _Problem) and outcome not in problems:
                    problems.append(outcome)
            if None in outcomes:
                unresolved = True
            elif isinstance(learner, str):
                pairs.extend(Pair(learner, course, request.settings) for course in outcomes[1:]
                             if isinstance(course, str))
        if not problems and not unresolved:
            for twice in row.named_twice:
                self.agreement(twice, problems, notes)
        if problems:
            issues = tuple(RowIssue(row.source, p.column, p.message, p.kind) for p in problems)
            return dataclasses.replace(row, pairs=(), issues=issues)
        if unresolved:
            return dataclasses.replace(row, pairs=())
        return dataclasses.replace(row, pairs=tuple(dict.fromkeys(pairs)),
                                   notes=(*row.notes, *notes))

    # --- several courses in one cell, separated by commas -------------------------------------

    def expand(self, ref: CourseRef, notes: list[str]) -> list[CourseRef] | _Problem:
        """The courses a title cell names. Titles may hold commas, so a title the account has
        (whole) is one course; else, when every comma-separated part is a course ID or a title
        the account has, they are several courses (said in a note); else it is a problem that
        says to separate courses with ';'. Without the course list, the title as written."""
        if (ref.key is not CourseKey.TITLE or "," not in ref.value or self.course_ids is None
                or fold_title(ref.value) in self.titles):
            return [ref]
        parts = [part.strip() for part in ref.value.split(",") if part.strip()]
        refs = [
            CourseRef(CourseKey.ID, part.strip("{}").lower()) if looks_like_id(part)
            else CourseRef(CourseKey.TITLE, part)
            for part in parts
        ]
        unknown = [repr(r.value) for r in refs if (
            r.value not in self.course_ids if r.key is CourseKey.ID
            else fold_title(r.value) not in self.titles)]
        if unknown:
            return _Problem(self.columns.get("course_title"),
                            f"{self.unknown_title(ref.value)}; to name several courses in one "
                            f"cell, separate them with ';' (as a list, {' and '.join(unknown)} "
                            f"{'is' if len(unknown) == 1 else 'are'} no course either)")
        column = self.columns.get("course_title") or "course_title"
        note = (f"{column}: {ref.value.strip()!r} read as {len(parts)} courses "
                f"({'; '.join(parts)}); separate courses with ';' to be sure")
        if note not in notes:
            notes.append(note)
        return refs

    # --- several columns naming the same learner or course -----------------------------------

    def agreement(self, twice: NamedTwice, problems: list[_Problem], notes: list[str]) -> None:
        """Every other column must name whom (what) the requests' column names: a problem
        naming both when they differ, a note when they could not be checked (not looked up)."""
        used, *others = twice.headers
        wanted = {self.named(ref) for ref in twice.names[0]}
        if not all(isinstance(found, str) for found in wanted):
            return  # the requests' own problems are reported
        chosen: set[str] = wanted  # type: ignore[assignment]
        for header, refs in zip(others, twice.names[1:], strict=True):
            candidates = [self.candidates(ref) for ref in refs]
            if any(c is None for c in candidates):
                values = ", ".join(repr(ref.value) for ref in refs)
                notes.append(NOT_CHECKED.format(other=header, values=values, used=used))
                continue
            found_problems = [c for c in candidates if isinstance(c, _Problem)]
            if found_problems:
                problems.extend(p for p in found_problems if p not in problems)
                continue
            named: set[str] = set()
            for ids in candidates:
                assert isinstance(ids, frozenset)
                named |= (ids & chosen) or ids  # a name several share: the one meant, if any
            if named != chosen:
                problems.append(self.disagreement(used, chosen, header, named,
                                                  isinstance(refs[0], LearnerRef)))

    def named(self, ref: LearnerRef | CourseRef) -> str | _Problem | None:
        return self.learner(ref) if isinstance(ref, LearnerRef) else self.course(ref)

    def candidates(self, ref: LearnerRef | CourseRef) -> frozenset[str] | _Problem | None:
        """Every ID a name may stand for (an email or title two share gives two), a problem
        when it names nobody, or None when it was not looked up."""
        if ref.key.value == "id" or isinstance(ref, LearnerRef) and self.lookups is None:
            found = self.named(ref)
            return frozenset({found}) if isinstance(found, str) else found
        if isinstance(ref, CourseRef):
            if self.course_ids is None:
                return None
            expanded = self.expand(ref, [])
            if isinstance(expanded, _Problem):
                return expanded
            ids: set[str] = set()
            for part in expanded:
                titled = self.titles.get(fold_title(part.value), [])
                matches = [part.value] if part.key is CourseKey.ID else [
                    item.content_id for item in titled]
                if not matches:
                    return _Problem(self.columns.get("course_title"),
                                    self.unknown_title(part.value))
                ids.update(matches)
            return frozenset(ids)
        assert self.lookups is not None
        by_key = (self.lookups.users_by_email if ref.key is LearnerKey.EMAIL
                  else self.lookups.users_by_login)
        users = by_key.get(fold_name(ref.value))
        if users is None:
            return None
        if ref.key is LearnerKey.LOGIN:
            exact = [u for u in users if u.login == ref.value.strip()]
            users = tuple(exact) if exact else users
        if not users:
            label = "email" if ref.key is LearnerKey.EMAIL else "login"
            return _Problem(self.columns.get(f"learner_{ref.key.value}"),
                            f"no user with {label} {ref.value!r}")
        return frozenset(user.user_id for user in users)

    def disagreement(self, used: str, wanted: set[str], other: str, named: set[str],
                     learners: bool) -> _Problem:
        """ "User ID is Pavel Jensen's but Email is David Dubois's", with the names the account
        gives (their email, or the ID, when two people share a name or it has none)."""
        describe = self.person if learners else self.course_name
        everyone = wanted | named
        if len({describe(i) for i in everyone}) < len(everyone):  # two of one name: tell apart
            describe = self.person_and_email if learners else (lambda course_id: course_id)
        first, second = sorted(map(describe, wanted)), sorted(map(describe, named))
        if len(first) == len(second) == 1:
            what = "person" if learners else "course"
            if learners:
                said = f"{used} is {first[0]}'s but {other} is {second[0]}'s"
            else:
                said = f"{used} is the course {first[0]!r} but {other} is {second[0]!r}"
        else:
            what = "people" if learners else "courses"
            shown = str if learners else repr
            said = (f"{used} names {', '.join(map(shown, first))} but {other} names "
                    f"{', '.join(map(shown, second))}")
        return _Problem(other, f"{said}: both must name the same {what}; correct one of them "
                               "(or clear it)", KIND_DISAGREE)

    def person(self, user_id: str) -> str:
        user = self.users.get(user_id)
        if user is None:
            return user_id
        return user.name or user.email or user.login or user_id

    def person_and_email(self, user_id: str) -> str:
        user = self.users.get(user_id)
        return f"{self.person(user_id)} ({user.email or user_id})" if user else user_id

    def course_name(self, course_id: str) -> str:
        item = self.contents_by_id.get(course_id)
        return item.title.strip() if item is not None else course_id

    def _more_problems(self, row: InputRow) -> InputRow:
        """An invalid row's lookup problems, added to its file problems (one pass to fix)."""
        if self.lookups is None or not row.references:
            return row
        found: list[RowIssue] = []
        for ref in row.references:
            if isinstance(ref, LearnerRef):
                outcomes = [self.learner(ref)]
            else:
                expanded = self.expand(ref, [])
                outcomes = ([self.course(part) for part in expanded]
                            if isinstance(expanded, list) else [expanded])
            for outcome in outcomes:
                if isinstance(outcome, _Problem):
                    issue = RowIssue(row.source, outcome.column, outcome.message, outcome.kind)
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
    known = [part for part in (user.name, "" if named_by_id else user.user_id) if part]
    who = f"the user with {named}" + (f" ({', '.join(known)})" if known else "")
    return _Problem(column, f"{who} {reason} and cannot be enrolled", KIND_CANNOT_ENROL)


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

