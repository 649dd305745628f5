"""Runs against a sandbox that enforces a rate limit nobody told the client, over real HTTP.

The issue's case, scaled down to keep the suite fast: with a retry budget of 3, a limit of 10
calls per 2 s (the issue's was per 10 s) used to leave calls `not_sent`; a 429 is pacing, so
every call must go through.
"""

from __future__ import annotations

import json
import time

import pytest

from bulk_enroll.cli import main
from bulk_enroll.sandbox import Faults, SandboxServer
from bulk_enroll.sandbox.rate_shapes import RateRule, Shape
from bulk_enroll.send.rate_memory import recall
from tests.integration.conftest import point_at
from tests.integration.test_sender_resilience import ACTIVE, COURSES, request_file
from tests.support import enrolled_once, sheet_rows

ENROLL_ROUTE = {"soap": "/soap", "rest": "/enrollment"}


@pytest.mark.parametrize("transport", ["soap", "rest"])
def test_a_retry_budget_of_3_under_an_unknown_limit_enrolls_everything(monkeypatch, tmp_path,
                                                                       transport,
                                                                       isolated_state_dir,
                                                                       capsys):
    pairs = [(user.user_id, COURSES[0]) for user in ACTIVE[:30]]  # 30 calls of one pair
    path = request_file(tmp_path / "in.csv", pairs)
    faults = Faults(rate_rule=RateRule(10, 2.0, Shape.SLIDING), latency_s=0.02,
                    paths=(ENROLL_ROUTE[transport],))
    with SandboxServer(faults=faults).start() as server:
        point_at(server, monkeypatch)
        for name, value in {"TRANSPORT": transport, "RETRY_BUDGET": "3", "MAX_ATTEMPTS": "2",
                            "MAX_LEARNERS_PER_CALL": "1"}.items():
            monkeypatch.setenv(f"BULK_ENROLL_{name}", value)
        code = main(["run", str(path), "--report", str(tmp_path / "r.xlsx"),
                     "--summary-json", str(tmp_path / "s.json")])
        refused = server.state.fault_counts().get("rate_limit", 0)
        enrolled = {(learner, course) for learner, course, _ in enrolled_once(server)}
    summary = json.loads((tmp_path / "s.json").read_text())
    assert code == 0, summary["status_counts"]
    assert enrolled == set(pairs)
    console = capsys.readouterr().out
    assert (f"Server rate limit: ~{summary['learned_rate_per_s']:.3g} calls/s; "
            f"{summary['rate_wait_s']:.1f} s waited on it, {refused} 429 answer") in console
    assert refused >= 1 and summary["rate_limited"] == refused  # the limit was really met
    assert summary["retries"] == 0  # and no 429 was counted as a retry
    assert summary["learned_rate_per_s"] == pytest.approx(5, rel=0.3)
    assert summary["rate_wait_s"] > 0
    [account_file] = isolated_state_dir.glob("rate-limit-*.json")
    account = json.loads(account_file.read_text())["account"]
    remembered = recall(isolated_state_dir, account)
    assert remembered is not None and remembered.limit_per_s == pytest.approx(5, rel=0.3)


def test_a_server_that_accepts_nothing_for_the_no_progress_time_stops_cleanly(monkeypatch,
                                                                            tmp_path):
    pairs = [(user.user_id, COURSES[0]) for user in ACTIVE[:6]]
    path = request_file(tmp_path / "in.csv", pairs)
    # One call per hour, no Retry-After: the first call passes, then nothing for 2 s.
    faults = Faults(rate_rule=RateRule(1, 3600.0, Shape.FIXED), retry_after=False,
                    paths=("/soap",))
    with SandboxServer(faults=faults).start() as server:
        point_at(server, monkeypatch)
        for name, value in {"NO_PROGRESS_TIMEOUT": "2", "MAX_LEARNERS_PER_CALL": "1",
                            "CONCURRENCY": "2"}.items():
            monkeypatch.setenv(f"BULK_ENROLL_{name}", value)
        code = main(["run", str(path), "--report", str(tmp_path / "r.xlsx"),
                     "--summary-json", str(tmp_path / "s.json")])
        accepted = len(server.state.calls())
    assert code == 1
    rows = sheet_rows(tmp_path / "r.xlsx")
    assert accepted == 1 and [r["Status"] for r in rows].count("enrolled") == 1
    not_sent = [r for r in rows if r["Status"] == "not_sent"]
    assert len(not_sent) == 5
    assert all("accepted no call for 2 s" in r["Message"] for r in not_sent)
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["status_counts"]["not_sent"] == 5 and summary["rate_limited"] >= 1


