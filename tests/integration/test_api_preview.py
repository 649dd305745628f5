"""`bulk_enroll.preview` and the API a front end uses, against a sandbox over real HTTP: the
journal's settled pairs, the server's, the send lock, corrected cells and chosen rows, a
file's outline. The sample file's problems are known from its generator (row 19 'asap', row 61
no due date, row 80 'EMP-00123', row 114 '-5', row 151 an unknown learner)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import bulk_enroll
from bulk_enroll.api import load_setup, outline, recognise, send_lock_holder
from bulk_enroll.sandbox import SandboxServer
from bulk_enroll.send.lock import InstanceLock
from tests.integration.test_api import account_of
from tests.support import forget_account

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "new_hires_onboarding.xlsx"


@pytest.fixture
def server() -> SandboxServer:
    with SandboxServer().start() as started:
        yield started


def test_preview_counts_what_a_run_would_send_and_what_is_settled(
        server: SandboxServer, tmp_path: Path) -> None:
    account = account_of(server)
    options = {"account": account, "state_dir": tmp_path / "state", "check_server": True}
    first = bulk_enroll.preview(SAMPLE, report=tmp_path / "p1.xlsx", **options)
    assert first.preview == bulk_enroll.SendPreview(new_pairs=145, learners=36, courses=7,
                                                    calls=6)
    assert first.counts["not_sent"] == 145 and first.counts["invalid"] == 5
    assert first.exit_status == 1  # a dry run with invalid rows
    sent = bulk_enroll.enroll(SAMPLE, report=tmp_path / "r.xlsx", rows=[2, 3, 4, 5], **options)
    assert sent.counts["enrolled"] == 4
    again = bulk_enroll.preview(SAMPLE, report=tmp_path / "p2.xlsx", **options)
    assert again.preview is not None  # the server is asked first, as a live run does
    assert (again.preview.on_server, again.preview.in_journal) == (4, 0)
    assert again.preview.new_pairs == 141 and again.counts["already_enrolled"] == 4
    journal = bulk_enroll.preview(SAMPLE, report=tmp_path / "p3.xlsx",
                                  **{**options, "check_server": False})
    assert journal.preview is not None  # without the server: the journal knows them
    assert (journal.preview.on_server, journal.preview.in_journal) == (0, 4)
    assert journal.preview.new_pairs == 141 and journal.preview.calls >= 6
    assert journal.counts["already_enrolled"] == 4


def test_preview_says_when_another_run_holds_the_journal(server: SandboxServer,
                                                         tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    assert send_lock_holder(state) is None
    with InstanceLock(state / "send.lock", "run using this journal"):
        result = bulk_enroll.preview(SAMPLE, account=account_of(server), state_dir=state,
                                     report=tmp_path / "p.xlsx")
        assert result.preview is not None and result.preview.locked_by is not None
        assert "another bulk-enroll run using this journal is running" in \
            result.preview.locked_by
        assert send_lock_holder(state) == result.preview.locked_by
    assert send_lock_holder(state) is None


def test_edits_and_rows_correct_and_choose_rows_before_validation(
        server: SandboxServer, tmp_path: Path) -> None:
    result = bulk_enroll.preview(
        SAMPLE, account=account_of(server), state_dir=tmp_path, report=tmp_path / "p.xlsx",
        edits={(19, "due_date_type"): "due_period", (61, "due_date"): "2027-02-30"},
        rows=[19, 61])
    by_row = {outcome.row: outcome for outcome in result.outcomes()}
    assert set(by_row) == {19, 61}
    assert by_row[19].status == "not_sent" and by_row[19].values["due_date_type"] == "due_period"
    assert by_row[61].status == "invalid" and "'2027-02-30' is not a date" in by_row[61].message
    with pytest.raises(bulk_enroll.ConfigError, match="edits="):
        bulk_enroll.validate(SAMPLE, edits={19: "x"})  # type: ignore[dict-item]
    with pytest.raises(bulk_enroll.ConfigError, match="rows="):
        bulk_enroll.validate(SAMPLE, rows="19")  # type: ignore[arg-type]


def test_outline_shows_the_first_rows_of_a_file_without_a_known_header(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["HR export 2027"], [], ["Mitarbeiter", "Schulung"],
                                      ["a@example.com", "Fire Safety"]])
    shown = outline(path)
    assert shown.rows == ((1, ("HR export 2027", "")), (3, ("Mitarbeiter", "Schulung")),
                          (4, ("a@example.com", "Fire Safety")))
    assert shown.header_row is None and shown.sheets == ()
    mapped = {"Mitarbeiter": "learner_email", "Schulung": "course_title"}
    assert outline(path, aliases=mapped).header_row == 3
    assert recognise(["Mitarbeiter", "Work email", "Course"]) == {
        "Mitarbeiter": None, "Work email": "learner_email", "Course": "course_title"}
    workbook = outline(SAMPLE, max_rows=2)
    assert workbook.sheets == ("Enrollments",) and workbook.header_row == 1


def test_load_setup_without_an_account_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    forget_account(monkeypatch)
    monkeypatch.setenv("BULK_ENROLL_MAX_FILE_MB", "5")
    setup = load_setup()
    assert setup.account is None and setup.account_problem is not None
    assert "No LMS account is configured" in setup.account_problem
    assert setup.max_file_bytes == 5 * 1024 * 1024
    assert "files up to 5 MB" in setup.limits
