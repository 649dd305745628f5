"""The Results rows as CSV, for systems that ingest reports (`run --report-format csv`).

UTF-8 with a byte order mark, so Excel opens accents and non-Latin names correctly on a
double click. Text that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`,
tab or CR) gets a leading single quote, as OWASP advises for CSV injection: the cell then
shows as text, and a program reading the file sees the quote and can strip it. Text that is
exactly a plain decimal number (`-5`, `+1.5`, `-2e3`; values from a CSV input are always text)
is a number to a spreadsheet, not a formula, and is written as it is.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

from bulk_enroll.model import Status
from bulk_enroll.report.cells import FORMULA_PREFIXES, DateColumn, as_text, has_time
from bulk_enroll.report.columns import Kind, result_columns, result_lines
from bulk_enroll.report.data import ReportData

# A plain decimal number written as text: optional sign, digits, optional decimal part and
# exponent. ASCII digits only, no spaces: anything else starting with a formula prefix is guarded.
PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def needs_formula_guard(text: str) -> bool:
    """True when a spreadsheet could run `text` as a formula (a plain number it would not)."""
    return text.startswith(FORMULA_PREFIXES) and PLAIN_NUMBER.fullmatch(text) is None


def csv_text(value: object) -> str:
    """One value as CSV text: ISO dates, whole numbers without '.0', formula text defused."""
    if value is None:
        return ""
    if isinstance(value, str):  # StrEnum statuses included
        text = str(value.value) if isinstance(value, Status) else value
        return "'" + text if needs_formula_guard(text) else text
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if has_time(value) else value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return as_text(value) if value.is_integer() else repr(value)
    return str(value)  # numbers: a negative number is a number, not a formula


def _writer_for(kind: Kind) -> Callable[[object], str]:
    if kind is Kind.TEXT:
        return lambda value: csv_text(None if value is None else as_text(value))
    if kind is Kind.DATE:
        as_date = DateColumn()
        return lambda value: csv_text(as_date(value))
    return csv_text


def write_results_csv(path: Path, data: ReportData) -> None:
    """The Results sheet's columns and rows, one line per input row."""
    columns = result_columns(data)
    cells = [(column.get, _writer_for(column.kind)) for column in columns]
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([csv_text(column.header) for column in columns])
        writer.writerows([write(get(line)) for get, write in cells] for line in result_lines(data))
