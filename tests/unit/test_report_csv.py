"""`--report-format csv`: the Results rows as CSV, UTF-8 with BOM, formula text defused with a
leading quote (OWASP), IDs as written, dates in ISO form; and the CLI option around it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest

from bulk_enroll.cli import main
from bulk_enroll.model import InputRow, RowResult, SendStats, SourceRef, Status
from bulk_enroll.report.csv_file import csv_text
from bulk_enroll.report.workbook import ReportData, RunFacts, write_report
from tests.support import HEADER, make_id

T0 = dt.datetime(2027, 1, 5, 9, 0, 0)


def read_back(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel needs the BOM to read UTF-8
    return list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline="")))


def test_csv_has_the_results_columns_and_rows(tmp_path):
    headers = ("learner_id", "due_date", "Name", "Hours")
    rows = [
        InputRow(SourceRef("in.xlsx", 2), (1234567890123.0, dt.datetime(2027, 5, 1), "Zoë", 720.0)),
        InputRow(SourceRef("in.xlsx", 3), ("0012", "2027-02-30", "=1+2", 1.5)),
    ]
    results = [
        RowResult(Status.ENROLLED, "", ("b-1",), 1, T0),
        RowResult(Status.INVALID, "-due_date: '2027-02-30' is not a date"),
    ]
    data = ReportData(
        RunFacts("in.xlsx", None, T0, T0, False), headers, rows, results, [], [], SendStats()
    )
    path = write_report(tmp_path / "r.csv", data, report_format="csv")
    assert read_back(path) == [
        [
            "learner_id",
            "due_date",
            "Name",
            "Hours",
            "Status",
            "Message",
            "Batch",
            "Attempts",
            "Time",
        ],
        [
            "1234567890123",
            "2027-05-01",
            "Zoë",
            "720",
            "enrolled",
            "",
            "b-1",
            "1",
            "2027-01-05 09:00:00",
        ],
        [
            "0012",
            "2027-02-30",
            "'=1+2",
            "1.5",
            "invalid",
            "'-due_date: '2027-02-30' is not a date",
            "",
            "",
            "",
        ],
    ]


@pytest.mark.parametrize(
    "text",
    ["=cmd", "+1+2", "-1+2", "-A1", "@SUM(A1)", "\tx", "\rx", "\t5", "-", "-.", "-1e", "- 1",
     "-1 ", "-1\n", "+1,5", "-\u0665", "-2e3-cmd|' /C calc'!A0"],
)
def test_formula_text_gets_a_leading_quote(text):
    assert csv_text(text) == "'" + text


@pytest.mark.parametrize(
    "text", ["-5", "-1.5", "+1", "+0.25", "-.5", "5.", "-1e5", "-2.5E-3", "+7e+2", "0012"]
)
def test_plain_number_text_is_not_prefixed(text):
    # Values from a CSV input are text: a negative number is still a number, not a formula.
    assert csv_text(text) == text


def test_negative_numbers_from_a_csv_input_reach_the_csv_report_as_numbers(tmp_path):
    headers = ("learner_id", "Balance", "Note")
    rows = [InputRow(SourceRef("in.csv", 2), ("-5", "-1.5", "-5+1"))]
    data = ReportData(
        RunFacts("in.csv", None, T0, T0, False),
        headers,
        rows,
        [RowResult(Status.ENROLLED, "", ("b-1",), 1, T0)],
        [],
        [],
        SendStats(),
    )
    path = write_report(tmp_path / "r.csv", data, report_format="csv")
    assert read_back(path)[1][:3] == ["-5", "-1.5", "'-5+1"]


def test_plain_text_and_numbers_are_untouched():
    assert [csv_text(v) for v in ("a-b", "1", -3, 2.0, 0.25, None, True)] == [
        "a-b",
        "1",
        "-3",
        "2",
        "0.25",
        "",
        "true",
    ]


def valid_csv(tmp_path: Path) -> Path:
    path = tmp_path / "input.csv"
    path.write_text(
        ",".join(HEADER) + "\n" + f"{make_id('l')},{make_id('c')},unlimited,,,,\n", "utf-8"
    )
    return path


def test_cli_report_format_csv_writes_a_csv_report(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    path = valid_csv(tmp_path)
    assert main(["run", "--dry-run", str(path), "--report-format", "csv"]) == 0
    [report] = Path("reports").iterdir()
    assert re.fullmatch(r"input-results-\d{8}-\d{6}\.csv", report.name)
    assert read_back(report)[1][:2] == [make_id("l"), make_id("c")]
    assert "Needs attention" not in capsys.readouterr().out  # no workbook to fix in


def test_cli_takes_the_format_from_the_report_extension(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--dry-run", str(valid_csv(tmp_path)), "--report", "out.CSV"]) == 0
    assert read_back(tmp_path / "out.CSV")[0][-5:] == [
        "Status",
        "Message",
        "Batch",
        "Attempts",
        "Time",
    ]


def test_cli_refuses_a_report_extension_that_contradicts_the_format(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = main(
        [
            "run",
            "--dry-run",
            str(valid_csv(tmp_path)),
            "--report",
            "o.xlsx",
            "--report-format",
            "csv",
        ]
    )
    assert code == 2
    assert capsys.readouterr().err.endswith(
        "Error: --report o.xlsx is a .xlsx file but --report-format is csv\n"
    )
    assert not (tmp_path / "o.xlsx").exists()
