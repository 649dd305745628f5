"""A report fed back as input: the reader takes its Needs attention sheet, drops the reason
column, and reads the rows like any input; other workbooks are not mistaken for ours."""

from __future__ import annotations

import datetime as dt

import openpyxl

from bulk_enroll.model import InputRow, RowResult, SendStats, SourceRef, Status
from bulk_enroll.read.feedback import (
    NEEDS_ATTENTION_SHEET,
    REASON_HEADER,
    ROW_HEADER,
    ReadingOptions,
)
from bulk_enroll.read.reader import read_table
from bulk_enroll.report.workbook import ReportData, RunFacts, write_report
from bulk_enroll.validate.rows import validate_table
from tests.support import HEADER, make_id, write_csv, write_xlsx

T0 = dt.datetime(2027, 1, 5, 9, 0, 0)
HEADERS = (*HEADER, "Employee name")


def report_of(tmp_path, rows, statuses, *, first=2, origin=None, reading=None,
              name="report.xlsx"):
    input_rows = [InputRow(SourceRef("in.xlsx", i + first, "Sheet1"), r)
                  for i, r in enumerate(rows)]
    results = [RowResult(s, f"because {s.value}") for s in statuses]
    data = ReportData(
        RunFacts("in.xlsx", "Sheet1", T0, T0, False, reading=reading),
        HEADERS,
        input_rows,
        results,
        [],
        [],
        SendStats(),
        origin_rows=origin,
    )
    return write_report(tmp_path / name, data)


def row(learner, name, due_type="due_date", due=dt.datetime(2027, 5, 1)):
    return (learner, make_id("course"), due_type, due, None, True, None, name)


def test_the_reader_reads_a_reports_needs_attention_sheet_without_the_reason(tmp_path):
    rows = [row(make_id("a"), "Ann"), row("EMP-1", "Bob"), row(make_id("c"), "Cy", "asap")]
    path = report_of(tmp_path, rows, [Status.ENROLLED, Status.INVALID, Status.INVALID])
    table = read_table(path)
    assert table.sheet == NEEDS_ATTENTION_SHEET
    assert table.headers == HEADERS  # exactly the input's columns: no reason column
    assert [number for number, _ in table.rows] == [2, 3]
    assert [cells for _, cells in table.rows] == [
        ("EMP-1", make_id("course"), "due_date", dt.date(2027, 5, 1), "", True, "", "Bob"),
        (make_id("c"), make_id("course"), "asap", dt.date(2027, 5, 1), "", True, "", "Cy"),
    ]  # the date cell comes back a date (date format), the boolean a boolean
    validated = validate_table(table)  # and reads like any input: same errors as the first time
    messages = [issue.describe() for r in validated.rows for issue in r.issues]
    assert messages == [
        "report.xlsx, sheet 'Needs attention', row 2, column 'learner_id': 'EMP-1' is not an ID "
        "(expected a UUID like 8363b098-e031-11e9-89cf-0a580af40b0f)",
        "report.xlsx, sheet 'Needs attention', row 3, column 'due_date_type': 'asap' is not a due "
        "date type (expected one of unlimited, default, due_date, due_period)",
    ]


def test_fixed_rows_validate_and_emptied_rows_are_dropped(tmp_path):
    rows = [row("EMP-1", "Ann"), row("EMP-2", "Bob"), row("EMP-3", "Cy")]
    path = report_of(tmp_path, rows, [Status.INVALID] * 3)
    book = openpyxl.load_workbook(path)
    sheet = book[NEEDS_ATTENTION_SHEET]
    assert sheet.cell(1, len(HEADERS) + 1).value == ROW_HEADER
    assert sheet.cell(1, len(HEADERS) + 2).value == REASON_HEADER
    sheet["A2"] = make_id("ann")  # fixed
    for cell in sheet[3][: len(HEADERS)]:  # Bob's row emptied, the reason left behind
        cell.value = None
    book.save(path)
    validated = validate_table(read_table(path))
    assert [(r.source.row, r.is_valid) for r in validated.rows] == [(2, True), (4, False)]
    assert validated.rows[0].requests[0].learner.value == make_id("ann")


