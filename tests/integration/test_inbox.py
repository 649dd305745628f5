"""The nightly inbox against the sandbox over real HTTP on 127.0.0.1.

Files are built here with known pairs, so what the server must hold afterwards is known by
construction. Files are written before the run and the stability interval is 0.2 s, so each
run waits that long once, or the sleep is injected.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import openpyxl
import pytest

from bulk_enroll.cli import main
from bulk_enroll.connect import connect
from bulk_enroll.inbox.runner import LOCK_NAME, Outcome, load_inbox_settings, run_inbox
from bulk_enroll.sandbox import SandboxServer, default_directory
from bulk_enroll.sandbox.server import Route
from bulk_enroll.sandbox.state import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from bulk_enroll.settings.config import load_account, load_run_settings
from tests.support import HEADER, write_csv

ROOT = Path(__file__).resolve().parents[2]
DIRECTORY = default_directory()
ACTIVE = [u.user_id for u in DIRECTORY.users if u.is_active]
COURSES = [c.content_id for c in DIRECTORY.courses]
TODAY_FOLDERS = ("processed", "failed", "duplicates")


def rows_for(learners: list[str], course: str, *, bad: int = 0) -> list[list[object]]:
    rows: list[list[object]] = [list(HEADER)]
    rows += [[learner, course, "unlimited", "", "", "", ""] for learner in learners]
    rows += [[f"EMP-{n:05d}", course, "unlimited", "", "", "", ""] for n in range(bad)]
    return rows


def sandbox_env(server: SandboxServer) -> dict[str, str]:
    return {
        "BULK_ENROLL_SOAP_URL": server.soap_url,
        "BULK_ENROLL_API_URL": server.api_url,
        "BULK_ENROLL_CLIENT_ID": SANDBOX_CLIENT_ID,
        "BULK_ENROLL_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
        "BULK_ENROLL_INBOX_STABLE_SECONDS": "0.2",
    }


@pytest.fixture
def sandbox(monkeypatch, tmp_path):
    with SandboxServer().start() as server:
        for name, value in sandbox_env(server).items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("BULK_ENROLL_TOKEN", raising=False)
        monkeypatch.chdir(tmp_path)
        yield server


@pytest.fixture
def inbox(tmp_path) -> Path:
    folder = tmp_path / "drop"
    folder.mkdir()
    return folder


def archived(inbox: Path, kind: str) -> list[str]:
    return sorted(p.name for p in (inbox / "archive" / kind).glob("*/*"))


def enrolled(server: SandboxServer) -> set[tuple[str, str]]:
    records = server.state.enrollments()
    assert all(r.times_enrolled == 1 for r in records.values()), "a pair was enrolled twice"
    return set(records)


def test_two_runs_over_overlapping_files_enroll_each_pair_once(sandbox, inbox):
    write_csv(inbox / "monday.csv", rows_for(ACTIVE[:6], COURSES[0]))
    assert main(["inbox", str(inbox)]) == 0
    assert enrolled(sandbox) == {(learner, COURSES[0]) for learner in ACTIVE[:6]}
    first_calls = len(sandbox.state.calls())

    write_csv(inbox / "tuesday.csv", rows_for(ACTIVE[3:10], COURSES[0]))  # 3 overlap
    assert main(["inbox", str(inbox)]) == 0
    assert enrolled(sandbox) == {(learner, COURSES[0]) for learner in ACTIVE[:10]}
    second = sandbox.state.calls()[first_calls:]
    assert sorted(learner for call in second for learner in call.learner_ids) == sorted(
        ACTIVE[6:10])  # only the new learners went out
    assert archived(inbox, "processed") == ["monday.csv", "tuesday.csv"]
    assert list(inbox.glob("*.csv")) == []
    reports = sorted(p.name for p in (inbox / "reports").glob("*.xlsx"))
    assert [name.split("-results-")[0] for name in reports] == ["monday", "tuesday"]
    summary = json.loads(next((inbox / "reports").glob("tuesday-*.json")).read_text())
    assert summary["status_counts"]["already_enrolled"] == 3


def test_same_content_under_a_new_name_is_not_applied_again(sandbox, inbox):
    write_csv(inbox / "export.csv", rows_for(ACTIVE[:4], COURSES[1]))
    assert main(["inbox", str(inbox)]) == 0
    calls = len(sandbox.state.calls())
    processed = next((inbox / "archive" / "processed").glob("*/export.csv"))
    (inbox / "export (copy).csv").write_bytes(processed.read_bytes())

    assert main(["inbox", str(inbox)]) == 0
    assert len(sandbox.state.calls()) == calls  # nothing sent: not even a reconcile call
    assert archived(inbox, "duplicates") == ["export (copy).csv",
                                              "export (copy).csv.duplicate.txt"]
    note = next((inbox / "archive" / "duplicates").glob("*/*.duplicate.txt")).read_text()
    assert "same as export.csv" in note and "Nothing was sent" in note


def test_file_of_the_same_name_is_archived_without_overwriting(sandbox, inbox):
    write_csv(inbox / "hr.csv", rows_for(ACTIVE[:2], COURSES[2]))
    assert main(["inbox", str(inbox)]) == 0
    write_csv(inbox / "hr.csv", rows_for(ACTIVE[2:4], COURSES[2]))
    assert main(["inbox", str(inbox)]) == 0
    assert archived(inbox, "processed") == ["hr-2.csv", "hr.csv"]
    assert enrolled(sandbox) == {(learner, COURSES[2]) for learner in ACTIVE[:4]}


def test_half_written_file_is_left_for_the_next_run(sandbox, inbox, tmp_path):
    environ = dict(os.environ)
    settings = load_inbox_settings(environ, inbox=inbox)
    run = load_run_settings(environ)
    account = load_account(environ)
    growing = inbox / "growing.csv"
    write_csv(growing, rows_for(ACTIVE[:3], COURSES[3]))
    write_csv(inbox / "done.csv", rows_for(ACTIVE[10:12], COURSES[3]))
    os.utime(inbox / "done.csv", (1, 1))  # written long ago: no need to wait for it
    waits: list[float] = []

    def writer_still_busy(seconds: float) -> None:  # the HR system appends during the wait
        waits.append(seconds)
        with growing.open("a", encoding="utf-8") as handle:
            handle.write(f"{ACTIVE[3]},{COURSES[3]},unlimited,,,,\n")

    result = run_inbox(settings, run, lambda: connect(account, run), sleep=writer_still_busy)
    assert waits == [0.2]
    assert [f.file for f in result.files] == ["done.csv"]
    assert [p.name for p, _ in result.waiting] == ["growing.csv"]
    assert "still being written" in result.waiting[0][1]
    assert growing.exists() and enrolled(sandbox) == {(a, COURSES[3]) for a in ACTIVE[10:12]}

    result = run_inbox(settings, run, lambda: connect(account, run), sleep=lambda s: None)
    assert [(f.file, f.outcome) for f in result.files] == [("growing.csv", Outcome.PROCESSED)]
    assert enrolled(sandbox) == {(a, COURSES[3]) for a in ACTIVE[10:12] + ACTIVE[:4]}


def test_office_and_temporary_files_are_not_taken(sandbox, inbox):
    write_csv(inbox / "open.csv", rows_for(ACTIVE[:1], COURSES[0]))
    (inbox / ".~lock.open.csv#").write_text("someone,host", encoding="utf-8")  # LibreOffice
    (inbox / "~$book.xlsx").write_bytes(b"owner")
    (inbox / "upload.csv.part").write_text("learner_id\n", encoding="utf-8")
    assert main(["inbox", str(inbox)]) == 0
    assert sandbox.state.calls() == []
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == [
        ".~lock.open.csv#", "open.csv", "upload.csv.part", "~$book.xlsx"]


# --- single instance --------------------------------------------------------------------------

HOLD_LOCK = """
import sys, time
from pathlib import Path
from bulk_enroll.send.lock import InstanceLock
InstanceLock(Path(sys.argv[1]), "inbox").acquire()
print("locked", flush=True)
time.sleep(120)
"""


@pytest.fixture
def lock_holder(isolated_state_dir):
    child = subprocess.Popen([sys.executable, "-c", HOLD_LOCK,
                              str(isolated_state_dir / LOCK_NAME)],
                             stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert child.stdout is not None and child.stdout.readline().strip() == "locked"
    yield child
    child.kill()
    child.wait()


def test_second_instance_exits_3_while_another_holds_the_lock(sandbox, inbox, lock_holder,
                                                             capsys):
    write_csv(inbox / "a.csv", rows_for(ACTIVE[:2], COURSES[0]))
    assert main(["inbox", str(inbox)]) == 3
    err = capsys.readouterr().err
    assert f"another bulk-enroll inbox is running (pid {lock_holder.pid} on " in err
    assert "this one stops without doing anything" in err
    assert sandbox.state.calls() == [] and (inbox / "a.csv").exists()


def test_lock_of_a_killed_process_does_not_block(sandbox, inbox, lock_holder,
                                                 isolated_state_dir):
    lock_holder.send_signal(signal.SIGKILL)
    lock_holder.wait()
    assert (isolated_state_dir / LOCK_NAME).exists()  # the file stays; the lock died
    write_csv(inbox / "a.csv", rows_for(ACTIVE[:2], COURSES[0]))
    assert main(["inbox", str(inbox)]) == 0
    assert enrolled(sandbox) == {(learner, COURSES[0]) for learner in ACTIVE[:2]}


def test_two_real_invocations_at_once_one_runs_one_exits_3(tmp_path):
    inbox = tmp_path / "drop"
    inbox.mkdir()
    write_csv(inbox / "a.csv", rows_for(ACTIVE[:3], COURSES[4]))
    with SandboxServer().start() as server:
        # The first run's enrollment call is held at the server until the second run is over.
        in_call, release = threading.Event(), threading.Event()
        route = server.app.routes[("POST", server.soap_path)]

        def held(request):  # type: ignore[no-untyped-def]
            in_call.set()
            release.wait(30)
            return route.handler(request)

        server.app.routes[("POST", server.soap_path)] = Route(held, route.faulty)
        env = {**os.environ, **sandbox_env(server), "BULK_ENROLL_INBOX_STABLE_SECONDS": "0"}
        command = [sys.executable, "-m", "bulk_enroll.cli", "inbox", str(inbox)]
        first = subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True)
        try:
            assert in_call.wait(30), "the first run never called the server"
            second = subprocess.run(command, env=env, cwd=ROOT, capture_output=True,
                                    text=True, timeout=60)
        finally:
            release.set()
        assert first.wait(timeout=60) == 0
    assert second.returncode == 3
    assert f"another bulk-enroll inbox is running (pid {first.pid} on" in second.stderr
    assert len(server.state.calls()) == 1 and archived(inbox, "processed") == ["a.csv"]


# --- safety limits ----------------------------------------------------------------------------


def result_messages(report: Path) -> set[str]:
    sheet = openpyxl.load_workbook(report)["Results"]
    header, *rows = list(sheet.iter_rows(values_only=True))
    return {row[header.index("Message")] for row in rows}


def test_invalid_share_limit_stops_the_file_before_any_call(sandbox, inbox, monkeypatch,
                                                            capsys):
    monkeypatch.setenv("BULK_ENROLL_INBOX_MAX_INVALID_SHARE", "0.25")
    write_csv(inbox / "broken.csv", rows_for(ACTIVE[:3], COURSES[0], bad=2))  # 40% invalid
    assert main(["inbox", str(inbox)]) == 3
    assert sandbox.state.calls() == []
    assert archived(inbox, "failed") == ["broken.csv"]
    report = next((inbox / "reports").glob("broken-*.xlsx"))
    reason = ("safety limit: 40% of the rows are invalid (2 of 5), more than max_invalid_share "
              "(25%); check the file, then run again with --force to send it anyway")
    assert f"not sent: {reason}" in result_messages(report)
    assert reason in capsys.readouterr().err


def test_max_new_enrollments_per_file_stops_it_and_force_sends_it(sandbox, inbox, monkeypatch):
    monkeypatch.setenv("BULK_ENROLL_INBOX_MAX_NEW_PER_FILE", "4")
    write_csv(inbox / "big.csv", rows_for(ACTIVE[:5], COURSES[5]))
    write_csv(inbox / "small.csv", rows_for(ACTIVE[5:7], COURSES[5]))
    assert main(["inbox", str(inbox)]) == 3  # the worst over the files
    assert {learner for call in sandbox.state.calls() for learner in call.learner_ids} == set(
        ACTIVE[5:7])  # the small file went out, the big one did not
    assert archived(inbox, "failed") == ["big.csv"]
    summary = json.loads(next((inbox / "reports").glob("big-*.json")).read_text())
    assert summary["exit_code"] == 3 and summary["status_counts"]["not_sent"] == 5

    failed = next((inbox / "archive" / "failed").glob("*/big.csv"))
    failed.rename(inbox / "big.csv")  # a person checked it and puts it back
    assert main(["inbox", str(inbox), "--force"]) == 0
    assert enrolled(sandbox) == {(learner, COURSES[5]) for learner in ACTIVE[:7]}


def test_max_new_enrollments_per_run_counts_earlier_files(sandbox, inbox, monkeypatch):
    monkeypatch.setenv("BULK_ENROLL_INBOX_MAX_NEW_PER_RUN", "5")
    write_csv(inbox / "first.csv", rows_for(ACTIVE[:3], COURSES[6]))
    write_csv(inbox / "second.csv", rows_for(ACTIVE[3:6], COURSES[6]))
    os.utime(inbox / "first.csv", (1, 1))  # oldest first
    assert main(["inbox", str(inbox)]) == 3
    assert enrolled(sandbox) == {(learner, COURSES[6]) for learner in ACTIVE[:3]}
    assert archived(inbox, "failed") == ["second.csv"]


def test_unreadable_file_goes_to_failed_with_a_note(sandbox, inbox):
    (inbox / "garbage.xlsx").write_bytes(b"not a workbook")
    assert main(["inbox", str(inbox)]) == 1
    assert archived(inbox, "failed") == ["garbage.xlsx", "garbage.xlsx.reason.txt"]
    note = next((inbox / "reports").glob("garbage-*.txt")).read_text()
    assert "could not be processed; nothing was sent" in note
    [reason] = (inbox / "archive" / "failed").glob("*/garbage.xlsx.reason.txt")
    assert reason.read_text().startswith("garbage.xlsx could not be read; nothing was sent.\n")


def test_wrong_credentials_stop_the_run_and_leave_the_files(sandbox, inbox, monkeypatch,
                                                            capsys):
    monkeypatch.setenv("BULK_ENROLL_CLIENT_SECRET", "wrong-secret-value")
    write_csv(inbox / "a.csv", rows_for(ACTIVE[:2], COURSES[0]))
    assert main(["inbox", str(inbox)]) == 2
    assert (inbox / "a.csv").exists()
    err = capsys.readouterr().err
    assert "refused the client ID or secret" in err and "wrong-secret-value" not in err


# --- logs and notifications -------------------------------------------------------------------


class Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, object]]

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append(json.loads(body))  # type: ignore[attr-defined]
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def webhook():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.received = []  # type: ignore[attr-defined]
    server.status = 204  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def test_webhook_receives_the_summary_on_failure(sandbox, inbox, webhook, tmp_path):
    url = f"http://127.0.0.1:{webhook.server_address[1]}/hooks/secret-path"
    config = write_config(tmp_path / "config.toml", f"""
[inbox]
max_invalid_share = 0.1

[notify]
when = "failure"
webhook_url = "{url}"
""")
    write_csv(inbox / "ok.csv", rows_for(ACTIVE[:2], COURSES[0]))
    assert main(["--config", str(config), "inbox", str(inbox)]) == 0
    assert webhook.received == []  # all fine: on failure only

    write_csv(inbox / "bad.csv", rows_for(ACTIVE[2:4], COURSES[0], bad=1))
    assert main(["--config", str(config), "inbox", str(inbox)]) == 3
    [summary] = webhook.received
    assert summary["exit_code"] == 3
    assert summary["text"] == "bulk-enroll: 1 file: 1 stopped (exit 3)"
    [item] = summary["files"]
    assert item["file"] == "bad.csv" and item["outcome"] == "stopped"
    assert item["reason"].startswith("safety limit: 33% of the rows are invalid")
    assert item["status_counts"]["invalid"] == 1 and summary["run_id"]


def test_a_failing_webhook_is_logged_and_does_not_change_the_outcome(sandbox, inbox, tmp_path,
                                                                     webhook, capsys):
    webhook.status = 403
    port = webhook.server_address[1]
    config = write_config(tmp_path / "config.toml", f"""
[notify]
when = "always"
webhook_url = "http://127.0.0.1:{port}/T000/B000/hook-token"
""")
    write_csv(inbox / "ok.csv", rows_for(ACTIVE[:2], COURSES[0]))
    assert main(["--config", str(config), "inbox", str(inbox)]) == 0
    assert len(webhook.received) == 1
    err = capsys.readouterr().err
    assert f"ERROR notification to webhook http://127.0.0.1:{port}/... failed: HTTP 403" in err
    assert "hook-token" not in err
    assert archived(inbox, "processed") == ["ok.csv"]


def test_email_with_the_report_attached_reaches_an_smtp_server(sandbox, inbox, tmp_path):
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    messages = []

    class Collect(Message):
        def handle_message(self, message):  # type: ignore[no-untyped-def]
            messages.append(message)

    with socket.socket() as probe:  # aiosmtpd needs a port number up front
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        config = write_config(tmp_path / "config.toml", f"""
[notify]
when = "always"

