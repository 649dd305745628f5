"""Files written by LibreOffice, not by our code: XLSX, XLS and ODS converted with
`soffice --headless --convert-to`, from a workbook and a CSV these tests write.

The conversions run once per session (about a second each) in a temp dir with a private
LibreOffice profile, so parallel runs do not clash. Without LibreOffice the tests are skipped
(CI installs Debian's libreoffice-calc-nogui, see .ci/run).
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from bulk_enroll.errors import InputRefused
from bulk_enroll.model import DueDateType, DueSettings
from bulk_enroll.read.reader import read_table
from bulk_enroll.read.template import write_template
from bulk_enroll.validate.rows import HIDDEN_ROW, ValidatedInput, validate_table
from tests.inputs import (
    by_email,
    by_login,
    course_id,
    problems_of,
    requests_of,
    titled,
    write_filtered_workbook,
    write_text,
)
from tests.support import make_id

C1 = make_id("c1")
HEADER = [
    "Employee name",
    "Employee email",
    "Login",
    "Course",
    "Due date type",
    "Due date",
    "Due period (hours)",
    "Lock after due date",
    "Access date",
]
SHEET_ROWS = [
    ["Q1 onboarding enrollments"],
    [],
    HEADER,
    ["Ann", "ann@example.com", None, "Fire safety; First aid", "due_date",
     dt.datetime(2027, 3, 31), None, True, dt.datetime(2027, 1, 10, 9, 30)],
    ["Bob", None, 4711, "Ethics", "due_period", None, "10 days", False, None],
    [],
    ["Carl", "carl@example.com", None, "Ethics", "due_date", "03/04/2027", None, None, None],
    ["Dana", "dana@example.com", None, C1, "unlimited", None, None, None, None],
    ["Eve", "eve@", None, "Ethics", "unlimited", None, None, None, None],
    ["Fay", "fay@example.com", None, "Ethics", "due_date", 46477, None, "x", None],
]  # fmt: skip

MARCH_LOCKED = DueSettings(
    DueDateType.DUE_DATE,
    access_date=dt.datetime(2027, 1, 10, 9, 30),
    due_date=dt.date(2027, 3, 31),
    lock_after_due_date=True,
)
EXPECTED_REQUESTS = [
    (4, by_email("ann@example.com"), titled("Fire safety"), MARCH_LOCKED),
    (4, by_email("ann@example.com"), titled("First aid"), MARCH_LOCKED),
    (
        5,
        by_login("4711"),
        titled("Ethics"),
        DueSettings(DueDateType.DUE_PERIOD, due_period_hours=240, lock_after_due_date=False),
    ),
    (8, by_email("dana@example.com"), course_id(C1), DueSettings(DueDateType.UNLIMITED)),
    (
        10,
        by_email("fay@example.com"),
        titled("Ethics"),
        DueSettings(DueDateType.DUE_DATE, due_date=dt.date(2027, 3, 31), lock_after_due_date=True),
    ),
]
EXPECTED_PROBLEMS = [
    (
        7,
        "Due date",
        "'03/04/2027' is ambiguous: 3 April 2027 (day first) or March 4, 2027 (month first); "
        "pass --date-order dmy or --date-order mdy, or write it as YYYY-MM-DD",
    ),
    (9, "Employee email", "'eve@' is not an email address (expected one like ann.lee@example.com)"),
]


def _convert(soffice: str, profile: Path, target: str, out: Path, *sources: Path,
             infilter: str | None = None) -> None:  # fmt: skip
    command = [
        soffice,
        f"-env:UserInstallation={profile.as_uri()}",
        "--headless",
        "--norestore",
        "--convert-to",
        target,
        "--outdir",
        str(out),
    ]
    if infilter:
        command.insert(4, f"--infilter={infilter}")
    completed = subprocess.run(
        [*command, *map(str, sources)], capture_output=True, text=True, timeout=180, check=False
    )
    missing = [s for s in sources if not (out / f"{s.stem}.{target.split(':')[0]}").exists()]
    if completed.returncode != 0 or missing:
        raise RuntimeError(f"soffice failed ({completed.returncode}): {completed.stderr[-2000:]}")


@pytest.fixture(scope="session")
def office(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """name -> a file LibreOffice wrote."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc-nogui)")
    base = tmp_path_factory.mktemp("libreoffice")
    source = base / "source"
    source.mkdir()
    book = openpyxl.Workbook()
    readme = book.active
    readme.title = "Read me"
    readme.append(["Fill in the Enrollments sheet; one row per learner."])
    sheet = book.create_sheet("Enrollments")
    for row in SHEET_ROWS:
        sheet.append(row)
    book.save(source / "hr.xlsx")
    template = write_template(source / "template.xlsx")
    filled = openpyxl.load_workbook(template)
    filled["Enrollments"].append(
        ["ann@example.com", None, None, "Ethics", None, None, "due_period", None, 48, "true"]
    )
    filled.save(source / "filled.xlsx")
    write_text(
        source / "export.csv",
        [
            ["Login", "course_title", "due_date_type", "due_date"],
            ["0042", "Ethics", "due_date", "2027-03-31"],
        ],
    )
    filtered_workbook(source / "filtered.xlsx")
    merged = openpyxl.Workbook()
    for row in MERGED_ROWS:
        merged.active.append(row)
    merged.active.merge_cells("B2:B4")
    merged.save(source / "merged.xlsx")
    profile = base / "profile"
    files: dict[str, Path] = {}
    for target in ("xlsx", "xls", "ods"):
        out = base / target
        _convert(soffice, profile, target, out, source / "hr.xlsx", source / "filled.xlsx",
                 source / "filtered.xlsx", source / "merged.xlsx")  # fmt: skip
        files[f"merged.{target}"] = out / f"merged.{target}"
        files[f"hr.{target}"] = out / f"hr.{target}"
        files[f"filled.{target}"] = out / f"filled.{target}"
        files[f"filtered.{target}"] = out / f"filtered.{target}"
    _convert(soffice, profile, "xlsx", base / "csv", source / "export.csv",
             infilter="CSV:44,34,76,1")  # fmt: skip
    files["export.xlsx"] = base / "csv" / "export.xlsx"
    return files