def test_a_workbook_that_only_looks_like_a_report_is_read_from_its_first_sheet(tmp_path):
    path = write_xlsx(tmp_path / "mine.xlsx", [HEADER, row(make_id("a"), "x")[:7]], title="Data")
    book = openpyxl.load_workbook(path)
    book.create_sheet("Summary").append(["Written by", "someone else"])
    book.create_sheet(NEEDS_ATTENTION_SHEET).append(["nothing", "here"])
    book.save(path)
    table = read_table(path)
    assert table.sheet == "Data" and table.headers == HEADER


def test_the_sheet_saved_as_csv_also_loses_its_reason_column(tmp_path):
    path = write_csv(
        tmp_path / "fixes.csv",
        [
            [*HEADER, REASON_HEADER],
            [make_id("a"), make_id("c"), "unlimited", "", "", "", "", "invalid: was wrong"],
        ],
    )
    table = read_table(path)
    assert table.headers == HEADER
    assert table.rows == [(2, (make_id("a"), make_id("c"), "unlimited", "", "", "", ""))]


def test_the_needs_attention_sheet_keeps_each_rows_number_in_the_first_file(tmp_path):
    rows = [row("EMP-1", "Ann"), row(make_id("b"), "Bob"), row("EMP-3", "Cy")]
    first = report_of(tmp_path, rows, [Status.INVALID, Status.ENROLLED, Status.INVALID],
                      first=12, name="first.xlsx")
    table = read_table(first)
    assert [number for number, _ in table.rows] == [2, 3]  # the report sheet's own rows
    assert table.origin_rows == {2: 12, 3: 14}  # the rows of the file first run
    assert ROW_HEADER not in table.headers
    # fed back and still not right: the next report says row 12 and 14 again, not 2 and 3
    again = report_of(tmp_path, [cells for _, cells in table.rows], [Status.INVALID] * 2,
                      origin=table.origin_rows, name="second.xlsx")
    sheet = openpyxl.load_workbook(again)[NEEDS_ATTENTION_SHEET]
    assert [r[len(HEADERS)] for r in sheet.iter_rows(min_row=2, values_only=True)] == [12, 14]


def test_the_reading_options_a_report_remembers_round_trip(tmp_path):
    from bulk_enroll.read.reader import stored_reading_options

    reading = ReadingOptions(sheet="Staff", date_order="dmy",
                             aliases={"Mitarbeiter E-Mail": "learner_email", "Notiz": "ignore"},
                             row_defaults={"lock_after_due_date": "true"},
                             include_hidden_rows=True)
    path = report_of(tmp_path, [row("EMP-1", "Ann")], [Status.INVALID], reading=reading)
    assert openpyxl.load_workbook(path)["Run settings"].sheet_state == "hidden"
    assert stored_reading_options(path) == reading
    assert stored_reading_options(report_of(tmp_path, [row("EMP-1", "Ann")], [Status.INVALID],
                                            name="old.xlsx")) is None  # none remembered
    plain = write_xlsx(tmp_path / "plain.xlsx", [HEADER])
    assert stored_reading_options(plain) is None
    assert stored_reading_options(tmp_path / "missing.xlsx") is None


def test_remembered_options_that_were_tampered_with_are_ignored():
    good = ReadingOptions(date_order="mdy").rows()
    assert ReadingOptions.from_rows(good) == ReadingOptions(date_order="mdy")
    assert ReadingOptions.from_rows([("format", "something else"), *good[1:]]) is None
    assert ReadingOptions.from_rows([*good, ("aliases", "[1, 2]")]) is None
    assert ReadingOptions.from_rows([*good, ("date_order", "not json")]) is None