[notify.email]
host = "127.0.0.1"
port = {port}
from = "bulk-enroll@example.com"
to = ["hr-it@example.com", "ops@example.com"]
""")
        write_csv(inbox / "hires.csv", rows_for(ACTIVE[:3], COURSES[0], bad=0))
        assert main(["--config", str(config), "inbox", str(inbox)]) == 0
    finally:
        controller.stop()
    [message] = messages
    assert message["Subject"] == "bulk-enroll: 1 file: 1 processed (exit 0)"
    assert message["To"] == "hr-it@example.com, ops@example.com"
    parts = list(message.walk())
    body = next(p for p in parts if p.get_content_type() == "text/plain").get_payload(
        decode=True).decode()
    assert "- hires.csv: processed (exit 0)" in body and "rows: 3 enrolled" in body
    [attachment] = [p for p in parts if p.get_filename()]
    assert attachment.get_filename().startswith("hires-results-")
    assert attachment.get_content_type() == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert attachment.get_payload(decode=True)[:2] == b"PK"  # a real xlsx


def test_json_logs_and_a_rotating_log_file(sandbox, inbox, tmp_path, capsys):
    log_file = tmp_path / "logs" / "bulk-enroll.log"
    write_csv(inbox / "a.csv", rows_for(ACTIVE[:2], COURSES[0]))
    assert main(["--log-format", "json", "--log-file", str(log_file), "inbox", str(inbox)]) == 0
    assert capsys.readouterr().err == ""  # with a log file, stderr only gets trouble
    entries = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert len({entry["run_id"] for entry in entries}) == 1
    [file_entry] = [e for e in entries if e.get("event") == "file"]
    assert file_entry["file"] == "a.csv" and file_entry["outcome"] == "processed"
    assert file_entry["status_counts"]["enrolled"] == 2 and file_entry["duration_s"] > 0
    summary = entries[-1]
    assert summary["event"] == "summary" and summary["exit_code"] == 0
    assert summary["message"].startswith(f"inbox {inbox}: 1 file: 1 processed; exit 0 in ")
    assert SANDBOX_CLIENT_SECRET not in log_file.read_text()


# --- config check -----------------------------------------------------------------------------


def test_config_check_fetches_a_token_and_enrolls_nobody(sandbox, tmp_path, capsys,
                                                         monkeypatch):
    secret = tmp_path / "secret"
    secret.write_text(SANDBOX_CLIENT_SECRET)
    secret.chmod(0o600)
    monkeypatch.delenv("BULK_ENROLL_CLIENT_SECRET")
    config = tmp_path / "config.toml"
    config.write_text(f"""
