"""Names in the file -> what the account knows about them: the lookups resolution needs.

Three parts: `gather_references` (pure: every distinct email, login, ID and title the rows
name), `fetch_lookups` (the one I/O step: asks a `DirectoryClient` about all of them at once, in
batches, through an optional disk cache), and the plain data both sides share. `rows.py`
then turns rows into pairs from a `Lookups` without any I/O, so a file of 50,000 rows costs a
few list calls, never one call per row.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bulk_enroll.model import (
    ContentItem,
    CourseKey,
    CourseRef,
    DirectoryUser,
    InputRow,
    LearnerKey,
    LearnerRef,
)
from bulk_enroll.read.cells import fold_title
from bulk_enroll.resolve.cache import LookupCache

log = logging.getLogger(__name__)


def fold_name(value: str) -> str:
    """The comparison form of an email or a login: case and surrounding spaces ignored."""
    return value.strip().lower()


@dataclass(frozen=True)
class References:
    """Every distinct value the rows use to name learners and courses, by kind."""

    emails: frozenset[str] = frozenset()
    logins: frozenset[str] = frozenset()
    learner_ids: frozenset[str] = frozenset()
    titles: frozenset[str] = frozenset()
    course_ids: frozenset[str] = frozenset()

    @property
    def names(self) -> list[str]:
        """What needs a lookup to become an ID at all, e.g. ["emails", "course titles"]."""
        kinds = (("emails", self.emails), ("logins", self.logins), ("course titles", self.titles))
        return [name for name, values in kinds if values]

    @property
    def empty(self) -> bool:
        return not (
            self.emails or self.logins or self.learner_ids or self.titles or self.course_ids
        )


def gather_references(rows: Iterable[InputRow], *, checks: bool = True) -> References:
    """Collect the distinct references of all rows (emails folded, titles as written); with
    `checks`, also the names a row gives beside those its requests use (to check they agree)."""
    # Learner and course keys are kept apart: LearnerKey.ID and CourseKey.ID are both "id".
    learners: dict[LearnerKey, set[str]] = {key: set() for key in LearnerKey}
    courses: dict[CourseKey, set[str]] = {key: set() for key in CourseKey}

    def add(refs: Iterable[LearnerRef | CourseRef]) -> None:
        for ref in refs:
            if isinstance(ref, LearnerRef):
                learners[ref.key].add(ref.value)
            else:
                courses[ref.key].add(ref.value)

    for row in rows:
        for request in row.requests:
            learners[request.learner.key].add(request.learner.value)
            courses[request.course.key].add(request.course.value)
        add(row.references)  # an invalid row's names: its lookup problems are shown too
        if checks:
            for twice in row.named_twice:
                for refs in twice.names[1:]:
                    add(refs)
    return References(
        emails=frozenset(fold_name(e) for e in learners[LearnerKey.EMAIL]),
        logins=frozenset(learners[LearnerKey.LOGIN]),
        learner_ids=frozenset(learners[LearnerKey.ID]),
        titles=frozenset(courses[CourseKey.TITLE]),
        course_ids=frozenset(courses[CourseKey.ID]),
    )


@dataclass(frozen=True)
class Lookups:
    """What the account said about the references; the input of the pure `resolve_rows`.

    Users are keyed by the folded email / login that was asked for (a login may match several
    users differing in case only). `existing_learner_ids` and `contents` are None when they
    were not checked (no API available): IDs then pass through unchecked. `users_by_id` holds
    the status of learners named by ID, so an inactive one fails its own row.
    """

    users_by_email: Mapping[str, tuple[DirectoryUser, ...]] = field(default_factory=dict)
    users_by_login: Mapping[str, tuple[DirectoryUser, ...]] = field(default_factory=dict)
    existing_learner_ids: frozenset[str] | None = None
    contents: tuple[ContentItem, ...] | None = None
    users_by_id: Mapping[str, DirectoryUser] = field(default_factory=dict)


class DirectoryClient(Protocol):
    """The account's list endpoints, as `fetch_lookups` needs them (implemented by
    `transport.lookup_client.RestClient`)."""

    def list_users(
        self,
        *,
        emails: Sequence[str] = (),
        logins: Sequence[str] = (),
        user_ids: Sequence[str] = (),
    ) -> list[DirectoryUser]:
        """Every user whose email, login (ignoring case) or ID is one of those given."""
        ...

    def find_existing_users(self, user_ids: Sequence[str]) -> set[str]:
        """The subset of `user_ids` that exist in the account."""
        ...

    def list_contents(self) -> list[ContentItem]:
        """Every content item of the account."""
        ...


def fetch_lookups(
    refs: References, client: DirectoryClient, cache: LookupCache | None = None
) -> Lookups:
    """Ask the account about every reference at once (the cache first, when given).

    Only what the rows need is asked: no email column, no user listing. Positive answers are
    cached; misses never are, so a person added to the LMS today is found tonight.
    """
    by_email = _users_by(
        "email", refs.emails, lambda u: u.email, lambda wanted: client.list_users(emails=wanted),
        cache,
    )
    by_login = _users_by(
        "login", refs.logins, lambda u: u.login, lambda wanted: client.list_users(logins=wanted),
        cache,
    )
    existing = _existing_ids(refs.learner_ids, client, cache) if refs.learner_ids else None
    by_id = _users_by_id(existing or frozenset(), client, cache)
    contents = _contents(refs, client, cache) if (refs.titles or refs.course_ids) else None
    if cache is not None:
        cache.save()
    return Lookups(by_email, by_login, existing, contents, by_id)


def _users_by(
    kind: str,
    wanted: Iterable[str],
    name_of: _NameOf,
    fetch: _Fetch,
    cache: LookupCache | None,
) -> dict[str, tuple[DirectoryUser, ...]]:
    """Users per folded name. Names are asked as written (the server decides how it compares)
    and answers are matched ignoring case, so "JDoe" finds "jdoe" on either kind of server."""
    found: dict[str, tuple[DirectoryUser, ...]] = {}
    missing: dict[str, list[str]] = {}  # folded name -> spellings to ask for
    for value in sorted(wanted):
        key = fold_name(value)
        cached = cache.users(kind, key) if cache is not None else None
        if cached:
            found[key] = cached
        else:
            missing.setdefault(key, []).append(value.strip())
    if missing:
        grouped: dict[str, list[DirectoryUser]] = {}
        for user in fetch([v for spellings in missing.values() for v in spellings]):
            grouped.setdefault(fold_name(name_of(user)), []).append(user)
        for key in missing:
            users = tuple(dict.fromkeys(grouped.get(key, ())))
            found[key] = users
            if users and cache is not None:
                cache.put_users(kind, key, users)
    if cache is not None and len(found) > len(missing):
        log.info("%d %s lookup(s) answered from the cache", len(found) - len(missing), kind)
    return found


class _NameOf(Protocol):
    def __call__(self, user: DirectoryUser, /) -> str: ...


class _Fetch(Protocol):
    def __call__(self, wanted: list[str], /) -> list[DirectoryUser]: ...


def _existing_ids(
    ids: Iterable[str], client: DirectoryClient, cache: LookupCache | None
) -> frozenset[str]:
    wanted = sorted(ids)
    known = {i for i in wanted if cache is not None and cache.user_exists(i)}
    missing = [i for i in wanted if i not in known]
    if missing:
        found = client.find_existing_users(missing)
        known |= {i.lower() for i in found}
        if cache is not None:
            cache.put_existing(found)
    return frozenset(known)


def _users_by_id(
    ids: frozenset[str], client: DirectoryClient, cache: LookupCache | None
) -> dict[str, DirectoryUser]:
    """The status of learners named by ID (`find_existing` only says they exist)."""
    found: dict[str, DirectoryUser] = {}
    missing: list[str] = []
    for user_id in sorted(ids):
        cached = cache.users("id", user_id) if cache is not None else None
        if cached:
            found[user_id] = cached[0]
        else:
            missing.append(user_id)
    if missing:
        for user in client.list_users(user_ids=missing):
            found[user.user_id] = user
            if cache is not None:
                cache.put_users("id", user.user_id, (user,))
    return found


def _contents(
    refs: References, client: DirectoryClient, cache: LookupCache | None
) -> tuple[ContentItem, ...]:
    cached = cache.contents() if cache is not None else None
    if cached is not None and _covers(cached, refs):
        return cached
    contents = tuple(client.list_contents())
    if cache is not None:
        cache.put_contents(contents)
    return contents


def _covers(contents: Sequence[ContentItem], refs: References) -> bool:
    """Whether a cached listing answers every title and ID; if not, list again (a course added
    since the cache was written must not be reported unknown)."""
    ids = {c.content_id for c in contents}
    titles = {fold_title(c.title) for c in contents}

    def known(title: str) -> bool:  # whole, or (several courses in one cell) part by part
        parts = [part.strip() for part in title.split(",") if part.strip()]
        return fold_title(title) in titles or len(parts) > 1 and all(
            part.strip("{}").lower() in ids or fold_title(part) in titles for part in parts)

    return refs.course_ids <= ids and all(map(known, refs.titles))
