"""Benchmark: what keeping a run's rows in the journal costs, next to writing its report.

Run explicitly: `.venv/bin/python -m pytest tests/bench/bench_run_record.py -s`. Every live run
encodes its report data and stores it in the journal before writing the report (so a report
that cannot be written can be written later); this prints the CPU time of encoding and storing
a 100,000-row run, its size, and the CPU time of writing the same run's workbook, measured in
the same run on the same machine. Budget: the record costs at most a third of the workbook.
"""

from __future__ import annotations

import datetime as dt
import gc
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

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
from bulk_enroll.report.data import ReportData, RunFacts
from bulk_enroll.report.record import decode_report_data, encode_report_data
from bulk_enroll.report.workbook import write_report
from bulk_enroll.run_records import load_run_record, save_run_record

ROWS = 100_000
BUDGET = 1 / 3
T0 = dt.datetime(2027, 1, 4, 9, 0, 0)
HEADERS = ("Employee number", "Employee name", "Work email", "Course", "Due date", "Lock")


def report_data(rows: int = ROWS) -> ReportData:
    """An onboarding export as an Excel input gives it: emails and course titles resolved to
    IDs, a date cell, a number, a flag; mostly enrolled, a few invalid and failed rows."""
    settings = DueSettings(DueDateType.DUE_DATE, due_date=dt.date(2027, 5, 1))
    courses = [(str(uuid.uuid5(uuid.NAMESPACE_URL, f"c{n}")), f"Course {n}") for n in range(8)]
    input_rows, results = [], []
    for n in range(rows):
        learner = str(uuid.uuid5(uuid.NAMESPACE_URL, f"l{n // 4}"))
        course_id, title = courses[n % 8]
        email = f"employee.{n // 4}@example.com"
        values = (float(100000 + n), f"Employee {n // 4}", email, title,
                  dt.datetime(2027, 5, 1), n % 2 == 0)
        asked = Request(LearnerRef(LearnerKey.EMAIL, email), CourseRef(CourseKey.TITLE, title),
                        settings)
        input_rows.append(InputRow(SourceRef("bench.xlsx", n + 2, "Sheet1"), values, (asked,),
                                   (Pair(learner, course_id, settings),)))
        status = Status.INVALID if n % 97 == 0 else Status.FAILED if n % 89 == 0 else (
            Status.ENROLLED)
        results.append(RowResult(status, "" if status is Status.ENROLLED else "a reason",
                                 (f"b-{n // 2000:012x}",), 1, T0))
    planned = [Batch(f"b-{b:012x}", settings, tuple(f"l{i}" for i in range(500)),
                     tuple(c for c, _ in courses[:4])) for b in range(rows // 2000 + 1)]
    facts = RunFacts("bench.xlsx", "Sheet1", T0, T0 + dt.timedelta(minutes=3), False,
                     "https://example.ispringlearn.com/soap", "soap", None, "0" * 64)
    return ReportData(facts, HEADERS, input_rows, results, planned,
                      [BatchOutcome(b, Status.ENROLLED, "", 1, 0.4) for b in planned],
                      SendStats(250, 3, 0))


def cpu_seconds(work: Callable[[], object]) -> float:
    gc.collect()
    started = time.process_time()
    work()
    return time.process_time() - started


@pytest.mark.bench
def test_keeping_a_100k_row_run_costs_a_fraction_of_its_report(tmp_path: Path) -> None:
    data = report_data()
    journal = tmp_path / "journal.sqlite3"
    encode = min(cpu_seconds(lambda: encode_report_data(data)) for _ in range(3))
    keep = cpu_seconds(lambda: save_run_record(journal, "acct", "r1", data, None, 0))
    size = len(encode_report_data(data))
    decode = cpu_seconds(lambda: decode_report_data(encode_report_data(data)))
    report = cpu_seconds(lambda: write_report(tmp_path / "r.xlsx", data))
    ratio = keep / report
    print(f"\nrun record of {ROWS:,} rows: encode {encode:.2f} s CPU, encode and store in the "
          f"journal {keep:.2f} s, {size / 1e6:.1f} MB compressed"
          f"\n  read back (encode + decode): {decode:.2f} s CPU"
          f"\n  the same run's workbook: {report:.2f} s CPU; the record costs {ratio:.2f}x of it"
          f" (budget {BUDGET:.2f}x)")
    entry, again = load_run_record(journal, "r1")
    assert len(again.rows) == ROWS and list(again.results) == list(data.results)
    assert ratio <= BUDGET
