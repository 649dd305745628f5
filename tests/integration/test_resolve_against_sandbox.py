"""Emails, logins and titles resolved through the sandbox's REST API, end to end over HTTP.

Expected enrollments are built from the seeded directory by construction (which user, which
course), never derived with the code under test.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pytest

from bulk_enroll.cli import main
from bulk_enroll.model import DueDateType, DueSettings
from bulk_enroll.resolve.lookups import References, fetch_lookups
from bulk_enroll.sandbox import SandboxServer, default_directory
from bulk_enroll.sandbox.directory import sandbox_id
from bulk_enroll.sandbox.state import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from bulk_enroll.transport.auth import StaticToken
from bulk_enroll.transport.http import make_session
from bulk_enroll.transport.lookup_client import (
    DEFAULT_MAX_QUERY_CHARS,
    RestClient,
    chunk_by_query_size,
)
from tests.support import enrolled_once, sheet_rows, write_csv, write_xlsx

DIRECTORY = default_directory()
USERS = DIRECTORY.users
ACTIVE = [u for u in USERS if u.is_active]
INACTIVE = next(u for u in USERS if u.status == "inactive")
TERMINATED = next(u for u in USERS if u.status == "terminated")
CAPITALISED = next(u for u in USERS if u.email != u.email.lower() and u.is_active)
BY_TITLE = {c.title: c for c in DIRECTORY.courses}
FIRE = BY_TITLE["Fire Safety"]
GDPR = BY_TITLE["GDPR Essentials"]
EXCEL = BY_TITLE["Excel for Business"]
DUPLICATED = [c for c in DIRECTORY.courses if c.title == "Product Knowledge: Core Platform"]
UNKNOWN_ID = sandbox_id("user", "nobody-by-this-id")
UNKNOWN_COURSE = sandbox_id("course", "no-such-course")
HEADER = ["learner_id", "learner_email", "learner_login", "course_id", "course_title",
          "due_date_type", "due_date", "access_date", "lock_after_due_date", "Note"]
DATED = DueSettings(
    DueDateType.DUE_DATE,
    access_date=dt.datetime(2027, 1, 4),
    due_date=dt.date(2027, 3, 31),
    lock_after_due_date=True,
)
TIMED = DueSettings(DueDateType.UNLIMITED, access_date=dt.datetime(2027, 2, 1, 9, 30))
UNLIMITED = DueSettings(DueDateType.UNLIMITED)


def env(monkeypatch, server: SandboxServer, transport: str = "soap") -> None:
    monkeypatch.setenv("BULK_ENROLL_SOAP_URL", server.soap_url)
    monkeypatch.setenv("BULK_ENROLL_API_URL", server.api_url)
    monkeypatch.setenv("BULK_ENROLL_CLIENT_ID", SANDBOX_CLIENT_ID)
    monkeypatch.setenv("BULK_ENROLL_CLIENT_SECRET", SANDBOX_CLIENT_SECRET)
    monkeypatch.setenv("BULK_ENROLL_TRANSPORT", transport)
    for name in ("TOKEN", "LOOKUP_CACHE", "PAGE_SIZE"):
        monkeypatch.delenv(f"BULK_ENROLL_{name}", raising=False)


@pytest.fixture
def sandbox(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with SandboxServer().start() as server:
        env(monkeypatch, server)
        yield server


def mixed_file(path: Path) -> tuple[Path, set[tuple[str, str, DueSettings]], list[tuple[str, str]]]:
    """A file naming people and courses every way, with every kind of problem.

    Returns the path, the enrollments expected on the server, and per row (status, message
    fragment)."""
    rows: list[list[object]] = [HEADER]
    expected: set[tuple[str, str, DueSettings]] = set()
    outcomes: list[tuple[str, str]] = []

    def add(learner=("", "", ""), course=("", ""), settings=UNLIMITED, status="enrolled",
            message="", enrolls=None):  # type: ignore[no-untyped-def]
        cells = {
            DueDateType.UNLIMITED: ["unlimited", None],
            DueDateType.DUE_DATE: ["due_date", settings.due_date],
        }[settings.due_date_type]
        access = settings.access_date
        lock = settings.lock_after_due_date
        rows.append([*learner, *course, *cells, access, "" if lock is None else lock,
                     f"row {len(rows) + 1}"])
        outcomes.append((status, message))
        if enrolls:
            expected.add((*enrolls, settings))

    a, b, c, d, e = ACTIVE[3], ACTIVE[4], ACTIVE[5], ACTIVE[6], ACTIVE[7]
    add((a.user_id, "", ""), (FIRE.content_id, ""), enrolls=(a.user_id, FIRE.content_id))
    add(("", b.email, ""), ("", "GDPR Essentials"), DATED, enrolls=(b.user_id, GDPR.content_id))
    add(("", b.email.upper(), ""), ("", "  fire SAFETY "), enrolls=(b.user_id, FIRE.content_id))
    add(("", CAPITALISED.email.lower(), ""), ("", "Excel for Business"), TIMED,
        enrolls=(CAPITALISED.user_id, EXCEL.content_id))
    add(("", "", c.login), ("", "Fire Safety"), enrolls=(c.user_id, FIRE.content_id))
    add(("", "", d.login.upper()), (GDPR.content_id, ""), enrolls=(d.user_id, GDPR.content_id))
    # The same enrollment as row 3, named differently: a duplicate once resolved.
    add(("", "", b.login), (FIRE.content_id, ""), status="duplicate", message="same as row 4")
    add(("", "nobody@example.com", ""), ("", "Fire Safety"), status="invalid",
        message="learner_email: no user with email 'nobody@example.com'")
    add(("", INACTIVE.email, ""), ("", "Fire Safety"), status="invalid",
        message=f"({INACTIVE.full_name}, {INACTIVE.user_id}) is inactive (deactivated in the "
                "LMS) and cannot be enrolled")
    add(("", "", TERMINATED.login), ("", "Fire Safety"), status="invalid",
        message="has left the company (employment ended in the LMS)")
    add(("", "", "ghost.user"), ("", "Fire Safety"), status="invalid",
        message="learner_login: no user with login 'ghost.user'")
    add(("", e.email, ""), ("", "product knowledge: core platform"), status="invalid",
        message=f"2 courses are titled 'product knowledge: core platform' "
        f"({DUPLICATED[0].content_id}, {DUPLICATED[1].content_id})")
    add(("", e.email, ""), ("", "Fire Safty"), status="invalid",
        message="course_title: no course titled 'Fire Safty'; "
        "did you mean 'Fire Safety' or 'Warehouse Safety'?")
    add((UNKNOWN_ID, "", ""), ("", "Fire Safety"), status="invalid",
        message=f"learner_id: no user with ID '{UNKNOWN_ID}'")
    add(("", e.email, ""), (UNKNOWN_COURSE, ""), status="invalid",
        message=f"course_id: no course with ID '{UNKNOWN_COURSE}'")
    add(("", "e@@mail", ""), ("", "Fire Safety"), status="invalid",
        message="'e@@mail' is not an email address")
    # An inactive user given by ID exists, but their status is looked up too.
    add((INACTIVE.user_id, "", ""), ("", "GDPR Essentials"), status="invalid",
        message=f"learner_id: the user with ID '{INACTIVE.user_id}' ({INACTIVE.full_name}) is "
                "inactive")
    return write_xlsx(path, rows), expected, outcomes


def test_a_mixed_file_enrolls_exactly_the_resolvable_rows_and_says_why_not_the_others(
    sandbox, tmp_path
):
    path, expected, outcomes = mixed_file(tmp_path / "mixed.xlsx")
    assert main(["run", str(path), "--report", "out.xlsx", "--summary-json", "s.json"]) == 1
    assert enrolled_once(sandbox) == expected
    rows = sheet_rows(tmp_path / "out.xlsx")
    assert [r["Status"] for r in rows] == [status for status, _ in outcomes]
    for row, (_, message) in zip(rows, outcomes, strict=True):
        assert message in (row["Message"] or ""), (row["Note"], row["Message"])
    # The resolved IDs stand next to the values as written.
    by_note = {r["Note"]: r for r in rows}
    assert by_note["row 4"]["Learner ID (resolved)"] == ACTIVE[4].user_id
    assert by_note["row 4"]["Course ID (resolved)"] == FIRE.content_id
    assert by_note["row 9"]["Learner ID (resolved)"] in (None, "")  # invalid: nothing resolved
    # One batched lookup per kind, not one call per row.
    calls = [(r.method, r.path) for r in sandbox.state.requests() if r.path != "/soap"]
    # emails, logins, then the status of the learners named by ID
    assert calls.count(("GET", "/users/v2")) == 3
    assert calls.count(("POST", "/users/find_existing")) == 1
    assert calls.count(("GET", "/contents")) == 1
    summary = json.loads(Path("s.json").read_text())
    assert summary["lookup_calls"] == 5
    assert summary["isolation_calls"] == 0  # nothing the lookups could catch reached the server


def test_the_same_file_through_soap_and_rest_enrolls_the_same(monkeypatch, tmp_path):
    path, expected, outcomes = mixed_file(tmp_path / "mixed.xlsx")
    monkeypatch.chdir(tmp_path)
    results: dict[str, tuple[set[tuple[str, str, DueSettings]], list[object]]] = {}
    for transport in ("soap", "rest"):
        with SandboxServer().start() as server:
            env(monkeypatch, server, transport)
            # Two sandboxes share their seeded IDs; real accounts never share UUIDs, so the
            # journal takes a pair confirmed anywhere as done: give each sandbox its own.
            monkeypatch.setenv("BULK_ENROLL_STATE_DIR", str(tmp_path / f"state-{transport}"))
            report = f"{transport}.xlsx"
            assert main(["run", str(path), "--report", report]) == 1
            enrolled = enrolled_once(server)
            paths = {r.path for r in server.state.requests()}
            assert ("/enrollment" in paths, "/soap" in paths) == (
                transport == "rest", transport == "soap"
            )
            results[transport] = (enrolled, [r["Status"] for r in sheet_rows(Path(report))])
    assert results["soap"] == results["rest"]
    assert results["rest"][0] == expected
    assert results["rest"][1] == [status for status, _ in outcomes]


def test_resolving_5000_emails_takes_calls_in_proportion_to_the_page_size(sandbox):
    emails = [u.email.lower() for u in USERS[:5000]]
    refs = References(emails=frozenset(emails))
    for page_size in (100, 250):
        before = len(sandbox.state.requests("/users/v2"))
        client = RestClient(
            sandbox.api_url,
            session=make_session("test"),
            tokens=StaticToken(_token(sandbox)),
            page_size=page_size,
            max_query_chars=1_000_000,  # only the page size limits a batch here
        )
        lookups = fetch_lookups(refs, client)
        calls = len(sandbox.state.requests("/users/v2")) - before
        assert calls == math.ceil(5000 / page_size)
        assert {users[0].user_id for users in lookups.users_by_email.values()} == {
            u.user_id for u in USERS[:5000]
        }


def test_a_5000_row_file_of_emails_is_resolved_in_a_few_dozen_calls(sandbox, tmp_path):
    rows = [["learner_email", "course_title", "due_date_type"]] + [
        [u.email, "Warehouse Safety", "unlimited"] for u in USERS[:5000]
    ]
    path = write_csv(tmp_path / "big.csv", rows)
    assert main(["run", "--dry-run", str(path), "--report", "out.xlsx", "--summary-json",
                 "s.json"]) == 1  # inactive and terminated people are invalid
    calls = len(sandbox.state.requests("/users/v2"))
    # Batches are bounded by URL length (and the page size): a few dozen calls, not 5,000.
    chunks = list(chunk_by_query_size("emails[]", sorted({e.lower() for e, *_ in rows[1:]}),
                                      DEFAULT_MAX_QUERY_CHARS, 1000))
    assert calls == len(chunks) <= 50
    summary = json.loads(Path("s.json").read_text())
    inactive = sum(not u.is_active for u in USERS[:5000])
    assert summary["status_counts"]["invalid"] == inactive
    assert summary["status_counts"]["not_sent"] == 5000 - inactive  # a dry run sends nothing
    assert sandbox.state.calls() == []


def test_a_file_repeating_a_few_people_asks_once(sandbox, tmp_path):
    people = ACTIVE[:3]
    rows = [["learner_email", "course_id", "due_date_type"]] + [
        [people[i % 3].email, c.content_id, "unlimited"] for i, c in enumerate(DIRECTORY.courses)
        if c not in DUPLICATED
    ]
    path = write_csv(tmp_path / "few.csv", rows)
    assert main(["run", str(path), "--report", "out.xlsx"]) == 0
    assert len(sandbox.state.requests("/users/v2")) == 1


def test_check_server_marks_pairs_that_already_exist_and_does_not_send_them(sandbox, tmp_path):
    learners = ACTIVE[10:14]
    token = _token(sandbox)
    default = {"dueDateType": "default"}
    sandbox.state.enroll(token, [learners[0].user_id], [FIRE.content_id], default)
    titles = ("Fire Safety", "GDPR Essentials")
    rows = [["learner_email", "course_title", "due_date_type"]] + [
        [u.email, title, "unlimited"] for u in learners for title in titles
    ]
    path = write_csv(tmp_path / "again.csv", rows)
    assert main(["run", "--check-server", str(path), "--report", "out.xlsx"]) == 0
    results = sheet_rows(tmp_path / "out.xlsx")
    assert [r["Status"] for r in results] == ["already_enrolled"] + ["enrolled"] * 7
    assert results[0]["Message"] == "already enrolled on the server; not sent again"
    record = sandbox.state.enrollments()[(learners[0].user_id, FIRE.content_id)]
    assert record.times_enrolled == 1 and record.settings.due_date_type is DueDateType.DEFAULT
    assert len(sandbox.state.requests("/enrollments")) == 1
    # Without the option the pair is sent again (the journal issue guards reruns otherwise).
    assert main(["run", str(path), "--report", "out2.xlsx"]) == 0
    assert sandbox.state.enrollments()[(learners[0].user_id, FIRE.content_id)].times_enrolled == 2


def test_the_lookup_cache_saves_calls_on_the_next_run(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("BULK_ENROLL_LOOKUP_CACHE", str(tmp_path / "cache" / "lookups.json"))

    def dry_run(path: Path, name: str) -> dict[str, object]:
        args = ["run", "--dry-run", str(path), "--report", f"{name}.xlsx"]
        main([*args, "--summary-json", f"{name}.json"])
        return json.loads(Path(f"{name}.json").read_text())

    clean = write_csv(tmp_path / "clean.csv", [["email", "login", "course_title", "due_date_type"],
                      [ACTIVE[0].email, "", "Fire Safety", "unlimited"],
                      ["", ACTIVE[1].login, "GDPR Essentials", "unlimited"]])
    assert dry_run(clean, "c1")["lookup_calls"] == 3
    assert dry_run(clean, "c2")["lookup_calls"] == 0  # everything known from the cache
    # Misses are never cached: unknown people, IDs and titles are asked again (they may have
    # been added since), and the answers are the same as without a cache.
    mixed, _, _ = mixed_file(tmp_path / "mixed.xlsx")
    first, second = dry_run(mixed, "m1"), dry_run(mixed, "m2")
    assert (first["lookup_calls"], second["lookup_calls"]) == (5, 4)  # statuses were cached
    assert first["status_counts"] == second["status_counts"]
    assert [r["Message"] for r in sheet_rows(Path("m1.xlsx"))] == [
        r["Message"] for r in sheet_rows(Path("m2.xlsx"))
    ]
    assert oct((tmp_path / "cache" / "lookups.json").stat().st_mode & 0o777) == "0o600"


def test_a_refused_token_during_lookups_is_a_configuration_error_before_sending(
    sandbox, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("BULK_ENROLL_TOKEN", "not-a-real-token")
    path, _, _ = mixed_file(tmp_path / "mixed.xlsx")
    assert main(["run", str(path), "--report", "out.xlsx"]) == 2  # exit 2: nothing sent
    out = capsys.readouterr()
    assert "Traceback" not in out.err + out.out and "not-a-real-token" not in out.err + out.out
    assert out.err.startswith("Error: the server refused BULK_ENROLL_TOKEN")
    assert sandbox.state.calls() == [] and sandbox.state.enrollments() == {}
    # A dry run whose lookups failed cannot call the file clean either.
    assert main(["run", "--dry-run", str(path), "--report", "dry.xlsx"]) == 2


def test_names_without_an_api_url_are_a_configuration_error(soap_only_sandbox, tmp_path,
                                                             capsys):
    path = write_csv(tmp_path / "n.csv", [["email", "course_title", "due_date_type"],
                                          [ACTIVE[0].email, "Fire Safety", "unlimited"]])
    assert main(["run", str(path)]) == 2
    assert "the file names emails and course titles" in capsys.readouterr().err
    assert soap_only_sandbox.state.calls() == []


def test_a_dry_run_without_an_account_reports_names_as_not_looked_up(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ("SOAP_URL", "API_URL", "CLIENT_ID", "CLIENT_SECRET", "TOKEN", "TRANSPORT"):
        monkeypatch.delenv(f"BULK_ENROLL_{name}", raising=False)
    path = write_csv(tmp_path / "n.csv", [["email", "course_title", "due_date_type"],
                                          [ACTIVE[0].email, "Fire Safety", "unlimited"]])
    assert main(["run", "--dry-run", str(path), "--report", "out.xlsx"]) == 0
    [row] = sheet_rows(tmp_path / "out.xlsx")
    assert row["Status"] == "not_sent"
    assert row["Message"] == (
        "not looked up: a dry run without an account cannot turn emails and course titles "
        "into IDs"
    )


def test_rest_transport_with_the_built_in_sandbox(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ("SOAP_URL", "API_URL", "CLIENT_ID", "CLIENT_SECRET", "TOKEN"):
        monkeypatch.delenv(f"BULK_ENROLL_{name}", raising=False)
    monkeypatch.setenv("BULK_ENROLL_TRANSPORT", "rest")
    path = write_csv(tmp_path / "n.csv", [["email", "course_title", "due_date_type"],
                                          [ACTIVE[0].email, "Fire Safety", "unlimited"]])
    assert main(["run", "--sandbox", str(path), "--summary-json", "s.json"]) == 0
    assert json.loads(Path("s.json").read_text())["status_counts"]["enrolled"] == 1


def _token(server: SandboxServer) -> str:
    server.state.add_static_token("test-static-token")
    return "test-static-token"


def test_a_row_with_a_file_problem_also_reports_its_lookup_problem(sandbox, tmp_path):
    path = write_csv(tmp_path / "two.csv", [
        ["email", "course_title", "due_date_type", "lock_after_due_date"],
        ["nobody@example.com", "Fire Safety", "unlimited", "maybe"],
    ])
    assert main(["run", "--dry-run", str(path), "--report", "two.xlsx"]) == 1
    [row] = sheet_rows(tmp_path / "two.xlsx")
    assert row["Status"] == "invalid"
    assert "'maybe' is not true or false" in row["Message"]
    assert "no user with email 'nobody@example.com'" in row["Message"]  # found in the same pass