MERGED_ROWS = [
    ["Email", "Course", "Due date type"],
    ["ann@example.com", "Ethics", "unlimited"],
    ["bob@example.com", None, "unlimited"],
    ["carl@example.com", None, "unlimited"],
    ["dana@example.com", None, "unlimited"],
]


@pytest.mark.parametrize("name", ["merged.xlsx", "merged.xls", "merged.ods"])
def test_a_course_merged_over_rows_reads_on_each_row_as_libreoffice_saves_it(office, name):
    """XLSX and XLS give their merged ranges through calamine; ODS through the sheet's XML
    (`table:number-rows-spanned`). Row 5 is under no merge: its course is empty."""
    validated = validate_table(read_table(office[name]))
    assert [(row, course) for row, _, course, _ in requests_of(validated)] == [
        (2, titled("Ethics")), (3, titled("Ethics")), (4, titled("Ethics"))]
    assert [row for row, _, _ in problems_of(validated)] == [5]
    assert "cells B2:B4 are merged: their value 'Ethics' is read on rows 2 to 4" in (
        validated.notes)


FILTERED_ROWS = [
    ["Ann", "ann@example.com", "Sales", "Ethics", "unlimited"],
    ["Bob", "bob@example.com", "HR", "Ethics", "unlimited"],
    ["Carl", "carl@example.com", "Sales", "Ethics", "unlimited"],
    ["Dana", "dana@example.com", "HR", "Ethics", "unlimited"],
    ["Eve", "eve@example.com", "Sales", "Ethics", "unlimited"],
    ["Fay", '=VLOOKUP(A7,Staff!A:B,2,FALSE)', "Sales", "Ethics", "unlimited"],
]


def filtered_workbook(path: Path) -> None:
    """Filtered to Sales (rows 3 and 5 hidden by the filter), row 6 hidden by hand, a formula
    that LibreOffice computes to an error (there is no Staff sheet)."""
    write_filtered_workbook(path, ["Name", "Email", "Department", "Course", "Due date type"],
                            FILTERED_ROWS, filter_column=2, shown="Sales", hidden_by_hand=[6])


@pytest.mark.parametrize("name", ["hr.xlsx", "hr.xls", "hr.ods"])
def test_libreoffice_workbooks_read_exactly(office, name):
    validated = validate_table(read_table(office[name]))
    assert validated.sheet == "Enrollments"
    assert requests_of(validated) == EXPECTED_REQUESTS
    assert problems_of(validated) == EXPECTED_PROBLEMS
    notes = {row.source.row: row.notes for row in validated.rows if row.notes}
    assert notes[5] == (
        "Login: Excel stored 4711 as a number; if it had leading zeros they may already be lost "
        "(format the column as Text)",
        "Due period (hours): due period '10 days' read as 240 hours",
    )
    assert validated.notes == (
        "read sheet 'Enrollments': the first sheet with a recognisable header",
        "the header is row 3; row above it skipped",
    )


