"""The CLI end to end against the sandbox over real HTTP on 127.0.0.1.

The input files are built here with known pairs, so the expected enrollments are known by
construction (not derived with the code under test).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bulk_enroll.cli import main
from bulk_enroll.model import DueDateType, DueSettings
from bulk_enroll.sandbox import Faults, SandboxServer, default_directory
from bulk_enroll.sandbox.directory import sandbox_id
from bulk_enroll.sandbox.state import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from tests.support import HEADER, enrolled_once, sheet_rows, write_xlsx

ROOT = Path(__file__).resolve().parents[2]
DIRECTORY = default_directory()
ACTIVE = [u.user_id for u in DIRECTORY.users if u.is_active]
INACTIVE = [u.user_id for u in DIRECTORY.users if not u.is_active]
COURSES = [c.content_id for c in DIRECTORY.courses]
UNKNOWN_LEARNER = sandbox_id("user", "nobody-by-this-id")
PERIOD = DueSettings(DueDateType.DUE_PERIOD, due_period_hours=720)
DATED = DueSettings(DueDateType.DUE_DATE, due_date=dt.date(2027, 5, 1), lock_after_due_date=True)


def cohort_file(path: Path) -> tuple[Path, set[tuple[str, str, DueSettings]], dict[int, str]]:
    """A workbook of two cohorts plus broken rows; returns expected pairs and row statuses."""
    rows: list[list[object]] = [list(HEADER) + ["Employee name"]]
    expected: set[tuple[str, str, DueSettings]] = set()
    statuses: dict[int, str] = {}

    def add(learner, course, *cells, status="enrolled", settings=None):
        rows.append([learner, course, *cells, f"name {len(rows)}"])
        statuses[len(rows)] = status
        if status == "enrolled":
            expected.add((learner, course, settings))

    for learner in ACTIVE[:12]:
        for course in COURSES[:3]:
            add(learner, course, "due_period", None, 720, None, None, settings=PERIOD)
    for learner in ACTIVE[12:20]:
        for course in COURSES[3:5]:
            add(
                learner,
                course,
                "due_date",
                dt.datetime(2027, 5, 1),
                None,
                True,
                None,
                settings=DATED,
            )
    add(ACTIVE[0], COURSES[0], "due_period", None, 720, None, None, status="duplicate")
    add("EMP-00042", COURSES[0], "due_period", None, 720, None, None, status="invalid")
    # A well-formed ID nobody has: caught by the lookup before sending, so it fails its own row.
    add(UNKNOWN_LEARNER, COURSES[0], "due_period", None, 720, None, None, status="invalid")
    add(
        INACTIVE[0],
        COURSES[3],
        "due_date",
        dt.datetime(2027, 5, 1),
        None,
        True,
        None,
        status="invalid",  # its status is looked up before sending
    )
    add(ACTIVE[30], COURSES[6], "due_date", None, None, None, None, status="invalid")
    return write_xlsx(path, rows), expected, statuses


def test_run_enrolls_exactly_the_valid_pairs_once_and_reports_every_row(sandbox, tmp_path):
    path, expected, statuses = cohort_file(tmp_path / "cohorts.xlsx")
    code = main(["run", str(path), "--report", "out.xlsx", "--summary-json", "s.json"])
    assert code == 1  # invalid and failed rows need attention
    assert enrolled_once(sandbox) == expected
    rows = sheet_rows(tmp_path / "out.xlsx")
    assert {i + 2: r["Status"] for i, r in enumerate(rows)} == statuses
    assert not [r for r in rows if r["Status"] == "failed"]
    unknown = next(r for r in rows if r["learner_id"] == UNKNOWN_LEARNER)
    assert unknown["Message"] == f"learner_id: no user with ID '{UNKNOWN_LEARNER}'"
    assert all(r["Employee name"] for r in rows)  # extra columns carried through
    summary = json.loads(Path("s.json").read_text())
    assert summary["rows"] == len(statuses)
    assert summary["api_calls"] == len(sandbox.state.calls())
    assert summary["status_counts"]["enrolled"] == len(expected)


def test_clean_file_exits_0_and_survives_transient_faults(monkeypatch, tmp_path):
    faults = Faults(error_rate=0.3, seed=7)
    with SandboxServer(faults=faults).start() as server:
        monkeypatch.setenv("BULK_ENROLL_SOAP_URL", server.soap_url)
        monkeypatch.setenv("BULK_ENROLL_API_URL", server.api_url)
        monkeypatch.setenv("BULK_ENROLL_CLIENT_ID", SANDBOX_CLIENT_ID)
        monkeypatch.setenv("BULK_ENROLL_CLIENT_SECRET", SANDBOX_CLIENT_SECRET)
        monkeypatch.setenv("BULK_ENROLL_MAX_LEARNERS_PER_CALL", "3")  # many calls, many faults
        monkeypatch.setenv("BULK_ENROLL_MAX_ATTEMPTS", "10")
        monkeypatch.chdir(tmp_path)
        rows = [list(HEADER)] + [
            [learner, COURSES[7], "unlimited", "", "", "", ""] for learner in ACTIVE[:30]
        ]
        path = write_xlsx(tmp_path / "clean.xlsx", rows)
        assert main(["run", str(path), "--report", "out.xlsx", "--summary-json", "s.json"]) == 0
        assert enrolled_once(server) == {
            (learner, COURSES[7], DueSettings(DueDateType.UNLIMITED)) for learner in ACTIVE[:30]
        }
        assert server.state.fault_counts().get("error", 0) > 0
        assert json.loads(Path("s.json").read_text())["retries"] > 0


def test_strict_mode_sends_nothing_when_a_row_is_invalid(sandbox, tmp_path):
    path, _, _ = cohort_file(tmp_path / "cohorts.xlsx")
    assert main(["run", "--strict", str(path), "--report", "out.xlsx"]) == 1
    assert sandbox.state.calls() == []
    statuses = {r["Status"] for r in sheet_rows(tmp_path / "out.xlsx")}
    assert statuses == {"not_sent", "invalid", "duplicate"}


def test_dry_run_sends_nothing(sandbox, tmp_path):
    path, _, _ = cohort_file(tmp_path / "cohorts.xlsx")
    assert main(["run", "--dry-run", str(path), "--report", "out.xlsx"]) == 1
    assert sandbox.state.calls() == []


def test_a_disk_failing_during_the_send_exits_4_and_keeps_the_report(sandbox, tmp_path,
                                                                     monkeypatch, capsys):
    import errno

    from bulk_enroll.send.journal import Journal

    def disk_full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Journal, "confirm", disk_full)
    rows = [list(HEADER)] + [[learner, COURSES[7], "unlimited", "", "", "", ""]
                             for learner in ACTIVE[:3]]
    path = write_xlsx(tmp_path / "clean.xlsx", rows)
    log_file = tmp_path / "run.log"
    assert main(["--log-file", str(log_file), "run", str(path), "--report", "out.xlsx"]) == 4
    assert {r["Status"] for r in sheet_rows(tmp_path / "out.xlsx")} == {"unknown"}
    err = capsys.readouterr().err
    assert err.endswith(
        "Internal error: the send stopped on an unexpected error (the report shows the rows it "
        "left unknown or not sent; the next run settles them). This is a bug in bulk-enroll or "
        f"a problem of this machine (such as a full disk), not of your file; the details are in "
        f"{log_file}.\n")
    assert "Traceback" not in err
    logged = log_file.read_text(encoding="utf-8")
    assert "internal error: OSError: [Errno 28] No space left on device" in logged
    assert "Traceback (most recent call last)" in logged and "in disk_full" in logged


def test_a_refused_static_token_is_a_clear_message_not_a_traceback(
    sandbox, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("BULK_ENROLL_TOKEN", "not-a-real-token")
    path, _, _ = cohort_file(tmp_path / "cohorts.xlsx")
    assert main(["run", str(path), "--report", "out.xlsx"]) == 2  # configuration: nothing sent
    out = capsys.readouterr()
    assert "Traceback" not in out.err + out.out and "not-a-real-token" not in out.err + out.out
    assert "the server refused BULK_ENROLL_TOKEN" in out.err
    assert sandbox.state.enrollments() == {}


@pytest.mark.parametrize("sample", ["new_hires_onboarding.xlsx", "compliance_refresh.csv"])
def test_installed_command_runs_the_samples_against_its_own_sandbox(tmp_path, sample):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BULK_ENROLL_")}
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bulk_enroll.cli",
            "run",
            "--sandbox",
            str(ROOT / "sample_data" / sample),
            "--summary-json",
            "s.json",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 1, completed.stderr  # the samples contain broken rows
    assert "Traceback" not in completed.stderr
    summary = json.loads((tmp_path / "s.json").read_text())
    counts = summary["status_counts"]
    # Unknown IDs are caught by the lookups (invalid), inactive ones by the server (failed).
    assert counts["enrolled"] > 50 and counts["invalid"] + counts["failed"] >= 3
    assert counts["not_sent"] == counts["unknown"] == 0
    assert Path(summary["report"]).parent == Path("reports")
    assert (tmp_path / summary["report"]).is_file()
