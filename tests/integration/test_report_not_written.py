"""A report that cannot be written after sending loses nothing: on a real full file system (a
small tmpfs this test mounts as root) the run exits 4 without a traceback, its summary and log
line say so, the journal keeps every row, and `bulk-enroll report RUN_ID` writes the workbook
once there is room; an input of 100,000 columns gets a report whose Status and Message fit."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest

from bulk_enroll.cli import main
from bulk_enroll.logs import LogSettings, setup_logging
from bulk_enroll.sandbox import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SandboxServer
from bulk_enroll.sandbox.directory import default_directory
from tests.support import HEADER, enrolled_once, sheet_rows, write_csv

DIRECTORY = default_directory()
ACTIVE = [u.user_id for u in DIRECTORY.users if u.is_active]
COURSES = [c.content_id for c in DIRECTORY.courses]
NOISE = ("Traceback", "Exception ignored")


def rows_for(learners: list[str], course: str) -> list[list[object]]:
    return [list(HEADER), *([learner, course, "unlimited", "", "", "", ""]
                            for learner in learners)]


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A mounted 256 KB tmpfs, filled to the last byte; `filler` frees it."""
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("a real full file system needs root, to mount a small tmpfs")
    mount = tmp_path / "full"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
                          capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        handle = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(handle, b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        finally:
            os.close(handle)
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False, timeout=30)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer().start() as server:
        yield server
    setup_logging(0, LogSettings())