[account]
soap_url = "{sandbox.soap_url}"
api_url = "{sandbox.api_url}"
client_id = "{SANDBOX_CLIENT_ID}"
client_secret_file = "secret"
""")
    for name in ("SOAP_URL", "API_URL", "CLIENT_ID"):
        monkeypatch.delenv(f"BULK_ENROLL_{name}")
    assert main(["--config", str(config), "config", "check"]) == 0
    out = capsys.readouterr().out
    assert f"ok   configuration file: {config} (4 settings)" in out
    assert f"ok   token: fetched from {sandbox.api_url}/api/v3/token" in out
    assert ("rate limit learned from the server, stop after 600 s without an accepted call"
            in out)
    # a SOAP account reads people and courses over the REST API: that is tested too
    assert (f"ok   read call: GET {sandbox.api_url}/contents?pageSize=1 answered 200 (lookups "
            "and the server check use it)") in out
    assert out.endswith("Configuration OK (nobody was enrolled).\n")
    assert sandbox.state.calls() == []

    secret.write_text("not-the-secret")
    assert main(["--config", str(config), "config", "check"]) == 2
    out = capsys.readouterr().out
    assert "FAIL token: the account refused the client ID or secret (HTTP 401" in out
    assert "not-the-secret" not in out


def test_config_check_can_send_a_test_notification(sandbox, tmp_path, webhook, capsys):
    config = write_config(tmp_path / "config.toml", f"""
