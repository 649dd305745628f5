"""Helpers for tests: real input files and deterministic IDs."""

from __future__ import annotations

import csv
import re
import uuid
from collections.abc import Sequence
from pathlib import Path

import openpyxl

from bulk_enroll.settings.config import ACCOUNT_NAMES

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


# OOXML's escape for a character in cell text (ST_Xstring): `_x000D_` is a carriage return and
# `_x005F_` a literal underscore (so `_x005F_x0041_` is the text "_x0041_").
_XSTRING_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def excel_text(text: str) -> str:
    """Cell text as Excel, LibreOffice and our reader show it, escapes decoded."""
    return _XSTRING_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), text)


def open_report(path: Path) -> openpyxl.Workbook:
    """A report opened with openpyxl, its text as a spreadsheet shows it: openpyxl 3.1 leaves
    OOXML escapes (a carriage return written as `_x000D_`) undecoded on reading."""
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "s" and "_x" in str(cell.value):
                    cell.value = excel_text(str(cell.value))
                    cell.data_type = "s"  # still text, even when it reads like a formula
    return book


def enrolled_once(server: object) -> set[tuple[str, str, object]]:
    """(learner, course, settings) the sandbox holds; fails if any pair was enrolled twice."""
    records = server.state.enrollments()  # type: ignore[attr-defined]
    assert all(r.times_enrolled == 1 for r in records.values()), "a pair was enrolled twice"
    return {(learner, course, r.settings) for (learner, course), r in records.items()}


def forget_account(monkeypatch: object) -> None:
    """No LMS account in the environment (what a fresh machine has)."""
    for name in ACCOUNT_NAMES:
        monkeypatch.delenv(f"BULK_ENROLL_{name}", raising=False)  # type: ignore[attr-defined]
