"""The shape of a sheet: values beyond the header, footer lines, empty exports, two-level
headers, and Excel for Mac's "CSV (Macintosh)". Real files, exact requests and messages."""

from __future__ import annotations

import openpyxl
import pytest

from bulk_enroll.errors import InputFileError
from bulk_enroll.model import DueDateType, DueSettings
from bulk_enroll.read.footer import footer_text
from bulk_enroll.read.reader import read_table
from bulk_enroll.read.table import KIND_OVERFLOW
from bulk_enroll.validate.rows import validate_table
from tests.inputs import by_email, titled, write_text
from tests.inputs import problems_of as problems
from tests.inputs import requests_of as requests
from tests.inputs import write_workbook as workbook

PERIOD_48 = DueSettings(DueDateType.DUE_PERIOD, due_period_hours=48)
SHIFTED = (
    "row has 5 values but the header has 4 columns: a value may contain an unquoted separator, "
    "e.g. 1,5; put quotes around it, or give the extra column a header"
)


# ---- more values than the header --------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_a_row_with_more_values_than_the_header_is_invalid_not_shifted(tmp_path, delimiter):
    """`2,5` unquoted in a comma file (or a stray separator in any file) shifts the values:
    the row would be enrolled with a due period of 2 hours. It is invalid instead."""
    stray = "2,5" if delimiter == "," else f"2{delimiter}5"
    text = delimiter.join(["learner_email", "course_title", "due_date_type", "due_period"])
    lines = [
        text,
        delimiter.join(["ann@example.com", "Ethics", "due_period", "48"]),
        delimiter.join(["bob@example.com", "Ethics", "due_period", stray]),
        delimiter.join(["carl@example.com", "Ethics", "due_period", "48", "", ""]),  # padding
        delimiter.join(["dana@example.com", "Ethics", "due_period"]),  # fewer: normal
    ]
    path = tmp_path / "hires.csv"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    validated = validate_table(read_table(path))
    assert requests(validated) == [
        (2, by_email("ann@example.com"), titled("Ethics"), PERIOD_48),
        (4, by_email("carl@example.com"), titled("Ethics"), PERIOD_48),
    ]
    assert problems(validated) == [
        (3, None, SHIFTED),
        (
            5,
            "due_period",
            "due period (hours) is required when the due date type is due_period",
        ),
    ]
    assert validated.rows[1].issues[0].kind == KIND_OVERFLOW
    assert validated.rows[1].values[-1] == "5"  # kept, shown in the report under "Column E"
    assert validated.headers[-1] == "Column E"


def test_quoted_separators_and_a_gap_before_a_stray_value(tmp_path):
    path = write_text(
        tmp_path / "hires.csv",
        [
            ["learner_email", "course_title", "due_date_type", "due_period"],
            ["ann@example.com", "Ethics, part 1", "due_period", "48"],  # quoted by the writer
            ["bob@example.com", "Ethics", "", "due_period", "48"],  # a stray separator
        ],
    )
    validated = validate_table(read_table(path))
    assert requests(validated) == [
        (2, by_email("ann@example.com"), titled("Ethics, part 1"), PERIOD_48)
    ]
    assert problems(validated)[0] == (3, None, SHIFTED)


def test_a_workbook_value_in_a_column_without_a_header_is_a_problem_on_its_row(tmp_path):
    path = workbook(
        tmp_path / "hires.xlsx",
        {
            "Sheet1": [
                ["learner_email", "course_title", "due_date_type"],
                ["ann@example.com", "Ethics", "unlimited"],
                ["bob@example.com", "Ethics", "unlimited", None, "on leave until May"],
                ["carl@example.com", "Ethics", "unlimited", "x", "y"],
            ]
        },
        start="B2",
    )
    validated = validate_table(read_table(path))
    assert [row for row, *_ in requests(validated)] == [3]
    assert problems(validated) == [
        (
            4,
            "Column F",
            "a value in column F ('on leave until May') has no header: it may mean something "
            "for this row; give the column a header (it is then kept as an extra column) or "
            "clear the cell",
        ),
        (
            5,
            "Column E",
            "a value in columns E ('x'), F ('y') has no header: it may mean something for this "
            "row; give the column a header (it is then kept as an extra column) or clear the "
            "cell",
        ),
    ]
    assert validated.headers == (
        "learner_email", "course_title", "due_date_type", "Column E", "Column F"
    )


# ---- footers and empty exports ----------------------------------------------------------------


@pytest.mark.parametrize(
    "cells",
    [
        ("Total: 3",),
        ("Total rows 3",),
        ("Total rows: 3",),
        ("Anzahl: 3",),
        ("Summe 3",),
        ("Gesamt: 3",),
        ("Total : 3",),
        ("Nombre total de lignes : 3",),
        ("Aantal: 3",),
        ("3 records",),
        ("Total:", 3.0),
        ("Total", "1,204"),
    ],
)
def test_footer_lines_are_recognised(cells):
    assert footer_text(cells) == " ".join(
        str(int(c)) if isinstance(c, float) else c for c in cells
    )


@pytest.mark.parametrize(
    "cells",
    [
        ("ann@example.com", "Ethics"),
        ("Total",),
        ("Total", "Ethics", "3"),
        ("Totally 3",),
        ("Ann Total 3",),
        ("Total: three",),
    ],
)
def test_rows_that_are_not_footers(cells):
    assert footer_text(cells) is None


def test_a_footer_at_the_end_is_skipped_with_a_note_and_is_no_row(tmp_path):
    path = write_text(
        tmp_path / "export.csv",
        [
            ["Employee email", "Course", "Due date type"],
            ["ann@example.com", "Ethics", "unlimited"],
            ["bob@example.com", "Ethics", "unlimited"],
            [],
            ["Total: 2", "", ""],
        ],
    )
    table = read_table(path)
    assert [number for number, _ in table.rows] == [2, 3]
    assert table.footer == ((5, "Total: 2"),)
    validated = validate_table(table)
    assert problems(validated) == []
    assert validated.notes == ("row 5 ('Total: 2'): a footer line, not a request: skipped",)


def test_footer_like_lines_inside_the_data_are_rows(tmp_path):
    """Only the end of the data holds footers: a "Total: 2" line between rows is a row (and
    an invalid one, which is seen, not skipped)."""
    path = workbook(
        tmp_path / "export.xlsx",
        {
            "Sheet1": [
                ["Employee email", "Course", "Due date type"],
                ["ann@example.com", "Ethics", "unlimited"],
                ["Total: 1"],
                ["bob@example.com", "Ethics", "unlimited"],
                ["Anzahl", 2],
                ["Summe: 2"],
            ]
        },
    )
    validated = validate_table(read_table(path))
    assert [row.source.row for row in validated.rows] == [2, 3, 4]
    assert [row for row, _, _ in problems(validated)] == [3, 3]  # email, course (no type: default)
    assert validated.notes == (
        "row 5 ('Anzahl 2'), row 6 ('Summe: 2'): footer lines, not a request: skipped",
    )


def test_a_header_without_data_rows_says_so(tmp_path):
    path = write_text(tmp_path / "empty.csv", [["Email", "Course", "Due date type"], ["Total: 0"]])
    table = read_table(path)
    assert table.rows == []
    assert table.notes == (
        "row 2 ('Total: 0'): a footer line, not a request: skipped",
        "the file has a header but no data rows",
    )


# ---- two-level headers ------------------------------------------------------------------------


def test_a_merged_group_row_above_the_real_header_is_not_the_header(tmp_path):
    """Workday-style: "Learner | Course | Settings" over merged cells, the real header below."""
    path = tmp_path / "grouped.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Learner", None, "Course", "Settings", None])
    sheet.append(["Name", "Email", "Course title", "Due date type", "Due period"])
    sheet.append(["Ann Lee", "ann@example.com", "Ethics", "due_period", 48])
    sheet.merge_cells("A1:B1")
    sheet.merge_cells("D1:E1")
    book.save(path)
    validated = validate_table(read_table(path))
    assert validated.headers == ("Name", "Email", "Course title", "Due date type", "Due period")
    assert requests(validated) == [(3, by_email("ann@example.com"), titled("Ethics"), PERIOD_48)]
    assert validated.notes[0] == "the header is row 2; row above it skipped"


def test_a_group_row_naming_as_many_fields_yields_to_the_row_under_it(tmp_path):
    path = write_text(
        tmp_path / "grouped.csv",
        [
            ["Learner", "Course", ""],
            ["Email", "Course title", "Due date type"],
            ["ann@example.com", "Ethics", "unlimited"],
        ],
    )
    assert read_table(path).headers == ("Email", "Course title", "Due date type")


def test_a_header_repeated_further_down_is_data_not_a_new_header(tmp_path):
    """Two exports pasted together: the second header is a (bad) row, the first block's rows
    are not skipped as if they were titles."""
    header = ["Email", "Course", "Due date type"]
    path = write_text(
        tmp_path / "pasted.csv",
        [header, ["ann@example.com", "Ethics", "unlimited"], header,
         ["bob@example.com", "Ethics", "unlimited"]],
    )  # fmt: skip
    validated = validate_table(read_table(path))
    assert [row for row, *_ in requests(validated)] == [2, 4]
    assert [(row, column) for row, column, _ in problems(validated)] == [
        (3, "Email"),
        (3, "Due date type"),
    ]