[notify]
webhook_url = "http://127.0.0.1:{webhook.server_address[1]}/hook"
""")
    assert main(["--config", str(config), "config", "check", "--test-notifications"]) == 0
    assert "ok   test notification: delivered to webhook\n" in capsys.readouterr().out
    [message] = webhook.received
    assert message["verdict"] == "test notification from bulk-enroll config check"
    assert sandbox.state.calls() == []


def test_a_test_notification_that_fails_says_where_and_that_the_reason_is_logged(
        sandbox, tmp_path, capsys, caplog):
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    config = write_config(tmp_path / "config.toml", f"""
[notify]
webhook_url = "http://127.0.0.1:{port}/hook"
""")
    assert main(["--config", str(config), "config", "check", "--offline",
                 "--test-notifications"]) == 2
    assert ("FAIL test notification: not delivered to webhook (the error is logged above)"
            in capsys.readouterr().out)
    assert any("notification to webhook" in r.getMessage() and "failed" in r.getMessage()
               for r in caplog.records)


def test_run_reads_the_account_from_the_config_file(sandbox, tmp_path, monkeypatch):
    for name in ("SOAP_URL", "API_URL", "CLIENT_ID", "CLIENT_SECRET"):
        monkeypatch.delenv(f"BULK_ENROLL_{name}")
    config = write_config(tmp_path / "config.toml", f"""
