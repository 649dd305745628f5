"""The reader on the files HR really sends: encodings, delimiters, sheets, title rows, hygiene.

Each test writes a real file in a temp dir and asserts the exact requests read and the exact
problems reported (Excel row, column as written, message).
"""

from __future__ import annotations

import codecs
import datetime as dt
import time
from pathlib import Path

import pytest

from bulk_enroll.errors import InputFileError
from bulk_enroll.model import DueDateType, DueSettings
from bulk_enroll.read.reader import outline, read_table
from bulk_enroll.validate.rows import ValidatedInput, validate_table
from tests.inputs import by_email, by_id, by_login, course_id, rewrite_zip, titled, write_text
from tests.inputs import problems_of as problems
from tests.inputs import requests_of as requests
from tests.inputs import write_workbook as workbook
from tests.support import make_id

L1, C1 = make_id("l1"), make_id("c1")
UNLIMITED = DueSettings(DueDateType.UNLIMITED)
HEAD = ["Employee email", "Course title", "Manager", "due_date_type"]
ROWS = [
    ["ann@example.com", "Sécurité incendie", "Søren Ålund", "unlimited"],
    ["Bob@Example.com", "Café etiquette", "Zoë Laurent", "unlimited"],
]


def read(path: Path, **options: object) -> ValidatedInput:
    sheet = options.pop("sheet", None)
    return validate_table(read_table(path, sheet=sheet), **options)  # type: ignore[arg-type]


EXPECTED = [
    (2, by_email("ann@example.com"), titled("Sécurité incendie"), UNLIMITED),
    (3, by_email("bob@example.com"), titled("Café etiquette"), UNLIMITED),
]


# ---- encodings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoding,bom,delimiter",
    [
        ("utf-8", b"", ","),
        ("utf-8", codecs.BOM_UTF8, ";"),  # Excel's "CSV UTF-8"
        ("utf-16-le", codecs.BOM_UTF16_LE, "\t"),  # Excel's "Unicode Text"
        ("utf-16-be", codecs.BOM_UTF16_BE, "\t"),
    ],
)
def test_unicode_encodings_read_exactly_and_are_not_reported(tmp_path, encoding, bom, delimiter):
    path = write_text(
        tmp_path / "in.txt", [HEAD, *ROWS], encoding=encoding, bom=bom, delimiter=delimiter
    )
    validated = read(path)
    assert requests(validated) == EXPECTED
    assert validated.rows[0].values[2] == "Søren Ålund"  # extra columns intact
    assert validated.notes == ()


def test_windows_1252_file_is_read_with_a_stated_guess(tmp_path):
    path = write_text(tmp_path / "legacy.csv", [HEAD, *ROWS], encoding="cp1252", delimiter=";")
    table = read_table(path)
    validated = validate_table(table)
    assert table.encoding == "cp1252"
    assert requests(validated) == EXPECTED
    assert [row.values[2] for row in validated.rows] == ["Søren Ålund", "Zoë Laurent"]
    assert validated.notes == (
        "legacy.csv is not UTF-8; read it as Windows-1252 (Western European) (a guess: if names "
        "look wrong, save the file from Excel as 'CSV UTF-8' and run again)",
    )


def test_windows_1251_cyrillic_file_is_guessed(tmp_path):
    rows = [
        ["Email", "Course", "Имя", "due_date_type"],
        ["ivan@example.com", "Охрана труда", "Иван Петров", "unlimited"],
        ["olga@example.com", "Пожарная безопасность", "Ольга Смирнова", "unlimited"],
    ]
    path = write_text(tmp_path / "ru.csv", rows, encoding="cp1251")
    validated = read(path)
    assert [r.course for row in validated.rows for r in row.requests] == [
        titled("Охрана труда"),
        titled("Пожарная безопасность"),
    ]
    assert "read it as Windows-1251 (Cyrillic)" in validated.notes[0]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_every_delimiter_is_detected_by_the_header_it_yields(tmp_path, delimiter):
    rows = [HEAD, *ROWS, ["carl@example.com", "Fire safety, advanced", "x", "unlimited"]]
    path = write_text(tmp_path / "in.csv", rows, delimiter=delimiter)
    assert requests(read(path))[2] == (
        4,
        by_email("carl@example.com"),
        titled("Fire safety, advanced"),  # a comma inside a title does not split it
        UNLIMITED,
    )


