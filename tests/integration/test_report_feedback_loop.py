"""The report as the next input, against the sandbox over HTTP on 127.0.0.1.

A person runs a file with broken rows, fixes those rows on the report's Needs attention sheet
(here with openpyxl, as Excel would save them) and runs the report itself. Exactly the fixed
rows get enrolled, each pair once; the row left broken is reported again; nothing enrolled by
the first run is sent again.
"""

from __future__ import annotations

import datetime as dt
import shlex
from pathlib import Path

import openpyxl

from bulk_enroll.cli import main
from bulk_enroll.model import DueDateType, DueSettings
from bulk_enroll.read.feedback import NEEDS_ATTENTION_SHEET, REASON_HEADER, ROW_HEADER
from bulk_enroll.sandbox import SandboxServer, default_directory
from bulk_enroll.sandbox.directory import sandbox_id
from tests.support import HEADER, sheet_rows, write_xlsx

DIRECTORY = default_directory()
ACTIVE = [u.user_id for u in DIRECTORY.users if u.is_active]
COURSES = [c.content_id for c in DIRECTORY.courses]
UNKNOWN_LEARNER = sandbox_id("user", "nobody-by-this-id")
COLUMNS = (*HEADER, "Employee name")
PERIOD = DueSettings(DueDateType.DUE_PERIOD, due_period_hours=720)
DATED = DueSettings(DueDateType.DUE_DATE, due_date=dt.date(2027, 5, 1), lock_after_due_date=True)
UNLIMITED = DueSettings(DueDateType.UNLIMITED)


def period_row(learner, course, name):
    return [learner, course, "due_period", None, 720, None, None, name]


def input_file(path: Path) -> Path:
    """Ten good rows, one duplicate, five broken ones (named so the test can find them)."""
    rows: list[list[object]] = [list(COLUMNS)]
    rows += [period_row(ACTIVE[i], COURSES[i % 3], f"good {i}") for i in range(10)]
    rows.append(period_row(ACTIVE[0], COURSES[0], "duplicate of good 0"))
    rows.append(period_row("EMP-00042", COURSES[0], "bad learner id"))
    rows.append(period_row(UNKNOWN_LEARNER, COURSES[1], "unknown learner"))
    rows.append([ACTIVE[12], COURSES[4], "due_date", None, None, True, None, "missing due date"])
    rows.append([ACTIVE[13], COURSES[5], "asap", None, None, None, None, "bad due date type"])
    rows.append(period_row("still-broken", COURSES[2], "left broken"))
    return write_xlsx(path, rows)


def enrolled(server: SandboxServer) -> dict[tuple[str, str], DueSettings]:
    records = server.state.enrollments()
    assert all(r.times_enrolled == 1 for r in records.values()), "a pair was enrolled twice"
    return {pair: record.settings for pair, record in records.items()}


def fix_rows(report: Path) -> None:
    """What the person does in Excel: correct four of the five rows in place, save."""
    book = openpyxl.load_workbook(report)
    sheet = book[NEEDS_ATTENTION_SHEET]
    header = [cell.value for cell in sheet[1]]
    column = {name: header.index(name) + 1 for name in header}
    for number in range(2, sheet.max_row + 1):
        name = sheet.cell(number, column["Employee name"]).value

        def put(field: str, value: object, row: int = number) -> None:
            sheet.cell(row, column[field]).value = value

        if name == "bad learner id":
            put("learner_id", ACTIVE[10])
        elif name == "unknown learner":
            put("learner_id", ACTIVE[11])
        elif name == "missing due date":
            put("due_date", dt.datetime(2027, 5, 1))
        elif name == "bad due date type":
            put("due_date_type", "unlimited")
    book.save(report)


