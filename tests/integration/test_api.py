"""`bulk_enroll.enroll` called from Python against the sandbox over real HTTP on 127.0.0.1.

Paths and DataFrames, `sandbox=True` and an explicit `account=` pointing at a sandbox the test
starts; progress events, and a cancel from another thread. Expected enrollments are built from
the seeded directory by construction, never derived with the code under test.
"""

from __future__ import annotations

import datetime as dt
import re
import signal
import sqlite3
import threading
from pathlib import Path

import pandas as pd
import pytest
import requests

import bulk_enroll
from bulk_enroll.model import DueDateType, DueSettings
from bulk_enroll.sandbox import Faults, SandboxServer, default_directory
from bulk_enroll.sandbox.account import sandbox_account
from bulk_enroll.sandbox.state import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from tests.integration.conftest import point_at
from tests.support import HEADER, enrolled_once, sheet_rows, write_xlsx

ROOT = Path(__file__).resolve().parents[2]
DIRECTORY = default_directory()
ACTIVE = [u for u in DIRECTORY.users if u.is_active and u.email == u.email.lower()]
BY_TITLE = {c.title: c for c in DIRECTORY.courses}
FIRE, GDPR = BY_TITLE["Fire Safety"], BY_TITLE["GDPR Essentials"]
START = dt.datetime(2027, 1, 4, 9, 0)


def account_of(server: SandboxServer) -> bulk_enroll.AccountSettings:
    return bulk_enroll.AccountSettings(soap_url=server.soap_url, api_url=server.api_url,
                                       client_id=SANDBOX_CLIENT_ID,
                                       client_secret=SANDBOX_CLIENT_SECRET)


def people_frame() -> tuple[pd.DataFrame, set[tuple[str, str, DueSettings]]]:
    """Rows as a database query gives them (emails, titles, int64, Timestamp, NaN, NaT), and the
    enrollments they ask for."""
    people = ACTIVE[:6]
    frame = pd.DataFrame({
        "Employee number": pd.Series(range(1001, 1009), dtype="int64"),
        "Work email": [u.email for u in people] + [float("nan"), ACTIVE[6].email],
        "Course": [FIRE.title] * 3 + [GDPR.title] * 3 + [FIRE.title, "Fire Safty"],
        "Due date type": ["due_period"] * 8,
        "Due period (hours)": pd.Series([720] * 8, dtype="int64"),
        "Access date": [pd.Timestamp(START), pd.NaT] * 4,
        "Lock": pd.array([True, None, False, True, None, False, True, True], dtype="boolean"),
    })
    expected = set()
    for n, user in enumerate(people):
        course = FIRE if n < 3 else GDPR
        lock = [True, None, False, True, None, False][n]
        settings = DueSettings(DueDateType.DUE_PERIOD, access_date=START if n % 2 == 0 else None,
                               due_period_hours=720, lock_after_due_date=lock)
        expected.add((user.user_id, course.content_id, settings))
    return frame, expected


