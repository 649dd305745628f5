"""Spreadsheet files -> a `Table` of raw cells with Excel row numbers.

This is one of the three places that touch the outside world: it opens files and nothing else.
Meaning (which column is what, whether a value is valid) is decided later, in `validate.py`.
CSV cells stay text so identifiers keep leading zeros; Excel cells keep their types (dates stay
dates) so nothing is guessed twice.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import python_calamine

from bulk_enroll.errors import InputFileError
from bulk_enroll.report_feedback import drop_reason_column, pick_sheet_for_report

Cell = object  # str | int | float | bool | date | datetime | time | None

CSV_SUFFIXES = {".csv", ".txt"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
SUPPORTED = sorted(CSV_SUFFIXES | EXCEL_SUFFIXES)
_SNIFF_BYTES = 64 * 1024

ENCODING_HINT = (
    "{file} is not UTF-8 text. In Excel use 'Save As' > 'CSV UTF-8 (Comma delimited)', "
    "or save it as .xlsx."
)


@dataclass(frozen=True)
class Table:
    """A sheet's header and data rows; `rows` pairs each row with its Excel row number."""

    file: str
    sheet: str | None
    headers: tuple[str, ...]
    rows: list[tuple[int, tuple[Cell, ...]]]


def read_table(path: Path) -> Table:
    """Read the first sheet of a CSV or Excel file; the first non-empty row is the header."""
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return _read_csv(path)
    if suffix in EXCEL_SUFFIXES:
        return _read_excel(path)
    raise InputFileError(
        f"{path.name}: unsupported file type {suffix or '(none)'}; "
        f"use one of {', '.join(SUPPORTED)}"
    )


def _read_csv(path: Path) -> Table:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError(ENCODING_HINT.format(file=path.name)) from exc
    delimiter = _detect_delimiter(text[:_SNIFF_BYTES])
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise InputFileError(f"{path.name}: not a readable CSV file ({exc})") from exc
    numbered = [(number, tuple(record)) for number, record in enumerate(records, start=1)]
    return _table_from_rows(path.name, None, numbered)


def _detect_delimiter(sample: str) -> str:
    """Comma or semicolon (Excel's choice in locales with a decimal comma), by the header line."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;").delimiter
    except csv.Error:
        header = sample.splitlines()[0] if sample else ""
        return ";" if header.count(";") > header.count(",") else ","


def _read_excel(path: Path) -> Table:
    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
        report_sheet = pick_sheet_for_report(workbook)  # our own report, fed back: its fixes
        sheet = (
            workbook.get_sheet_by_name(report_sheet)
            if report_sheet
            else workbook.get_sheet_by_index(0)
        )
        cells = sheet.to_python()  # skips the empty area above and left of the data
    except Exception as exc:  # calamine raises several unrelated types for unreadable files
        raise InputFileError(f"{path.name}: not a readable Excel workbook ({exc})") from exc
    first_row = sheet.start[0] + 1 if sheet.start else 1
    numbered = [(first_row + offset, tuple(row)) for offset, row in enumerate(cells)]
    return _table_from_rows(path.name, sheet.name, numbered)


def _is_blank(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _table_from_rows(
    file: str, sheet: str | None, numbered: Sequence[tuple[int, tuple[Cell, ...]]]
) -> Table:
    """Take the first non-blank row as the header; drop blank rows; square the rest."""
    non_blank = [(n, row) for n, row in numbered if not all(_is_blank(c) for c in row)]
    if not non_blank:
        raise InputFileError(f"{file}: the file has no header row and no data")
    (_, header_cells), data = non_blank[0], non_blank[1:]
    width = max(len(row) for _, row in non_blank)
    headers = tuple(
        str(header_cells[i]).strip()
        if i < len(header_cells) and not _is_blank(header_cells[i])
        else f"Column {_column_letter(i)}"
        for i in range(width)
    )
    rows = [(n, tuple(row) + ("",) * (width - len(row))) for n, row in data]
    return drop_reason_column(Table(file=file, sheet=sheet, headers=headers, rows=rows))


def _column_letter(index: int) -> str:
    """Excel's name for a zero-based column index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters
