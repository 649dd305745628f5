"""Cell value parsers: one raw cell in, one typed value out, or a `ValueError` a person can read.

Pure functions. Messages say what was found and what is expected, because the person who made
the spreadsheet has to fix it from the message alone.
"""

from __future__ import annotations

import datetime as dt
import re

from bulk_enroll.model import DueDateType

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # serial 1 = 1900-01-01, with Excel's 1900 leap bug
_DATE_FORMATS = ("%Y-%m-%d",)
_DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M")
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


def cell_text(cell: object) -> str:
    """The cell as trimmed text; whole floats lose their '.0' (Excel stores numbers as floats)."""
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, dt.datetime):
        return cell.isoformat(sep=" ")
    return str(cell).strip()


def is_blank(cell: object) -> bool:
    return cell_text(cell) == ""


def parse_id(cell: object) -> str:
    """A learner or course ID: the API's IDs are UUIDs, returned in lower case."""
    text = cell_text(cell)
    if not _UUID.match(text):
        raise ValueError(
            f"{text!r} is not an ID (expected a UUID like 8363b098-e031-11e9-89cf-0a580af40b0f)"
        )
    return text.lower()


def parse_due_date_type(cell: object) -> DueDateType:
    text = cell_text(cell).lower().replace(" ", "_").replace("-", "_")
    try:
        return DueDateType(text)
    except ValueError:
        allowed = ", ".join(t.value for t in DueDateType)
        raise ValueError(
            f"{cell_text(cell)!r} is not a due date type (expected one of {allowed})"
        ) from None


def parse_date(cell: object) -> dt.date:
    """A calendar date: a date cell, an Excel serial number, or YYYY-MM-DD text."""
    if isinstance(cell, dt.datetime):
        return cell.date()
    if isinstance(cell, dt.date):
        return cell
    if _is_number(cell):
        return _from_excel_serial(float(cell)).date()  # type: ignore[arg-type]
    text = cell_text(cell)
    for fmt in _DATE_FORMATS + _DATETIME_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date (expected YYYY-MM-DD, or a date cell)")


def parse_datetime(cell: object) -> dt.datetime:
    """A date with optional time: a date(-time) cell, a serial number, or ISO text."""
    if isinstance(cell, dt.datetime):
        return cell.replace(microsecond=0, tzinfo=None)
    if isinstance(cell, dt.date):
        return dt.datetime(cell.year, cell.month, cell.day)
    if _is_number(cell):
        return _from_excel_serial(float(cell))  # type: ignore[arg-type]
    text = cell_text(cell)
    for fmt in _DATETIME_FORMATS + _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError(
        f"{text!r} is not a date or date-time (expected YYYY-MM-DD or YYYY-MM-DD HH:MM:SS)"
    )


def parse_hours(cell: object) -> int:
    """A due period: a whole, positive number of hours."""
    text = cell_text(cell)
    try:
        value = float(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a number of hours (expected a whole number like 720)"
        ) from None
    if not value.is_integer() or value <= 0:
        raise ValueError(f"{text!r} is not a whole, positive number of hours")
    return int(value)


def parse_bool(cell: object) -> bool:
    if isinstance(cell, bool):
        return cell
    text = cell_text(cell).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(
        f"{cell_text(cell)!r} is not true or false (expected true/false, yes/no or 1/0)"
    )


def _is_number(cell: object) -> bool:
    return isinstance(cell, int | float) and not isinstance(cell, bool)


def _from_excel_serial(serial: float) -> dt.datetime:
    if not 1 <= serial < 2958466:  # 9999-12-31
        raise ValueError(f"{serial!r} is not a date")
    moment = _EXCEL_EPOCH + dt.timedelta(days=serial)
    return moment.replace(microsecond=0)
