"""SIGTERM and Ctrl-C while the run is still looking names up: a real `bulk-enroll run` process
against a slow sandbox stops between two reads (or in the middle of a wait before a retry),
sends nothing, writes its report and summary, logs a line, and exits 143 (SIGTERM) or 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bulk_enroll.sandbox import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Faults, SandboxServer
from bulk_enroll.sandbox.directory import default_directory
from tests.support import sheet_rows, write_csv

DIRECTORY = default_directory()
ACTIVE = [u for u in DIRECTORY.users if u.is_active]
COURSE = DIRECTORY.courses[0]
STOPPED = ("stopped before sending: interrupted by {signal} while trying to look up learners "
           "and courses")


def start_run(server: SandboxServer, tmp_path: Path) -> subprocess.Popen[str]:
    rows = [["Email", "Course", "Due date type"],
            *([u.email, COURSE.title, "unlimited"] for u in ACTIVE[:4])]
    source = write_csv(tmp_path / "hires.csv", rows)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BULK_ENROLL_")}
    env.update({"BULK_ENROLL_SOAP_URL": server.soap_url, "BULK_ENROLL_API_URL": server.api_url,
                "BULK_ENROLL_CLIENT_ID": SANDBOX_CLIENT_ID,
                "BULK_ENROLL_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
                "BULK_ENROLL_STATE_DIR": str(tmp_path / "state")})
    return subprocess.Popen(
        [sys.executable, "-m", "bulk_enroll.cli", "run", str(source),
         "--report", str(tmp_path / "report.xlsx"), "--summary-json", str(tmp_path / "s.json")],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, what: str, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.mark.parametrize("sent,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_a_slow_lookup_stops_after_that_read_and_writes_the_report(
        tmp_path, sent, code):
    # Every read of the account takes 1.5 s: the signal arrives during the first one.
    faults = Faults(latency_s=1.5, paths=("/users/v2", "/contents"))
    with SandboxServer(faults=faults).start() as server:
        run = start_run(server, tmp_path)
        wait_for(lambda: server.state.fault_counts().get("latency", 0) >= 1, "the lookups")
        run.send_signal(sent)
        began = time.monotonic()
        out, err = run.communicate(timeout=60)
        took = time.monotonic() - began
        reads = [r.path for r in server.state.requests() if r.path != "/api/v3/token"]
        assert server.state.calls() == [] and server.state.enrollments() == {}
    assert run.returncode == code, err
    assert took < 5  # the read in flight (1.5 s), then no other
    assert reads == ["/users/v2"]  # the course list was never asked for
    name = sent.name
    assert f"WARNING {name} received: stopping" in err and "Traceback" not in err
    message = STOPPED.format(signal=name)
    assert [(row["Status"], row["Message"]) for row in sheet_rows(tmp_path / "report.xlsx")] == [
        ("not_sent", message)] * 4
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["exit_code"] == code and summary["status_counts"]["not_sent"] == 4
    assert "4 not_sent" in out and "Report: " in out


def test_sigterm_during_a_long_wait_before_a_retry_stops_at_once(tmp_path):
    # The first read passes; the next is refused with 429 and "Retry-After: 60".
    faults = Faults(rate_limit_per_s=0.001, retry_after_s=60, paths=("/users/v2", "/contents"))
    with SandboxServer(faults=faults).start() as server:
        run = start_run(server, tmp_path)
        wait_for(lambda: server.state.fault_counts().get("rate_limit", 0) >= 1, "the 429")
        time.sleep(0.3)  # the client is now waiting out the minute
        run.send_signal(signal.SIGTERM)
        began = time.monotonic()
        _, err = run.communicate(timeout=60)
        took = time.monotonic() - began
        assert server.state.enrollments() == {}
    assert run.returncode == 143, err
    assert took < 5  # not the 60 s the server asked for
    assert {row["Status"] for row in sheet_rows(tmp_path / "report.xlsx")} == {"not_sent"}
