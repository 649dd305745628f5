"""Result workbook: sheets, exact columns, one status per row, no live formulas, atomic write."""

from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pytest

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
from bulk_enroll.report import (
    ReportData,
    RunFacts,
    summary_dict,
    write_report,
    write_summary_json,
)

T0 = dt.datetime(2027, 1, 5, 9, 0, 0)


def data(values, results, *, dry_run=False) -> ReportData:
    rows = [InputRow(SourceRef("in.csv", i + 2), v) for i, v in enumerate(values)]
    batch = Batch("b-1", DueSettings(DueDateType.UNLIMITED), ("l1",), ("c1",))
    return ReportData(
        RunFacts(
            "in.csv",
            None,
            T0,
            T0 + dt.timedelta(seconds=3),
            dry_run,
            "http://127.0.0.1:1/soap",
            "soap",
        ),
        ("learner_id", "Employee name"),
        rows,
        results,
        [batch],
        [],
        SendStats(api_calls=7, retries=1),
    )


def test_results_sheet_has_original_columns_then_status_and_message(tmp_path):
    report = data(
        [("0012", "Ann"), ("x", "Bob")],
        [
            RowResult(Status.ENROLLED, "", ("b-1",), 1, T0),
            RowResult(Status.INVALID, "learner_id: 'x' is not an ID"),
        ],
    )
    path = write_report(tmp_path / "r.xlsx", report)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Summary", "Results", "Batches"]
    sheet = book["Results"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("learner_id", "Employee name", "Status", "Message")
    assert rows[1][:5] == ("0012", "Ann", "enrolled", "", "b-1") or rows[1][:5] == (
        "0012",
        "Ann",
        "enrolled",
        None,
        "b-1",
    )
    assert rows[2][2:4] == ("invalid", "learner_id: 'x' is not an ID")
    assert sheet["A2"].data_type == "s"  # IDs stay text: leading zeros kept
    assert sheet["G2"].value == T0  # times are real dates
    summary = [r for r in book["Summary"].iter_rows(values_only=True)]
    assert summary[0][0] == "1 enrolled, 1 need attention"
    assert ("API calls made", 7) in [r[:2] for r in summary]


@pytest.mark.parametrize(
    "text", ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]
)
def test_formula_like_text_stays_text(tmp_path, text):
    path = write_report(
        tmp_path / "r.xlsx", data([(text, text)], [RowResult(Status.INVALID, text)])
    )
    sheet = openpyxl.load_workbook(path)["Results"]
    for cell in (sheet["A2"], sheet["B2"], sheet["D2"]):
        assert cell.data_type == "s" and cell.value == text
        assert cell.quotePrefix


def test_failed_write_keeps_the_old_report_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "r.xlsx"
    target.write_bytes(b"previous report")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("bulk_enroll.report.os.replace", boom)
    with pytest.raises(OSError):
        write_report(target, data([("a", "b")], [RowResult(Status.ENROLLED)]))
    assert list(tmp_path.iterdir()) == [target]
    assert target.read_bytes() == b"previous report"


def test_json_summary_has_the_promised_keys(tmp_path):
    report = data([("a", "b")], [RowResult(Status.DUPLICATE)])
    summary = summary_dict(report, tmp_path / "r.xlsx", 0)
    write_summary_json(tmp_path / "s.json", summary)
    loaded = json.loads((tmp_path / "s.json").read_text())
    assert loaded["rows"] == 1 and loaded["api_calls"] == 7
    assert loaded["status_counts"]["duplicate"] == 1
    assert set(loaded["status_counts"]) == {s.value for s in Status}
