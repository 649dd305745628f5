"""Builders of input files the way HR's tools write them (for the reader's tests)."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import openpyxl

from bulk_enroll.model import CourseKey, CourseRef, DueSettings, LearnerKey, LearnerRef
from bulk_enroll.validate.rows import ValidatedInput


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


def write_filtered_workbook(
    path: Path,
    header: Sequence[object],
    rows: Sequence[Sequence[object]],
    *,
    filter_column: int,
    shown: str,
    hidden_by_hand: Sequence[int] = (),
) -> set[int]:
    """An XLSX filtered as Excel writes it: an autofilter on `filter_column` (0-based) showing
    `shown`, the other rows hidden, plus `hidden_by_hand` (sheet row numbers). Returns the
    sheet row numbers that are hidden."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    last = openpyxl.utils.get_column_letter(len(header))
    sheet.auto_filter.ref = f"A1:{last}{len(rows) + 1}"
    sheet.auto_filter.add_filter_column(filter_column, [shown])
    hidden = {n for n, row in enumerate(rows, start=2) if row[filter_column] != shown}
    hidden |= set(hidden_by_hand)
    for number in hidden:
        sheet.row_dimensions[number].hidden = True
    book.save(path)
    return hidden


def requests_of(validated: ValidatedInput) -> list[tuple[int, object, object, DueSettings]]:
    """(row, learner, course, settings) of every request read, in file order."""
    return [
        (row.source.row, r.learner, r.course, r.settings)
        for row in validated.rows
        for r in row.requests
    ]


def problems_of(validated: ValidatedInput) -> list[tuple[int, str | None, str]]:
    """(row, column as written, message) of every problem, in file order."""
    return [(i.source.row, i.column, i.message) for r in validated.rows for i in r.issues]


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
