"""Builders of input files the way HR's tools write them (for the reader's tests)."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import openpyxl

from bulk_enroll.model import CourseKey, CourseRef, LearnerKey, LearnerRef


def write_text(
    path: Path,
    rows: Sequence[Sequence[object]],
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    bom: bytes = b"",
    line_end: str = "\r\n",
) -> Path:
    """A delimited text file; `bom` is written before the encoded text (Excel's habit)."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=line_end).writerows(rows)
    path.write_bytes(bom + buffer.getvalue().encode(encoding))
    return path


def write_workbook(
    path: Path,
    sheets: Mapping[str, Sequence[Sequence[object]]],
    *,
    hidden: Sequence[str] = (),
    start: str = "A1",
) -> Path:
    """An XLSX with one sheet per entry (in order); rows start at cell `start`."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    first_col = openpyxl.utils.cell.column_index_from_string(start.rstrip("0123456789"))
    first_row = int(start.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    sheet.cell(row=first_row + r, column=first_col + c, value=value)
        if name in hidden:
            sheet.sheet_state = "hidden"
    workbook.save(path)
    return path


def rewrite_zip(
    source: Path,
    target: Path,
    edit: Callable[[str, bytes], bytes | None] = lambda name, data: data,
    extra: Mapping[str, bytes] | None = None,
) -> Path:
    """Copy a ZIP-based workbook, editing members (None drops one) and adding `extra` ones."""
    with zipfile.ZipFile(source) as inp, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in inp.infolist():
            data = edit(info.filename, inp.read(info.filename))
            if data is not None:
                out.writestr(info, data)
        for name, data in (extra or {}).items():
            out.writestr(name, data)
    return target


def by_id(value: str) -> LearnerRef:
    return LearnerRef(LearnerKey.ID, value)


def by_email(value: str) -> LearnerRef:
    return LearnerRef(LearnerKey.EMAIL, value)


def by_login(value: str) -> LearnerRef:
    return LearnerRef(LearnerKey.LOGIN, value)


def course_id(value: str) -> CourseRef:
    return CourseRef(CourseKey.ID, value)


def titled(value: str) -> CourseRef:
    return CourseRef(CourseKey.TITLE, value)