@pytest.fixture
def server(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with SandboxServer().start() as started:
        yield started


def test_a_dataframe_is_enrolled_exactly_and_comes_back_with_statuses_and_ids(server, tmp_path):
    frame, expected = people_frame()
    result = bulk_enroll.enroll(frame, account=account_of(server), report=tmp_path / "out.xlsx")
    assert enrolled_once(server) == expected
    assert result.exit_status is bulk_enroll.ExitStatus.ROWS_NEED_ATTENTION
    assert result.counts["enrolled"] == 6 and result.counts["invalid"] == 2
    assert result.report_path == tmp_path / "out.xlsx"

    out = result.to_frame()
    assert out["row"].tolist() == list(range(8))
    assert out["Employee number"].tolist() == list(range(1001, 1009))
    assert out["status"].tolist() == ["enrolled"] * 6 + ["invalid"] * 2
    assert out["resolved_learner_id"][:6].tolist() == [u.user_id for u in ACTIVE[:6]]
    assert out["resolved_course_id"][:6].tolist() == [FIRE.content_id] * 3 + [GDPR.content_id] * 3
    assert out["message"][6] == "Work email: learner email is empty"
    assert out["message"][7].startswith("Course: no course titled 'Fire Safty'; did you mean "
                                        "'Fire Safety'")
    assert [(p.row, p.column, p.value) for p in result.problems] == [
        (6, "Work email", None), (7, "Course", "Fire Safty")]

    report = sheet_rows(tmp_path / "out.xlsx")
    assert [r["Status"] for r in report] == out["status"].tolist()
    assert result.summary["api_calls"] == len(server.state.calls())


def test_a_path_and_a_dataframe_against_the_built_in_sandbox(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sample = ROOT / "sample_data" / "new_hires_onboarding.xlsx"
    result = bulk_enroll.enroll(sample, sandbox=True)
    # The sample's broken rows, as the README's quick start describes them.
    assert result.counts == {"enrolled": 145, "already_enrolled": 0, "duplicate": 1,
                             "invalid": 5, "failed": 0, "not_sent": 0, "unknown": 0}
    assert result.exit_status is bulk_enroll.ExitStatus.ROWS_NEED_ATTENTION
    assert result.report_path.parent == Path("reports") and result.report_path.exists()
    out = result.to_frame()
    report = sheet_rows(result.report_path)
    assert out["status"].tolist() == [r["Status"] for r in report]
    assert out["row"].tolist() == list(range(2, 153))  # Excel's row numbers, under the header
    assert sorted(p.row for p in result.problems) == out.loc[out["status"] == "invalid",
                                                             "row"].tolist()

    frame, _ = people_frame()
    again = bulk_enroll.enroll(frame, sandbox=True, report="frame.xlsx")
    # A fresh sandbox and a fresh journal for each call: everything valid is enrolled again.
    assert again.counts["enrolled"] == 6 and again.counts["invalid"] == 2


def test_progress_events_grow_and_end_at_the_total_with_rate_limit_waits(server, tmp_path,
                                                                         monkeypatch):
    monkeypatch.setenv("BULK_ENROLL_MAX_LEARNERS_PER_CALL", "1")  # one call per learner
    monkeypatch.setenv("BULK_ENROLL_RATE_LIMIT", "20")
    rows = [list(HEADER)] + [[u.user_id, FIRE.content_id, "unlimited", "", "", "", ""]
                             for u in ACTIVE[:12]]
    path = write_xlsx(tmp_path / "in.xlsx", rows)
    events: list[bulk_enroll.ProgressEvent] = []
    result = bulk_enroll.enroll(path, account=account_of(server), progress=events.append)
    assert result.exit_status is bulk_enroll.ExitStatus.OK

    stages = [e.stage for e in events]
    assert stages[:3] == ["read", "resolve", "plan"] and stages[-2:] == ["report", "done"]
    sending = [e for e in events if e.stage == "send"]
    assert sending[0].pairs_total == 12 and sending[0].calls_planned == 12
    for counter in ("pairs_settled", "calls_made", "rate_limit_wait_s", "elapsed_s"):
        values = [getattr(e, counter) for e in events]
        assert values == sorted(values), counter
    assert sending[-1].pairs_settled == sending[-1].pairs_total == 12
    assert events[-1].calls_made == 12 and events[-1].rows == 12
    assert events[-1].rate_limit_wait_s > 0.2  # 12 calls at under 20 per second
    assert any(e.eta_s is not None for e in sending)


def test_cancel_from_another_thread_stops_cleanly_and_a_rerun_sends_the_rest_once(tmp_path,
                                                                                    monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BULK_ENROLL_MAX_LEARNERS_PER_CALL", "2")
    monkeypatch.setenv("BULK_ENROLL_CONCURRENCY", "1")
    people = ACTIVE[:30]
    rows = [list(HEADER)] + [[u.user_id, GDPR.content_id, "unlimited", "", "", "", ""]
                             for u in people]
    path = write_xlsx(tmp_path / "in.xlsx", rows)
    faults = Faults(latency_s=0.15, paths=("/soap",))  # slow enrollment calls, quick lookups
    with SandboxServer(faults=faults).start() as slow:
        token, first_settled = bulk_enroll.CancelToken(), threading.Event()

        def progress(event: bulk_enroll.ProgressEvent) -> None:
            if event.pairs_settled:
                first_settled.set()

        canceller = threading.Thread(target=lambda: first_settled.wait(30) and token.cancel())
        canceller.start()
        state = tmp_path / "state"
        stopped = bulk_enroll.enroll(path, account=account_of(slow), report="first.xlsx",
                                     state_dir=state, progress=progress, cancel=token)
        canceller.join()
        assert stopped.exit_status is bulk_enroll.ExitStatus.ROWS_NEED_ATTENTION
        statuses = stopped.to_frame()["status"].tolist()
        assert 0 < statuses.count("enrolled") < 30 and statuses.count("not_sent") > 0
        assert set(statuses) == {"enrolled", "not_sent"}
        report = sheet_rows(tmp_path / "first.xlsx")
        assert [r["Status"] for r in report] == statuses
        assert {r["Message"] for r in report if r["Status"] == "not_sent"} == {
            "not sent: cancelled"}
        enrolled_first = statuses.count("enrolled")
        assert len(enrolled_once(slow)) == enrolled_first

        rerun = bulk_enroll.enroll(path, account=account_of(slow), report="second.xlsx",
                                   state_dir=state)
        assert rerun.exit_status is bulk_enroll.ExitStatus.OK
        assert rerun.counts["enrolled"] == 30 - enrolled_first
        assert rerun.counts["already_enrolled"] == enrolled_first
        assert enrolled_once(slow) == {(u.user_id, GDPR.content_id,
                                        DueSettings(DueDateType.UNLIMITED)) for u in people}


def test_signal_handlers_only_in_the_main_thread_and_restored_after(server, tmp_path):
    rows = [list(HEADER)] + [[u.user_id, FIRE.content_id, "unlimited", "", "", "", ""]
                             for u in ACTIVE[:3]]
    path = write_xlsx(tmp_path / "in.xlsx", rows)
    before = signal.getsignal(signal.SIGTERM)
    seen: dict[str, object] = {}

    def watch(name: str):
        def progress(event: bulk_enroll.ProgressEvent) -> None:
            if event.stage == "send":
                seen[name] = signal.getsignal(signal.SIGTERM)
        return progress

    bulk_enroll.enroll(path, account=account_of(server), report="main.xlsx",
                       progress=watch("main"))
    assert seen["main"] is not before  # a SIGTERM during the send would stop it cleanly
    assert signal.getsignal(signal.SIGTERM) is before

    results = []
    worker = threading.Thread(target=lambda: results.append(bulk_enroll.enroll(
        path, account=account_of(server), report="worker.xlsx", state_dir=tmp_path / "s2",
        check_server=True, progress=watch("worker"))))
    worker.start()
    worker.join(60)
    assert results[0].counts["already_enrolled"] == 3  # a new journal: the server's word
    assert "worker" not in seen  # nothing left to send
    results.clear()
    more = write_xlsx(tmp_path / "more.xlsx", [list(HEADER)] + [
        [u.user_id, GDPR.content_id, "unlimited", "", "", "", ""] for u in ACTIVE[:3]])
    worker = threading.Thread(target=lambda: results.append(bulk_enroll.enroll(
        more, account=account_of(server), report="worker.xlsx", progress=watch("worker"))))
    worker.start()
    worker.join(60)
    assert results[0].counts["enrolled"] == 3
    assert seen["worker"] is before  # a web server's worker thread: no handler installed


def test_the_sandbox_account_lives_as_long_as_its_block():
    with sandbox_account(transport="rest") as account:
        assert account.transport == "rest" and account.api_url.startswith("http://127.0.0.1:")
        assert account.soap_url.startswith(account.api_url)
    with pytest.raises(requests.ConnectionError):
        requests.get(account.api_url + "/contents", timeout=5)
    with (pytest.raises(bulk_enroll.ConfigError, match="'smtp' is not a transport"),
          sandbox_account(transport="smtp")):
        pass


def test_the_readme_scheduled_job_works_as_written(server, tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    [job] = [block for block in re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
             if "sys.exit(int(result.exit_status))" in block]
    point_at(server, monkeypatch)  # the account, from the environment as a scheduler sets it
    database = sqlite3.connect(tmp_path / "hr.sqlite")
    database.execute("CREATE TABLE new_hires (work_email TEXT, course TEXT, start_date TEXT)")
    hires = [(ACTIVE[0].email, FIRE.title), (ACTIVE[1].email, FIRE.title),
             (ACTIVE[1].email, GDPR.title), (ACTIVE[2].email, "Fire Safty")]
    database.executemany("INSERT INTO new_hires VALUES (?, ?, date('now'))", hires)
    database.execute("INSERT INTO new_hires VALUES (?, ?, '2020-01-01')",
                     (ACTIVE[3].email, FIRE.title))
    database.commit()

    with pytest.raises(SystemExit) as exited:
        exec(compile(job.replace("/srv/hr", str(tmp_path)), "README.md", "exec"),
             {"__name__": "__main__"})
    assert exited.value.code == 1  # the misspelled course needs attention
    period = DueSettings(DueDateType.DUE_PERIOD, due_period_hours=720)
    assert enrolled_once(server) == {
        (ACTIVE[0].user_id, FIRE.content_id, period), (ACTIVE[1].user_id, FIRE.content_id, period),
        (ACTIVE[1].user_id, GDPR.content_id, period)}
    attention = pd.read_csv(tmp_path / "reports" / "needs-attention.csv")
    assert attention["Work email"].tolist() == [ACTIVE[2].email]
    assert attention["row"].tolist() == [3]
    assert (tmp_path / "reports" / f"new-hires-{dt.date.today()}.xlsx").exists()
