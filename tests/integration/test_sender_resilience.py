"""The sender against a misbehaving sandbox, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import openpyxl
import pytest

from bulk_enroll.cli import main
from bulk_enroll.sandbox import Faults, SandboxServer, SandboxState, default_directory
from bulk_enroll.sandbox.directory import sandbox_id
from bulk_enroll.sandbox.state import (
    DEPT_ADMIN_CLIENT_ID,
    DEPT_ADMIN_CLIENT_SECRET,
    DEPT_ADMIN_DEPARTMENT,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
)
from tests.support import HEADER, write_csv

DIRECTORY = default_directory()
ACTIVE = [u for u in DIRECTORY.users if u.is_active]
COURSES = [c.content_id for c in DIRECTORY.courses]


@contextmanager
def sandbox(monkeypatch: pytest.MonkeyPatch, *, faults: Faults | None = None,
            token_lifetime_s: float = 1800, client: tuple[str, str] | None = None,
            **env: str) -> Iterator[SandboxServer]:
    state = SandboxState(DIRECTORY, token_lifetime_s=token_lifetime_s)
    client_id, secret = client or (SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET)
    with SandboxServer(state, faults=faults).start() as server:
        monkeypatch.setenv("BULK_ENROLL_SOAP_URL", server.soap_url)
        monkeypatch.setenv("BULK_ENROLL_API_URL", server.api_url)
        monkeypatch.setenv("BULK_ENROLL_CLIENT_ID", client_id)
        monkeypatch.setenv("BULK_ENROLL_CLIENT_SECRET", secret)
        for name, value in env.items():
            monkeypatch.setenv(f"BULK_ENROLL_{name}", value)
        yield server


def request_file(path: Path, pairs: list[tuple[str, str]], due_type: str = "unlimited") -> Path:
    return write_csv(path, [HEADER] + [[lr, c, due_type, "", "", "", ""] for lr, c in pairs])


def statuses(report: Path) -> list[tuple[str, str]]:
    sheet = openpyxl.load_workbook(report)["Results"]
    header, *rows = list(sheet.iter_rows(values_only=True))
    status, message = header.index("Status"), header.index("Message")
    return [(row[status], row[message] or "") for row in rows]


def test_second_run_of_the_same_file_makes_no_call(monkeypatch, tmp_path):
    pairs = [(u.user_id, c) for u in ACTIVE[:20] for c in COURSES[:2]]
    path = request_file(tmp_path / "in.csv", pairs)
    with sandbox(monkeypatch) as server:
        assert main(["run", str(path), "--report", str(tmp_path / "first.xlsx")]) == 0
        calls_after_first = len(server.state.calls())
        assert main(["run", str(path), "--report", str(tmp_path / "second.xlsx"),
                     "--summary-json", str(tmp_path / "s.json")]) == 0
        assert len(server.state.calls()) == calls_after_first
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["api_calls"] == 0
    assert summary["status_counts"]["already_enrolled"] == len(pairs)
    assert all(s == "already_enrolled" and m.startswith("enrolled by an earlier run on ")
               for s, m in statuses(tmp_path / "second.xlsx"))
    assert all(r.times_enrolled == 1 for r in server.state.enrollments().values())


def test_an_overlapping_file_sends_only_the_new_pairs(monkeypatch, tmp_path):
    first = [(u.user_id, COURSES[0]) for u in ACTIVE[:10]]
    second = [(u.user_id, COURSES[0]) for u in ACTIVE[5:15]]
    with sandbox(monkeypatch) as server:
        assert main(["run", str(request_file(tmp_path / "a.csv", first)),
                     "--report", str(tmp_path / "a.xlsx")]) == 0
        assert main(["run", str(request_file(tmp_path / "b.csv", second)),
                     "--report", str(tmp_path / "b.xlsx")]) == 0
        sent_second = {lr for call in server.state.calls()[1:] for lr in call.learner_ids}
    assert sent_second == {u.user_id for u in ACTIVE[10:15]}
    assert [s for s, _ in statuses(tmp_path / "b.xlsx")] == (["already_enrolled"] * 5
                                                               + ["enrolled"] * 5)


@contextmanager
def soap_only_sandbox(monkeypatch: pytest.MonkeyPatch, faults: Faults | None = None,
                      department_id: str | None = None, **env: str) -> Iterator[SandboxServer]:
    """An account reachable by SOAP only (a pre-issued token, no REST API to read from)."""
    with sandbox(monkeypatch, faults=faults, **env) as server:
        server.state.add_static_token("pre-issued-token", department_id=department_id)
        for name in ("API_URL", "CLIENT_ID", "CLIENT_SECRET"):
            monkeypatch.delenv(f"BULK_ENROLL_{name}")
        monkeypatch.setenv("BULK_ENROLL_TOKEN", "pre-issued-token")
        yield server


SLOW_SOAP = Faults(latency_s=1.0, paths=("/soap",))


def test_a_read_timeout_reaches_the_server_once_and_is_never_resent_blindly(monkeypatch,
                                                                           tmp_path):
    pairs = [(ACTIVE[0].user_id, COURSES[0])]
    path = request_file(tmp_path / "in.csv", pairs)
    with soap_only_sandbox(monkeypatch, SLOW_SOAP, READ_TIMEOUT="0.3") as server:
        assert main(["run", str(path), "--report", str(tmp_path / "r.xlsx")]) == 1
        time.sleep(1.2)  # let the server finish the call the client gave up on
        assert len(server.state.calls()) == 1
        # a rerun without the REST API to settle it does not send it again
        assert main(["run", str(path), "--report", str(tmp_path / "r2.xlsx")]) == 1
        time.sleep(0.2)
        assert len(server.state.calls()) == 1
    [(status, message)] = statuses(tmp_path / "r.xlsx")
    assert status == "unknown" and "may have been applied" in message
    [(status, message)] = statuses(tmp_path / "r2.xlsx")
    assert status == "unknown" and "--resend-unknown" in message


def test_resend_unknown_sends_it_again(monkeypatch, tmp_path):
    path = request_file(tmp_path / "in.csv", [(ACTIVE[0].user_id, COURSES[0])])
    with soap_only_sandbox(monkeypatch, Faults(latency_s=0.6, paths=("/soap",)),
                           READ_TIMEOUT="0.2") as server:
        assert main(["run", str(path), "--report", str(tmp_path / "r.xlsx")]) == 1
        monkeypatch.setenv("BULK_ENROLL_READ_TIMEOUT", "5")
        assert main(["run", "--resend-unknown", str(path),
                     "--report", str(tmp_path / "r2.xlsx")]) == 0
        time.sleep(0.2)
        assert len(server.state.calls()) == 2
    assert statuses(tmp_path / "r2.xlsx") == [("enrolled", "")]


def test_429_retry_after_is_honoured(monkeypatch, tmp_path):
    # Two calls (two settings groups); the second comes too soon and gets 429, Retry-After: 3.
    path = write_csv(tmp_path / "in.csv", [
        HEADER,
        [ACTIVE[0].user_id, COURSES[0], "unlimited", "", "", "", ""],
        [ACTIVE[1].user_id, COURSES[1], "due_period", "", "24", "", ""],
    ])
    faults = Faults(rate_limit_per_s=0.2, retry_after_s=3, paths=("/soap",))
    with sandbox(monkeypatch, faults=faults, CONCURRENCY="1") as server:
        assert main(["run", str(path), "--report", str(tmp_path / "r.xlsx")]) == 0
        first, second = server.state.calls()
        assert server.state.fault_counts()["rate_limit"] >= 1
    assert second.timestamp - first.timestamp >= 3.0


def test_tokens_that_live_two_seconds_are_renewed_and_no_row_fails(monkeypatch, tmp_path):
    pairs = [(u.user_id, c) for u in ACTIVE[:12] for c in COURSES[:1]]
    path = request_file(tmp_path / "in.csv", pairs)
    faults = Faults(latency_s=0.4, paths=("/soap",))
    with sandbox(monkeypatch, faults=faults, token_lifetime_s=2, CONCURRENCY="1",
                 MAX_LEARNERS_PER_CALL="1") as server:
        started = time.monotonic()
        assert main(["run", str(path), "--report", str(tmp_path / "r.xlsx"),
                     "--summary-json", str(tmp_path / "s.json")]) == 0
        assert time.monotonic() - started > 4  # longer than two token lifetimes
        assert len(server.state.enrollments()) == len(pairs)
    assert json.loads((tmp_path / "s.json").read_text())["token_renewals"] >= 2


def test_a_bad_id_and_a_learner_outside_the_department_fail_alone(monkeypatch, tmp_path):
    department = next(d.department_id for d in DIRECTORY.departments
                      if d.name == DEPT_ADMIN_DEPARTMENT)
    insiders = [u.user_id for u in ACTIVE if u.department_id == department][:14]
    outsider = next(u.user_id for u in ACTIVE if u.department_id != department)
    unknown = sandbox_id("user", "no-such-person")
    learners = insiders[:7] + [unknown] + insiders[7:] + [outsider]
    path = request_file(tmp_path / "in.csv", [(lr, COURSES[0]) for lr in learners])
    with sandbox(monkeypatch, client=(DEPT_ADMIN_CLIENT_ID, DEPT_ADMIN_CLIENT_SECRET)) as server:
        assert main(["run", str(path), "--report", str(tmp_path / "r.xlsx"),
                     "--summary-json", str(tmp_path / "s.json")]) == 1
        enrolled = {lr for lr, _ in server.state.enrollments()}
    assert enrolled == set(insiders)
    results = dict(zip(learners, statuses(tmp_path / "r.xlsx"), strict=True))
    # the unknown ID is caught by the lookup before any call; the outsider only by the server
    assert results[unknown][0] == "invalid" and "no user with ID" in results[unknown][1]
    assert results[outsider] == ("failed", "Permission denied")
    assert all(results[i] == ("enrolled", "") for i in insiders)
    summary = json.loads((tmp_path / "s.json").read_text())
    # 15 learners in the call, one bad: it costs about 2*log2(15) extra calls
    assert 0 < summary["isolation_calls"] <= 8
    assert summary["api_calls"] == 1 + summary["isolation_calls"]


def test_a_second_run_on_the_same_journal_stops_before_sending(monkeypatch, tmp_path, capsys,
                                                              isolated_state_dir):
    from bulk_enroll.jobs import SEND_LOCK_NAME
    from bulk_enroll.send.lock import InstanceLock

    path = request_file(tmp_path / "in.csv", [(ACTIVE[0].user_id, COURSES[0])])
    with sandbox(monkeypatch) as server, \
            InstanceLock(isolated_state_dir / SEND_LOCK_NAME, "run using this journal"):
        assert main(["run", str(path), "--report", str(tmp_path / "r.xlsx")]) == 3
        assert server.state.calls() == []
    err = capsys.readouterr().err
    assert "another bulk-enroll run using this journal is running (pid" in err


def test_without_lookups_a_bad_id_and_an_outsider_in_one_batch_fail_alone(monkeypatch,
                                                                           tmp_path):
    """SOAP only (no REST API, so no lookup catches the bad ID first): the server rejects the
    whole call, and halving finds exactly the two rows at fault, each with its own reason."""
    department = next(d.department_id for d in DIRECTORY.departments
                      if d.name == DEPT_ADMIN_DEPARTMENT)
    insiders = [u.user_id for u in ACTIVE if u.department_id == department][:14]
    outsider = next(u.user_id for u in ACTIVE if u.department_id != department)
    unknown = sandbox_id("user", "no-such-person")
    learners = insiders[:7] + [unknown] + insiders[7:] + [outsider]
    path = request_file(tmp_path / "in.csv", [(lr, COURSES[0]) for lr in learners])
    with soap_only_sandbox(monkeypatch, department_id=department) as server:
        assert main(["run", str(path), "--report", str(tmp_path / "r.xlsx"),
                     "--summary-json", str(tmp_path / "s.json")]) == 1
        enrolled = {lr for lr, _ in server.state.enrollments()}
    assert enrolled == set(insiders)
    results = dict(zip(learners, statuses(tmp_path / "r.xlsx"), strict=True))
    assert results[unknown] == ("failed", "Wrong parameters")
    assert results[outsider] == ("failed", "Permission denied")
    assert all(results[i] == ("enrolled", "") for i in insiders)
    summary = json.loads((tmp_path / "s.json").read_text())
    # two bad IDs among 16: each costs about 2*log2(16) = 8 extra calls at most
    assert 0 < summary["isolation_calls"] <= 16
    assert summary["api_calls"] == 1 + summary["isolation_calls"]
