"""Nothing twice, whatever the network does and wherever the process dies.

Over real HTTP on 127.0.0.1: a sandbox failing 30% of calls in every way it can, and runs
killed with SIGKILL at random moments (and right after the server applied a call, before the
client could commit its answer), then resumed with the same command.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest

from bulk_enroll.cli import main
from bulk_enroll.sandbox import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    Faults,
    SandboxServer,
    default_directory,
)
from tests.support import HEADER, write_csv

DIRECTORY = default_directory()
ACTIVE = [u.user_id for u in DIRECTORY.users if u.is_active]
COURSES = [c.content_id for c in DIRECTORY.courses[:12]]


def account_env(server: SandboxServer, state_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BULK_ENROLL_")}
    env.update({
        "BULK_ENROLL_SOAP_URL": server.soap_url,
        "BULK_ENROLL_API_URL": server.api_url,
        "BULK_ENROLL_CLIENT_ID": SANDBOX_CLIENT_ID,
        "BULK_ENROLL_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
        "BULK_ENROLL_STATE_DIR": str(state_dir),
        **{f"BULK_ENROLL_{k}": v for k, v in extra.items()},
    })
    return env


def pairs_file(path: Path, learners: int, courses: int) -> tuple[Path, set[tuple[str, str]]]:
    wanted = {(lr, c) for lr in ACTIVE[:learners] for c in COURSES[:courses]}
    rows = [[lr, c, "due_period", "", "72", "", ""] for lr, c in sorted(wanted)]
    return write_csv(path, [HEADER, *rows]), wanted


def enrolled_once(server: SandboxServer) -> set[tuple[str, str]]:
    records = server.state.enrollments()
    twice = [pair for pair, record in records.items() if record.times_enrolled != 1]
    assert not twice, f"{len(twice)} pair(s) enrolled more than once"
    return set(records)


def test_thirty_percent_transient_failures_still_enroll_everything_exactly_once(monkeypatch,
                                                                                  tmp_path):
    faults = Faults(error_rate=0.1, drop_before_rate=0.1, drop_after_rate=0.1,
                    rate_limit_per_s=40, retry_after_s=1, seed=11)
    path, wanted = pairs_file(tmp_path / "in.csv", learners=200, courses=10)  # 2,000 pairs
    with SandboxServer(faults=faults).start() as server:
        for name, value in account_env(server, tmp_path / "state", MAX_LEARNERS_PER_CALL="2",
                                       MAX_ATTEMPTS="12", RETRY_BUDGET="2000").items():
            monkeypatch.setenv(name, value)
        code = main(["run", str(path), "--report", str(tmp_path / "r.xlsx"),
                     "--summary-json", str(tmp_path / "s.json")])
        assert enrolled_once(server) == wanted
        faults_seen = server.state.fault_counts()
    assert code == 0
    assert all(faults_seen.get(kind, 0) > 0 for kind in ("error", "drop_before", "drop_after"))
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["status_counts"]["enrolled"] == len(wanted)
    assert summary["retries"] > 0
    sheet = openpyxl.load_workbook(tmp_path / "r.xlsx")["Results"]
    header = [c.value for c in sheet[1]]
    statuses = {row[header.index("Status")] for row in sheet.iter_rows(min_row=2,
                                                                       values_only=True)}
    assert statuses == {"enrolled"}


def command(path: Path, report: Path) -> list[str]:
    return [sys.executable, "-m", "bulk_enroll.cli", "run", str(path), "--report", str(report)]


def run_to_completion(path: Path, env: dict[str, str], report: Path) -> int:
    done = subprocess.run(command(path, report), env=env, capture_output=True, text=True,
                          timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode


# Where to kill: right after the server applied the n-th call (the answer is never received),
# or at a random moment after the first call went through (seeded: the same each run).
KILL_POINTS = [("after the server applied call", 3), ("after the server applied call", 17),
               *(("at a random moment", seed) for seed in range(4))]


@pytest.mark.parametrize("how,when", KILL_POINTS)
def test_a_run_killed_anywhere_resumes_without_enrolling_anyone_twice(tmp_path, how, when):
    path, wanted = pairs_file(tmp_path / "in.csv", learners=60, courses=3)
    state_dir = tmp_path / "state"
    faults = Faults(latency_s=0.05, paths=("/soap",))
    with SandboxServer(faults=faults).start() as server:
        env = account_env(server, state_dir, MAX_LEARNERS_PER_CALL="2", CONCURRENCY="2")
        victim = subprocess.Popen(command(path, tmp_path / "killed.xlsx"), env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if how == "at a random moment":
            deadline = time.monotonic() + 30
            while not server.state.calls() and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(random.Random(when).uniform(0.0, 0.6))  # 30 calls take about 0.8 s
            victim.send_signal(signal.SIGKILL)
        else:
            # Kill the client the moment the server has applied its n-th call: the answer
            # never reaches it, so the journal still says "in flight".
            applied = 0
            original = server.state.enroll

            def enroll_then_kill(*args, **kwargs):  # type: ignore[no-untyped-def]
                nonlocal applied
                original(*args, **kwargs)
                applied += 1
                if applied == when:
                    os.kill(victim.pid, signal.SIGKILL)
                    time.sleep(0.2)  # do not answer before the process is gone

            server.state.enroll = enroll_then_kill  # type: ignore[method-assign]
        victim.wait(60)
        server.state.enroll = type(server.state).enroll.__get__(server.state)  # type: ignore
        assert victim.returncode == -signal.SIGKILL
        before = enrolled_once(server)
        assert 0 < len(before) < len(wanted)  # killed in the middle of the work

        assert run_to_completion(path, env, tmp_path / "resumed.xlsx") == 0
        assert enrolled_once(server) == wanted
        assert before <= wanted
    sheet = openpyxl.load_workbook(tmp_path / "resumed.xlsx")["Results"]
    header = [c.value for c in sheet[1]]
    statuses = [row[header.index("Status")] for row in sheet.iter_rows(min_row=2,
                                                                      values_only=True)]
    assert set(statuses) <= {"enrolled", "already_enrolled"}
    assert statuses.count("already_enrolled") >= len(before)  # nothing applied was resent
    with sqlite3.connect(state_dir / "journal.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
