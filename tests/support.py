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
