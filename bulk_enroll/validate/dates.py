"""Date cells and date text in the forms HR files really contain. Pure.

Accepted: real date and date-time cells, Excel serial numbers, ISO text (2027-03-31,
2027-03-31 09:30, 2027-03-31T09:30:00), dotted day-first dates (31.03.2027), slash or dash
dates with the year last (31/03/2027, 3/31/2027), year-first slash dates (2027/03/31), compact
20270331, and English month names (31 Mar 2027, 31-Mar-2027, March 31, 2027). A slash date that
reads as a valid date both day-first and month-first (03/04/2027) is refused unless a date
order is given: guessing would enroll people with deadlines a month off.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum

from bulk_enroll.read.cells import cell_text, is_number
from bulk_enroll.validate.values import CellError

KIND_DATE = "not a date"
KIND_AMBIGUOUS = "ambiguous date"

_EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # serial 1 = 1900-01-01, with Excel's 1900 leap bug
_MAX_SERIAL = 2958466  # 9999-12-31
_SERIALS_MEANT = (36526, 73051)  # 2000-01-01 to 2099-12-31: the date numbers an enrollment means
_YEARS_MEANT = (2000, 2099)
_TIME = r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*([AaPp][Mm])?)?"
_DAY_FIRST_DOTS = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})\.?" + _TIME + "$")
_YEAR_LAST = re.compile(r"^(\d{1,2})([/-])(\d{1,2})\2(\d{4}|\d{2})" + _TIME + "$")
_YEAR_FIRST = re.compile(r"^(\d{4})([/.-])(\d{1,2})\2(\d{1,2})" + _TIME + "$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_NAMED_FORMATS = (
    "%d %b %Y",
    "%d %B %Y",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%b %d %Y",
    "%B %d %Y",
    "%d %b %Y %H:%M",
    "%d %B %Y %H:%M",
)
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
EXPECTED = "expected YYYY-MM-DD, DD.MM.YYYY, a slash date like 31/03/2027, or a date cell"


class DateOrder(StrEnum):
    """How to read a slash date whose first two numbers could each be the day."""

    DMY = "dmy"
    MDY = "mdy"


def parse_date(cell: object, order: DateOrder | None = None) -> tuple[dt.date, str | None]:
    """A calendar date; the note says when a time was dropped or a serial number converted."""
    moment, has_time, note = _parse(cell, order)
    if has_time and moment.time() != dt.time(0, 0):
        serial = note is not None  # only an Excel date number comes with a note
        shown = (cell_text(cell) if isinstance(cell, str) or serial
                 else moment.isoformat(sep=" "))
        which = f" (Excel's date number for {moment:%Y-%m-%d %H:%M})" if serial else ""
        note = (f"{shown!r}{which} has a time of day; the due date is a date, so "
                f"{moment.date()} is used")
    return moment.date(), note


def parse_datetime(cell: object, order: DateOrder | None = None) -> tuple[dt.datetime, str | None]:
    """A date with an optional time of day (kept to the second)."""
    moment, _, note = _parse(cell, order)
    return moment, note


def _parse(cell: object, order: DateOrder | None) -> tuple[dt.datetime, bool, str | None]:
    """(moment, whether a time of day was given, note); a year no course runs to (a typo such
    as 2207, or 30 typed into a date-formatted cell: 1900-01-30) is a problem, not a date."""
    moment, has_time, note = _parse_any(cell, order)
    if not _YEARS_MEANT[0] <= moment.year <= _YEARS_MEANT[1]:
        raise CellError(f"{cell_text(cell)!r} is in the year {moment.year}, which no course runs "
                        "to; check the year", KIND_DATE)
    return moment, has_time, note


def _parse_any(cell: object, order: DateOrder | None) -> tuple[dt.datetime, bool, str | None]:
    if isinstance(cell, dt.datetime):
        if cell.tzinfo is not None:  # a time zone: which wall clock the LMS should get is unsaid
            raise CellError(f"{cell_text(cell)!r} has a time zone; write the local time "
                            "without it", KIND_DATE)
        return cell.replace(microsecond=0), True, None
    if isinstance(cell, dt.date):
        return dt.datetime(cell.year, cell.month, cell.day), False, None
    if isinstance(cell, dt.time | dt.timedelta):
        raise CellError(f"{cell_text(cell)!r} is a time or a duration, not a date", KIND_DATE)
    if is_number(cell):
        moment = _from_serial(float(cell), cell_text(cell))  # type: ignore[arg-type]
        return moment, moment.time() != dt.time(0), _serial_note(cell_text(cell), moment)
    text = cell_text(cell)
    parsed = _parse_text(text, order)
    if parsed is None:
        raise CellError(f"{text!r} is not a date ({EXPECTED})", KIND_DATE)
    return parsed


def _parse_text(text: str, order: DateOrder | None) -> tuple[dt.datetime, bool, str | None] | None:
    if not text:
        return None
    if text[0].isdigit():
        if len(text) >= 10 and text[4] == "-" and text[7] == "-":
            try:
                moment = dt.datetime.fromisoformat(text.replace(" ", "T", 1))
            except ValueError:
                pass  # the regular expressions below name what is wrong (e.g. 30 February)
            else:
                if moment.tzinfo is not None:
                    raise CellError(
                        f"{text!r} has a time zone; write the local time without it", KIND_DATE
                    )
                return moment.replace(microsecond=0), len(text) > 10, None
        match = _YEAR_FIRST.match(text)
        if match:
            year, _, month, day = match.groups()[:4]
            return _build(text, int(year), int(month), int(day), match.groups()[4:])
        match = _DAY_FIRST_DOTS.match(text)
        if match:
            day, month, year = match.groups()[:3]
            return _build(text, _year(year), int(month), int(day), match.groups()[3:])
        match = _YEAR_LAST.match(text)
        if match:
            first, _, second, year = match.groups()[:4]
            time = match.groups()[4:]
            return _slash_date(text, int(first), int(second), _year(year), time, order)
        match = _COMPACT.match(text)
        if match:
            year, month, day = map(int, match.groups())
            return _build(text, year, month, day, (None, None, None, None))
        if text.replace(".", "", 1).isdigit():
            moment = _from_serial(float(text), text)
            return moment, moment.time() != dt.time(0), _serial_note(text, moment)
    return _named_month(text)


def _year(text: str) -> int:
    return 2000 + int(text) if len(text) == 2 else int(text)


def _slash_date(
    text: str,
    first: int,
    second: int,
    year: int,
    time: tuple[str | None, ...],
    order: DateOrder | None,
) -> tuple[dt.datetime, bool, str | None]:
    day_first_ok = _valid(year, second, first)
    month_first_ok = _valid(year, first, second)
    if day_first_ok and month_first_ok and first != second:
        if order is None:
            raise CellError(
                f"{text!r} is ambiguous: {first} {_MONTHS[second - 1]} {year} (day first) or "
                f"{_MONTHS[first - 1]} {second}, {year} (month first); pass --date-order dmy "
                "or --date-order mdy, or write it as YYYY-MM-DD",
                KIND_AMBIGUOUS,
            )
        day_first = order is DateOrder.DMY
    elif day_first_ok or month_first_ok:
        day_first = day_first_ok
    else:
        raise CellError(f"{text!r} is not a date ({EXPECTED})", KIND_DATE)
    day, month = (first, second) if day_first else (second, first)
    return _build(text, year, month, day, time)


def _valid(year: int, month: int, day: int) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


def _build(
    text: str, year: int, month: int, day: int, time: tuple[str | None, ...]
) -> tuple[dt.datetime, bool, str | None]:
    hour, minute, second, meridiem = time
    try:
        moment = dt.datetime(year, month, day)
        if hour is not None:
            h = int(hour)
            if meridiem:
                if not 1 <= h <= 12:
                    raise ValueError
                h = h % 12 + (12 if meridiem.lower() == "pm" else 0)
            moment = moment.replace(hour=h, minute=int(minute or 0), second=int(second or 0))
    except ValueError:
        raise CellError(f"{text!r} is not a date ({EXPECTED})", KIND_DATE) from None
    return moment, hour is not None, None


def _named_month(text: str) -> tuple[dt.datetime, bool, str | None] | None:
    normalized = re.sub(r"\s+", " ", text.replace(",", " ")).strip()
    for fmt in _NAMED_FORMATS:
        try:
            moment = dt.datetime.strptime(normalized, fmt)
        except ValueError:
            continue
        return moment, "%H" in fmt, None
    return None


def _from_serial(serial: float, shown: str) -> dt.datetime:
    if not 1 <= serial < _MAX_SERIAL:
        raise CellError(f"{shown!r} is not a date ({EXPECTED})", KIND_DATE)
    moment = _EXCEL_EPOCH + dt.timedelta(days=serial)
    if not _SERIALS_MEANT[0] <= serial < _SERIALS_MEANT[1]:
        # "30" in a deadline column is 30 days, not 29 January 1900; "123456" is no date.
        days = (f", or, for a number of days, use a due period column ('{shown} days')"
                if serial < _SERIALS_MEANT[0] else "")
        raise CellError(
            f"{shown!r} is not a date: as an Excel date number it is {moment:%Y-%m-%d}, which no "
            f"course runs to; write the date (YYYY-MM-DD){days}", KIND_DATE)
    return moment.replace(microsecond=0) + dt.timedelta(seconds=round(moment.microsecond / 1e6))


def _serial_note(shown: str, moment: dt.datetime) -> str:
    value = moment.isoformat(sep=" ") if moment.time() != dt.time(0) else moment.date().isoformat()
    return f"{shown} read as an Excel date number: {value}"
