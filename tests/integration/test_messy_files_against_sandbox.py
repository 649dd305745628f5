"""Messy HR files through `bulk-enroll run` against the sandbox over HTTP: what is enrolled is
exactly what the sheet says, and every row's status and message, the Summary sheet and the
printed summary say why (issue 11, the reader's classes).

Expected enrollments are built from the seeded directory by construction (which user, which
course), never derived with the code under test.
"""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl

from bulk_enroll.cli import main
from bulk_enroll.model import DueDateType, DueSettings
from bulk_enroll.read.feedback import NEEDS_ATTENTION_SHEET
from bulk_enroll.sandbox import default_directory
from bulk_enroll.sandbox.directory import Course
from bulk_enroll.validate.rows import HIDDEN_ROW
from tests.inputs import write_filtered_workbook, write_text
from tests.support import enrolled_once, forget_account, sheet_rows

DIRECTORY = default_directory()
ACTIVE = [u for u in DIRECTORY.users if u.is_active]
FIRE = next(c for c in DIRECTORY.courses if c.title == "Fire Safety")
GDPR = next(c for c in DIRECTORY.courses if c.title == "GDPR Essentials")
UNLIMITED = DueSettings(DueDateType.UNLIMITED)


def summary_facts(report: Path) -> dict[str, object]:
    """The Summary sheet's two-column facts (label -> value)."""
    sheet = openpyxl.load_workbook(report)["Summary"]
    return {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row and row[0]}


def filtered_sheet(path: Path, course: Course = FIRE) -> tuple[Path, set[int]]:
    """HR's export filtered to Sales (autofilter) with one more row hidden by hand."""
    departments = ["Sales", "HR", "Sales", "HR", "Sales", "Sales"]
    rows = [[user.first_name, user.email, department, course.title, "unlimited"]
            for user, department in zip(ACTIVE, departments, strict=False)]
    hidden = write_filtered_workbook(path, ["Name", "Email", "Department", "Course",
                                            "Due date type"], rows, filter_column=2,
                                     shown="Sales", hidden_by_hand=[6])
    assert hidden == {3, 5, 6}  # HR rows (filtered out) and row 6, hidden by hand
    return path, hidden


def test_a_filtered_sheet_enrolls_what_it_shows_and_says_what_it_left_out(
    sandbox, tmp_path, capsys
):
    path, hidden = filtered_sheet(tmp_path / "sales.xlsx")
    assert main(["run", str(path), "--report", "first.xlsx"]) == 0
    shown = [ACTIVE[i] for i in range(6) if i + 2 not in hidden]
    assert enrolled_once(sandbox) == {(u.user_id, FIRE.content_id, UNLIMITED) for u in shown}

    results = sheet_rows(tmp_path / "first.xlsx")
    assert [(r["Status"], r["Message"]) for r in results] == [
        ("not_sent", HIDDEN_ROW) if row in hidden else ("enrolled", None)
        for row in range(2, 8)
    ]
    assert sheet_rows(tmp_path / "first.xlsx", NEEDS_ATTENTION_SHEET) == []
    facts = summary_facts(tmp_path / "first.xlsx")
    assert facts["Hidden rows not sent"] == 3
    assert facts["Columns used"] == (
        "B 'Email' -> learner_email, D 'Course' -> course_title, "
        "E 'Due date type' -> due_date_type"
    )
    out = capsys.readouterr().out
    assert out.startswith("sales.xlsx: 6 rows: 3 enrolled, 3 not_sent.\n")
    assert (
        "3 rows hidden in the sheet (by hand or by a filter) were not sent; "
        "--include-hidden-rows sends them.\n"
    ) in out
    assert "not enrolled" not in out and "To retry" not in out  # nothing needs doing

    assert main(["run", str(path), "--include-hidden-rows", "--report", "second.xlsx"]) == 0
    assert enrolled_once(sandbox) == {(u.user_id, FIRE.content_id, UNLIMITED) for u in ACTIVE[:6]}
    statuses = [r["Status"] for r in sheet_rows(tmp_path / "second.xlsx")]
    assert statuses == ["enrolled" if row in hidden else "already_enrolled"
                        for row in range(2, 8)]  # fmt: skip


