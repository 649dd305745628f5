"""`bulk-enroll plan` and the plan summary of `run --dry-run`: exact output, exit codes, the
Batches sheet, no account needed."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from bulk_enroll.cli import main
from bulk_enroll.model import DueDateType, DueSettings
from bulk_enroll.plan.planner import batch_id
from tests.support import HEADER, forget_account, make_id

LEARNERS = [make_id(f"learner-{i}") for i in range(3)]
COURSES = [make_id(f"course-{i}") for i in range(2)]


@pytest.fixture(autouse=True)
def no_account(monkeypatch, tmp_path):
    forget_account(monkeypatch)
    monkeypatch.delenv("BULK_ENROLL_MAX_LEARNERS_PER_CALL", raising=False)
    monkeypatch.chdir(tmp_path)


def rows(due_date_type: str = "unlimited") -> list[list[str]]:
    """Three learners in two courses (one call), plus a repeated row."""
    lines = [[lr, c, due_date_type, "", "", "", ""] for lr in LEARNERS for c in COURSES]
    return [list(HEADER), *lines, lines[0]]


def plan_lines(out: str) -> list[str]:
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Plan:"))
    return lines[start : start + 3]


def test_plan_prints_the_plan_and_writes_the_batches_sheet(csv_file, capsys):
    path = csv_file(rows())
    assert main(["plan", str(path), "--report", "plan.xlsx"]) == 0
    the_id = batch_id(
        DueSettings(DueDateType.UNLIMITED), tuple(sorted(LEARNERS)), tuple(sorted(COURSES))
    )
    assert capsys.readouterr().out.splitlines() == [
        "input.csv: 7 rows.",
        "Plan: 1 call for 6 enrollments (learner-course pairs) in 1 settings group;"
        " lower bound 1 call (optimal).",
        f"Largest call: 3 learners x 2 courses = 6 enrollments ({the_id}).",
        "  unlimited: 1 call, 6 enrollments, lower bound 1",
        "Columns used: A 'learner_id' -> learner_id, B 'course_id' -> course_id, "
        "C 'due_date_type' -> due_date_type, D 'due_date' -> due_date, E 'due_period' -> "
        "due_period, F 'lock_after_due_date' -> lock_after_due_date, G 'access_date' -> "
        "access_date.",
        "Report: plan.xlsx",
    ]
    sheet = openpyxl.load_workbook("plan.xlsx")["Batches"]
    header, line = sheet.iter_rows(values_only=True)
    assert header[:8] == (
        "Batch",
        "Part of",
        "Settings",
        "Learners",
        "Courses",
        "Pairs",
        "Rows covered",
        "Outcome",
    )
    assert line[:8] == (the_id, None, "unlimited", 3, 2, 6, 7, "planned")


def test_plan_with_invalid_rows_exits_1_and_lists_them(csv_file, capsys):
    lines = rows()
    lines.append(["not-an-id", COURSES[0], "unlimited", "", "", "", ""])
    assert main(["plan", str(csv_file(lines)), "--summary-json", "s.json"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("input.csv: 8 rows, 1 invalid (not planned).\n")
    assert "1 problem in the file:\n  input.csv, row 9, column 'learner_id':" in out
    assert [p.name for p in Path("reports").iterdir()][0].startswith("input-results-")
    summary = json.loads(Path("s.json").read_text())
    assert summary["plan"]["calls"] == 1 and summary["plan"]["calls_lower_bound"] == 1
    assert summary["api_calls"] == 0


def test_plan_takes_the_same_row_defaults_as_run(csv_file, capsys):
    path = csv_file(rows(due_date_type=""))
    args = [str(path), "--due-date-type", "due_period", "--due-period", "24"]
    assert main(["plan", *args]) == 0
    assert "  due_period, 24 h: 1 call, 6 enrollments, lower bound 1" in capsys.readouterr().out


def test_dry_run_prints_the_same_plan_as_plan(csv_file, capsys, monkeypatch):
    monkeypatch.setenv("BULK_ENROLL_MAX_LEARNERS_PER_CALL", "2")
    path = csv_file(rows())
    assert main(["plan", str(path), "--report", "a.xlsx"]) == 0
    planned = plan_lines(capsys.readouterr().out)
    assert main(["run", "--dry-run", str(path), "--report", "b.xlsx"]) == 0
    assert plan_lines(capsys.readouterr().out) == planned
    assert planned[0].startswith("Plan: 2 calls for 6 enrollments")


@pytest.mark.parametrize("command", [["plan"], ["run", "--dry-run"]])
def test_rows_a_dry_run_could_not_plan_are_listed_with_why(csv_file, capsys, command):
    """Without an account, a row naming its learner by email is not planned: the output says
    so, rather than only "Plan: nothing to enroll." beside a clean exit."""
    path = csv_file([["learner_email", "course_id", "due_date_type"],
                     ["ann@example.com", COURSES[0], "unlimited"],
                     ["bob@example.com", COURSES[0], "unlimited"],
                     [LEARNERS[0], COURSES[0], "unlimited"]], name="named.csv")
    main([*command, str(path)])
    out = capsys.readouterr().out
    assert ("2 rows not planned:\n  named.csv: not looked up: a dry run without an account "
            "cannot turn emails into IDs: 2 rows (2, 3)\n") in out