def test_quoted_values_keep_delimiters_and_line_breaks_and_rows_keep_excel_numbers(tmp_path):
    text = (
        "learner_email,course_title,Comment,due_date_type\r\n"
        'ann@example.com,"Fire safety\nFirst aid","said ""yes"", twice",unlimited\r\n'
        "bob@example.com,Ethics,,unlimited\r\n"
    )
    path = tmp_path / "quoted.csv"
    path.write_text(text, encoding="utf-8", newline="")
    validated = read(path)
    assert requests(validated) == [
        (2, by_email("ann@example.com"), titled("Fire safety"), UNLIMITED),
        (2, by_email("ann@example.com"), titled("First aid"), UNLIMITED),
        (3, by_email("bob@example.com"), titled("Ethics"), UNLIMITED),
    ]
    assert validated.rows[0].values[2] == 'said "yes", twice'


def test_an_unclosed_quote_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text(
        'learner_email,course_title,due_date_type\nann@example.com,"Fire safety,unlimited\n'
        + "x" * 140_000,
        encoding="utf-8",
    )
    with pytest.raises(InputFileError) as error:
        read_table(path)
    assert str(error.value).startswith("broken.csv: not a readable CSV file near line")
    assert 'a quote (") that opens a value and is never closed' in str(error.value)


def test_csv_keeps_leading_zeros_long_numbers_and_excel_text_formulas(tmp_path):
    path = write_text(
        tmp_path / "logins.csv",
        [
            ["Login", "course_id", "due_date_type"],
            ["00123", C1, "unlimited"],
            ["12345678901234567890", C1, "unlimited"],
            ['="000777"', C1, "unlimited"],
        ],
    )
    validated = read(path)
    assert [r.learner for row in validated.rows for r in row.requests] == [
        by_login("00123"),
        by_login("12345678901234567890"),
        by_login("000777"),
    ]
    assert all(row.notes == () for row in validated.rows)


def test_cell_hygiene_invisible_spaces_and_smart_quotes(tmp_path):
    path = write_text(
        tmp_path / "web.csv",
        [
            ["\ufeffLearner\u00a0ID", "Course\u200b", "Due date type"],
            [
                f"\u00a0{L1.upper()}\u200b ",
                "  Manager\u2019s \u201cfirst\u201d steps ",
                "Unlimited",
            ],
            ["\u00a0 \u200b", "", " "],  # looks blank: skipped
        ],
    )
    validated = read(path)
    assert requests(validated) == [(2, by_id(L1), titled('Manager\'s "first" steps'), UNLIMITED)]
    assert len(validated.rows) == 1


def test_binary_data_in_a_csv_is_refused(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"learner_id,course_id\n\x00\x01\x02\x03" * 10)
    with pytest.raises(InputFileError, match="^data.csv is a binary file, not a text"):
        read_table(path)


@pytest.mark.parametrize("read", [read_table, outline], ids=["read_table", "outline"])
def test_a_byte_order_mark_on_bytes_that_do_not_follow_it_is_a_clear_error(tmp_path, read):
    """A UTF-32 mark, then bytes no UTF-32 text has: the file's fault, said as such (it was an
    internal error, exit 4 on the terminal and a 500 on the web page)."""
    path = tmp_path / "data.csv"
    path.write_bytes(codecs.BOM_UTF32_LE + b"garbage\x00\x00")
    with pytest.raises(InputFileError, match="^data.csv: cannot be read as utf-32"):
        read(path)


# ---- header row, title rows, trailing rows and columns ----------------------------------------


def test_title_notes_and_blank_rows_above_the_header_are_skipped(tmp_path):
    path = write_text(
        tmp_path / "titled.csv",
        [
            ["Q1 onboarding enrollments"],
            [],
            ["Prepared by HR, do not edit the header", "", ""],
            ["learner_email", "course_title", "due_date_type"],
            ["ann@example.com", "Ethics", "unlimited"],
            [],
            ["bob@example.com", "Ethics", "unlimited"],
            [],
            [],
        ],
    )
    validated = read(path)
    assert [(row, learner) for row, learner, _, _ in requests(validated)] == [
        (5, by_email("ann@example.com")),
        (7, by_email("bob@example.com")),
    ]
    assert validated.notes == ("the header is row 4; 2 rows above it skipped",)


