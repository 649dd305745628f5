"""`bulk-enroll validate` and `bulk-enroll template`, in-process: exit codes and exact output."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest

from bulk_enroll.cli import main
from bulk_enroll.model import DueDateType, DueSettings
from bulk_enroll.read.reader import read_table
from bulk_enroll.validate.rows import validate_table
from tests.inputs import by_email, by_login, rewrite_zip, titled, write_text, write_workbook
from tests.support import make_id

L1, C1 = make_id("l1"), make_id("c1")


@pytest.fixture(autouse=True)
def in_tmp(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ("SOAP_URL", "API_URL", "TOKEN", "CLIENT_ID", "CLIENT_SECRET"):
        monkeypatch.delenv(f"BULK_ENROLL_{name}", raising=False)


def results_sheet(path: Path) -> list[tuple[object, ...]]:
    return list(openpyxl.load_workbook(path)["Results"].iter_rows(values_only=True))


def test_clean_file_exits_0_and_prints_the_summary(tmp_path, capsys):
    path = write_text(
        tmp_path / "clean.csv",
        [
            ["Email", "Course", "Due date type", "Due period"],
            ["ann@example.com", "Ethics; Fire safety", "due_period", "10 days"],
            ["bob@example.com", "Ethics", "due_period", "240"],
        ],
    )
    assert main(["validate", str(path), "--report", "out.xlsx", "--summary-json", "s.json"]) == 0
    assert capsys.readouterr().out == (
        "clean.csv: 2 rows (2 not_sent).\n"
        "3 valid pairs (3 distinct), 2 calls would be needed.\n"
        "1 row with warnings (see the report's Message column), e.g. clean.csv, row 2: "
        "Due period: due period '10 days' read as 240 hours\n"
        "No problems found.\n"
        "Columns used: A 'Email' -> learner_email, B 'Course' -> course_title, "
        "C 'Due date type' -> due_date_type, D 'Due period' -> due_period.\n"
        "Report: out.xlsx\n"
    )
    rows = results_sheet(tmp_path / "out.xlsx")
    assert rows[0][-5:] == ("Status", "Message", "Batch", "Attempts", "Time")
    assert rows[1][4] == "not_sent"
    assert rows[1][5].startswith("valid: would be sent in batch b-")
    assert rows[1][5].endswith("; Due period: due period '10 days' read as 240 hours")
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["rows"] == 2 and summary["exit_code"] == 0 and summary["api_calls"] == 0


def test_problems_exit_1_counted_by_kind_with_the_first_ones_listed(tmp_path, capsys):
    path = write_text(
        tmp_path / "messy.csv",
        [
            ["learner_email", "course_title", "due_date_type", "due_date"],
            ["ann@example.com", "Ethics", "due_date", "03/04/2027"],
            ["bob@", "Ethics", "due_date", "2027-04-31"],
            ["carl@example.com", "Ethics", "due_date", "2027-04-30"],
            ["carl@example.com", "ethics", "unlimited", ""],
            ["dana@example.com", "Ethics", "due_date", "2027-05-02"],
            ["dana@example.com", "Ethics", "due_date", "2027-05-02"],
        ],
    )
    assert main(["validate", str(path), "--report", "out.xlsx"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[:3] == [
        "messy.csv: 6 rows (1 duplicate, 4 invalid, 1 not_sent).",
        "2 valid pairs (1 distinct), 1 call would be needed.",
        "5 problems: 2 conflicting settings, 1 ambiguous date, 1 not an email address, "
        "1 not a date.",
    ]
    assert out.splitlines()[3:8] == [
        "  messy.csv, row 2, column 'due_date': '03/04/2027' is ambiguous: 3 April 2027 (day "
        "first) or March 4, 2027 (month first); pass --date-order dmy or --date-order mdy, or "
        "write it as YYYY-MM-DD",
        "  messy.csv, row 3, column 'learner_email': 'bob@' is not an email address (expected "
        "one like ann.lee@example.com)",
        "  messy.csv, row 3, column 'due_date': '2027-04-31' is not a date (expected YYYY-MM-DD, "
        "DD.MM.YYYY, a slash date like 31/03/2027, or a date cell)",
        "  messy.csv, row 4: conflicting settings with row 5 (there: unlimited; here: due_date, "
        "due 2027-04-30)",
        "  messy.csv, row 5: conflicting settings with row 4 (there: due_date, due 2027-04-30; "
        "here: unlimited)",
    ]
    statuses = [row[4] for row in results_sheet(tmp_path / "out.xlsx")[1:]]
    assert statuses == ["invalid", "invalid", "invalid", "invalid", "not_sent", "duplicate"]


def test_last_row_wins_and_date_order_options(tmp_path, capsys):
    path = write_text(
        tmp_path / "in.csv",
        [
            ["learner_email", "course_title", "due_date_type", "due_date"],
            ["carl@example.com", "Ethics", "due_date", "03/04/2027"],
            ["carl@example.com", "Ethics", "unlimited", ""],
        ],
    )
    code = main(
        ["validate", str(path), "--date-order", "dmy", "--last-row-wins", "--report", "o.xlsx"]
    )
    assert code == 0
    assert capsys.readouterr().out.splitlines()[0] == "in.csv: 2 rows (1 duplicate, 1 not_sent)."
    rows = results_sheet(tmp_path / "o.xlsx")
    assert rows[1][4:6] == ("duplicate", "superseded by row 3 (--last-row-wins)")


def test_alias_option_and_its_errors(tmp_path, capsys):
    path = write_text(
        tmp_path / "de.csv",
        [["Mitarbeiter E-Mail", "Kurs", "Typ"], ["ann@example.com", "Ethik", "unlimited"]],
    )
    args = ["validate", str(path), "--report", "o.xlsx"]
    assert main([*args, "--alias", "Mitarbeiter E-Mail=learner_email", "--alias", "Kurs=course",
                 "--alias", "Typ=due_date_type"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main([*args, "--alias", "Kurs=lernkurs"]) == 2
    assert "'lernkurs' is not a field; use one of learner_id" in capsys.readouterr().err


def test_file_notes_are_printed(tmp_path, capsys):
    path = write_text(
        tmp_path / "legacy.csv",
        [["Email", "Course", "due_date_type"], ["jose@example.com", "Sécurité", "unlimited"]],
        encoding="cp1252",
    )
    assert main(["validate", str(path), "--report", "o.xlsx"]) == 0
    assert "Note: legacy.csv is not UTF-8; read it as Windows-1252" in capsys.readouterr().out


def test_run_dry_run_marks_conflicts_after_resolution(tmp_path, capsys):
    path = write_text(
        tmp_path / "ids.csv",
        [
            ["learner_id", "course_id", "due_date_type", "due_period"],
            [L1, C1, "due_period", "48"],
            [L1, C1, "due_period", "2 days"],  # the same settings, said differently
            [L1, C1, "unlimited", ""],
        ],
    )
    assert main(["run", "--dry-run", str(path), "--report", "o.xlsx"]) == 1
    rows = results_sheet(tmp_path / "o.xlsx")
    assert [r[4] for r in rows[1:]] == ["invalid", "invalid", "invalid"]
    assert rows[1][5] == (
        "conflicting settings with row 4 (there: unlimited; here: due_period, 48 h)"
    )
    assert main(["run", "--dry-run", "--last-row-wins", str(path), "--report", "p.xlsx"]) == 0
    rows = results_sheet(tmp_path / "p.xlsx")
    assert [r[4] for r in rows[1:]] == ["duplicate", "duplicate", "not_sent"]


# ---- template ----------------------------------------------------------------------------------


def test_template_has_headers_dropdowns_formats_and_instructions(tmp_path, capsys):
    assert main(["template", "enroll.xlsx"]) == 0
    assert capsys.readouterr().out == (
        "Template written: enroll.xlsx\n"
        "Fill in the Enrollments sheet, then check it: bulk-enroll validate enroll.xlsx\n"
    )
    book = openpyxl.load_workbook(tmp_path / "enroll.xlsx")
    assert book.sheetnames == ["Enrollments", "Instructions"]
    sheet = book["Enrollments"]
    assert [c.value for c in sheet[1]] == [
        "learner_email",
        "learner_login",
        "learner_id",
        "course_title",
        "course_id",
        "access_date",
        "due_date_type",
        "due_date",
        "due_period",
        "lock_after_due_date",
    ]
    rules = {str(v.sqref): (v.type, v.formula1) for v in sheet.data_validations.dataValidation}
    assert rules["G2:G20000"] == ("list", '"unlimited,default,due_date,due_period"')
    assert rules["J2:J20000"] == ("list", '"true,false"')
    assert rules["I2:I20000"] == ("whole", "0")
    assert rules["H2:H20000"][0] == "date"
    assert sheet.column_dimensions["B"].number_format == "@"
    assert sheet.column_dimensions["H"].number_format == "yyyy-mm-dd"
    assert sheet.max_row == 1


def test_a_filled_template_reads_back_with_no_options(tmp_path):
    assert main(["template", "t.xlsx"]) == 0
    book = openpyxl.load_workbook(tmp_path / "t.xlsx")
    sheet = book["Enrollments"]
    sheet.append(["ann@example.com", None, None, "Ethics; Fire safety", None,
                  dt.datetime(2027, 1, 10, 9, 0), "due_date", dt.datetime(2027, 3, 31), None,
                  "true"])  # fmt: skip
    sheet.append([None, "0042", None, "Ethics", None, None, "due_period", None, 720, "false"])
    book.save(tmp_path / "filled.xlsx")
    validated = validate_table(read_table(tmp_path / "filled.xlsx"))
    march = DueSettings(
        DueDateType.DUE_DATE,
        access_date=dt.datetime(2027, 1, 10, 9, 0),
        due_date=dt.date(2027, 3, 31),
        lock_after_due_date=True,
    )
    period = DueSettings(DueDateType.DUE_PERIOD, due_period_hours=720, lock_after_due_date=False)
    assert [(r.learner, r.course, r.settings) for row in validated.rows for r in row.requests] == [
        (by_email("ann@example.com"), titled("Ethics"), march),
        (by_email("ann@example.com"), titled("Fire safety"), march),
        (by_login("0042"), titled("Ethics"), period),
    ]
    assert validated.notes == ()
    assert main(["validate", str(tmp_path / "filled.xlsx"), "--report", "o.xlsx"]) == 0


def test_template_refuses_to_overwrite_or_a_non_xlsx_name(tmp_path, capsys):
    (tmp_path / "t.xlsx").write_bytes(b"keep me")
    assert main(["template", "t.xlsx"]) == 2
    assert "t.xlsx exists; pass --force to replace it" in capsys.readouterr().err
    assert (tmp_path / "t.xlsx").read_bytes() == b"keep me"
    assert main(["template", "--force", "t.xlsx"]) == 0
    assert main(["template", "t.csv"]) == 2
    assert "the template is an Excel workbook; name it .xlsx" in capsys.readouterr().err


def test_control_characters_in_cells_do_not_break_the_report(tmp_path, capsys):
    source = write_workbook(
        tmp_path / "src.xlsx",
        {"Sheet1": [["Email", "Course", "due_date_type", "Name"],
                    ["ann@example.com", "Ethics", "unlimited", "ANN"]]},
    )  # fmt: skip
    path = rewrite_zip(
        source, tmp_path / "ctrl.xlsx", lambda name, data: data.replace(b"ANN", b"Ann_x000B_Lee")
    )
    assert main(["validate", str(path), "--report", "o.xlsx"]) == 0
    # a control character is shown as a replacement mark, not silently dropped
    assert results_sheet(tmp_path / "o.xlsx")[1][3] == "Ann\ufffdLee"


def test_rows_naming_a_learner_twice_are_left_to_run_with_a_note(tmp_path, capsys):
    path = write_text(tmp_path / "twice.csv", [
        ["learner_id", "Email", "course_id", "due_date_type"],
        [L1, "ann@example.com", C1, "unlimited"],
        [L1, "", C1, "unlimited"],
    ])
    assert main(["validate", str(path), "--report", "out.xlsx"]) == 0
    assert (
        "Note: 1 row with a learner or course named in more than one column (an ID and an "
        "email, ...): validate looks nothing up, so whether both name the same one is checked "
        "by run\n"
    ) in capsys.readouterr().out


def test_counts_of_thousands_read_alike_in_one_line(tmp_path, capsys):
    """"10,000 rows: 10000 enrolled" mixed two ways of writing one number."""
    rows = [[make_id(f"l{i}"), make_id("c"), "unlimited"] for i in range(1200)]
    path = write_text(tmp_path / "big.csv", [["learner_id", "course_id", "due_date_type"],
                                             *rows])
    assert main(["validate", str(path), "--report", str(tmp_path / "out.xlsx")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("big.csv: 1,200 rows (1,200 not_sent).\n"
                          "1,200 valid pairs (1,200 distinct), ")