# ---- Excel for Mac ----------------------------------------------------------------------------


def test_excel_for_mac_csv_macintosh_keeps_accented_names(tmp_path):
    """Excel for Mac's "CSV (Macintosh)": Mac Roman bytes, lines ending in CR alone."""
    path = write_text(
        tmp_path / "mac.csv",
        [
            ["Name", "Email", "Course", "Due date type"],
            ["Amélie Dubois", "amelie@example.com", "Sécurité", "unlimited"],
            ["Jürgen Groß", "jurgen@example.com", "Café", "unlimited"],
        ],
        encoding="mac_roman",
        line_end="\r",
    )
    assert b"Am\x8elie" in path.read_bytes()  # é is 0x8E in Mac Roman (Ž in Windows-1252)
    table = read_table(path)
    assert table.encoding == "mac_roman"
    assert [cells[0] for _, cells in table.rows] == ["Amélie Dubois", "Jürgen Groß"]
    assert requests(validate_table(table))[0][2] == titled("Sécurité")
    assert table.notes == (
        "mac.csv is not UTF-8; read it as Mac Roman (Excel for Mac's 'CSV (Macintosh)') (a "
        "guess: if names look wrong, save the file from Excel as 'CSV UTF-8' and run again)",
    )


def test_windows_line_ends_still_go_to_the_detector(tmp_path):
    path = write_text(
        tmp_path / "win.csv",
        [["Name", "Email", "Course", "Due date type"],
         ["Amélie Dubois", "amelie@example.com", "Ethics", "unlimited"]],
        encoding="cp1252",
    )  # fmt: skip
    table = read_table(path)
    assert table.encoding == "cp1252"
    assert table.rows[0][1][0] == "Amélie Dubois"


def test_a_shifted_row_reports_the_shift_not_what_its_shifted_values_would_mean(tmp_path):
    """An unquoted title with a comma moves every later value one column right: 'yes' lands in
    the due date type and the title's second half in the lock column. Those are not the file's
    mistakes; the missing quotes are."""
    path = tmp_path / "hires.csv"
    path.write_text(
        "Email,Course,Lock after due date,Due date type,Due period\r\n"
        "ann@example.com,Health, Safety and Environment,yes,due_period,48\r\n",
        encoding="utf-8",
    )
    validated = validate_table(read_table(path))
    assert problems(validated) == [(2, None, SHIFTED.replace("5 values", "6 values")
                                    .replace("has 4 columns", "has 5 columns"))]
    assert validated.rows[0].notes == ()


# ---- merged cells --------------------------------------------------------------------------


def test_a_course_merged_over_several_rows_is_read_on_each_of_them(tmp_path):
    """HR merges one course over its people (B3:B5) and one date over two columns of a row;
    the sheet shows the course on each row, so each row asks for it. Before, rows 4 and 5
    were "course title is empty". Merges in the two-level header and within a row stay."""
    path = tmp_path / "merged.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Learner", None, "Course", None])
    sheet.append(["Name", "Email", "Course", "Due period"])
    sheet.append(["Ann", "ann@example.com", "Ethics", "48"])
    sheet.append(["Bob", "bob@example.com", None, "48"])
    sheet.append(["Carl", "carl@example.com", None, "48"])
    sheet.append(["Dana", "dana@example.com", "Fire safety", None])
    sheet.append(["Eve", "eve@example.com", None, "48"])
    for cells in ("A1:B1", "C1:D1", "C3:C5", "C6:D6"):
        sheet.merge_cells(cells)
    book.save(path)
    validated = validate_table(read_table(path))
    assert requests(validated) == [
        (3, by_email("ann@example.com"), titled("Ethics"), PERIOD_48),
        (4, by_email("bob@example.com"), titled("Ethics"), PERIOD_48),
        (5, by_email("carl@example.com"), titled("Ethics"), PERIOD_48),
        # the merge C6:D6 within one row does not make the title a due period too
        (6, by_email("dana@example.com"), titled("Fire safety"),
         DueSettings(DueDateType.DEFAULT)),
    ]
    assert [(row, column) for row, column, _ in problems(validated)] == [
        (7, "Course"),  # under no merge: empty
    ]
    assert "cells C3:C5 are merged: their value 'Ethics' is read on rows 3 to 5" in (
        validated.notes)


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\r\n\r\n  \r\n"])
def test_an_empty_export_says_it_is_empty(tmp_path, content):
    """Not "no header row with a learner and a course column ... Found: (nothing)": the file
    has nothing at all, which is what the person must hear."""
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    with pytest.raises(InputFileError) as error:
        read_table(path)
    assert str(error.value) == (
        "export.csv is empty: no header row and no data (a program that wrote it may have had "
        "nothing to export, or failed); export it again")
