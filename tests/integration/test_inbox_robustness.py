"""A nightly inbox that one bad file cannot stop or mislead: hostile file names, links out of
the inbox, unreadable files and reports that cannot be written, against the sandbox over real
HTTP on 127.0.0.1, through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bulk_enroll.cli import main
from bulk_enroll.logs import LogSettings, setup_logging
from bulk_enroll.sandbox import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SandboxServer
from bulk_enroll.sandbox.directory import default_directory
from tests.support import HEADER, write_csv

DIRECTORY = default_directory()
ACTIVE = [u.user_id for u in DIRECTORY.users if u.is_active]
COURSES = [c.content_id for c in DIRECTORY.courses]


def rows_for(learners: list[str], course: str) -> list[list[object]]:
    return [list(HEADER), *([learner, course, "unlimited", "", "", "", ""]
                            for learner in learners)]


@pytest.fixture
def sandbox(monkeypatch, tmp_path):
    with SandboxServer().start() as server:
        for name, value in {
            "BULK_ENROLL_SOAP_URL": server.soap_url, "BULK_ENROLL_API_URL": server.api_url,
            "BULK_ENROLL_CLIENT_ID": SANDBOX_CLIENT_ID,
            "BULK_ENROLL_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
            "BULK_ENROLL_INBOX_STABLE_SECONDS": "0",
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("BULK_ENROLL_TOKEN", raising=False)
        monkeypatch.chdir(tmp_path)
        yield server
    setup_logging(0, LogSettings())  # drop the log file handler the run opened


@pytest.fixture
def inbox(tmp_path) -> Path:
    folder = tmp_path / "drop"
    folder.mkdir()
    return folder


def test_a_newline_in_a_file_name_forges_no_log_line_and_links_are_not_followed(
        sandbox, inbox, tmp_path, capsys):
    forged = "hires.csv\nWARNING inbox forged: 0 files, exit 0\n"
    write_csv(inbox / f"{forged}.csv", rows_for(ACTIVE[:2], COURSES[0]))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    write_csv(elsewhere / "secret.csv", rows_for(ACTIVE[2:4], COURSES[0]))
    (inbox / "linked-folder").symlink_to(elsewhere, target_is_directory=True)
    (inbox / "linked.csv").symlink_to(elsewhere / "secret.csv")
    human, machine = tmp_path / "human.log", tmp_path / "machine.log"

    assert main(["--log-file", str(human), "inbox", str(inbox)]) == 0
    write_csv(inbox / f"{forged}.csv", rows_for(ACTIVE[:2], COURSES[0]))  # again: a duplicate
    assert main(["--log-format", "json", "--log-file", str(machine), "inbox", str(inbox)]) == 0

    lines = human.read_text(encoding="utf-8").splitlines()
    assert not [line for line in lines if "forged" in line and " [" not in line[:40]]
    assert [line.split("] ", 1)[1] for line in lines if "linked" in line] == [
        "linked-folder: ignored: a symbolic link (to a folder), not followed",
        "linked.csv: ignored: a symbolic link (to a file), not followed",
    ]
    escaped = "hires.csv\\nWARNING inbox forged: 0 files, exit 0\\n.csv"
    assert [line.split("] ", 1)[1].split(";")[0] for line in lines if "forged" in line] == [
        f"{escaped}: 2 enrolled, all rows settled", f"{escaped}: processed"]
    entries = [json.loads(line) for line in machine.read_text(encoding="utf-8").splitlines()]
    assert {e["file"] for e in entries if e.get("event") == "ignored"} == {
        "linked-folder", "linked.csv"}
    assert [(e["file"], e["outcome"]) for e in entries if e.get("event") == "file"] == [
        (f"{forged}.csv", "duplicate")]
    assert sandbox.state.enrollments().keys() == {(a, COURSES[0]) for a in ACTIVE[:2]}
    err = capsys.readouterr().err.splitlines()  # the console: warnings only, one line each
    assert err[:2] == [  # (the second run's console lines are JSON)
        "WARNING linked-folder: ignored: a symbolic link (to a folder), not followed",
        "WARNING linked.csv: ignored: a symbolic link (to a file), not followed"]
