"""A run's report data kept in the journal (before the report is written) and read back: the
same report, whatever the cells held; runs found by ID or a unique beginning; old ones pruned;
an input wider than a worksheet leaves out only columns bulk-enroll does not read."""

from __future__ import annotations

import datetime as dt
import zlib
from pathlib import Path

import pytest

from bulk_enroll.errors import ConfigError
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
from bulk_enroll.read.feedback import ReadingOptions
from bulk_enroll.report.columns import (
    EXCEL_MAX_COLUMNS,
    attention_columns,
    kept_input_positions,
    left_out_note,
    result_columns,
)
from bulk_enroll.report.data import ReportData, RunFacts
from bulk_enroll.report.record import RecordError, decode_report_data, encode_report_data
from bulk_enroll.report.workbook import write_report
from bulk_enroll.run_records import list_runs, load_run_record, save_run_record
from bulk_enroll.send.journal import Journal, RunEntry
from tests.support import make_id, sheet_rows

STARTED = dt.datetime(2027, 1, 5, 9, 0, 0)
DUE = DueSettings(DueDateType.DUE_DATE, access_date=dt.datetime(2027, 1, 10, 8, 30),
                  due_date=dt.date(2027, 3, 31), lock_after_due_date=True)
PERIOD = DueSettings(DueDateType.DUE_PERIOD, due_period_hours=720)


def report_data(headers: tuple[str, ...] = ("Email", "Course", "Due date", "Note")) -> ReportData:
    learner, course = make_id("anna"), make_id("fire")
    asked = Request(LearnerRef(LearnerKey.EMAIL, "anna@example.com"),
                    CourseRef(CourseKey.TITLE, "Fire Safety"), DUE)
    rows = [
        InputRow(SourceRef("hires.xlsx", 2, "Sheet1"),
                 ("anna@example.com", "Fire Safety", dt.datetime(2027, 3, 31), None),
                 (asked,), (Pair(learner, course, DUE),)),
        InputRow(SourceRef("hires.xlsx", 3, "Sheet1"),
                 ("=cmd|' /C calc'!A0", 7, dt.date(2027, 2, 1), 12.5),
                 (), (), ()),
        InputRow(SourceRef("hires.xlsx", 4, "Sheet1"),
                 ("bob@example.com", "Onboarding", dt.time(9, 30), dt.timedelta(hours=36)),
                 (Request(LearnerRef(LearnerKey.ID, make_id("bob")),
                          CourseRef(CourseKey.ID, make_id("onb")), PERIOD),),
                 (Pair(make_id("bob"), make_id("onb"), PERIOD),)),
        InputRow(SourceRef("hires.xlsx", 5, "Sheet1"),
                 ("eve@example.com", "Onboarding", None, None), notes=("a note",),
                 held_back="the row is hidden in the sheet"),
    ]
    results = [
        RowResult(Status.ENROLLED, "", ("b-1",), 1, dt.datetime(2027, 1, 5, 9, 0, 3)),
        RowResult(Status.INVALID, "Email: 'x' is not an email"),
        RowResult(Status.FAILED, "Permission denied", ("b-2", "b-2.1"), 2),
        RowResult(Status.NOT_SENT, "not sent: the row is hidden in the sheet", held_back=True),
    ]
    batch = Batch("b-1", DUE, (learner,), (course,))
    other = Batch("b-2", PERIOD, (make_id("bob"),), (make_id("onb"),))
    return ReportData(
        facts=RunFacts("hires.xlsx", "Sheet1", STARTED, STARTED + dt.timedelta(seconds=42),
                       False, "https://acme.example.com/soap", "soap", "a note",
                       input_sha256="ab" * 32, columns="A 'Email' -> learner_email",
                       reading=ReadingOptions(sheet="Sheet1", date_order="dmy",
                                              aliases={"Mail": "learner_email"},
                                              row_defaults={"due_period": "720"})),
        headers=headers, rows=rows, results=results, planned=[batch, other],
        calls=[BatchOutcome(batch, Status.ENROLLED, "ok", 1, 0.25),
               BatchOutcome(other, Status.FAILED, "split: Permission denied", 2, 0.5)],
        stats=SendStats(api_calls=3, retries=1, isolation_calls=1, send_seconds=1.5,
                        extra={"lookup_calls": 4}),
        names_looked_up=True, rows_covered={"b-1": 1, "b-2": 1},
        origin_rows={2: 17, 3: 18},  # a report fed back: its rows' numbers first run
    )