def test_xlsx_with_title_rows_blank_rows_and_data_away_from_a1(tmp_path):
    path = workbook(
        tmp_path / "offset.xlsx",
        {
            "Enrollments": [
                ["New hires, March 2027"],
                [None],
                ["Learner ID", "Course ID", "Due date type", None, None],
                [L1, C1, "unlimited"],
                [None],
                [L1, make_id("c2"), "unlimited", None, "note beyond the header"],
            ]
        },
        start="C10",
    )
    validated = read(path)
    assert [(row, course) for row, _, course, _ in requests(validated)] == [(13, course_id(C1))]
    # A value in a column without a header is kept (and shown) but the row is not sent: it
    # may mean something for the row ("on leave"), and nothing says what.
    assert problems(validated) == [
        (
            15,
            "Column G",
            "a value in column G ('note beyond the header') has no header: it may mean "
            "something for this row; give the column a header (it is then kept as an extra "
            "column) or clear the cell",
        )
    ]
    assert validated.headers == (
        "Learner ID",
        "Course ID",
        "Due date type",
        "Column F",
        "Column G",
    )
    assert validated.rows[1].values[4] == "note beyond the header"


def test_trailing_empty_columns_and_rows_are_ignored(tmp_path):
    source = workbook(
        tmp_path / "src.xlsx",
        {"Sheet1": [["learner_id", "course_id", "due_date_type"], [L1, C1, "unlimited"]]},
    )

    def pad(name: str, data: bytes) -> bytes:  # empty strings far right and far down
        if name != "xl/worksheets/sheet1.xml":
            return data
        filler = (
            '<row r="2000"><c r="Z2000" t="inlineStr"><is><t></t></is></c></row>'
            '<row r="3000"><c r="B3000" t="inlineStr"><is><t>   </t></is></c></row>'
        )
        return data.replace(b"</sheetData>", filler.encode() + b"</sheetData>")

    path = rewrite_zip(source, tmp_path / "padded.xlsx", pad)
    table = read_table(path)
    assert table.headers == ("learner_id", "course_id", "due_date_type")
    assert [(n, cells) for n, cells in table.rows] == [(2, (L1, C1, "unlimited"))]


def test_a_dimension_that_claims_a_million_rows_costs_nothing(tmp_path):
    source = workbook(
        tmp_path / "src.xlsx",
        {"Sheet1": [["learner_id", "course_id", "due_date_type"], [L1, C1, "unlimited"]]},
    )

    def lie(name: str, data: bytes) -> bytes:
        if name != "xl/worksheets/sheet1.xml":
            return data
        assert b"<dimension " in data
        return data.replace(b'<dimension ref="A1:C2"/>', b'<dimension ref="A1:G1048576"/>')

    path = rewrite_zip(source, tmp_path / "liar.xlsx", lie)
    started = time.perf_counter()
    table = read_table(path)
    elapsed = time.perf_counter() - started
    assert table.rows == [(2, (L1, C1, "unlimited"))]
    assert elapsed < 1.0  # iterating a million empty rows in Python takes seconds


def test_cells_down_to_the_last_excel_row_are_skipped_quickly(tmp_path):
    source = workbook(
        tmp_path / "src.xlsx",
        {"Sheet1": [["learner_id", "course_id", "due_date_type"], [L1, C1, "unlimited"]]},
    )

    def bottom(name: str, data: bytes) -> bytes:
        if name != "xl/worksheets/sheet1.xml":
            return data
        cell = '<row r="1048576"><c r="C1048576" t="inlineStr"><is><t></t></is></c></row>'
        return data.replace(b"</sheetData>", cell.encode() + b"</sheetData>")

    path = rewrite_zip(source, tmp_path / "bottom.xlsx", bottom)
    started = time.perf_counter()
    table = read_table(path)
    assert table.rows == [(2, (L1, C1, "unlimited"))]
    assert time.perf_counter() - started < 10


# ---- sheets ------------------------------------------------------------------------------------

DATA = [["learner_id", "course_id", "due_date_type"], [L1, C1, "unlimited"]]


def test_the_first_sheet_with_a_recognisable_header_is_read(tmp_path):
    path = workbook(
        tmp_path / "book.xlsx",
        {
            "Read me": [["How to fill this in"], ["Use one row per learner"]],
            "Lookup": [["learner_id", "Department"], [L1, "Sales"]],  # no course column
            "Secret": DATA,
            "Data": DATA,
        },
        hidden=["Secret"],
    )
    table = read_table(path)
    assert table.sheet == "Data"
    assert table.notes == ("read sheet 'Data': the first sheet with a recognisable header",)


