"""Helpers for tests: real input files and deterministic IDs."""

from __future__ import annotations

import csv
import uuid
from collections.abc import Sequence
from pathlib import Path

import openpyxl

HEADER = (
    "learner_id",
    "course_id",
    "due_date_type",
    "due_date",
    "due_period",
    "lock_after_due_date",
    "access_date",
)


def make_id(name: str) -> str:
    """A deterministic UUID for a test name (learners and courses alike)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"test:{name}"))


def write_csv(
    path: Path, rows: Sequence[Sequence[object]], *, delimiter: str = ",", encoding: str = "utf-8"
) -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path


def write_xlsx(path: Path, rows: Sequence[Sequence[object]], *, title: str = "Sheet1") -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)
    return path


def sheet_rows(report: Path, sheet: str = "Results") -> list[dict[str, object]]:
    """A report sheet's rows as {header: value}, reopened from disk as a person would."""
    import openpyxl

    header, *rows = list(openpyxl.load_workbook(report)[sheet].iter_rows(values_only=True))
    return [dict(zip(header, row, strict=True)) for row in rows]


def enrolled_once(server: object) -> set[tuple[str, str, object]]:
    """(learner, course, settings) the sandbox holds; fails if any pair was enrolled twice."""
    records = server.state.enrollments()  # type: ignore[attr-defined]
    assert all(r.times_enrolled == 1 for r in records.values()), "a pair was enrolled twice"
    return {(learner, course, r.settings) for (learner, course), r in records.items()}


ACCOUNT_NAMES = ("SOAP_URL", "API_URL", "TOKEN", "CLIENT_ID", "CLIENT_SECRET",
                 "CLIENT_SECRET_FILE")


def forget_account(monkeypatch: object) -> None:
    """No LMS account in the environment (what a fresh machine has)."""
    for name in ACCOUNT_NAMES:
        monkeypatch.delenv(f"BULK_ENROLL_{name}", raising=False)  # type: ignore[attr-defined]
