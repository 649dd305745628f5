"""The result workbook opened by a real office suite: LibreOffice loads a report and saves it
again (`soffice --convert-to xlsx`), and what it saved still holds exactly our text, dates,
numbers and statuses. This is how the report meets Excel-like readers outside our own code: the
XML escapes, quote prefixes and inline strings of the writer have to mean to them what we meant.

Without LibreOffice the test is skipped (CI installs Debian's libreoffice-calc-nogui).
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
import python_calamine

from bulk_enroll.model import InputRow, RowResult, SendStats, SourceRef, Status
from bulk_enroll.read.feedback import NEEDS_ATTENTION_SHEET
from bulk_enroll.report.workbook import ReportData, RunFacts, write_report

T0 = dt.datetime(2027, 1, 5, 9, 0, 0)
HEADERS = ("learner_id", "due_date", "Note", "Employee number")
VALUES = [
    ("0042", "2027-05-01", "=1+1", 1234567890123),
    ("7", dt.datetime(2027, 5, 2, 13, 30), "+cmd|' /C calc'!A0", 12.5),
    ("x", "someday", "\rcarriage return", None),
    ("y", None, "_x0041_ is not A", -3),
    ("z", None, "https://example.com/?a=b", True),
]


def _reopened_by_libreoffice(report: Path, tmp_path: Path) -> Path:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    out = tmp_path / "libreoffice"
    completed = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    saved = out / report.name
    assert completed.returncode == 0 and saved.exists(), completed.stderr[-2000:]
    return saved


def test_libreoffice_reads_the_report_as_we_wrote_it(tmp_path):
    rows = [InputRow(SourceRef("in.csv", i + 2), v) for i, v in enumerate(VALUES)]
    statuses = [Status.ENROLLED, Status.INVALID, Status.FAILED, Status.NOT_SENT, Status.UNKNOWN]
    data = ReportData(
        RunFacts("in.csv", None, T0, T0, False, "https://x.example.com/soap", "soap"),
        HEADERS,
        rows,
        [RowResult(status, f"because {status.value}") for status in statuses],
        [],
        [],
        SendStats(),
    )
    saved = _reopened_by_libreoffice(write_report(tmp_path / "report.xlsx", data), tmp_path)

    book = python_calamine.CalamineWorkbook.from_path(str(saved))
    assert book.sheet_names == ["Summary", NEEDS_ATTENTION_SHEET, "Results", "Batches"]
    results = book.get_sheet_by_name("Results").to_python()
    assert [row[:5] for row in results[1:]] == [
        ["0042", dt.date(2027, 5, 1), "=1+1", 1234567890123, "enrolled"],
        ["7", dt.datetime(2027, 5, 2, 13, 30), "+cmd|' /C calc'!A0", 12.5, "invalid"],
        ["x", "someday", "\rcarriage return", "", "failed"],
        ["y", "", "_x0041_ is not A", -3, "not_sent"],
        ["z", "", "https://example.com/?a=b", True, "unknown"],
    ]
    sheet = openpyxl.load_workbook(saved)["Results"]
    assert (sheet["C2"].data_type, sheet["C3"].data_type) == ("s", "s")  # text, not formulas
    assert sheet["C6"].hyperlink is None
    assert sheet["E3"].fill.fgColor.rgb.endswith("FFC7CE")  # invalid: red


def test_a_report_saved_by_libreoffice_still_remembers_its_run_settings(tmp_path):
    """A person fixes the rows in LibreOffice and saves: the hidden Run settings sheet, and the
    Input row column, come back as we wrote them."""
    from bulk_enroll.read.feedback import ReadingOptions
    from bulk_enroll.read.reader import read_table, stored_reading_options

    reading = ReadingOptions(sheet="Staff", date_order="dmy",
                             aliases={"Mitarbeiter E-Mail": "learner_email", "Notiz": "ignore"},
                             row_defaults={"lock_after_due_date": "true", "due_period": "10 Tage"},
                             last_row_wins=True)
    headers = ("learner_id", "course_id", "Notiz")
    rows = [InputRow(SourceRef("in.csv", 40 + i), ("EMP-1", "C-1", note))
            for i, note in enumerate(("=1+1", "x"))]
    data = ReportData(
        RunFacts("in.csv", None, T0, T0, False, reading=reading),
        headers, rows, [RowResult(Status.INVALID, "why")] * 2, [], [], SendStats(),
    )
    saved = _reopened_by_libreoffice(write_report(tmp_path / "report.xlsx", data), tmp_path)
    assert stored_reading_options(saved) == reading
    table = read_table(saved)
    assert table.sheet == NEEDS_ATTENTION_SHEET and table.headers == headers
    assert table.origin_rows == {2: 40, 3: 41}