[account]
soap_url = "{sandbox.soap_url}"
api_url = "{sandbox.api_url}"
client_id = "{SANDBOX_CLIENT_ID}"
client_secret = "{SANDBOX_CLIENT_SECRET}"
""")
    path = write_csv(tmp_path / "one.csv", rows_for(ACTIVE[:2], COURSES[0]))
    assert main(["--config", str(config), "run", str(path), "--report", "out.xlsx"]) == 0
    assert enrolled(sandbox) == {(learner, COURSES[0]) for learner in ACTIVE[:2]}


# --- stopped by the scheduler -----------------------------------------------------------------


def inbox_run(inbox: Path, **kwargs):  # type: ignore[no-untyped-def]
    environ = dict(os.environ)
    run = load_run_settings(environ)
    account = load_account(environ)
    return run_inbox(load_inbox_settings(environ, inbox=inbox), run,
                     lambda: connect(account, run), interactive=True, **kwargs)


def test_sigterm_during_a_send_leaves_the_file_to_resume_next_run(sandbox, inbox, monkeypatch):
    monkeypatch.setenv("BULK_ENROLL_MAX_LEARNERS_PER_CALL", "2")
    monkeypatch.setenv("BULK_ENROLL_CONCURRENCY", "1")
    write_csv(inbox / "big.csv", rows_for(ACTIVE[:6], COURSES[1]))  # 3 calls of 2 learners
    write_csv(inbox / "later.csv", rows_for(ACTIVE[20:22], COURSES[1]))
    os.utime(inbox / "big.csv", (1, 1))
    route = sandbox.app.routes[("POST", sandbox.soap_path)]

    def terminate_on_first_call(request):  # type: ignore[no-untyped-def]
        if not sandbox.state.calls():
            os.kill(os.getpid(), signal.SIGTERM)  # what systemd sends on stop
            time.sleep(0.2)  # the main thread handles it before this call is answered
        return route.handler(request)

    sandbox.app.routes[("POST", sandbox.soap_path)] = Route(terminate_on_first_call, False)
    result = inbox_run(inbox, sleep=lambda s: None)
    assert [(f.file, f.outcome) for f in result.files] == [("big.csv", Outcome.INTERRUPTED)]
    assert result.exit_code == 143 and (inbox / "big.csv").exists()  # stopped by SIGTERM
    assert (inbox / "later.csv").exists()  # not started after the stop
    assert len(enrolled(sandbox)) == 2

    sandbox.app.routes[("POST", sandbox.soap_path)] = route
    result = inbox_run(inbox, sleep=lambda s: None)
    assert [(f.file, f.outcome) for f in result.files] == [
        ("big.csv", Outcome.PROCESSED), ("later.csv", Outcome.PROCESSED)]
    assert enrolled(sandbox) == {(a, COURSES[1]) for a in ACTIVE[:6] + ACTIVE[20:22]}
    assert len(sandbox.state.calls()) == 4  # 1 before the stop, 2 resumed, 1 for later.csv


def test_sigterm_during_the_last_call_of_a_file_starts_no_other_file(sandbox, inbox):
    write_csv(inbox / "first.csv", rows_for(ACTIVE[:2], COURSES[1]))  # one call only
    write_csv(inbox / "later.csv", rows_for(ACTIVE[20:22], COURSES[1]))
    os.utime(inbox / "first.csv", (1, 1))
    route = sandbox.app.routes[("POST", sandbox.soap_path)]

    def terminate_during_the_only_call(request):  # type: ignore[no-untyped-def]
        if not sandbox.state.calls():
            os.kill(os.getpid(), signal.SIGTERM)
        return route.handler(request)

    sandbox.app.routes[("POST", sandbox.soap_path)] = Route(terminate_during_the_only_call, False)
    result = inbox_run(inbox, sleep=lambda s: None)
    assert [f.file for f in result.files] == ["first.csv"]  # its call finished, and no other
    assert [f.outcome for f in result.files] == [Outcome.PROCESSED]  # nothing of it was cut
    assert (inbox / "later.csv").exists() and result.exit_code == 143


def test_sigterm_between_files_starts_no_other_file(sandbox, inbox):
    write_csv(inbox / "a.csv", rows_for(ACTIVE[:2], COURSES[2]))

    def terminated_while_waiting(seconds: float) -> None:
        os.kill(os.getpid(), signal.SIGTERM)

    result = inbox_run(inbox, sleep=terminated_while_waiting)
    assert result.files == [] and result.exit_code == 143
    assert result.error == ("interrupted by SIGTERM; the remaining files stay for the next "
                            "run")
    assert (inbox / "a.csv").exists() and sandbox.state.calls() == []


def test_a_run_blocked_by_the_lock_still_notifies(sandbox, inbox, lock_holder, webhook,
                                                  tmp_path):
    config = write_config(tmp_path / "config.toml", f"""