def env_for(server: SandboxServer, state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BULK_ENROLL_")}
    env.update({"BULK_ENROLL_SOAP_URL": server.soap_url, "BULK_ENROLL_API_URL": server.api_url,
                "BULK_ENROLL_CLIENT_ID": SANDBOX_CLIENT_ID,
                "BULK_ENROLL_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
                "BULK_ENROLL_STATE_DIR": str(state), "BULK_ENROLL_INBOX_STABLE_SECONDS": "0"})
    return env


def bulk_enroll(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bulk_enroll.cli", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=180)


def test_a_full_disk_after_sending_loses_nothing_and_the_report_is_written_later(
        sandbox, full_disk, tmp_path, capsys):
    state, log_file = tmp_path / "state", tmp_path / "run.log"
    source = write_csv(tmp_path / "hires.csv", rows_for(ACTIVE[:3], COURSES[0]))
    report = full_disk / "hires-results.xlsx"
    done = bulk_enroll("--log-file", str(log_file), "run", str(source), "--report", str(report),
                       "--summary-json", str(tmp_path / "s.json"),
                       env=env_for(sandbox, state), cwd=tmp_path)

    assert done.returncode == 4 and not any(word in done.stderr for word in NOISE), done.stderr
    assert {(a, c) for a, c, _ in enrolled_once(sandbox)} == {(a, COURSES[0]) for a in ACTIVE[:3]}
    summary = json.loads((tmp_path / "s.json").read_text())
    run_id = summary["run_id"]
    assert summary["report"] is None and summary["exit_code"] == 4
    assert summary["status_counts"]["enrolled"] == 3
    assert summary["report_error"] == (f"the report could not be written to {report}: "
                                       "No space left on device")
    assert f"Nothing is lost: every row's outcome is in the journal: write the report later " \
           f"with `bulk-enroll report {run_id}`." in done.stderr
    [logged] = [line for line in log_file.read_text().splitlines() if " ERROR " in line
                and "hires.csv: 3 enrolled" in line]
    assert logged.endswith(f"write the report later with `bulk-enroll report {run_id}`")
    assert not report.exists()

    (full_disk / "filler").unlink()  # room again
    assert main(["report", "--state-dir", str(state)]) == 0
    assert f"  {run_id}  " in capsys.readouterr().out
    assert main(["report", run_id[:20], "--state-dir", str(state)]) == 0
    assert capsys.readouterr().out.endswith(f"Report: {report}\n")  # where it was meant to go
    rows = sheet_rows(report)
    assert [(r["learner_id"], r["Status"]) for r in rows] == [(a, "enrolled") for a in ACTIVE[:3]]


def test_an_inbox_whose_reports_folder_is_full_prints_no_traceback_and_keeps_the_file(
        sandbox, full_disk, tmp_path):
    inbox, state = tmp_path / "inbox", tmp_path / "state"
    inbox.mkdir()
    write_csv(inbox / "a.csv", rows_for(ACTIVE[:3], COURSES[1]))
    env = env_for(sandbox, state)
    done = bulk_enroll("inbox", str(inbox), "--reports", str(full_disk), env=env, cwd=tmp_path)
    assert done.returncode == 4 and not any(word in done.stderr for word in NOISE), done.stderr
    assert "a.csv: interrupted" in done.stderr and "No space left on device" in done.stderr
    assert (inbox / "a.csv").exists()  # the next night takes it again
    assert {(a, c) for a, c, _ in enrolled_once(sandbox)} == {(a, COURSES[1]) for a in ACTIVE[:3]}

    (full_disk / "filler").unlink()
    done = bulk_enroll("inbox", str(inbox), "--reports", str(full_disk), env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert not (inbox / "a.csv").exists()
    [report] = full_disk.glob("a-results-*.xlsx")
    assert {r["Status"] for r in sheet_rows(report)} == {"already_enrolled"}  # none sent twice
    assert len(enrolled_once(sandbox)) == 3


def test_an_input_of_100000_columns_gets_a_report_where_status_and_message_fit(sandbox,
                                                                             tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    extra = [f"extra {n}" for n in range(100_000 - len(HEADER))]
    rows = [[*row, *(["x"] * len(extra) if n else extra)]
            for n, row in enumerate(rows_for(ACTIVE[:2], COURSES[2]))]
    write_csv(inbox / "wide.csv", rows)
    done = bulk_enroll("inbox", str(inbox), env=env_for(sandbox, tmp_path / "state"),
                       cwd=tmp_path)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    [report] = (inbox / "reports").glob("wide-results-*.xlsx")
    workbook = openpyxl.load_workbook(report, read_only=True)
    header = next(workbook["Results"].iter_rows(max_row=1, values_only=True))
    assert len(header) == 16_384 - 2  # 16,377 input columns, then our five
    assert header[:2] == ("learner_id", "course_id") and header[-5:] == (
        "Status", "Message", "Batch", "Attempts", "Time")
    statuses = [row[-5] for row in workbook["Results"].iter_rows(min_row=2, values_only=True)]
    assert statuses == ["enrolled", "enrolled"]
    facts = {row[0]: row[1] for row in workbook["Summary"].iter_rows(values_only=True)
             if len(row) > 1}
    assert facts["Note"].startswith("the input has 100,000 columns and a worksheet holds 16,384")
    assert "the workbook leaves out 83,623 columns" in done.stderr


def test_without_root_a_writer_failing_the_same_way_loses_nothing_either(
        sandbox, tmp_path, monkeypatch, capsys):
    """The same path as the full disk, for machines where no tmpfs can be mounted."""
    from bulk_enroll import jobs

    real_write = jobs.write_report

    def disk_full(path, data, report_format="xlsx"):  # type: ignore[no-untyped-def]
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    for name, value in env_for(sandbox, tmp_path / "state").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(jobs, "write_report", disk_full)
    source = write_csv(tmp_path / "hires.csv", rows_for(ACTIVE[5:7], COURSES[3]))
    report = tmp_path / "reports" / "hires.xlsx"
    assert main(["run", str(source), "--report", str(report),
                 "--summary-json", str(tmp_path / "s.json")]) == 4
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["report_error"] == (f"the report could not be written to {report}: No space "
                                       "left on device")
    assert summary["status_counts"]["enrolled"] == 2 and summary["report"] is None
    capsys.readouterr()
    monkeypatch.setattr(jobs, "write_report", real_write)
    assert main(["report", summary["run_id"]]) == 0
    assert [r["Status"] for r in sheet_rows(report)] == ["enrolled", "enrolled"]
