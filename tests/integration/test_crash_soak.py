"""Crash and rerun, again and again: every pair ends enrolled exactly once (issue 12).

A bounded soak (about a minute): runs of one file alternate SOAP and REST against a sandbox
that fails, drops connections and drops answers after applying calls; each run is killed at a
random moment, with SIGKILL or SIGTERM, and the next one resumes with the same journal. Then
the file is run to completion. The sandbox counts how many times each pair was enrolled.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import time

from bulk_enroll.sandbox import Faults, SandboxServer
from tests.integration.test_crash_and_chaos import account_env, command, pairs_file
from tests.integration.test_exactly_once import ENROLLMENT_PATHS
from tests.support import sheet_rows

KILL_PHASE_S = 40.0  # then the file is run to completion
SEED = 12


def test_killed_runs_alternating_transports_end_with_every_pair_exactly_once(tmp_path):
    rng = random.Random(SEED)
    path, wanted = pairs_file(tmp_path / "in.csv", learners=80, courses=4)  # 320 pairs
    state_dir = tmp_path / "state"
    faults = Faults(latency_s=0.02, error_rate=0.05, drop_before_rate=0.05,
                    drop_after_rate=0.1, seed=SEED, paths=ENROLLMENT_PATHS)
    history: list[str] = []
    with SandboxServer(faults=faults).start() as server:

        def env(transport: str) -> dict[str, str]:
            return account_env(server, state_dir, TRANSPORT=transport,
                               MAX_LEARNERS_PER_CALL="3", CONCURRENCY="2",
                               MAX_ATTEMPTS="8", RETRY_BUDGET="1000")

        deadline = time.monotonic() + KILL_PHASE_S
        round_ = 0
        while time.monotonic() < deadline:
            transport = ("soap", "rest")[round_ % 2]
            sig = rng.choice([signal.SIGKILL, signal.SIGTERM])
            wait = rng.uniform(0.5, 3.0)
            run = subprocess.Popen(command(path, tmp_path / f"r{round_}.xlsx"),
                                   env=env(transport), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
            try:
                run.wait(wait)
            except subprocess.TimeoutExpired:
                run.send_signal(sig)
            _, stderr = run.communicate(timeout=60)
            assert "Traceback" not in stderr, stderr
            history.append(f"{transport} {sig.name} after {wait:.1f}s: {run.returncode}")
            assert run.returncode in (0, 1, 143, -signal.SIGKILL, -signal.SIGTERM), history
            round_ += 1
        killed = [h for h in history if not h.endswith(": 0") and not h.endswith(": 1")]
        assert len(killed) >= 5, history  # the soak really killed runs
        assert {h.split()[0] for h in history} == {"soap", "rest"}

        for attempt in range(6):  # run to completion, still alternating transports
            done = subprocess.run(command(path, tmp_path / "final.xlsx"),
                                  env=env(("soap", "rest")[attempt % 2]),
                                  capture_output=True, text=True, timeout=180)
            assert "Traceback" not in done.stderr, done.stderr
            history.append(f"final: {done.returncode}")
            if done.returncode == 0:
                break
        assert done.returncode == 0, history
        records = server.state.enrollments()
        twice = {pair: r.times_enrolled for pair, r in records.items() if r.times_enrolled > 1}
        assert twice == {}, (twice, history)
        assert set(records) == wanted, history
        assert server.state.fault_counts().get("drop_after", 0) > 0
    statuses = {row["Status"] for row in sheet_rows(tmp_path / "final.xlsx")}
    assert statuses <= {"enrolled", "already_enrolled"}, statuses
    with sqlite3.connect(state_dir / "journal.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