[notify]
webhook_url = "http://127.0.0.1:{webhook.server_address[1]}/hook"
""")
    assert main(["--config", str(config), "inbox", str(inbox)]) == 3
    [summary] = webhook.received
    assert summary["exit_code"] == 3 and summary["files"] == []
    assert summary["verdict"].startswith("inbox not processed: another bulk-enroll inbox is "
                                         f"running (pid {lock_holder.pid} on ")


# --- the inbox from Python (a scheduler's own script) ------------------------------------------


def test_a_python_scheduler_gets_the_notifications_too(sandbox, inbox, webhook):
    from bulk_enroll.inbox.job import inbox_job

    write_csv(inbox / "a.csv", rows_for(ACTIVE[:5], COURSES[0], bad=1))  # 1 of 6 invalid
    environ = {**os.environ, "BULK_ENROLL_NOTIFY_WHEN": "always",
               "BULK_ENROLL_WEBHOOK_URL": f"http://127.0.0.1:{webhook.server_address[1]}/h"}
    result = inbox_job(environ, inbox=inbox)
    assert result.exit_code == 1 and [f.outcome for f in result.files] == [
        Outcome.NEEDS_ATTENTION]
    [summary] = webhook.received
    assert summary["exit_code"] == 1 and summary["files"][0]["file"] == "a.csv"
    assert enrolled(sandbox) == {(learner, COURSES[0]) for learner in ACTIVE[:5]}


def test_an_internal_error_exits_4_and_is_notified(sandbox, inbox, webhook, tmp_path,
                                                    monkeypatch, capsys):
    import bulk_enroll.inbox.runner as runner

    def crash(*args, **kwargs):
        raise RuntimeError("journal table vanished")

    monkeypatch.setattr(runner, "run_job", crash)
    config = write_config(tmp_path / "config.toml", f"""
