"""The inbox's pure parts: which files are ready, safety limits, archiving without overwrite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bulk_enroll.errors import ConfigError
from bulk_enroll.inbox.archive import move_into
from bulk_enroll.inbox.limits import SafetyLimits, check_limits
from bulk_enroll.inbox.runner import load_inbox_settings
from bulk_enroll.inbox.scan import is_temporary, open_in_office, scan_inbox
from bulk_enroll.jobs import PlanPreview

NOW = 1_800_000_000.0


def touch(path: Path, mtime: float, text: str = "learner_id\n") -> Path:
    path.write_text(text, encoding="utf-8")
    os.utime(path, (mtime, mtime))
    return path


@pytest.mark.parametrize("name", ["~$hires.xlsx", "hires.xlsx.part", "a.tmp", ".hidden.csv",
                                  "x.csv.crdownload", "backup.csv~", "Download.partial"])
def test_temporary_names(name):
    assert is_temporary(name)


def test_ordinary_names_are_not_temporary():
    assert not is_temporary("hires 2027-01.xlsx") and not is_temporary("tmp_export.csv")


def test_office_lock_files_mark_a_workbook_open():
    assert open_in_office("hires.xlsx", {"hires.xlsx", "~$hires.xlsx"})
    assert open_in_office("onboarding.xlsx", {"~$boarding.xlsx"})  # Excel drops 2 letters
    assert open_in_office("a.csv", {".~lock.a.csv#"})
    assert not open_in_office("a.csv", {"a.csv", "~$b.csv"})


def test_scan_takes_old_files_oldest_first_without_waiting(tmp_path):
    touch(tmp_path / "b.csv", NOW - 500)
    touch(tmp_path / "a.csv", NOW - 100)
    touch(tmp_path / "c.xlsx", NOW - 900)
    (tmp_path / "archive").mkdir()
    touch(tmp_path / "notes.pdf", NOW - 900)
    touch(tmp_path / "~$c.xlsx", NOW)
    waits: list[float] = []
    scan = scan_inbox(tmp_path, 60, clock=lambda: NOW, sleep=waits.append)
    assert waits == []
    assert [s.path.name for s in scan.ready] == ["b.csv", "a.csv"]
    assert [(p.name, why.split(" (")[0]) for p, why in scan.waiting] == [
        ("c.xlsx", "open in an office application")]
    assert [p.name for p, _ in scan.ignored] == ["notes.pdf"]


def test_symbolic_links_are_never_followed_and_are_listed_as_ignored(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    touch(outside / "other.csv", NOW - 500)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    touch(inbox / "real.csv", NOW - 500)
    (inbox / "to-folder").symlink_to(outside, target_is_directory=True)
    (inbox / "to-file.csv").symlink_to(outside / "other.csv")
    (inbox / "sub").mkdir()  # a real subfolder: not looked into, not worth a warning
    scan = scan_inbox(inbox, 60, clock=lambda: NOW, sleep=lambda s: None)
    assert [s.path.name for s in scan.ready] == ["real.csv"]
    assert [(p.name, why) for p, why in scan.ignored] == [
        ("to-file.csv", "a symbolic link (to a file), not followed"),
        ("to-folder", "a symbolic link (to a folder), not followed"),
    ]


def test_young_files_are_looked_at_again_after_the_interval(tmp_path):
    steady = touch(tmp_path / "steady.csv", NOW - 1)
    growing = touch(tmp_path / "growing.csv", NOW - 1)

    def wait(seconds: float) -> None:
        with growing.open("a") as handle:
            handle.write("more\n")

    scan = scan_inbox(tmp_path, 30, clock=lambda: NOW, sleep=wait)
    assert [s.path for s in scan.ready] == [steady]
    assert scan.waiting == [(growing, "still being written (changed within 30 s)")]


def test_limits(tmp_path):
    limits = SafetyLimits(max_new_per_file=10, max_new_per_run=15, max_invalid_share=0.2)
    fine = PlanPreview("a.csv", rows=10, invalid_rows=2, new_pairs=10, settled_pairs=0, calls=1)
    assert check_limits(fine, limits, sent_this_run=5) is None
    assert check_limits(fine, limits, sent_this_run=6) == (
        "safety limit: this file's 10 new enrollments would bring this run to 16, more than "
        "max_new_enrollments_per_run (15); check the file, then run again with --force to "
        "send it anyway")
    big = PlanPreview("a.csv", rows=11, invalid_rows=0, new_pairs=11, settled_pairs=0, calls=1)
    assert check_limits(big, limits, 0).startswith(
        "safety limit: 11 new enrollments in this file, more than "
        "max_new_enrollments_per_file (10)")
    broken = PlanPreview("a.csv", rows=9, invalid_rows=2, new_pairs=7, settled_pairs=0, calls=1)
    assert check_limits(broken, limits, 0).startswith(
        "safety limit: 22% of the rows are invalid (2 of 9), more than max_invalid_share (20%)")
    empty = PlanPreview("a.csv", rows=0, invalid_rows=0, new_pairs=0, settled_pairs=0, calls=0)
    assert check_limits(empty, limits, 0) is None


def test_inbox_settings(tmp_path):
    settings = load_inbox_settings({"BULK_ENROLL_INBOX_MAX_INVALID_SHARE": "5%",
                                    "BULK_ENROLL_INBOX_STABLE_SECONDS": "0.5"}, inbox=tmp_path)
    assert settings.archive == tmp_path / "archive" and settings.stable_s == 0.5
    assert settings.limits.max_invalid_share == 0.05
    with pytest.raises(ConfigError, match="no inbox folder"):
        load_inbox_settings({})
    with pytest.raises(ConfigError, match="MAX_INVALID_SHARE='1.5' .* must be between 0 and 1"):
        load_inbox_settings({"BULK_ENROLL_INBOX_MAX_INVALID_SHARE": "1.5"}, inbox=tmp_path)
    with pytest.raises(ConfigError, match=r"MAX_NEW_PER_RUN='2.5' \(max_new_enrollments_per_run "
                                          r"in \[inbox\]\) is not a whole number"):
        load_inbox_settings({"BULK_ENROLL_INBOX_MAX_NEW_PER_RUN": "2.5"}, inbox=tmp_path)


def test_archiving_never_overwrites(tmp_path):
    target = tmp_path / "archive" / "processed" / "2027-01-05"
    for content in ("one", "two", "three"):
        source = tmp_path / "hr.csv"
        source.write_text(content)
        move_into(source, target)
    assert {p.name: p.read_text() for p in target.iterdir()} == {
        "hr.csv": "one", "hr-2.csv": "two", "hr-3.csv": "three"}
    assert not (tmp_path / "hr.csv").exists()
