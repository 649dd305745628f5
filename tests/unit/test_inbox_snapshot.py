"""Taking an inbox file as a copy, and releasing it only if it is still what was copied."""

from __future__ import annotations

import hashlib
import os

import pytest

from bulk_enroll.inbox.snapshot import ChangedWhileTaken, discard_leftovers, release, take


@pytest.fixture
def inbox(tmp_path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def test_the_copy_is_what_is_hashed_and_the_unchanged_file_is_removed(inbox, tmp_path):
    (inbox / "hr.csv").write_text("a,b\n1,2\n")
    taken = take(inbox / "hr.csv", tmp_path / "state")
    assert taken is not None and taken.copy.read_text() == "a,b\n1,2\n"
    assert taken.copy.parent.parent == tmp_path / "state" / "inbox-taken"
    assert taken.sha256 == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    os.utime(inbox / "hr.csv")  # touched, same content: still the file that was taken
    assert release(taken) is True
    assert list(inbox.iterdir()) == []


def test_a_file_replaced_meanwhile_stays_in_the_inbox(inbox, tmp_path):
    (inbox / "hr.csv").write_text("old\n")
    taken = take(inbox / "hr.csv", tmp_path / "state")
    (inbox / "hr.new").write_text("new\n")
    os.replace(inbox / "hr.new", inbox / "hr.csv")
    assert release(taken) is False
    assert [p.name for p in inbox.iterdir()] == ["hr.csv"]
    assert (inbox / "hr.csv").read_text() == "new\n" and taken.copy.read_text() == "old\n"


def test_a_file_rewritten_in_place_meanwhile_stays_in_the_inbox(inbox, tmp_path):
    (inbox / "hr.csv").write_text("old\n")
    taken = take(inbox / "hr.csv", tmp_path / "state")
    with (inbox / "hr.csv").open("a") as handle:
        handle.write("more\n")
    assert release(taken) is False and (inbox / "hr.csv").read_text() == "old\nmore\n"


def test_a_file_changed_since_the_scan_is_not_taken(inbox, tmp_path):
    path = inbox / "hr.csv"
    path.write_text("old\n")
    seen = (path.stat().st_size, path.stat().st_mtime_ns)
    path.write_text("newer content\n")
    with pytest.raises(ChangedWhileTaken, match="changed since it was found ready"):
        take(path, tmp_path / "state", seen)
    assert list((tmp_path / "state" / "inbox-taken").iterdir()) == []
    assert take(inbox / "gone.csv", tmp_path / "state") is None


def test_copies_left_by_a_killed_run_are_removed(inbox, tmp_path):
    (inbox / "hr.csv").write_text("x\n")
    take(inbox / "hr.csv", tmp_path / "state")
    discard_leftovers(tmp_path / "state")
    assert list((tmp_path / "state" / "inbox-taken").iterdir()) == []
    assert (inbox / "hr.csv").read_text() == "x\n"