def test_the_record_reads_back_as_the_same_report_data():
    data = report_data()
    again = decode_report_data(encode_report_data(data))
    assert again.facts == data.facts and again.headers == data.headers
    assert [r.values for r in again.rows] == [r.values for r in data.rows]  # types kept
    assert [(r.requests, r.pairs, r.source, r.notes, r.held_back) for r in again.rows] == [
        (r.requests, r.pairs, r.source, r.notes, r.held_back) for r in data.rows]
    assert list(again.results) == list(data.results)
    assert list(again.planned) == list(data.planned) and list(again.calls) == list(data.calls)
    assert again.stats == data.stats and again.rows_covered == data.rows_covered
    assert again.origin_rows == {2: 17, 3: 18} and again.names_looked_up is True
    assert isinstance(again.facts.reading, ReadingOptions)


def test_a_report_written_from_the_record_is_the_same_report(tmp_path):
    data = report_data()
    write_report(tmp_path / "first.xlsx", data)
    write_report(tmp_path / "again.xlsx", decode_report_data(encode_report_data(data)))
    for sheet in ("Results", "Needs attention", "Batches"):
        assert sheet_rows(tmp_path / "again.xlsx", sheet) == sheet_rows(tmp_path / "first.xlsx",
                                                                         sheet)


@pytest.mark.parametrize("blob", [b"", b"not zlib", zlib.compress(b"{}"),
                                  zlib.compress(b'{"format": 99}')])
def test_a_damaged_record_is_a_clear_error(blob):
    with pytest.raises(RecordError):
        decode_report_data(blob)


def test_runs_are_found_by_id_or_a_unique_beginning_and_old_ones_go(tmp_path):
    path = tmp_path / "journal.sqlite3"
    data = report_data()
    assert save_run_record(path, "acct", "20270105T090000-aaaaaa", data, Path("r.xlsx"), 1)
    assert save_run_record(path, "acct", "20270105T090000-bbbbbb", data, None, 0)
    entry, again = load_run_record(path, "20270105T090000-aaaaaa")
    assert entry == RunEntry("20270105T090000-aaaaaa", "2027-01-05 09:00:00", "hires.xlsx",
                             "r.xlsx", 1, "1 enrolled, 2 need attention; 1 hidden row not sent")
    assert list(again.results) == list(data.results)
    assert load_run_record(path, "20270105T090000-b")[0].run_id == "20270105T090000-bbbbbb"
    with pytest.raises(ConfigError, match="keeps no run '20270105T0900' .or several start"):
        load_run_record(path, "20270105T0900")
    with pytest.raises(ConfigError, match="no journal at"):
        load_run_record(tmp_path / "none.sqlite3", "x")
    with Journal(path, "acct", now=lambda: STARTED + dt.timedelta(days=91)) as journal:
        journal.record_run(RunEntry("20270406T090000-cccccc", "2027-04-06 09:00:00", "b.csv",
                                    None, 0, "ok"), b"x")
    assert [r.run_id for r in list_runs(path)] == ["20270406T090000-cccccc"]  # 91 days: gone


def test_a_record_that_cannot_be_kept_costs_only_the_rebuild(tmp_path, caplog):
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert not save_run_record(blocked / "journal.sqlite3", "acct", "r1", report_data(), None, 0)
    assert "could not keep the rows of run r1" in caplog.text


def test_an_input_wider_than_a_worksheet_keeps_the_columns_bulk_enroll_reads():
    headers = [f"extra {n}" for n in range(100_000)]
    headers[3], headers[20_000], headers[99_999] = "Email", "Course", "Due date type"
    kept = kept_input_positions(headers, 100)
    assert len(kept) == 100 and kept == sorted(kept)
    assert {3, 20_000, 99_999} <= set(kept) and kept[:4] == [0, 1, 2, 3]
    assert kept_input_positions(headers[:50], 100) == list(range(50))
    data = report_data(tuple(headers))
    results = result_columns(data, EXCEL_MAX_COLUMNS)
    assert len(results) <= EXCEL_MAX_COLUMNS
    assert [c.header for c in results[-7:]] == [
        "Status", "Message", "Learner ID (resolved)", "Course ID (resolved)", "Batch", "Attempts",
        "Time"]
    attention = attention_columns(data, EXCEL_MAX_COLUMNS)  # then the input row, the reason
    assert [c.header for c in attention[:-2]] == [c.header for c in results[:len(attention) - 2]]
    assert len(result_columns(data)) == 100_000 + 7  # a CSV report has no such limit
    assert left_out_note(headers) == (
        "the input has 100,000 columns and a worksheet holds 16,384: the workbook leaves out "
        "83,623 columns that bulk-enroll does not read, from column XEV ('extra 16375') on, "
        "so that Status and Message fit")
    assert left_out_note(headers[:16_377]) is None
