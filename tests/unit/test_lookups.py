"""Fetching lookups: only what the rows need, all at once, through the optional disk cache."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Sequence
from pathlib import Path

import pytest

from bulk_enroll.model import (
    ContentItem,
    DirectoryUser,
    DueDateType,
    DueSettings,
    Pair,
    PairOutcome,
    ServerEnrollment,
    Status,
    UserStatus,
)
from bulk_enroll.resolve.cache import LookupCache
from bulk_enroll.resolve.lookups import References, fetch_lookups
from bulk_enroll.send.reconcile import ALREADY_ON_SERVER, server_enrollments, split_already_enrolled
from tests.support import make_id

ANNA = DirectoryUser(make_id("anna"), "akowalski", "Anna.Kowalski@Example.com", UserStatus.ACTIVE)
BEN = DirectoryUser(make_id("ben"), "BSmith", "ben@example.com", UserStatus.INACTIVE)
FIRE = ContentItem(make_id("fire"), "Fire Safety", "Course")
API = "https://api-learn.example.com"


class FakeDirectory:
    """Answers like the account would and records every question."""

    def __init__(self, contents: Sequence[ContentItem] = (FIRE,)) -> None:
        self.users = [ANNA, BEN]
        self.contents = list(contents)
        self.asked: list[tuple[str, tuple[str, ...]]] = []

    def list_users(self, *, emails=(), logins=(), user_ids=()):  # type: ignore[no-untyped-def]
        if user_ids:
            self.asked.append(("statuses", tuple(user_ids)))
            return [u for u in self.users if u.user_id in user_ids]
        self.asked.append(("emails" if emails else "logins", tuple(emails or logins)))
        wanted = {v.casefold() for v in (*emails, *logins)}
        return [
            u for u in self.users
            if (u.email.casefold() if emails else u.login.casefold()) in wanted
        ]

    def find_existing_users(self, user_ids: Sequence[str]) -> set[str]:
        self.asked.append(("ids", tuple(user_ids)))
        return {u.user_id for u in self.users} & set(user_ids)

    def list_contents(self) -> list[ContentItem]:
        self.asked.append(("contents", ()))
        return self.contents


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


REFS = References(
    emails=frozenset({"anna.kowalski@example.com", "nobody@example.com"}),
    logins=frozenset({"bsmith"}),
    learner_ids=frozenset({ANNA.user_id, make_id("typo")}),
    titles=frozenset({"fire safety"}),
    course_ids=frozenset({FIRE.content_id}),
)


def test_every_kind_is_asked_once_for_all_rows():
    directory = FakeDirectory()
    lookups = fetch_lookups(REFS, directory)
    assert [kind for kind, _ in directory.asked] == [
        "emails", "logins", "ids", "statuses", "contents"
    ]
    assert directory.asked[3] == ("statuses", (ANNA.user_id,))  # only IDs that exist
    assert directory.asked[0] == ("emails", ("anna.kowalski@example.com", "nobody@example.com"))
    assert lookups.users_by_email == {
        "anna.kowalski@example.com": (ANNA,),
        "nobody@example.com": (),
    }
    assert lookups.users_by_login == {"bsmith": (BEN,)}
    assert lookups.existing_learner_ids == {ANNA.user_id}
    assert lookups.users_by_id == {ANNA.user_id: ANNA}
    assert lookups.contents == (FIRE,)


def test_logins_are_asked_as_written_and_matched_ignoring_case():
    directory = FakeDirectory()
    lookups = fetch_lookups(References(logins=frozenset({"bSmith", "BSMITH"})), directory)
    assert directory.asked == [("logins", ("BSMITH", "bSmith"))]
    assert lookups.users_by_login == {"bsmith": (BEN,)}


def test_only_what_the_rows_name_is_asked():
    directory = FakeDirectory()
    lookups = fetch_lookups(References(learner_ids=frozenset({ANNA.user_id})), directory)
    assert [kind for kind, _ in directory.asked] == ["ids", "statuses"]
    assert lookups.contents is None  # course IDs unchecked: none were named


def cache(path: Path, clock: Clock, api: str = API, hours: float = 24) -> LookupCache:
    return LookupCache(path, api, hours * 3600, clock=clock).load()


def test_the_cache_answers_found_names_until_they_expire(tmp_path):
    path, clock = tmp_path / "lookups.json", Clock()
    fetch_lookups(REFS, FakeDirectory(), cache(path, clock))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert "tok" not in path.read_text()

    second = FakeDirectory()
    lookups = fetch_lookups(REFS, second, cache(path, clock))
    # Found names and IDs come from the cache; misses are asked again (they may exist today).
    assert second.asked == [("emails", ("nobody@example.com",)), ("ids", (make_id("typo"),))]
    assert lookups.users_by_email["anna.kowalski@example.com"] == (ANNA,)
    assert lookups.users_by_login == {"bsmith": (BEN,)}

    clock.now += 25 * 3600  # expired: everything is asked again
    third = FakeDirectory()
    fetch_lookups(REFS, third, cache(path, clock))
    assert [kind for kind, _ in third.asked] == ["emails", "logins", "ids", "statuses", "contents"]
    assert third.asked[0] == ("emails", ("anna.kowalski@example.com", "nobody@example.com"))


def test_a_cached_content_list_is_used_while_it_knows_every_title_and_id(tmp_path):
    path, clock = tmp_path / "lookups.json", Clock()
    refs = References(titles=frozenset({"Fire Safety"}))
    fetch_lookups(refs, FakeDirectory(), cache(path, clock))
    again = FakeDirectory()
    assert fetch_lookups(refs, again, cache(path, clock)).contents == (FIRE,)
    assert again.asked == []
    # A course added since the cache was written must not be reported unknown: list again.
    gdpr = ContentItem(make_id("gdpr"), "GDPR Essentials")
    newer = FakeDirectory(contents=(FIRE, gdpr))
    refs = References(titles=frozenset({"GDPR Essentials"}))
    assert fetch_lookups(refs, newer, cache(path, clock)).contents == (FIRE, gdpr)
    assert newer.asked == [("contents", ())]


@pytest.mark.parametrize(
    "content",
    ["not json", json.dumps([1, 2]), json.dumps({"format": 99}), json.dumps({"format": 1})],
    ids=["garbage", "list", "future-format", "other-account"],
)
def test_a_bad_or_foreign_cache_file_is_ignored(tmp_path, content):
    path = tmp_path / "lookups.json"
    path.write_text(content)
    directory = FakeDirectory()
    fetch_lookups(REFS, directory, cache(path, Clock()))
    assert len(directory.asked) == 5
    assert json.loads(path.read_text())["api_url"] == API  # rewritten for this account


def test_a_cache_for_another_account_is_not_used(tmp_path):
    path, clock = tmp_path / "lookups.json", Clock()
    fetch_lookups(REFS, FakeDirectory(), cache(path, clock, api="https://other.example"))
    directory = FakeDirectory()
    fetch_lookups(REFS, directory, cache(path, clock))
    assert len(directory.asked) == 5


def test_an_unwritable_cache_costs_lookups_not_the_run(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    lookups = fetch_lookups(REFS, FakeDirectory(), cache(blocker / "lookups.json", Clock()))
    assert lookups.users_by_email["anna.kowalski@example.com"] == (ANNA,)


# --- reconciliation with the server ----------------------------------------------------------

S = DueSettings(DueDateType.UNLIMITED)


class Lister:
    def __init__(self, existing: set[tuple[str, str]]) -> None:
        self.existing = {pair: ServerEnrollment(*pair) for pair in existing}
        self.asked: list[tuple[set[str], set[str]]] = []

    def enrollment_records(self, learner_ids, course_ids):  # type: ignore[no-untyped-def]
        self.asked.append((set(learner_ids), set(course_ids)))
        return self.existing


def test_pairs_the_server_holds_are_not_sent_and_say_so():
    a, b, c = (Pair("l1", "c1", S), Pair("l2", "c1", S), Pair("l1", "c2", S))
    lister = Lister({("l2", "c1"), ("l9", "c9")})
    existing = server_enrollments([a, b, c], lister)
    assert lister.asked == [({"l1", "l2"}, {"c1", "c2"})]
    to_send, already = split_already_enrolled([a, b, c], existing)
    assert to_send == [a, c]
    assert already == {b: PairOutcome(Status.ALREADY_ENROLLED, ALREADY_ON_SERVER)}


def test_no_pairs_no_question():
    lister = Lister(set())
    assert server_enrollments([], lister) == {} and lister.asked == []


def test_server_ids_are_compared_ignoring_case():
    pair = Pair("AB-1", "CD-2", S)
    assert split_already_enrolled([pair], {("ab-1", "cd-2"): ServerEnrollment("ab-1", "cd-2")}
                                  )[0] == []