def test_needs_attention_sheet_fed_back_enrolls_exactly_the_fixed_rows(sandbox, tmp_path, capsys):
    source = input_file(tmp_path / "hires.xlsx")
    assert main(["run", str(source), "--report", "first.xlsx"]) == 1
    assert capsys.readouterr().out.endswith(
        "Report: first.xlsx\nTo retry: fix the 5 rows marked invalid or failed on its "
        "'Needs attention' sheet, save it,"
        " and run: bulk-enroll run first.xlsx\n"
    )
    first_enrolled = enrolled(sandbox)
    assert first_enrolled == {(ACTIVE[i], COURSES[i % 3]): PERIOD for i in range(10)}

    attention = sheet_rows(tmp_path / "first.xlsx", NEEDS_ATTENTION_SHEET)
    # the input's columns, the row's number in the input, the reason
    assert list(attention[0]) == [*COLUMNS, ROW_HEADER, REASON_HEADER]
    assert [r["Employee name"] for r in attention] == [
        "bad learner id",
        "unknown learner",
        "missing due date",
        "bad due date type",
        "left broken",
    ]
    # an unknown ID is caught by the lookup before any call (it would fail its batch otherwise)
    assert attention[1][REASON_HEADER].startswith("invalid: learner_id: no user with ID ")
    assert attention[0][REASON_HEADER].startswith("invalid: learner_id: 'EMP-00042' is not an ID")

    fix_rows(tmp_path / "first.xlsx")
    calls_before = len(sandbox.state.calls())
    capsys.readouterr()
    assert main(["run", "first.xlsx", "--report", "second.xlsx"]) == 1  # one row still broken
    assert ("first.xlsx, sheet 'Needs attention', row 6 (input row 17), column 'learner_id': "
            "'still-broken' is not an ID") in capsys.readouterr().out

    fixed = {
        (ACTIVE[10], COURSES[0]): PERIOD,
        (ACTIVE[11], COURSES[1]): PERIOD,
        (ACTIVE[12], COURSES[4]): DATED,
        (ACTIVE[13], COURSES[5]): UNLIMITED,
    }
    assert enrolled(sandbox) == first_enrolled | fixed  # exactly the fixed rows, each once
    new_calls = sandbox.state.calls()[calls_before:]
    sent = {(lr, c) for call in new_calls for lr in call.learner_ids for c in call.course_ids}
    assert sent == set(fixed)  # nothing from the first run was sent again

    left = sheet_rows(tmp_path / "second.xlsx", NEEDS_ATTENTION_SHEET)
    assert [(r["Employee name"], r[ROW_HEADER]) for r in left] == [("left broken", 17)]
    results = sheet_rows(tmp_path / "second.xlsx", "Results")
    assert list(results[0])[: len(COLUMNS)] == list(COLUMNS)  # no reason column carried over
    assert REASON_HEADER not in results[0]
    assert {r["Employee name"]: r["Status"] for r in results} == {
        "bad learner id": "enrolled",
        "unknown learner": "enrolled",
        "missing due date": "enrolled",
        "bad due date type": "enrolled",
        "left broken": "invalid",
    }
    assert [
        r["Employee name"] for r in sheet_rows(tmp_path / "second.xlsx", NEEDS_ATTENTION_SHEET)
    ] == ["left broken"]
    summary = [r for r in openpyxl.load_workbook(tmp_path / "second.xlsx")["Summary"].values]
    facts = {r[0]: r[1] for r in summary if r and r[0]}
    assert (facts["Input file"], facts["Sheet"]) == ("first.xlsx", NEEDS_ATTENTION_SHEET)


def test_a_dry_run_report_fed_back_sends_what_the_dry_run_planned(sandbox, tmp_path):
    source = input_file(tmp_path / "hires.xlsx")
    assert main(["run", "--dry-run", str(source), "--report", "plan.xlsx"]) == 1
    assert sandbox.state.calls() == []
    assert main(["run", "plan.xlsx", "--report", "done.xlsx"]) == 1  # broken rows still broken
    assert enrolled(sandbox) == {(ACTIVE[i], COURSES[i % 3]): PERIOD for i in range(10)}
    statuses = [r["Status"] for r in sheet_rows(tmp_path / "done.xlsx", "Results")]
    # the duplicate settled in the dry run, so it is not in plan.xlsx's Needs attention sheet
    assert statuses == ["enrolled"] * 10 + ["invalid"] * 5  # the unknown ID is caught by lookup