[notify]
webhook_url = "http://127.0.0.1:{webhook.server_address[1]}/hook"
""")
    write_csv(inbox / "a.csv", rows_for(ACTIVE[:2], COURSES[0]))
    log_file = tmp_path / "inbox.log"
    assert main(["--config", str(config), "--log-file", str(log_file), "inbox", str(inbox)]) == 4
    [summary] = webhook.received
    assert summary["exit_code"] == 4 and summary["verdict"] == (
        "inbox stopped by an internal error: RuntimeError: journal table vanished (details in "
        "the log)")
    err = capsys.readouterr().err
    assert err.startswith("Internal error: RuntimeError: journal table vanished.")
    assert f"the details are in {log_file}" in err and "Traceback" not in err
    assert "Traceback (most recent call last)" in log_file.read_text(encoding="utf-8")
    assert (inbox / "a.csv").exists()  # left for the next run


def test_a_send_stopped_by_a_full_disk_leaves_the_file_and_exits_4(sandbox, inbox, monkeypatch):
    import errno

    from bulk_enroll.send.journal import Journal

    def disk_full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Journal, "confirm", disk_full)
    write_csv(inbox / "a.csv", rows_for(ACTIVE[:2], COURSES[0]))
    write_csv(inbox / "b.csv", rows_for(ACTIVE[2:4], COURSES[1]))
    settings = load_inbox_settings({}, inbox=inbox)
    run = load_run_settings()
    account = load_account()
    result = run_inbox(settings, run, lambda: connect(account, run), sleep=lambda s: None)
    assert result.exit_code == 4 and len(result.files) == 1  # no other file is started
    [item] = result.files
    assert item.outcome is Outcome.INTERRUPTED and item.as_dict()["exit_code"] == 4
    assert (inbox / "a.csv").exists() and (inbox / "b.csv").exists()