def test_the_next_run_starts_near_the_remembered_limit_without_a_burst_of_429s(monkeypatch,
                                                                              tmp_path):
    learners = [user.user_id for user in ACTIVE[:40]]
    first = request_file(tmp_path / "first.csv", [(lr, COURSES[0]) for lr in learners[:20]])
    second = request_file(tmp_path / "second.csv", [(lr, COURSES[1]) for lr in learners[20:]])
    faults = Faults(rate_rule=RateRule(10, 2.0, Shape.SLIDING), latency_s=0.02,
                    paths=("/soap",))
    with SandboxServer(faults=faults).start() as server:
        point_at(server, monkeypatch)
        monkeypatch.setenv("BULK_ENROLL_MAX_LEARNERS_PER_CALL", "1")
        assert main(["run", str(first), "--report", str(tmp_path / "r1.xlsx")]) == 0
        learning = server.state.fault_counts().get("rate_limit", 0)
        time.sleep(2)  # a night later: the window is empty again
        assert main(["run", str(second), "--report", str(tmp_path / "r2.xlsx"),
                     "--summary-json", str(tmp_path / "s2.json")]) == 0
        again = server.state.fault_counts().get("rate_limit", 0) - learning
    assert learning >= 1  # the first run met the limit
    assert again == 0  # the second paced itself from its first call
    summary = json.loads((tmp_path / "s2.json").read_text())
    assert summary["send_seconds"] <= 20 / (5 * 0.8)  # ...at 80% of the limit or better


def test_the_limit_on_every_route_paces_the_lookups_too_without_spending_attempts(monkeypatch,
                                                                                  tmp_path):
    # The account's limit covers its list calls as well: the lookups (and reading the server
    # before sending) meet it first. With one attempt per call, a 429 there once stopped the
    # run before anything was sent; it is pacing, as for the enrollment calls.
    pairs = [(user.user_id, COURSES[0]) for user in ACTIVE[:4]]
    path = request_file(tmp_path / "in.csv", pairs)
    faults = Faults(rate_rule=RateRule(1, 0.5, Shape.FIXED))  # every route, Retry-After 1 s
    with SandboxServer(faults=faults).start() as server:
        point_at(server, monkeypatch)
        for name, value in {"MAX_ATTEMPTS": "1", "RETRY_BUDGET": "1",
                            "MAX_LEARNERS_PER_CALL": "2"}.items():
            monkeypatch.setenv(f"BULK_ENROLL_{name}", value)
        code = main(["run", str(path), "--check-server", "--report", str(tmp_path / "r.xlsx"),
                     "--summary-json", str(tmp_path / "s.json")])
        refused = server.state.fault_counts().get("rate_limit", 0)
        enrolled = {(learner, course) for learner, course, _ in enrolled_once(server)}
    summary = json.loads((tmp_path / "s.json").read_text())
    assert code == 0, summary["status_counts"]
    assert enrolled == set(pairs) and refused >= 2


def test_lookups_held_by_the_limit_past_the_no_progress_time_stop_at_once(monkeypatch,
                                                                          tmp_path):
    pairs = [(user.user_id, COURSES[0]) for user in ACTIVE[:3]]
    path = request_file(tmp_path / "in.csv", pairs)
    # One call per hour on every route: the first lookup passes, the next is told to wait
    # about an hour; the run must not sit silent through it (it once waited 120 s a try).
    faults = Faults(rate_rule=RateRule(1, 3600.0, Shape.FIXED))
    with SandboxServer(faults=faults).start() as server:
        point_at(server, monkeypatch)
        monkeypatch.setenv("BULK_ENROLL_NO_PROGRESS_TIMEOUT", "60")
        began = time.monotonic()
        code = main(["run", str(path), "--report", str(tmp_path / "r.xlsx")])
        took = time.monotonic() - began
        enrollment_calls = len(server.state.calls())
    assert code == 1 and took < 20 and enrollment_calls == 0
    rows = sheet_rows(tmp_path / "r.xlsx")
    assert {r["Status"] for r in rows} == {"not_sent"}
    assert all("429 Too Many Requests" in r["Message"]
               and "BULK_ENROLL_NO_PROGRESS_TIMEOUT" in r["Message"] for r in rows), rows[0]


def test_a_retry_after_of_a_day_stops_the_run_and_is_not_remembered(monkeypatch, tmp_path,
                                                                    isolated_state_dir):
    # One 429 asking to come back tomorrow (maintenance, a proxy): the run stops cleanly. Its
    # estimate (5 calls a day) was never confirmed; remembered, it once held every later
    # night of the account to one call a minute, with no limit left on the server.
    pairs = [(user.user_id, COURSES[0]) for user in ACTIVE[:12]]
    path = request_file(tmp_path / "in.csv", pairs)
    faults = Faults(rate_rule=RateRule(5, 1.0, Shape.SLIDING), retry_after_s=86_400,
                    paths=("/soap",))
    with SandboxServer(faults=faults).start() as server:
        point_at(server, monkeypatch)
        monkeypatch.setenv("BULK_ENROLL_MAX_LEARNERS_PER_CALL", "1")
        code = main(["run", str(path), "--report", str(tmp_path / "r.xlsx")])
    assert code == 1
    rows = sheet_rows(tmp_path / "r.xlsx")
    assert [r["Status"] for r in rows].count("enrolled") == 5
    held = [r for r in rows if r["Status"] == "not_sent"]
    assert len(held) == 7 and "holds the next call for 24 h" in held[0]["Message"], held[0]
    assert list(isolated_state_dir.glob("rate-limit-*.json")) == []