def test_hidden_rows_from_the_configuration_and_in_the_inbox(sandbox, tmp_path, monkeypatch):
    """A nightly file with hidden rows is processed (not left in the inbox as if cut short),
    and `[input] include_hidden_rows` sends them."""
    inbox = tmp_path / "drop"
    inbox.mkdir()
    filtered_sheet(inbox / "sales.xlsx")
    monkeypatch.setenv("BULK_ENROLL_INBOX_STABLE_SECONDS", "0")
    assert main(["inbox", str(inbox)]) == 0
    assert [p.name for p in (inbox / "archive" / "processed").glob("*/*")] == ["sales.xlsx"]
    assert len(enrolled_once(sandbox)) == 3

    filtered_sheet(inbox / "sales-gdpr.xlsx", GDPR)
    monkeypatch.setenv("BULK_ENROLL_INCLUDE_HIDDEN_ROWS", "true")
    assert main(["inbox", str(inbox)]) == 0
    assert {pair for pair in enrolled_once(sandbox) if pair[1] == GDPR.content_id} == {
        (u.user_id, GDPR.content_id, UNLIMITED) for u in ACTIVE[:6]
    }


def test_an_unquoted_decimal_comma_is_not_enrolled_with_a_shifted_period(sandbox, tmp_path):
    """`2,5` days in a comma file: before, the row went out with a due period of 2 hours."""
    path = tmp_path / "periods.csv"
    path.write_text(
        "learner_email,course_title,due_date_type,due_period\r\n"
        f"{ACTIVE[0].email},{GDPR.title},due_period,48\r\n"
        f"{ACTIVE[1].email},{GDPR.title},due_period,2,5 days\r\n"
        f"{ACTIVE[2].email},{GDPR.title},due_period,\"2,5 days\"\r\n",
        encoding="utf-8",
    )
    assert main(["run", str(path), "--report", "out.xlsx"]) == 1
    assert enrolled_once(sandbox) == {
        (ACTIVE[0].user_id, GDPR.content_id,
         DueSettings(DueDateType.DUE_PERIOD, due_period_hours=48)),
        (ACTIVE[2].user_id, GDPR.content_id,  # quoted, "2,5 days" is one value: 60 hours
         DueSettings(DueDateType.DUE_PERIOD, due_period_hours=60)),
    }  # fmt: skip
    results = sheet_rows(tmp_path / "out.xlsx")
    assert [r["Status"] for r in results] == ["enrolled", "invalid", "enrolled"]
    assert results[1]["Message"] == (
        "row has 5 values but the header has 4 columns: a value may contain an unquoted "
        "separator, e.g. 1,5; put quotes around it, or give the extra column a header"
    )
    assert results[1]["Column E"] == "5 days"


def test_an_hr_export_with_names_a_hire_date_and_a_footer_runs_clean(sandbox, tmp_path, capsys):
    path = write_text(
        tmp_path / "workday.csv",
        [
            ["Employee", "Email", "Course", "Start date", "Due date type"],
            *([f"{u.first_name} {u.last_name}", u.email, GDPR.title, "2019-05-01", "unlimited"]
              for u in ACTIVE[:2]),
            [],
            ["Total: 2"],
        ],
    )  # fmt: skip
    assert main(["run", str(path), "--report", "out.xlsx"]) == 0
    assert enrolled_once(sandbox) == {  # by email, and no access date from the hire date
        (u.user_id, GDPR.content_id, UNLIMITED) for u in ACTIVE[:2]
    }
    out = capsys.readouterr().out
    assert out.startswith("workday.csv: 2 rows: 2 enrolled.\n1 call planned, 1 API call made")
    assert "Columns used: B 'Email' -> learner_email, C 'Course' -> course_title, " \
        "E 'Due date type' -> due_date_type.\n" in out
    note = summary_facts(tmp_path / "out.xlsx")["Note"]
    assert note == (
        "row 5 ('Total: 2'): a footer line, not a request: skipped; column A 'Employee' holds "
        "neither learner IDs nor emails (e.g. 'Anna Kowalski'): not used; if they are logins, "
        "pass --alias 'Employee=learner_login'; column D 'Start date' is not read as "
        "access_date (HR files use it for the hire date); if it is, pass --alias "
        "'Start date=access_date'"
    )