def test_the_printed_retry_command_reads_the_fixed_rows_with_the_first_runs_settings(
    sandbox, tmp_path, capsys
):
    """A German file on its second sheet, read with aliases, day-first dates and a lock for
    every row; a configuration that says month-first. Fixed on the Needs attention sheet and
    fed back with exactly the command the run printed: the fixed rows get the first run's
    settings (5 April, locked), not the configuration's or none."""
    users = [u for u in DIRECTORY.users if u.is_active][:5]
    fire = next(c for c in DIRECTORY.courses if c.title == "Fire Safety")
    book = openpyxl.Workbook()
    book.active.title = "Old export"
    book.active.append(["Email", "Course"])  # a recognisable header: --sheet is needed
    book.active.append([users[4].email, fire.title])
    staff = book.create_sheet("Staff")
    staff.append(["Mitarbeiter E-Mail", "Schulung", "Fällig am", "Notiz"])
    staff.append([users[0].email, fire.title, "03/04/2027", "ok"])
    staff.append([users[1].email, fire.title, "03/04/2027", "ok"])
    staff.append(["anna.typo@example.com", fire.title, "03/04/2027", "wrong email"])
    staff.append([users[3].email, fire.title, "31/02/2027", "no such date"])
    book.save(tmp_path / "schulung.xlsx")
    config = tmp_path / "my config.toml"
    config.write_text('[input]\ndate_order = "mdy"\n')

    first = ["--config", str(config), "run", str(tmp_path / "schulung.xlsx"),
             "--sheet", "Staff", "--date-order", "dmy", "--lock-after-due-date", "true",
             "--alias", "Mitarbeiter E-Mail=learner_email", "--alias", "Schulung=course_title",
             "--alias", "Fällig am=due_date", "--report", "first run.xlsx"]
    assert main(first) == 1
    april_3 = DueSettings(DueDateType.DUE_DATE, due_date=dt.date(2027, 4, 3),
                          lock_after_due_date=True)
    assert enrolled(sandbox) == {(users[0].user_id, fire.content_id): april_3,
                                 (users[1].user_id, fire.content_id): april_3}
    out = capsys.readouterr().out
    retry = out.split("and run: ", 1)[1].strip()
    assert retry == f"bulk-enroll --config '{config}' run 'first run.xlsx'"

    book = openpyxl.load_workbook(tmp_path / "first run.xlsx")
    summary = [row[:2] for row in book["Summary"].iter_rows(values_only=True) if row and row[0]]
    settings = dict(summary[[name for name, _ in summary].index("Run settings") + 1:])
    assert settings == {
        "Sheet option": "Staff",
        "Date order": "dmy",
        "Aliases": "'Mitarbeiter E-Mail' -> learner_email; 'Schulung' -> course_title; "
                   "'Fällig am' -> due_date",
        "Row defaults": "--lock-after-due-date true",
        "Hidden rows": "not sent",
        "Conflicting rows": "invalid",
        "This workbook remembers these settings: run it (bulk-enroll run WORKBOOK) and its "
        "'Needs attention' rows are read with them; options given then win.": None,
    }
    sheet = book[NEEDS_ATTENTION_SHEET]
    header = [cell.value for cell in sheet[1]]
    assert header == ["Mitarbeiter E-Mail", "Schulung", "Fällig am", "Notiz",
                      "Input row (bulk-enroll)", REASON_HEADER]
    assert [(r[3], r[4]) for r in sheet.iter_rows(min_row=2, values_only=True)] == [
        ("wrong email", 4), ("no such date", 5)]
    sheet["A2"] = users[2].email
    sheet["C3"] = "05/04/2027"
    book.save(tmp_path / "first run.xlsx")

    argv = shlex.split(retry)
    assert argv[0] == "bulk-enroll"
    assert main(argv[1:]) == 0
    april_5 = DueSettings(DueDateType.DUE_DATE, due_date=dt.date(2027, 4, 5),
                          lock_after_due_date=True)
    assert enrolled(sandbox) == {(users[0].user_id, fire.content_id): april_3,
                                 (users[1].user_id, fire.content_id): april_3,
                                 (users[2].user_id, fire.content_id): april_3,
                                 (users[3].user_id, fire.content_id): april_5}
    assert "read with the settings this report remembers from its run" in capsys.readouterr().err


def test_a_report_dropped_into_the_inbox_is_read_with_its_runs_settings(
    sandbox, tmp_path, monkeypatch
):
    users = [u for u in DIRECTORY.users if u.is_active][:2]
    gdpr = next(c for c in DIRECTORY.courses if c.title == "GDPR Essentials")
    (tmp_path / "hr.csv").write_text(
        f"Mail,Training,Deadline\n{users[0].email},{gdpr.title},03/04/2027\n"
        f"nobody@example.com,{gdpr.title},03/04/2027\n", encoding="utf-8")
    assert main(["run", str(tmp_path / "hr.csv"), "--alias", "Mail=learner_email",
                 "--date-order", "mdy", "--report", "hr-report.xlsx"]) == 1
    book = openpyxl.load_workbook(tmp_path / "hr-report.xlsx")
    book[NEEDS_ATTENTION_SHEET]["A2"] = users[1].email
    inbox = tmp_path / "drop"
    inbox.mkdir()
    book.save(inbox / "hr-report.xlsx")
    monkeypatch.setenv("BULK_ENROLL_INBOX_STABLE_SECONDS", "0")
    assert main(["inbox", str(inbox)]) == 0
    march_4 = DueSettings(DueDateType.DUE_DATE, due_date=dt.date(2027, 3, 4))
    assert enrolled(sandbox) == {(users[0].user_id, gdpr.content_id): march_4,
                                 (users[1].user_id, gdpr.content_id): march_4}
