"""What a change of workbook writer could silently break, checked on the file itself: text that
looks like a formula, a link, a number, a boolean or an error stays exactly that text; long and
odd text survives; dates are dates; the document properties and print setup are there; a failed
write leaves nothing behind. Read back with openpyxl (types, styles) and with calamine, the
reader bulk-enroll itself uses when a report is fed back as input."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import zipfile

import openpyxl
import pytest
import python_calamine

from bulk_enroll.model import (
    Batch,
    DueDateType,
    DueSettings,
    InputRow,
    RowResult,
    SendStats,
    SourceRef,
    Status,
)
from bulk_enroll.read.feedback import NEEDS_ATTENTION_SHEET
from bulk_enroll.read.reader import read_table
from bulk_enroll.report.workbook import ReportData, RunFacts, write_report
from tests.support import open_report

T0 = dt.datetime(2027, 1, 5, 9, 0, 0)
SETTINGS = DueSettings(DueDateType.UNLIMITED)
LONG = "x" * 40_000
EMOJI = "\N{GRINNING FACE}" * 20_000  # 40,000 UTF-16 units in 20,000 characters

# Text a spreadsheet writer could turn into something else: (text, what a reader must see).
TRICKY_TEXTS = [
    ("=1+1", "=1+1"),
    ("@SUM(A1)", "@SUM(A1)"),
    ("+cmd|' /C calc'!A0", "+cmd|' /C calc'!A0"),
    ("-2+3", "-2+3"),
    ("https://example.com/a?b=c", "https://example.com/a?b=c"),
    ("mailto:ann@example.com", "mailto:ann@example.com"),
    ("www.example.com", "www.example.com"),
    ("007", "007"),
    ("1e5", "1e5"),
    ("12.50", "12.50"),
    ("TRUE", "TRUE"),
    ("#N/A", "#N/A"),
    ("2027-05-01", "2027-05-01"),  # an ISO date in a column that is not a date column
    ("a\x01b", "a\ufffdb"),  # a control character XML forbids becomes U+FFFD
    ("two\nlines", "two\nlines"),
    ("\tpadded ", "\tpadded "),
    ("_x0041_", "_x0041_"),  # looks like OOXML's own escape: must not become "A"
    (LONG, LONG[:32767]),  # Excel's limit for one cell
]


def report(values, *, headers=("learner_id", "Note"), results=None) -> ReportData:
    rows = [InputRow(SourceRef("in.csv", i + 2), v) for i, v in enumerate(values)]
    return ReportData(
        RunFacts("in.csv", None, T0, T0, False, "https://x.example.com/soap", "soap"),
        headers,
        rows,
        results or [RowResult(Status.INVALID, "check it") for _ in rows],
        [Batch("b-1", SETTINGS, ("l1",), ("c1",))],
        [],
        SendStats(),
    )


def calamine_rows(path, sheet) -> list[list[object]]:
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    return book.get_sheet_by_name(sheet).to_python()


@pytest.fixture(scope="module")
def tricky(tmp_path_factory):
    path = tmp_path_factory.mktemp("tricky") / "r.xlsx"
    return write_report(path, report([("id", text) for text, _ in TRICKY_TEXTS]))


@pytest.mark.parametrize(("index", "expected"), list(enumerate(e for _, e in TRICKY_TEXTS)))
@pytest.mark.parametrize("sheet", ["Results", NEEDS_ATTENTION_SHEET])
def test_tricky_text_comes_back_exactly_as_text(tricky, sheet, index, expected):
    cell = open_report(tricky)[sheet].cell(index + 2, 2)
    assert (cell.value, cell.data_type) == (expected, "s")
    assert cell.hyperlink is None
    if expected[0] in "=+-@\t":
        assert cell.quotePrefix  # editing it in Excel keeps it text
    assert calamine_rows(tricky, sheet)[index + 1][1] == expected


def test_no_formula_no_link_and_no_error_cell_anywhere_in_the_file(tricky):
    with zipfile.ZipFile(tricky) as archive:
        names = archive.namelist()
        sheets = [archive.read(n) for n in names if n.startswith("xl/worksheets/sheet")]
    assert sheets and not [xml for xml in sheets if b"<f>" in xml or b"<f " in xml]
    assert not [xml for xml in sheets if b't="e"' in xml or b"<hyperlink" in xml]


def test_text_over_the_limit_is_cut_in_utf16_units_without_splitting_a_character(tmp_path):
    path = write_report(tmp_path / "r.xlsx", report([("id", EMOJI)]))
    shown = calamine_rows(path, "Results")[1][1]
    assert len(shown.encode("utf-16-le")) // 2 <= 32767  # what Excel can hold
    assert shown == EMOJI[: len(shown)] and len(shown) == 32767 // 2


def test_dates_times_and_numbers_keep_their_type(tmp_path):
    headers = ("learner_id", "due_date", "Hired", "Shift", "Employee number", "Score", "Aware")
    aware = dt.datetime(2027, 3, 1, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    values = [
        ("007", "2027-05-01", dt.date(2026, 12, 1), dt.time(7, 45), 1234567890123, 2.5, aware),
        (7.0, dt.datetime(2027, 5, 2, 13, 0), "soon", None, 42, math.nan, math.inf),
    ]
    path = write_report(tmp_path / "r.xlsx", report(values, headers=headers))
    sheet = openpyxl.load_workbook(path)["Results"]
    first, second = [[c for c in row] for row in sheet.iter_rows(min_row=2, max_row=3)]
    assert (first[0].value, first[0].data_type) == ("007", "s")  # an ID: leading zeros kept
    assert (second[0].value, second[0].data_type) == ("7", "s")  # a float ID loses its ".0"
    assert (first[1].value, first[1].number_format) == (dt.datetime(2027, 5, 1), "yyyy-mm-dd")
    assert (first[2].value, first[2].number_format) == (dt.datetime(2026, 12, 1), "yyyy-mm-dd")
    assert (first[3].value, first[3].number_format) == (dt.time(7, 45), "hh:mm:ss")
    assert (first[4].value, first[4].number_format) == (1234567890123, "0")
    assert (first[5].value, first[5].data_type) == (2.5, "n")
    assert first[6].value == dt.datetime(2027, 3, 1, 8, 30)  # wall time, zone dropped
    assert (second[1].value, second[1].number_format) == (
        dt.datetime(2027, 5, 2, 13, 0),
        "yyyy-mm-dd hh:mm:ss",
    )
    assert (second[2].value, second[2].data_type) == ("soon", "s")
    assert second[4].value == 42 and second[4].number_format == "General"
    # A cell cannot hold NaN or infinity as a number: they show as the text they print as.
    assert (second[5].value, second[6].value) == ("nan", "inf")
    assert all(cell.is_date for cell in (first[1], first[2], first[3], first[6], second[1]))


def test_a_fed_back_report_reads_its_ids_and_dates_as_the_input_had_them(tmp_path):
    headers = ("learner_id", "course_id", "due_date_type", "due_date", "Employee number")
    values = [("0042", "c-1", "due_date", "2027-05-01", "=cmd")]
    path = write_report(tmp_path / "r.xlsx", report(values, headers=headers))
    table = read_table(path)
    assert table.sheet == NEEDS_ATTENTION_SHEET and table.headers == headers
    assert table.rows == [(2, ("0042", "c-1", "due_date", dt.date(2027, 5, 1), "=cmd"))]


def test_document_properties_and_print_setup(tmp_path):
    path = write_report(tmp_path / "r.xlsx", report([("a", "b")]))
    book = openpyxl.load_workbook(path)
    assert book.properties.creator.startswith("bulk-enroll ")
    assert book.properties.title == "bulk-enroll results: in.csv"
    assert book.properties.subject == "0 enrolled, 1 need attention"
    for name in ("Needs attention", "Results", "Batches"):
        sheet = book[name]
        assert sheet.page_setup.orientation == "landscape", name
        # All columns on one page width (1 is the file format's default, so it may be left out).
        assert sheet.page_setup.fitToWidth in (None, 1) and sheet.page_setup.fitToHeight == 0
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, name
        assert sheet.print_title_rows == "$1:$1", name
    summary = book["Summary"]
    assert summary.page_setup.orientation == "portrait"
    assert summary.page_setup.fitToWidth in (None, 1)
    assert summary.page_setup.fitToHeight in (None, 1)  # one page down, not 0 (as many as needed)
    assert [summary.column_dimensions[c].width for c in "ABCD"] == [20, 21, 9, 62]


def test_status_header_and_summary_styles(tmp_path):
    path = write_report(tmp_path / "r.xlsx", report([("a", "b")]))
    book = openpyxl.load_workbook(path)
    header = book["Results"]["A1"]
    assert header.font.b and header.fill.fgColor.rgb.endswith("D9E1F2")
    assert book[NEEDS_ATTENTION_SHEET]["C1"].fill.fgColor.rgb.endswith("FCE4D6")  # the reason
    status = book["Results"]["C2"]
    assert status.font.color.rgb.endswith("9C0006") and status.fill.fgColor.rgb.endswith("FFC7CE")
    summary = book["Summary"]
    assert summary["A1"].font.b and summary["A1"].font.sz == 14
    assert summary["A2"].font.i and summary["A2"].font.color.rgb.endswith("595959")
    assert summary["C6"].number_format == "0.0%"
    assert summary["D6"].alignment.indent == 1 and summary["D6"].alignment.horizontal == "left"


def test_a_write_that_fails_midway_keeps_the_old_report_and_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "r.xlsx"
    target.write_bytes(b"previous report")

    def broken(data):
        raise RuntimeError("boom")

    monkeypatch.setattr("bulk_enroll.report.sheets.run_facts", broken)
    with pytest.raises(RuntimeError):
        write_report(target, report([("a", "b")]))
    assert list(tmp_path.iterdir()) == [target]
    assert target.read_bytes() == b"previous report"


def test_zone_aware_times_are_written_as_their_wall_clock_time(tmp_path):
    zone = dt.timezone(dt.timedelta(hours=-5))
    data = report([("a", dt.datetime(2027, 3, 1, 8, 30, tzinfo=zone))])
    aware = RunFacts("in.csv", None, T0.replace(tzinfo=zone), T0.replace(tzinfo=zone), False)
    path = write_report(tmp_path / "r.xlsx", dataclasses.replace(data, facts=aware))
    book = openpyxl.load_workbook(path)
    facts = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True) if row[0]}
    assert facts["Started"] == T0 and facts["Finished"] == T0
    assert book["Results"]["B2"].value == dt.datetime(2027, 3, 1, 8, 30)