def test_a_formula_without_a_value_is_named_and_the_rest_enrolled(sandbox, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Name", "Email", "Course", "Due date type"])
    sheet.append(["Anna", ACTIVE[0].email, FIRE.title, "unlimited"])
    sheet.append(["James", "=VLOOKUP(A3,Staff!A:B,2,FALSE)", FIRE.title, "unlimited"])
    book.save(tmp_path / "generated.xlsx")
    assert main(["run", str(tmp_path / "generated.xlsx"), "--report", "out.xlsx"]) == 1
    assert enrolled_once(sandbox) == {(ACTIVE[0].user_id, FIRE.content_id, UNLIMITED)}
    assert [(r["Status"], r["Message"]) for r in sheet_rows(tmp_path / "out.xlsx")] == [
        ("enrolled", None),
        ("invalid", "Email: the cell holds a formula with no saved value "
                    "(=VLOOKUP(A3,Staff!A:B,2,FALSE)); open and save the file in Excel or "
                    "LibreOffice"),
    ]  # fmt: skip


def test_excel_for_mac_csv_keeps_the_names_in_the_report(sandbox, tmp_path):
    path = write_text(
        tmp_path / "mac.csv",
        [["Name", "Email", "Course", "Due date type"],
         ["Amélie Dubois", ACTIVE[0].email, FIRE.title, "unlimited"]],
        encoding="mac_roman",
        line_end="\r",
    )  # fmt: skip
    assert main(["run", str(path), "--report", "out.xlsx"]) == 0
    assert [r["Name"] for r in sheet_rows(tmp_path / "out.xlsx")] == ["Amélie Dubois"]


def test_an_export_with_a_header_and_no_rows_exits_1(sandbox, tmp_path, capsys):
    path = write_text(tmp_path / "empty.csv", [["Email", "Course", "Due date type"]])
    assert main(["run", str(path), "--report", "out.xlsx", "--summary-json", "s.json"]) == 1
    assert capsys.readouterr().out.startswith(
        "empty.csv: 0 rows: the file has a header but no data rows.\n"
    )
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["verdict"] == "nothing to do: the file has a header but no data rows"
    assert summary["exit_code"] == 1
    assert main(["validate", str(path), "--report", "v.xlsx"]) == 1


def test_two_email_columns_stop_the_run_before_anything_is_sent(sandbox, tmp_path, capsys):
    path = write_text(
        tmp_path / "two.csv",
        [["Email", "Course", "Email", "Due date type"],
         [ACTIVE[0].email, FIRE.title, ACTIVE[1].email, "unlimited"]],
    )  # fmt: skip
    assert main(["run", str(path)]) == 2
    assert capsys.readouterr().err == (
        "Error: two.csv: columns A 'Email' and C 'Email' both give learner_email: which one to "
        "read is not clear; rename or delete all but one of them\n"
    )
    assert enrolled_once(sandbox) == set()
    assert main(["run", str(path), "--alias", "Email=ignore"]) == 2  # drops both: no learner


def test_a_missing_file_is_said_before_a_missing_account(monkeypatch, tmp_path, capsys):
    forget_account(monkeypatch)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "missing.xlsx"]) == 2
    assert capsys.readouterr().err == "Error: missing.xlsx: no such file\n"
    assert main(["plan", "missing.xlsx"]) == 2
    assert capsys.readouterr().err == "Error: missing.xlsx: no such file\n"
    write_text(tmp_path / "there.csv", [["Email", "Course", "Due date type"]])
    assert main(["run", "there.csv"]) == 2
    assert capsys.readouterr().err.startswith("Error: No LMS account is configured.")