def test_two_sheets_that_both_look_like_the_list_are_said_not_passed_over(tmp_path):
    """An "Example" sheet before the real list (or "Sales" and "HR" sheets): reading the first
    enrolled the example row, or left a sheet out, and said nothing."""
    example = [["learner_id", "course_id", "due_date_type"], [make_id("x"), C1, "unlimited"]]
    path = workbook(tmp_path / "book.xlsx", {"Read me": [["One row per learner"]],
                                             "Example": example, "Enrollments": DATA})
    assert read_table(path).notes == (
        "read sheet 'Example': the first sheet with a recognisable header",
        "the sheets 'Example' and 'Enrollments' both have a header with a learner and a course "
        "column: only 'Example' (the first) is read; if that is not the list, pass --sheet "
        "'Enrollments'",
    )
    assert read_table(path, sheet="Enrollments").notes == ()


@pytest.mark.parametrize("choice", ["Second", "second", "2"])
def test_sheet_option_by_name_or_position(tmp_path, choice):
    other = [["learner_id", "course_id", "due_date_type"], [L1, make_id("c9"), "unlimited"]]
    path = workbook(tmp_path / "book.xlsx", {"First": DATA, "Second": other})
    validated = read(path, sheet=choice)
    assert validated.sheet == "Second"
    assert requests(validated) == [(2, by_id(L1), course_id(make_id("c9")), UNLIMITED)]


def test_unknown_sheet_lists_the_sheets(tmp_path):
    path = workbook(tmp_path / "book.xlsx", {"First": DATA, "Second": DATA})
    with pytest.raises(InputFileError) as error:
        read_table(path, sheet="Third")
    assert str(error.value) == "book.xlsx: no sheet 'Third'; the sheets are: 1 'First', 2 'Second'"


def test_no_recognisable_header_on_any_sheet_names_what_was_found(tmp_path):
    path = workbook(
        tmp_path / "book.xlsx",
        {"People": [["Name", "Email"], ["Ann", "ann@example.com"]], "Empty": []},
    )
    with pytest.raises(InputFileError) as error:
        read_table(path)
    message = str(error.value)
    assert message.startswith("book.xlsx: no header row with a learner and a course column;")
    assert message.endswith("Found: sheet 'People': 'Name', 'Email'; sheet 'Empty': (nothing)")


def test_sheet_option_on_a_csv_is_a_usage_error(tmp_path):
    path = write_text(tmp_path / "in.csv", DATA)
    with pytest.raises(InputFileError, match="--sheet applies to workbooks"):
        read_table(path, sheet="1")


# ---- typed Excel cells -------------------------------------------------------------------------


def test_numeric_login_cells_become_integer_text_with_a_warning(tmp_path):
    path = workbook(
        tmp_path / "logins.xlsx",
        {
            "Sheet1": [
                ["Login", "Course", "Due date type", "Due period (hours)"],
                [4711, "Ethics", "due_period", 240.0],
                [4712.0, "Ethics", "due_period", "10 days"],
                ["0042", "Ethics", "due_period", 36],
            ]
        },
    )
    validated = read(path)
    hours = [s.due_period_hours for _, _, _, s in requests(validated)]
    assert [(row, learner, course) for row, learner, course, _ in requests(validated)] == [
        (2, by_login("4711"), titled("Ethics")),
        (3, by_login("4712"), titled("Ethics")),
        (4, by_login("0042"), titled("Ethics")),
    ]
    assert hours == [240, 240, 36]
    zeros = (
        "Login: Excel stored {} as a number; if it had leading zeros they may already be lost "
        "(format the column as Text)"
    )
    assert [row.notes for row in validated.rows] == [
        (zeros.format(4711),),
        (zeros.format(4712), "Due period (hours): due period '10 days' read as 240 hours"),
        (),
    ]


def test_excel_date_datetime_bool_and_serial_cells(tmp_path):
    path = workbook(
        tmp_path / "typed.xlsx",
        {
            "Sheet1": [
                ["learner_id", "course_id", "due_date_type", "due_date", "access_date", "lock"],
                [L1, C1, "due_date", dt.date(2027, 3, 31), dt.datetime(2027, 1, 10, 9, 30), True],
                [L1, make_id("c2"), "due_date", 46477, None, False],  # a serial number
            ]
        },
    )
    validated = read(path)
    assert [settings for _, _, _, settings in requests(validated)] == [
        DueSettings(
            DueDateType.DUE_DATE,
            access_date=dt.datetime(2027, 1, 10, 9, 30),
            due_date=dt.date(2027, 3, 31),
            lock_after_due_date=True,
        ),
        DueSettings(DueDateType.DUE_DATE, due_date=dt.date(2027, 3, 31), lock_after_due_date=False),
    ]
    assert validated.rows[1].notes == ("due_date: 46477 read as an Excel date number: 2027-03-31",)