@pytest.mark.parametrize("name", ["hr.xlsx", "hr.xls", "hr.ods"])
def test_libreoffice_workbooks_with_a_date_order(office, name):
    validated = validate_table(read_table(office[name], sheet="Enrollments"), date_order="dmy")
    april = DueSettings(DueDateType.DUE_DATE, due_date=dt.date(2027, 4, 3))
    assert (7, by_email("carl@example.com"), titled("Ethics"), april) in requests_of(validated)
    assert problems_of(validated) == EXPECTED_PROBLEMS[1:]


@pytest.mark.parametrize("name", ["filled.xlsx", "filled.xls", "filled.ods"])
def test_the_template_filled_and_saved_by_libreoffice_reads_back(office, name):
    validated = validate_table(read_table(office[name]))
    assert requests_of(validated) == [
        (
            2,
            by_email("ann@example.com"),
            titled("Ethics"),
            DueSettings(DueDateType.DUE_PERIOD, due_period_hours=48, lock_after_due_date=True),
        )
    ]
    assert problems_of(validated) == []


def test_a_csv_opened_by_libreoffice_loses_leading_zeros_and_we_say_so(office):
    validated = validate_table(read_table(office["export.xlsx"]))
    assert requests_of(validated) == [
        (
            2,
            by_login("42"),
            titled("Ethics"),
            DueSettings(DueDateType.DUE_DATE, due_date=dt.date(2027, 3, 31)),
        )
    ]
    assert validated.rows[0].notes == (
        "Login: Excel stored 42 as a number; if it had leading zeros they may already be lost "
        "(format the column as Text)",
    )


def test_an_xls_renamed_to_xlsx_is_refused_with_the_right_name(office, tmp_path):
    renamed = tmp_path / "hr.xlsx"
    renamed.write_bytes(office["hr.xls"].read_bytes())
    with pytest.raises(InputRefused) as error:
        read_table(renamed)
    assert str(error.value) == (
        "hr.xlsx is an Excel 97-2003 workbook (XLS), not an Excel workbook (XLSX) as its "
        "extension says; rename it to hr.xls and run again"
    )


def sales_only(path: Path) -> ValidatedInput:
    """The filtered workbook read: Sales rows asked for, the others held back as hidden."""
    table = read_table(path)
    assert table.hidden_rows == {3, 5, 6}
    validated = validate_table(table)
    assert [(row, learner) for row, learner, _, _ in requests_of(validated)] == [
        (2, by_email("ann@example.com")),
        (4, by_email("carl@example.com")),
    ]
    assert [(row.source.row, row.held_back) for row in validated.rows if row.held_back] == [
        (3, HIDDEN_ROW), (5, HIDDEN_ROW), (6, HIDDEN_ROW)
    ]
    return validated


@pytest.mark.parametrize("name", ["filtered.xlsx", "filtered.ods"])
def test_libreoffice_keeps_rows_hidden_by_a_filter_or_by_hand(office, name):
    """LibreOffice writes filtered rows as hidden="true" (XLSX, every other row
    hidden="false") and table:visibility="filter" or "collapse" (ODS)."""
    validated = sales_only(office[name])
    formula = {  # as LibreOffice saves it in each format
        "filtered.xlsx": "=VLOOKUP(A7,staff!a:b,2,FALSE())",
        "filtered.ods": "=VLOOKUP([.A7];staff!a:b;2;FALSE())",
    }[name]
    assert problems_of(validated) == [
        (7, "Email", f"the cell shows the error #NAME? from its formula ({formula}); fix the "
                     "formula or type the value, then save the file"),
    ]  # fmt: skip


def test_an_xls_saved_by_libreoffice_keeps_its_filter_and_hidden_rows(office):
    """XLS says which rows are hidden in its ROW records: the filtered XLS enrolls what it
    shows, as the XLSX and ODS do (before, every row of it was sent)."""
    sales_only(office["filtered.xls"])
    included = validate_table(read_table(office["filtered.xls"]), include_hidden_rows=True)
    assert [row for row, _, _, _ in requests_of(included)] == [2, 3, 4, 5, 6]
