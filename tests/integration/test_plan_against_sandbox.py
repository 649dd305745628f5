"""The planner's calls on the wire: the sandbox receives exactly the planned calls, enrolls
exactly the requested pairs once, and the Batches sheet says which rows each call covered."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from bulk_enroll.cli import main
from bulk_enroll.model import DueDateType, DueSettings
from bulk_enroll.sandbox import default_directory
from bulk_enroll.sandbox.state import (
    DEPT_ADMIN_CLIENT_ID,
    DEPT_ADMIN_CLIENT_SECRET,
)
from tests.support import HEADER, write_csv

DIRECTORY = default_directory()
ACTIVE = [u.user_id for u in DIRECTORY.users if u.is_active]
COURSES = [c.content_id for c in DIRECTORY.courses]
UNLIMITED = DueSettings(DueDateType.UNLIMITED)


def requests_beating_both_groupings() -> list[tuple[str, str]]:
    """The shape of `test_biclique_search_beats_both_simple_groupings`: 9 calls, where grouping
    by course or by learner needs 10."""
    p, m, y = ACTIVE[0:4], ACTIVE[4:7], ACTIVE[7:11]
    k, x, d = COURSES[0:3], COURSES[3:7], COURSES[7:11]
    pairs = [(learner, course) for learner in p for course in k]
    pairs += list(zip(p, x, strict=True))
    pairs += [(learner, course) for learner in m for course in d]
    pairs += list(zip(y, d, strict=True))
    pairs.append((m[0], k[0]))
    return pairs


def batches_sheet(path: Path) -> list[dict[str, object]]:
    header, *lines = openpyxl.load_workbook(path)["Batches"].iter_rows(values_only=True)
    return [dict(zip(header, line, strict=True)) for line in lines]


def test_the_sandbox_gets_exactly_the_planned_calls(sandbox, tmp_path, capsys):
    pairs = requests_beating_both_groupings()
    rows = [list(HEADER)] + [[lr, c, "unlimited", "", "", "", ""] for lr, c in pairs]
    path = write_csv(tmp_path / "in.csv", rows)
    assert main(["run", str(path), "--report", "out.xlsx"]) == 0
    assert "9 calls planned, 9 API calls made" in capsys.readouterr().out
    records = sandbox.state.enrollments()
    assert set(records) == set(pairs) and all(r.times_enrolled == 1 for r in records.values())
    assert {r.settings for r in records.values()} == {UNLIMITED}
    lines = batches_sheet(tmp_path / "out.xlsx")
    assert len(lines) == 9
    assert sum(line["Rows covered"] for line in lines) == len(pairs)  # one pair per row


def test_rows_covered_is_filled_for_the_halves_of_a_split_call(sandbox, tmp_path, monkeypatch):
    # A department administrator may not enroll an outsider: only the server knows, so the
    # call is rejected and split until the outsider is alone.
    monkeypatch.setenv("BULK_ENROLL_CLIENT_ID", DEPT_ADMIN_CLIENT_ID)
    monkeypatch.setenv("BULK_ENROLL_CLIENT_SECRET", DEPT_ADMIN_CLIENT_SECRET)
    department = sandbox.state.dept_admin_department_id
    insiders = [u.user_id for u in DIRECTORY.users if u.is_active and u.department_id == department]
    outsider = next(u.user_id for u in DIRECTORY.users
                    if u.is_active and u.department_id != department)
    learners = [*insiders[:5], outsider]
    rows = [list(HEADER)] + [[lr, COURSES[0], "unlimited", "", "", "", ""] for lr in learners]
    assert main(["run", str(write_csv(tmp_path / "in.csv", rows)), "--report", "out.xlsx"]) == 1
    lines = batches_sheet(tmp_path / "out.xlsx")
    parent = next(line for line in lines if not line["Part of"])
    halves = [line for line in lines if line["Part of"]]
    assert parent["Rows covered"] == 6 and halves
    assert all(line["Rows covered"] == line["Learners"] for line in halves)


def test_plan_with_the_sandbox_looks_names_up(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name in ("SOAP_URL", "API_URL", "CLIENT_ID", "CLIENT_SECRET", "TOKEN"):
        monkeypatch.delenv(f"BULK_ENROLL_{name}", raising=False)
    rows = [["Email", "Course title", "due_date_type"],
            [DIRECTORY.users[0].email.upper(), DIRECTORY.courses[0].title, "unlimited"],
            ["nobody@example.com", DIRECTORY.courses[0].title, "unlimited"]]
    assert main(["plan", "--sandbox", str(write_csv(tmp_path / "n.csv", rows))]) == 1
    out = capsys.readouterr().out
    assert "Plan: 1 call for 1 enrollment" in out
    assert "no user with email 'nobody@example.com'" in out
