"""Exactly once across transports and journals, with real processes killed (issue 12, 1 and 2).

Over real HTTP on 127.0.0.1: the sandbox applies a call and drops its answer (SOAP or REST),
the client is killed with SIGKILL while it reads the server's list to settle that call, and
the rerun, over the same or the other transport, must see the call and send nothing twice.
A journal emptied or truncated between runs stops the rerun (exit 2) before anything is sent.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bulk_enroll.sandbox import Faults, SandboxServer
from bulk_enroll.sandbox.server import Request, Response
from tests.integration.test_crash_and_chaos import account_env, command, pairs_file
from tests.support import enrolled_once, sheet_rows

SETTLE_READ = ("POST", "/enrollments")  # how the client reads what the server holds
ENROLLMENT_PATHS = ("/soap", "/enrollment")


def on_first_request(server: SandboxServer, route: tuple[str, str],
                     action: Callable[[], None]) -> None:
    """Run `action` when the server receives its first `route` request, before answering."""
    original = server.app.routes[route]
    fired: list[bool] = []

    def handler(request: Request) -> Response:
        if not fired:
            fired.append(True)
            action()
        return original.handler(request)

    server.app.routes[route] = dataclasses.replace(original, handler=handler)


def kill(process: subprocess.Popen[bytes], sig: signal.Signals) -> Callable[[], None]:
    def action() -> None:
        os.kill(process.pid, sig)
        time.sleep(0.3)  # do not answer before the signal has landed

    return action


def enrollment_calls(server: SandboxServer) -> int:
    return sum(1 for r in server.state.requests() if r.path in ENROLLMENT_PATHS)


def calls_once_quiet(server: SandboxServer) -> int:
    """The enrollment calls answered, once a killed client's last request (still in the
    server's latency) has been answered too: a request is counted when it is answered."""
    count = -1
    while count != (count := enrollment_calls(server)):
        time.sleep(0.3)
    return count


