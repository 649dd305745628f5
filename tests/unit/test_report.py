"""Result workbook, reopened with openpyxl: sheets, exact columns, one status per row, IDs as
text, real dates, no live formulas anywhere, layout (frozen header, filter, widths), the chart,
the run facts, atomic writes."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import zipfile

import openpyxl
import pytest
from openpyxl.chart import BarChart

from bulk_enroll.model import (
    Batch,
    BatchOutcome,
    CourseKey,
    CourseRef,
    DueDateType,
    DueSettings,
    InputRow,
    LearnerKey,
    LearnerRef,
    Pair,
    Request,
    RowResult,
    SendStats,
    SourceRef,
    Status,
)
from bulk_enroll.read.feedback import REASON_HEADER, ROW_HEADER
from bulk_enroll.report.cells import STATUS_COLOURS
from bulk_enroll.report.columns import ResultLine, reason
from bulk_enroll.report.workbook import (
    ReportData,
    RunFacts,
    summary_dict,
    write_report,
    write_summary_json,
)
from tests.support import open_report

T0 = dt.datetime(2027, 1, 5, 9, 0, 0)
SETTINGS = DueSettings(DueDateType.UNLIMITED)
HEADERS = ("learner_id", "Employee name")
SHEETS = ["Summary", "Needs attention", "Results", "Batches"]


def data(
    values,
    results,
    *,
    headers=HEADERS,
    dry_run=False,
    calls=(),
    planned=None,
    facts=None,
    rows=None,
) -> ReportData:
    rows = rows or [InputRow(SourceRef("in.csv", i + 2), v) for i, v in enumerate(values)]
    batch = Batch("b-1", SETTINGS, ("l1",), ("c1",))
    return ReportData(
        facts
        or RunFacts(
            "in.csv",
            None,
            T0,
            T0 + dt.timedelta(seconds=3),
            dry_run,
            "http://127.0.0.1:1/soap",
            "soap",
            input_sha256="ab" * 32,
        ),
        headers,
        rows,
        results,
        [batch] if planned is None else planned,
        list(calls),
        SendStats(api_calls=7, retries=1, isolation_calls=2),
    )


def sheet_rows(sheet) -> list[tuple]:
    return list(sheet.iter_rows(values_only=True))


def as_dicts(sheet) -> list[dict[str, object]]:
    header, *rows = sheet_rows(sheet)
    return [dict(zip(header, row, strict=True)) for row in rows]


def every_cell(book):
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            yield from row


def test_sheets_summary_first_and_results_columns_in_input_order(tmp_path):
    report = data(
        [("0012", "Ann"), ("x", "Bob")],
        [
            RowResult(Status.ENROLLED, "", ("b-1",), 1, T0),
            RowResult(Status.INVALID, "learner_id: 'x' is not an ID"),
        ],
    )
    book = openpyxl.load_workbook(write_report(tmp_path / "r.xlsx", report))
    assert book.sheetnames == SHEETS
    sheet = book["Results"]
    rows = sheet_rows(sheet)
    assert rows[0] == (
        "learner_id",
        "Employee name",
        "Status",
        "Message",
        "Batch",
        "Attempts",
        "Time",
    )
    assert rows[1] == ("0012", "Ann", "enrolled", None, "b-1", 1, T0)
    assert rows[2] == ("x", "Bob", "invalid", "learner_id: 'x' is not an ID", None, None, None)
    assert sheet["A2"].data_type == "s"  # IDs stay text: leading zeros kept
    assert sheet["G2"].is_date and sheet["G2"].number_format == "yyyy-mm-dd hh:mm:ss"


def test_status_cells_are_colour_coded(tmp_path):
    statuses = list(Status)
    report = data([(f"r{i}", "x") for i in statuses], [RowResult(s, "m") for s in statuses])
    sheet = openpyxl.load_workbook(write_report(tmp_path / "r.xlsx", report))["Results"]
    fills = {sheet.cell(i + 2, 3).value: sheet.cell(i + 2, 3).fill for i in range(len(statuses))}
    assert fills["enrolled"].fgColor.rgb.endswith("C6EFCE")
    assert fills["invalid"].fgColor.rgb.endswith("FFC7CE")
    assert fills["failed"].fgColor.rgb.endswith("FFC7CE")
    assert fills["not_sent"].fgColor.rgb.endswith("FFEB9C")
    assert all(fill.fill_type == "solid" for fill in fills.values())
    assert sheet.cell(2, 4).fill.fill_type is None  # only the status cell is coloured


def test_header_frozen_filtered_and_widths_fit_the_values(tmp_path):
    long_name = "Maximilian Alexander von Habsburg-Lothringen"
    report = data(
        [("0012", long_name), ("7", "Bo")],
        [RowResult(Status.ENROLLED, "", ("b-1",), 1, T0), RowResult(Status.FAILED, "x" * 300)],
    )
    book = openpyxl.load_workbook(write_report(tmp_path / "r.xlsx", report))
    for name in ("Needs attention", "Results", "Batches"):
        sheet = book[name]
        assert sheet.freeze_panes == "A2", name
        assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}" + (
            f"{sheet.max_row}"
        ), name
    widths = {c: book["Results"].column_dimensions[c].width for c in "ABCDEFG"}
    assert len(long_name) < widths["B"] <= len(long_name) + 3  # the name fits, no more
    assert widths["A"] < widths["B"]
    assert widths["D"] == 90  # a 300-character message is capped, not 300 wide
    assert widths["G"] >= len("2027-01-05 09:00:00")  # times never show as ####


def test_ids_are_text_whatever_the_input_cell_type(tmp_path):
    headers = ("learner_id", "course_id", "Employee number", "Phone")
    report = data(
        [(1234567890123.0, 42, "000123", 4915112345678)],
        [RowResult(Status.INVALID, "learner_id: not an ID")],
        headers=headers,
    )
    book = openpyxl.load_workbook(write_report(tmp_path / "r.xlsx", report))
    for name in ("Results", "Needs attention"):
        sheet = book[name]
        assert (sheet["A2"].value, sheet["A2"].data_type) == ("1234567890123", "s")
        assert (sheet["B2"].value, sheet["B2"].data_type) == ("42", "s")
        assert (sheet["C2"].value, sheet["C2"].data_type) == ("000123", "s")
        # A long number in another column stays a number but shows in full, not 4.9E+12.
        assert sheet["D2"].value == 4915112345678 and sheet["D2"].number_format == "0"


def test_dates_are_real_excel_dates_and_bad_date_text_stays_as_typed(tmp_path):
    headers = ("learner_id", "due_date", "access_date", "Hired on")
    report = data(
        [
            ("a", "2027-05-01", "2027-04-01 08:30", dt.date(2026, 12, 1)),
            ("b", "2027-02-30", dt.datetime(2027, 4, 2), "someday"),
        ],
        [RowResult(Status.ENROLLED), RowResult(Status.INVALID, "due_date: not a date")],
        headers=headers,
    )
    sheet = openpyxl.load_workbook(write_report(tmp_path / "r.xlsx", report))["Results"]
    assert (
        sheet["B2"].value == dt.datetime(2027, 5, 1) and sheet["B2"].number_format == "yyyy-mm-dd"
    )
    assert sheet["C2"].value == dt.datetime(2027, 4, 1, 8, 30)
    assert sheet["C2"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert sheet["D2"].is_date and sheet["D2"].number_format == "yyyy-mm-dd"
    assert (sheet["B3"].value, sheet["B3"].data_type) == ("2027-02-30", "s")
    assert sheet["C3"].value == dt.datetime(2027, 4, 2) and sheet["C3"].is_date
    assert sheet["D3"].value == "someday"


def test_booleans_stay_booleans(tmp_path):
    report = data([("a", True), ("b", False)], [RowResult(Status.ENROLLED)] * 2)
    sheet = openpyxl.load_workbook(write_report(tmp_path / "r.xlsx", report))["Results"]
    assert (sheet["B2"].value, sheet["B3"].value) == (True, False)
    assert sheet["B2"].data_type == "b"


FORMULA_TEXTS = ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd", "#N/A"]


@pytest.mark.parametrize("text", FORMULA_TEXTS)
def test_formula_like_text_stays_text_in_every_sheet(tmp_path, text):
    calls = [BatchOutcome(Batch(text, SETTINGS, ("l1",), ("c1",)), Status.FAILED, text, 1, 0.1)]
    facts = RunFacts(text, text, T0, T0, False, None, text, text)
    report = data(
        [(text, text)],
        [RowResult(Status.FAILED, text, (text,), 1, T0)],
        headers=(text, "learner_id"),
        calls=calls,
        facts=facts,
    )
    book = open_report(write_report(tmp_path / "r.xlsx", report))
    seen = {sheet: 0 for sheet in SHEETS}
    for cell in every_cell(book):
        if isinstance(cell.value, str) and text in cell.value:
            assert cell.data_type == "s", (cell.parent.title, cell.coordinate)
            if cell.value.startswith(text[0]) and text[0] != "#":
                assert cell.quotePrefix, (cell.parent.title, cell.coordinate)
            seen[cell.parent.title] += 1
    assert all(seen.values()), seen  # the text reached every sheet, and was safe there
    assert book["Results"]["A2"].value == text  # shown exactly as written
    assert book["Results"]["A1"].value == text  # headers too
    assert not [c for c in every_cell(book) if c.data_type in ("f", "e")]


def test_control_characters_do_not_break_the_report(tmp_path):
    report = data([("a\x01b", "ok")], [RowResult(Status.INVALID, "bad \x0b char")])
    sheet = openpyxl.load_workbook(write_report(tmp_path / "r.xlsx", report))["Results"]
    assert sheet["A2"].value == "a\ufffdb" and sheet["D2"].value == "bad \ufffd char"


def test_needs_attention_holds_exactly_the_rows_to_fix_with_the_input_columns(tmp_path):
    statuses = list(Status)
    report = data(
        [(f"id-{s.value}", f"name {i}") for i, s in enumerate(statuses)],
        [RowResult(s, f"why {s.value}" if s is not Status.NOT_SENT else "") for s in statuses],
    )
    sheet = openpyxl.load_workbook(write_report(tmp_path / "r.xlsx", report))["Needs attention"]
    rows = sheet_rows(sheet)
    assert rows[0] == (*HEADERS, ROW_HEADER, REASON_HEADER)
    assert rows[1:] == [  # with the row's number in the input
        ("id-invalid", "name 3", 5, "invalid: why invalid"),
        ("id-failed", "name 4", 6, "failed: why failed"),
        ("id-not_sent", "name 5", 7, "not_sent"),
        ("id-unknown", "name 6", 8, "unknown: why unknown"),
    ]


def test_needs_attention_is_just_a_header_when_every_row_settled(tmp_path):
    report = data([("a", "b")], [RowResult(Status.ENROLLED)])
    book = openpyxl.load_workbook(write_report(tmp_path / "r.xlsx", report))
    assert sheet_rows(book["Needs attention"]) == [(*HEADERS, ROW_HEADER, REASON_HEADER)]
    summary = sheet_rows(book["Summary"])
    assert summary[0][0] == "1 enrolled, all rows settled"
    assert summary[1][0] == "Nothing to fix: every row settled well."


def test_summary_verdict_counts_next_step_and_facts(tmp_path):
    report = data(
        [("0012", "Ann"), ("x", "Bob"), ("y", "Cy")],
        [
            RowResult(Status.ENROLLED, "", ("b-1",), 1, T0),
            RowResult(Status.INVALID, "learner_id: 'x' is not an ID"),
            RowResult(Status.DUPLICATE, "same as row 2"),
        ],
    )
    book = openpyxl.load_workbook(write_report(tmp_path / "my report.xlsx", report))
    rows = sheet_rows(book["Summary"])
    assert rows[0][0] == "1 enrolled, 1 need attention"
    assert "fix the 1 row(s) on the 'Needs attention' sheet" in rows[1][0]
    assert rows[2][0].endswith("bulk-enroll run my report.xlsx")
    counts = {r[0]: r[1] for r in rows if r[0] in {s.value for s in Status}}
    assert counts == {s.value: 0 for s in Status} | {"enrolled": 1, "invalid": 1, "duplicate": 1}
    assert ("Total", 3) in [r[:2] for r in rows]
    facts = {r[0]: r[1] for r in rows if r[0]}
    assert facts["Input file"] == "in.csv" and facts["Input SHA-256"] == "ab" * 32
    assert facts["Started"] == T0 and facts["Finished"] == T0 + dt.timedelta(seconds=3)
    assert facts["Duration"] == "3.0 s"
    assert facts["API host"] == "http://127.0.0.1:1"
    assert facts["Transport"] == "soap"
    assert (facts["API calls made"], facts["Retries"], facts["Isolation calls"]) == (7, 1, 2)
    assert facts["Written by"].startswith("bulk-enroll ")


def test_summary_has_a_bar_chart_of_the_status_counts(tmp_path):
    report = data([("a", "b")], [RowResult(Status.ENROLLED)])
    sheet = openpyxl.load_workbook(write_report(tmp_path / "r.xlsx", report))["Summary"]
    (chart,) = sheet._charts
    assert isinstance(chart, BarChart) and chart.type == "bar"
    (series,) = chart.series
    assert series.val.numRef.f == "'Summary'!$B$6:$B$12"  # the counts, one bar per status
    assert (series.cat.numRef or series.cat.strRef).f == "'Summary'!$A$6:$A$12"  # the labels
    assert [sheet.cell(r, 1).value for r in range(6, 13)] == [s.value for s in Status]
    colours = [point.graphicalProperties.solidFill.srgbClr for point in series.dPt]
    assert colours == [STATUS_COLOURS[s][0] for s in Status]  # bars coloured like the cells
    assert chart.anchor._from.row > 12  # under the table, not over it


def test_no_secret_reaches_the_report(tmp_path):
    facts = RunFacts(
        "in.csv",
        None,
        T0,
        T0,
        False,
        "https://api-user:s3cr3t-pw@learn.example.com:8443/soap?token=s3cr3t-pw#s3cr3t-pw",
        "soap",
    )
    report = data([("a", "b")], [RowResult(Status.ENROLLED)], facts=facts)
    path = write_report(tmp_path / "r.xlsx", report)
    book = openpyxl.load_workbook(path)
    facts_shown = {r[0]: r[1] for r in sheet_rows(book["Summary"]) if r[0]}
    assert facts_shown["API host"] == "https://learn.example.com:8443"
    assert facts_shown["Endpoint"] == "https://learn.example.com:8443/soap"
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            assert b"s3cr3t-pw" not in archive.read(name), name


def test_resolved_id_columns_appear_when_names_were_looked_up(tmp_path):
    by_email = Request(
        LearnerRef(LearnerKey.EMAIL, "ann@x.com"), CourseRef(CourseKey.ID, "c1"), SETTINGS
    )
    rows = [
        InputRow(
            SourceRef("in.csv", 2),
            ("ann@x.com", "c1"),
            requests=(by_email,),
            pairs=(Pair("0000-l1", "c1", SETTINGS),),
        )
    ]
    report = data(
        [],
        [RowResult(Status.ENROLLED, "", ("b-1",), 1, T0)],
        rows=rows,
        headers=("email", "course_id"),
    )
    sheet = openpyxl.load_workbook(write_report(tmp_path / "r.xlsx", report))["Results"]
    record = as_dicts(sheet)[0]
    assert list(record)[2:6] == [
        "Status",
        "Message",
        "Learner ID (resolved)",
        "Course ID (resolved)",
    ]
    assert record["Learner ID (resolved)"] == "0000-l1" and record["Course ID (resolved)"] == "c1"
    # A file that already names everyone by ID gets no duplicate ID columns.
    plain = data([("a", "b")], [RowResult(Status.ENROLLED)])
    header = sheet_rows(
        openpyxl.load_workbook(write_report(tmp_path / "p.xlsx", plain))["Results"]
    )[0]
    assert "Learner ID (resolved)" not in header


def test_batches_sheet_one_row_per_call_with_parts_after_their_parent(tmp_path):
    big = Batch("b-2", SETTINGS, ("l1", "l2"), ("c1",))
    first = Batch("b-1", SETTINGS, ("l3",), ("c1",))
    calls = [
        BatchOutcome(
            Batch("b-2.2", SETTINGS, ("l2",), ("c1",)),
            Status.FAILED,
            "Wrong parameters",
            1,
            0.2,
            "b-2",
        ),
        BatchOutcome(
            Batch("b-2.1", SETTINGS, ("l1",), ("c1",)), Status.ENROLLED, "", 1, 0.2, "b-2"
        ),
        BatchOutcome(big, Status.FAILED, "split: Wrong parameters", 1, 0.25),
        BatchOutcome(first, Status.ENROLLED, "", 2, 1.23456),
    ]
    report = data([("a", "b")], [RowResult(Status.ENROLLED)], calls=calls, planned=[first, big])
    sheet = openpyxl.load_workbook(write_report(tmp_path / "r.xlsx", report))["Batches"]
    records = as_dicts(sheet)
    assert [(r["Batch"], r["Part of"], r["Outcome"]) for r in records] == [
        ("b-1", None, "enrolled"),
        ("b-2", None, "failed"),
        ("b-2.1", "b-2", "enrolled"),
        ("b-2.2", "b-2", "failed"),
    ]
    assert records[0]["Attempts"] == 2 and records[0]["Duration (s)"] == 1.235
    assert (records[1]["Learners"], records[1]["Courses"], records[1]["Pairs"]) == (2, 1, 2)
    assert records[1]["Settings"] == "unlimited"
    assert sheet["H3"].fill.fgColor.rgb.endswith("FFC7CE")


def test_a_dry_run_shows_planned_calls_and_what_is_left_to_fix(tmp_path):
    report = data(
        [("a", "b"), ("x", "y")],
        [RowResult(Status.NOT_SENT, "dry run"), RowResult(Status.INVALID, "learner_id: bad")],
        dry_run=True,
    )
    book = openpyxl.load_workbook(write_report(tmp_path / "r.xlsx", report))
    assert [r["Outcome"] for r in as_dicts(book["Batches"])] == ["planned"]
    summary = sheet_rows(book["Summary"])
    assert summary[0][0] == "dry run, nothing sent: 1 row ready in 1 call, 1 need fixing"
    assert summary[1][0] == (
        "Next: the 'Needs attention' sheet holds the 2 unsent row(s), "
        "with the reason in its last column;"
    )
    assert summary[2][0] == (
        "fix the 1 invalid row(s) there and save, then send them by running this workbook: "
        "bulk-enroll run r.xlsx"
    )
    clean = data([("a", "b")], [RowResult(Status.NOT_SENT, "dry run")], dry_run=True)
    book = openpyxl.load_workbook(write_report(tmp_path / "c.xlsx", clean))
    assert sheet_rows(book["Summary"])[0][0] == (
        "dry run, nothing sent: 1 row ready in 1 call, no problems found"
    )


def test_failed_write_keeps_the_old_report_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "r.xlsx"
    target.write_bytes(b"previous report")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("bulk_enroll.atomic_files.os.replace", boom)
    with pytest.raises(OSError):
        write_report(target, data([("a", "b")], [RowResult(Status.ENROLLED)]))
    assert list(tmp_path.iterdir()) == [target]
    assert target.read_bytes() == b"previous report"


def test_report_file_is_group_readable_not_the_private_temp_mode_nor_world_readable(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_report(tmp_path / "r.xlsx", data([("a", "b")], [RowResult(Status.ENROLLED)]))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # names and emails: never for others


def test_json_summary_has_the_promised_keys(tmp_path):
    report = data([("a", "b"), ("c", "d")], [RowResult(Status.DUPLICATE), RowResult(Status.FAILED)])
    summary = summary_dict(report, tmp_path / "r.xlsx", 1)
    write_summary_json(tmp_path / "s.json", summary)
    loaded = json.loads((tmp_path / "s.json").read_text())
    assert loaded["rows"] == 2 and loaded["api_calls"] == 7 and loaded["needs_attention"] == 1
    assert loaded["status_counts"]["duplicate"] == 1
    assert set(loaded["status_counts"]) == {s.value for s in Status}
    assert loaded["input_sha256"] == "ab" * 32


STOP = "safety limit: 12,000 new enrollments in this file, more than 10,000"


def stopped_facts(note=STOP, *, dry_run=False):
    return RunFacts("in.csv", None, T0, T0, dry_run, note=note)


def summary_of(tmp_path, report):
    return sheet_rows(openpyxl.load_workbook(write_report(tmp_path / "r.xlsx", report))["Summary"])


def test_a_run_stopped_by_a_safety_limit_says_look_and_force_not_fix(tmp_path):
    message = f"not sent: {STOP}"
    report = data(
        [("a", "Ann"), ("b", "Bob")],
        [RowResult(Status.NOT_SENT, message), RowResult(Status.NOT_SENT, message)],
        facts=stopped_facts(),
    )
    book = openpyxl.load_workbook(write_report(tmp_path / "r.xlsx", report))
    summary = sheet_rows(book["Summary"])
    assert summary[1][0] == f"Nothing was sent: {STOP}."
    assert "--force" in summary[2][0] and "Look at the file" in summary[2][0]
    assert not any("fix the" in str(row[0]) for row in summary[:3])
    reasons = [row[-1] for row in sheet_rows(book["Needs attention"])[1:]]
    assert reasons == [message, message]  # not "not_sent: not sent: ..."
    next_step = summary_dict(report, tmp_path / "r.xlsx", 3)["next_step"]
    assert next_step.startswith(f"Nothing was sent: {STOP}.") and "--force" in next_step


def test_a_run_cut_short_after_some_calls_counts_the_rows_left(tmp_path):
    report = data(
        [("a", "Ann"), ("b", "Bob")],
        [RowResult(Status.ENROLLED, "", ("b-1",), 1, T0), RowResult(Status.NOT_SENT, "not sent")],
        facts=stopped_facts("interrupted: the rest was not sent"),
        calls=[BatchOutcome(Batch("b-1", SETTINGS, ("l1",), ("c1",)), Status.ENROLLED)],
    )
    summary = summary_of(tmp_path, report)
    assert summary[1][0] == "1 row(s) were not sent: interrupted: the rest was not sent."


def test_rows_to_fix_still_say_fix_even_when_the_run_was_stopped(tmp_path):
    report = data(
        [("a", "Ann"), ("x", "Bob")],
        [RowResult(Status.NOT_SENT, "not sent: safety limit: 50% invalid"),
         RowResult(Status.INVALID, "learner_id: bad")],
        facts=stopped_facts("safety limit: 50% invalid"),
    )  # fmt: skip
    summary = summary_of(tmp_path, report)
    assert summary[1][0].startswith("Next: fix the 2 row(s)")


def test_a_dry_run_keeps_its_own_next_step(tmp_path):
    report = data(
        [("a", "b")],
        [RowResult(Status.NOT_SENT, "dry run: would be sent in batch b-1")],
        facts=stopped_facts("dry run: nothing was sent", dry_run=True),
    )
    summary = summary_of(tmp_path, report)
    assert summary[1][0].startswith("Next: the 'Needs attention' sheet holds the 1 unsent row(s)")


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (Status.NOT_SENT, "not sent: safety limit", "not sent: safety limit"),
        (Status.NOT_SENT, "Not_Sent: dry run", "Not_Sent: dry run"),
        (Status.FAILED, "Failed: Permission denied", "Failed: Permission denied"),
        (Status.FAILED, "Permission denied", "failed: Permission denied"),
        (Status.NOT_SENT, "not sentinel", "not_sent: not sentinel"),
        (Status.UNKNOWN, "", "unknown"),
    ],
)
def test_the_reason_does_not_repeat_the_status(status, message, expected):
    line = ResultLine(InputRow(SourceRef("in.csv", 2), ("a",)), RowResult(status, message))
    assert reason(line) == expected


def test_the_learned_rate_limit_is_on_the_summary_sheet_and_in_the_json(tmp_path):
    from bulk_enroll.report.sheets import run_facts

    report = data([("a", "b")], [RowResult(Status.ENROLLED)])
    report.stats.learned_rate, report.stats.rate_wait_s, report.stats.rate_limited = 19.5, 3.2, 6
    facts = dict(run_facts(report))
    assert facts["Server rate limit learned"] == "19.5 calls/s"
    assert facts["Waited on the rate limit"] == "3.2 s" and facts["429 answers"] == 6
    summary = summary_dict(report, tmp_path / "r.xlsx", 0)
    assert (summary["learned_rate_per_s"], summary["rate_wait_s"], summary["rate_limited"]) == (
        19.5, 3.2, 6)
    unlimited = data([("a", "b")], [RowResult(Status.ENROLLED)])
    assert dict(run_facts(unlimited))["Server rate limit learned"] == "none met"
    assert summary_dict(unlimited, None, 0)["learned_rate_per_s"] is None
