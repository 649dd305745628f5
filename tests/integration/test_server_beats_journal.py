"""The server's word beats the journal, changed settings are said, and an inbox file replaced
while it is sent is not lost (issue 12, items 3, 4 and 5), against the sandbox on 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bulk_enroll.cli import main
from bulk_enroll.model import DueDateType, DueSettings
from bulk_enroll.sandbox import Faults, SandboxServer, default_directory
from tests.integration.test_crash_and_chaos import account_env
from tests.integration.test_exactly_once import ENROLLMENT_PATHS, enrollment_calls, on_first_request
from tests.support import HEADER, enrolled_once, sheet_rows, write_csv

DIRECTORY = default_directory()
ACTIVE = [u.user_id for u in DIRECTORY.users if u.is_active]
COURSE = DIRECTORY.courses[0].content_id
JAN = DueSettings(DueDateType.DUE_DATE, due_date=dt.date(2027, 1, 15))


def dated_file(path: Path, learners: list[str], due: str) -> Path:
    return write_csv(path, [HEADER, *([lr, COURSE, "due_date", due, "", "", ""]
                                      for lr in learners)])


def run(*args: str) -> tuple[int, list[dict[str, object]]]:
    report = Path(f"report-{len(list(Path().glob('report-*')))}.xlsx")
    code = main(["run", *args, "--report", str(report)])
    return code, sheet_rows(report)


def messages(rows: list[dict[str, object]]) -> list[tuple[object, object]]:
    return [(row["Status"], row["Message"]) for row in rows]


def test_a_pair_removed_in_the_lms_is_enrolled_again_when_the_server_is_asked(
        sandbox, tmp_path, monkeypatch):
    path = dated_file(tmp_path / "hr.csv", ACTIVE[:3], "2027-01-15")
    assert run(str(path))[0] == 0
    today = dt.date.today().isoformat()
    sandbox.state.remove_enrollments([(ACTIVE[0], COURSE)])  # an administrator, a mistake
    calls = enrollment_calls(sandbox)

    # Without the server, the journal is trusted, and every row says so and how to check.
    code, rows = run(str(path))
    assert code == 0 and enrollment_calls(sandbox) == calls
    assert {row["Status"] for row in rows} == {"already_enrolled"}
    assert all(str(row["Message"]).endswith(
        "(from the journal; the LMS was not asked (--check-server asks it))") for row in rows)

    # Asked, the server says it is gone; the configuration chose to respect removals.
    monkeypatch.setenv("BULK_ENROLL_RESPECT_REMOVALS", "true")
    code, rows = run(str(path), "--check-server")
    assert code == 1 and enrollment_calls(sandbox) == calls
    assert messages(rows) == [
        ("not_sent", f"removed in the LMS since the run of {today}: not sent again "
                     "(--respect-removals)"),
        ("already_enrolled", "already enrolled on the server; not sent again"),
        ("already_enrolled", "already enrolled on the server; not sent again")]

    # --resend-removals wins over the configuration: enrolled again, and the row says why.
    code, rows = run(str(path), "--check-server", "--resend-removals")
    assert code == 0 and enrollment_calls(sandbox) == calls + 1
    assert messages(rows)[0] == (
        "enrolled", f"enrolled again: removed in the LMS since the run of {today}")
    assert enrolled_once(sandbox) == {(lr, COURSE, JAN) for lr in ACTIVE[:3]}


def test_a_row_asking_other_settings_than_the_existing_enrollment_says_so(sandbox, tmp_path):
    assert run(str(dated_file(tmp_path / "first.csv", ACTIVE[:2], "2027-01-15")))[0] == 0
    calls = enrollment_calls(sandbox)
    later = dated_file(tmp_path / "later.csv", ACTIVE[:2], "2027-03-01")
    change = "already enrolled with due date 2027-01-15; this row asks for 2027-03-01: not changed"

    code, rows = run(str(later))
    assert code == 0 and {row["Status"] for row in rows} == {"already_enrolled"}
    assert all(str(row["Message"]).startswith(f"{change} (enrolled by an earlier run on ")
               for row in rows)
    code, rows = run(str(later), "--check-server")
    assert code == 0 and messages(rows) == [
        ("already_enrolled", f"{change} (as the server lists it)")] * 2
    assert enrollment_calls(sandbox) == calls  # nothing was changed or enrolled twice
    assert enrolled_once(sandbox) == {(lr, COURSE, JAN) for lr in ACTIVE[:2]}


def test_the_inbox_files_a_file_whose_removed_pairs_it_respects_as_needing_attention(
        sandbox, tmp_path, monkeypatch):
    inbox = tmp_path / "drop"
    inbox.mkdir()
    monkeypatch.setenv("BULK_ENROLL_INBOX_STABLE_SECONDS", "0")
    dated_file(inbox / "monday.csv", ACTIVE[:2], "2027-01-15")
    assert main(["inbox", str(inbox)]) == 0
    sandbox.state.remove_enrollments([(ACTIVE[0], COURSE)])
    dated_file(inbox / "tuesday.csv", ACTIVE[:3], "2027-01-15")
    assert main(["inbox", str(inbox), "--respect-removals"]) == 1
    assert list(inbox.glob("*.csv")) == []  # not left in the inbox as if interrupted
    assert [p.name for p in (inbox / "archive" / "failed").glob("*/*")] == ["tuesday.csv"]
    assert set(sandbox.state.enrollments()) == {(ACTIVE[1], COURSE), (ACTIVE[2], COURSE)}


def test_an_inbox_file_replaced_while_it_is_sent_is_processed_by_the_next_run(tmp_path):
    inbox = tmp_path / "drop"
    inbox.mkdir()
    first = [[lr, COURSE, "unlimited", "", "", "", ""] for lr in ACTIVE[:30]]
    second = [[lr, COURSE, "unlimited", "", "", "", ""] for lr in ACTIVE[20:50]]
    write_csv(inbox / "hr.csv", [HEADER, *first])
    faults = Faults(latency_s=0.05, paths=ENROLLMENT_PATHS)  # a slow LMS
    with SandboxServer(faults=faults).start() as server:
        env = account_env(server, tmp_path / "state", MAX_LEARNERS_PER_CALL="3",
                          CONCURRENCY="1", INBOX_STABLE_SECONDS="0")
        nightly = [sys.executable, "-m", "bulk_enroll.cli", "inbox", str(inbox)]
        replacement = tmp_path / "hr.csv.new"

        def hr_system_replaces_the_file() -> None:  # as exports are written: new file, rename
            write_csv(replacement, [HEADER, *second])
            os.replace(replacement, inbox / "hr.csv")

        on_first_request(server, ("POST", "/soap"), hr_system_replaces_the_file)
        night = subprocess.run(nightly, env=env, capture_output=True, text=True, timeout=120)
        assert night.returncode == 0, night.stderr
        assert "hr.csv changed while it was processed" in night.stderr
        assert {lr for lr, _ in server.state.enrollments()} == set(ACTIVE[:30])
        [archived] = (inbox / "archive" / "processed").glob("*/hr.csv")
        assert archived.read_text().count(COURSE) == 30  # the content that was sent
        assert (inbox / "hr.csv").read_text().count(COURSE) == 30 and \
            ACTIVE[49] in (inbox / "hr.csv").read_text()  # the new one waits in the inbox

        next_night = subprocess.run(nightly, env=env, capture_output=True, text=True,
                                    timeout=120)
        assert next_night.returncode == 0, next_night.stderr
        assert {(lr, c) for lr, c, _ in enrolled_once(server)} == {
            (lr, COURSE) for lr in ACTIVE[:50]}  # nothing lost, nothing doubled
    assert list(inbox.glob("*.csv")) == []
    assert sorted(p.name for p in (inbox / "archive" / "processed").glob("*/*")) == [
        "hr-2.csv", "hr.csv"]
    assert list((tmp_path / "state" / "inbox-taken").iterdir()) == []


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_inbox_run_leaves_its_file_in_the_inbox_and_no_copy_behind(tmp_path, sig):
    inbox = tmp_path / "drop"
    inbox.mkdir()
    write_csv(inbox / "hr.csv", [HEADER, *([lr, COURSE, "unlimited", "", "", "", ""]
                                           for lr in ACTIVE[:30])])
    faults = Faults(latency_s=0.05, paths=ENROLLMENT_PATHS)
    with SandboxServer(faults=faults).start() as server:
        env = account_env(server, tmp_path / "state", MAX_LEARNERS_PER_CALL="3",
                          CONCURRENCY="1", INBOX_STABLE_SECONDS="0")
        nightly = [sys.executable, "-m", "bulk_enroll.cli", "inbox", str(inbox)]
        victim = subprocess.Popen(nightly, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        on_first_request(server, ("POST", "/soap"), lambda: os.kill(victim.pid, sig))
        # SIGKILL: dead on the spot, its copy left behind; SIGTERM: the send stops cleanly
        # (exit 143, the file stays to resume) and the copy is removed.
        assert victim.wait(60) == (-sig if sig is signal.SIGKILL else 143)
        assert (inbox / "hr.csv").exists()
        copies = list((tmp_path / "state" / "inbox-taken").iterdir())
        assert len(copies) == (1 if sig is signal.SIGKILL else 0)
        assert subprocess.run(nightly, env=env, capture_output=True, timeout=120).returncode == 0
        assert {(lr, c) for lr, c, _ in enrolled_once(server)} == {
            (lr, COURSE) for lr in ACTIVE[:30]}
    assert list((tmp_path / "state" / "inbox-taken").iterdir()) == []