def run(path: Path, report: Path, env: dict[str, str],
        *options: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*command(path, report), *options], env=env, capture_output=True,
                          text=True, timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def open_calls(state_dir: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(state_dir / "journal.sqlite3") as db:
        rows = db.execute("SELECT account, state FROM calls WHERE state IN "
                          "('in_flight', 'unknown')").fetchall()
    db.close()
    return rows


TRANSPORT_SWITCHES = [("soap", "soap"), ("soap", "rest"), ("rest", "soap"), ("rest", "rest")]


@pytest.mark.parametrize("first,second", TRANSPORT_SWITCHES)
def test_a_call_applied_whose_answer_was_lost_is_seen_by_a_rerun_over_either_transport(
        tmp_path, first, second):
    path, wanted = pairs_file(tmp_path / "in.csv", learners=3, courses=1)
    state_dir = tmp_path / "state"
    with SandboxServer(faults=Faults(drop_answers=frozenset({1}))).start() as server:
        victim = subprocess.Popen(command(path, tmp_path / "killed.xlsx"),
                                  env=account_env(server, state_dir, TRANSPORT=first),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # The call is applied, its answer dropped; the client waits, then reads the list to
        # settle it: killed right then, it never learns that the call went through.
        on_first_request(server, SETTLE_READ, kill(victim, signal.SIGKILL))
        assert victim.wait(60) == -signal.SIGKILL
        assert set(server.state.enrollments()) == wanted and enrollment_calls(server) == 1
        [(account, state)] = open_calls(state_dir)
        assert state == "in_flight" and account == f"127.0.0.1:{server.port}|sandbox-client"

        rerun = run(path, tmp_path / "rerun.xlsx",
                    account_env(server, state_dir, TRANSPORT=second))
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        assert {(lr, c) for lr, c, _ in enrolled_once(server)} == wanted
        assert enrollment_calls(server) == 1  # nothing was sent again
        assert open_calls(state_dir) == []
    rows = sheet_rows(tmp_path / "rerun.xlsx")
    assert {row["Status"] for row in rows} == {"already_enrolled"}


CREDENTIAL_SWITCHES = {
    "a pre-issued token": {"CLIENT_ID": None, "CLIENT_SECRET": None, "TOKEN": "issued-by-hand"},
    "another client ID": {"CLIENT_ID": "sandbox-dept-admin",
                          "CLIENT_SECRET": "sandbox-dept-secret"},
}


@pytest.mark.parametrize("switch", CREDENTIAL_SWITCHES)
def test_a_call_left_in_flight_is_seen_by_a_rerun_with_other_credentials(tmp_path, switch):
    # The journal names calls in flight by host and client ID; a rerun with a token, or with
    # another client of the same LMS, once did not see the killed run's call and enrolled its
    # pairs a second time. IDs are UUIDs: its server decides for the pairs it wants.
    path, wanted = pairs_file(tmp_path / "in.csv", learners=3, courses=1)
    state_dir = tmp_path / "state"
    with SandboxServer(faults=Faults(drop_answers=frozenset({1}))).start() as server:
        server.state.add_static_token("issued-by-hand")
        victim = subprocess.Popen(command(path, tmp_path / "killed.xlsx"),
                                  env=account_env(server, state_dir),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        on_first_request(server, SETTLE_READ, kill(victim, signal.SIGKILL))
        assert victim.wait(60) == -signal.SIGKILL
        assert set(server.state.enrollments()) == wanted and len(open_calls(state_dir)) == 1

        env = account_env(server, state_dir)
        for name, value in CREDENTIAL_SWITCHES[switch].items():
            if value is None:
                env.pop(f"BULK_ENROLL_{name}")
            else:
                env[f"BULK_ENROLL_{name}"] = value
        rerun = run(path, tmp_path / "rerun.xlsx", env)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        assert {(lr, c) for lr, c, _ in enrolled_once(server)} == wanted
        assert enrollment_calls(server) == 1  # nothing was sent again
    rows = sheet_rows(tmp_path / "rerun.xlsx")
    assert {row["Status"] for row in rows} == {"already_enrolled"}


def test_an_emptied_journal_stops_the_rerun_and_new_journal_starts_over_keeping_it(tmp_path):
    path, wanted = pairs_file(tmp_path / "in.csv", learners=40, courses=2)
    state_dir = tmp_path / "state"
    journal = state_dir / "journal.sqlite3"
    faults = Faults(latency_s=0.05, paths=ENROLLMENT_PATHS)
    with SandboxServer(faults=faults).start() as server:
        env = account_env(server, state_dir, MAX_LEARNERS_PER_CALL="2", CONCURRENCY="1")
        victim = subprocess.Popen(command(path, tmp_path / "killed.xlsx"), env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while len(server.state.enrollments()) < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        victim.send_signal(signal.SIGKILL)
        assert victim.wait(30) == -signal.SIGKILL
        sent = calls_once_quiet(server)
        before = set(server.state.enrollments())
        assert 0 < len(before) < len(wanted)
        for name in ("journal.sqlite3-wal", "journal.sqlite3-shm"):
            (state_dir / name).unlink(missing_ok=True)
        journal.write_bytes(b"")  # a restore gone wrong, a cleanup script, a full disk

        refused = run(path, tmp_path / "refused.xlsx", env)
        assert refused.returncode == 2
        assert f"Error: the journal {journal} exists but is empty (0 bytes)" in refused.stderr
        assert "rerun with --new-journal" in refused.stderr
        assert enrollment_calls(server) == sent and journal.read_bytes() == b""
        assert not (tmp_path / "refused.xlsx").exists()

        # Starting over on purpose, with the server asked: nothing enrolled is sent again.
        fresh = run(path, tmp_path / "fresh.xlsx", env, "--new-journal", "--check-server")
        assert fresh.returncode == 0, fresh.stdout + fresh.stderr
        assert {(lr, c) for lr, c, _ in enrolled_once(server)} == wanted
    [aside] = [p for p in state_dir.iterdir() if ".unusable-" in p.name]
    assert aside.read_bytes() == b""  # moved aside, not deleted
    statuses = [row["Status"] for row in sheet_rows(tmp_path / "fresh.xlsx")]
    assert statuses.count("already_enrolled") == len(before)


def test_an_inbox_run_stopped_by_sigterm_then_a_truncated_journal_stops_the_next_night(
        tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path, wanted = pairs_file(inbox / "hr.csv", learners=40, courses=2)
    state_dir = tmp_path / "state"
    faults = Faults(latency_s=0.05, paths=ENROLLMENT_PATHS)
    with SandboxServer(faults=faults).start() as server:
        env = account_env(server, state_dir, MAX_LEARNERS_PER_CALL="2", CONCURRENCY="1",
                          INBOX_STABLE_SECONDS="0")
        nightly = [sys.executable, "-m", "bulk_enroll.cli", "inbox", str(inbox)]
        victim = subprocess.Popen(nightly, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while len(server.state.enrollments()) < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        victim.send_signal(signal.SIGTERM)
        _, stderr = victim.communicate(timeout=60)
        assert victim.returncode == 143 and "Traceback" not in stderr  # stopped, file kept
        assert path.exists()
        sent = calls_once_quiet(server)
        journal = state_dir / "journal.sqlite3"
        with journal.open("r+b") as handle:  # cut to its first page: the tables are gone
            handle.truncate(4096)
        (state_dir / "journal.sqlite3-wal").unlink(missing_ok=True)

        night = subprocess.run(nightly, env=env, capture_output=True, text=True, timeout=120)
        assert night.returncode == 2, night.stderr
        assert f"the journal {journal} is damaged" in night.stderr
        assert "Traceback" not in night.stderr
        assert enrollment_calls(server) == sent and path.exists()  # nothing sent, file kept
