"""Cell values for the result workbook: safe text, real dates, formats made once.

Every value a report writes goes through a `CellWriter`, so one place guarantees that text never
becomes a formula, a link or an error value, that IDs stay text and that dates are real Excel
dates. The workbook is written with XlsxWriter's public API in `constant_memory` mode (a
100,000-row report streams to disk row by row instead of living in memory); its typed
`write_string`/`write_number`/`write_datetime` calls store exactly the type they are given, so
nothing is ever guessed from the text. How a cell looks is a `Style` (plain data); each distinct
style becomes one workbook format, made the first time it is used and shared after that.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from bulk_enroll.model import Status
from bulk_enroll.read.cells import cell_text

# Text starting with one of these is a formula (or becomes one when edited) in Excel, LibreOffice
# and Google Sheets: OWASP's list for CSV injection.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Excel's error values: typed into a cell they become errors, so such text is guarded too.
ERROR_CODES = frozenset(("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"))
# Control characters XML 1.0 forbids in a worksheet (tab, LF and CR are allowed).
ILLEGAL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
TIME_FORMAT = "hh:mm:ss"
BOOL_FORMAT = '"TRUE";"TRUE";"FALSE"'
BIG_NUMBER = 1e11  # from 12 digits on, Excel's General format switches to 1.2E+11

# Excel's own "Good" / "Neutral" / "Bad" cell styles (fill, font), so colours mean what they
# usually mean in a spreadsheet; settled-well statuses that changed nothing are quieter.
STATUS_COLOURS: dict[Status, tuple[str, str]] = {
    Status.ENROLLED: ("C6EFCE", "006100"),
    Status.ALREADY_ENROLLED: ("DDEBF7", "1F4E78"),
    Status.DUPLICATE: ("EDEDED", "404040"),
    Status.INVALID: ("FFC7CE", "9C0006"),
    Status.FAILED: ("FFC7CE", "9C0006"),
    Status.UNKNOWN: ("FFEB9C", "9C5700"),
    Status.NOT_SENT: ("FFEB9C", "9C5700"),
}
HEADER_FILL = "D9E1F2"
WIDTH_SAMPLE_ROWS = 500
MIN_WIDTH, MAX_WIDTH = 6, 60
# Column widths here are OOXML widths (characters of the default font, padding included); the
# writer takes pixels, and Calibri 11's widest digit is 7 pixels wide.
PIXELS_PER_WIDTH_UNIT = 7


def has_time(moment: dt.datetime) -> bool:
    """False at midnight: a date cell read back as a datetime shows as a date."""
    return bool(moment.hour or moment.minute or moment.second or moment.microsecond)


def needs_text_guard(text: str) -> bool:
    """True when a spreadsheet would not keep `text` as the plain text it is once edited."""
    return text.startswith(FORMULA_PREFIXES) or text in ERROR_CODES


def clean_text(text: str) -> str:
    """Text a worksheet can hold: control characters XML forbids become U+FFFD.

    (Text over Excel's 32,767 characters is cut by the writer, counted in UTF-16 units.)
    """
    if ILLEGAL_CHARACTERS.search(text):
        return ILLEGAL_CHARACTERS.sub("\ufffd", text)
    return text


def as_text(value: object) -> str:
    """An identifier as text: numbers lose a trailing '.0' and never turn into 1.2E+15."""
    return cell_text(value)


class DateColumn:
    """Turns ISO date text (as CSV files carry it) into real dates, remembering each answer.

    Dates repeat heavily in enrollment files, so parsing each distinct text once keeps this
    cheap. Text that is not an ISO date stays as written (the person must see what they typed).
    """

    def __init__(self) -> None:
        self._seen: dict[str, object] = {}

    def __call__(self, value: object) -> object:
        if type(value) is not str:
            return value
        try:
            return self._seen[value]
        except KeyError:
            pass
        try:
            parsed: object = parse_iso_moment(value) if value.strip() else value
        except ValueError:
            parsed = value
        self._seen[value] = parsed
        return parsed


_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?")


def parse_iso_moment(text: str) -> dt.datetime:
    """ISO date or date-time text (what CSV inputs carry) as a datetime; ValueError otherwise.

    Only ISO: a slash date in a report cell is shown as typed, never guessed at.
    """
    stripped = text.strip()
    if not _ISO_MOMENT.fullmatch(stripped):
        raise ValueError(f"{text!r} is not an ISO date")
    return dt.datetime.fromisoformat(stripped)


@dataclass(frozen=True)
class Style:
    """How a cell looks, as plain data: equal styles share one format in the workbook."""

    bold: bool = False
    italic: bool = False
    size: float | None = None
    colour: str | None = None  # font colour, RRGGBB
    fill: str | None = None  # solid background, RRGGBB
    number_format: str | None = None
    horizontal: str | None = None
    indent: int = 0
    quote_prefix: bool = False  # Excel keeps the cell text when it is edited

    def quoted(self) -> Style:
        return replace(self, quote_prefix=True)

    def properties(self) -> dict[str, object]:
        """The style as XlsxWriter format properties."""
        found: dict[str, object] = {}
        if self.bold:
            found["bold"] = True
        if self.italic:
            found["italic"] = True
        if self.size:
            found["font_size"] = self.size
        if self.colour:
            found["font_color"] = f"#{self.colour}"
        if self.fill:
            found.update(pattern=1, bg_color=f"#{self.fill}")
        if self.number_format:
            found["num_format"] = self.number_format
        horizontal = self.horizontal
        if self.indent and horizontal is None:
            horizontal = "left"  # Excel ignores an indent under General alignment
        if horizontal or self.indent:
            found.update(align=horizontal, indent=self.indent, valign="top")
        if self.quote_prefix:
            found["quote_prefix"] = True
        return found


PLAIN = Style()
DATE = Style(number_format=DATE_FORMAT)
DATETIME = Style(number_format=DATETIME_FORMAT)
TIME = Style(number_format=TIME_FORMAT)
BOOLEAN = Style(number_format=BOOL_FORMAT)
WHOLE = Style(number_format="0")


def status_style(status: Status) -> Style:
    fill, colour = STATUS_COLOURS[status]
    return Style(fill=fill, colour=colour)


def header_style(
    fill: str = HEADER_FILL, *, horizontal: str | None = None, indent: int = 0
) -> Style:
    return Style(bold=True, fill=fill, horizontal=horizontal, indent=indent)


class Formats:
    """The workbook's formats, one per `Style`, made the first time a style is used."""

    def __init__(self, workbook: Workbook) -> None:
        self._workbook = workbook
        self._made: dict[Style, Format | None] = {PLAIN: None}  # no format: the workbook default

    def __call__(self, style: Style) -> Format | None:
        try:
            return self._made[style]
        except KeyError:
            made = self._made[style] = self._workbook.add_format(style.properties())
            return made


Write = Callable[[int, int, object], None]


class CellWriter:
    """Writes values into one worksheet as what they are: text as text, numbers as numbers,
    dates as dates. Methods take (row, column, value), zero-based, as XlsxWriter does."""

    def __init__(self, sheet: Worksheet, formats: Formats) -> None:
        self.sheet = sheet
        self.formats = formats
        self._write_string = sheet.write_string
        self._write_number = sheet.write_number
        self._plain_quoted = formats(PLAIN.quoted())
        self._typed = {style: formats(style) for style in (DATE, DATETIME, TIME, BOOLEAN, WHOLE)}
        self._statuses = {status: formats(status_style(status)) for status in Status}

    def text(self, row: int, col: int, value: str) -> None:
        """`value` as text that no spreadsheet will evaluate; nothing for an empty string."""
        if not value:
            return
        if needs_text_guard(value):
            self._write_string(row, col, clean_text(value), self._plain_quoted)
        else:
            self._write_string(row, col, clean_text(value))

    def value(self, row: int, col: int, value: object) -> None:
        """Any input value as its own type: numbers stay numbers, dates get a date format."""
        kind = type(value)
        if kind is str:
            self.text(row, col, value)  # type: ignore[arg-type]
        elif value is None:
            return
        elif kind is int or kind is float:
            number: float = value  # type: ignore[assignment]
            if -BIG_NUMBER < number < BIG_NUMBER:
                self._write_number(row, col, number)
            else:
                self._big_number(row, col, number)
        elif kind is bool:  # shown as TRUE/FALSE by LibreOffice too (it defaults to 1/0)
            self.sheet.write_boolean(row, col, value, self._typed[BOOLEAN])
        elif isinstance(value, dt.datetime):  # a time zone is dropped (wall time): see workbook
            style = DATETIME if has_time(value) else DATE
            self.sheet.write_datetime(row, col, value, self._typed[style])
        elif isinstance(value, dt.date):
            self.sheet.write_datetime(row, col, value, self._typed[DATE])
        elif isinstance(value, dt.time):
            self.sheet.write_datetime(row, col, value, self._typed[TIME])
        elif isinstance(value, int | float):  # subclasses of int and float (not bool: above)
            self.value(row, col, int(value) if isinstance(value, int) else float(value))
        else:
            self.text(row, col, str(value))

    def _big_number(self, row: int, col: int, number: float) -> None:
        """A long whole number (an employee or phone number) shown in full, not as 1.2E+15;
        NaN and infinity, which a cell cannot hold as numbers, as the text they print as."""
        if isinstance(number, float) and not math.isfinite(number):
            self.text(row, col, str(number))
        elif isinstance(number, float) and not number.is_integer():
            self._write_number(row, col, number)
        else:
            self._write_number(row, col, number, self._typed[WHOLE])

    def id_text(self, row: int, col: int, value: object) -> None:
        """An identifier: always text, whatever type the input cell had."""
        if value is not None:
            self.text(row, col, value if type(value) is str else as_text(value))  # type: ignore[arg-type]

    def status(self, row: int, col: int, value: object) -> None:
        """A `Status`, colour-coded; any other value (e.g. "planned") as it is."""
        if isinstance(value, Status):
            self._write_string(row, col, value.value, self._statuses[value])
        else:
            self.value(row, col, value)

    def styled(self, row: int, col: int, value: object, style: Style) -> None:
        """`value` with a chosen style (the Summary's cells); text is always stored as text."""
        if isinstance(value, str):
            if not value:
                self.sheet.write_blank(row, col, None, self.formats(style))
                return
            if needs_text_guard(value):
                style = style.quoted()
            self._write_string(row, col, clean_text(value), self.formats(style))
        elif isinstance(value, bool):
            self.sheet.write_boolean(row, col, value, self.formats(style))
        elif isinstance(value, dt.date | dt.time):
            self.sheet.write_datetime(row, col, value, self.formats(style))
        elif isinstance(value, int | float) and math.isfinite(value):
            self._write_number(row, col, value, self.formats(style))
        elif value is None:
            self.sheet.write_blank(row, col, None, self.formats(style))
        else:
            self.styled(row, col, str(value), style)


def display_width(value: object) -> int:
    """About how many characters a value shows as (dates as their format's length)."""
    if value is None:
        return 0
    if isinstance(value, dt.datetime):
        return len(DATETIME_FORMAT) if has_time(value) else len(DATE_FORMAT)
    if isinstance(value, dt.date):
        return len(DATE_FORMAT)
    if isinstance(value, float):
        return len(f"{value:.10g}")
    text = value if isinstance(value, str) else str(value)
    return max((len(line) for line in text.splitlines()), default=0)


def fit_widths(
    headers: Sequence[str],
    sample: Iterable[Sequence[object]],
    *,
    limits: Sequence[tuple[int, int] | None] | None = None,
) -> list[float]:
    """Column widths that fit the header and a sample of values (cheap: a bounded sample).

    `limits` gives a column its own (min, max) width instead of (MIN_WIDTH, MAX_WIDTH).
    """
    widths = [display_width(h) + 3 for h in headers]  # room for the autofilter arrow
    for count, row in enumerate(sample):
        if count >= WIDTH_SAMPLE_ROWS:
            break
        for i, value in enumerate(row[: len(widths)]):
            shown = display_width(value)
            if shown > widths[i]:
                widths[i] = shown
    bounds = list(limits or ()) + [None] * (len(widths) - len(limits or ()))
    return [
        float(min(max(width + 1, low), high))
        for width, (low, high) in zip(
            widths, (b or (MIN_WIDTH, MAX_WIDTH) for b in bounds), strict=False
        )
    ]


def set_widths(sheet: Worksheet, widths: Sequence[float]) -> None:
    """Column widths, in OOXML width units (see PIXELS_PER_WIDTH_UNIT)."""
    for index, width in enumerate(widths):
        sheet.set_column_pixels(index, index, round(width * PIXELS_PER_WIDTH_UNIT))


def set_layout(sheet: Worksheet, widths: Sequence[float], rows: int) -> None:
    """Frozen header, autofilter over the data, column widths, printing; before any row."""
    last = max(len(widths), 1) - 1
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, rows, last)
    set_widths(sheet, widths)
    fit_to_page_width(sheet)
    sheet.repeat_rows(0)  # the header on every printed page


def fit_to_page_width(sheet: Worksheet, *, landscape: bool = True, pages_down: int = 0) -> None:
    """Print all columns on one page width, on `pages_down` pages (0: as many as needed)."""
    if landscape:
        sheet.set_landscape()
    else:
        sheet.set_portrait()
    sheet.fit_to_pages(1, pages_down)
