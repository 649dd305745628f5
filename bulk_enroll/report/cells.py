"""Cell values for the result workbook: safe text, real dates, styles applied cheaply.

Every value a report writes goes through `CellMaker`, so one place guarantees that text never
becomes a formula or an error value, that IDs stay text and that dates are real Excel dates.
It also keeps the 100,000-row report fast: plain values go to openpyxl's write-only sheet as
they are (openpyxl reuses one cell object for them), and styled cells share a style array built
once per style instead of resolving fonts and fills cell by cell.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Hashable, Iterable, Iterator, Sequence
from copy import copy
from types import MethodType

import openpyxl
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from bulk_enroll.model import Status
from bulk_enroll.read.cells import cell_text

# Text starting with one of these is a formula (or becomes one when edited) in Excel, LibreOffice
# and Google Sheets: OWASP's list for CSV injection.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
TIME_FORMAT = "hh:mm:ss"
BOOL_FORMAT = '"TRUE";"TRUE";"FALSE"'
MAX_TEXT = 32767  # Excel's limit for one cell
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
FONT, FONT_SIZE = "Calibri", 11  # the workbook default; a Font without a name renders as serif
WIDTH_SAMPLE_ROWS = 500
MIN_WIDTH, MAX_WIDTH = 6, 60


def has_time(moment: dt.datetime) -> bool:
    """False at midnight: a date cell read back as a datetime shows as a date."""
    return bool(moment.hour or moment.minute or moment.second or moment.microsecond)


def needs_text_guard(text: str) -> bool:
    """True when openpyxl or a spreadsheet would not show `text` as the plain text it is."""
    return text.startswith(FORMULA_PREFIXES) or text in ERROR_CODES


def clean_text(text: str) -> str:
    """Text a worksheet can hold: control characters XML forbids become U+FFFD, cut to 32,767."""
    if ILLEGAL_CHARACTERS_RE.search(text):
        text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)
    return text[:MAX_TEXT]


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


class CellMaker:
    """Builds the cells of one write-only sheet; styles are made once and shared.

    With `reuse=True` every styled cell is the same object, refilled: a write-only sheet writes
    a row's cells as soon as it is appended, so one maker per column can recycle its cell from
    row to row (`stream_prepared_cells` must be installed on the sheet, see there).
    """

    def __init__(
        self,
        sheet: WriteOnlyWorksheet,
        *,
        styles: dict[Hashable, StyleArray] | None = None,
        reuse: bool = False,
    ) -> None:
        self.sheet = sheet
        self.styles: dict[Hashable, StyleArray] = {} if styles is None else styles
        self._plain = StyleArray()
        self._reused = WriteOnlyCell(sheet) if reuse else None

    def style(
        self,
        key: Hashable,
        *,
        bold: bool = False,
        italic: bool = False,
        size: float | None = None,
        colour: str | None = None,
        fill: str | None = None,
        number_format: str | None = None,
        wrap: bool = False,
        horizontal: str | None = None,
        indent: int = 0,
    ) -> StyleArray:
        """The style array for `key`, built from these attributes the first time it is asked."""
        found = self.styles.get(key)
        if found is not None:
            return found
        template = WriteOnlyCell(self.sheet)
        if bold or italic or size or colour:
            template.font = Font(
                name=FONT, size=size or FONT_SIZE, bold=bold, italic=italic, color=colour
            )
        if fill:
            template.fill = PatternFill("solid", fgColor=fill)
        if number_format:
            template.number_format = number_format
        if indent and horizontal is None:
            horizontal = "left"  # Excel ignores an indent under General alignment
        if wrap or horizontal or indent:
            template.alignment = Alignment(
                wrap_text=wrap, horizontal=horizontal, indent=indent, vertical="top"
            )
        self.styles[key] = template._style
        return template._style

    def styled(self, value: object, style: StyleArray) -> WriteOnlyCell:
        """A cell showing `value` with a prepared style; text is always stored as text."""
        cell = self._reused or WriteOnlyCell(self.sheet)
        if isinstance(value, str):
            if needs_text_guard(value):
                style = self._quoted(style)
            cell._value = clean_text(value)
            cell.data_type = "s"
        elif isinstance(value, dt.date | dt.time):
            cell._value = value
            cell.data_type = "d"
        else:
            cell.value = value
        cell._style = style
        return cell

    def _quoted(self, style: StyleArray) -> StyleArray:
        """`style` plus Excel's quote prefix, so editing the cell keeps it text."""
        key = ("quoted", tuple(style))
        found = self.styles.get(key)
        if found is None:
            found = copy(style)
            found.quotePrefix = 1
            self.styles[key] = found
        return found

    def text(self, value: str) -> object:
        """`value` as text that no spreadsheet will evaluate; `None` for an empty string."""
        if not value:
            return None
        if needs_text_guard(value):
            return self.styled(value, self._plain)
        if len(value) > MAX_TEXT or ILLEGAL_CHARACTERS_RE.search(value):
            return clean_text(value)
        return value

    def value(self, value: object) -> object:
        """Any input value as its own type: numbers stay numbers, dates get a date format."""
        kind = type(value)
        if kind is str:
            return self.text(value)  # type: ignore[arg-type]
        if value is None:
            return value
        if kind is bool:  # shown as TRUE/FALSE by LibreOffice too (it defaults to 1/0)
            return self.styled(value, self.style("bool", number_format=BOOL_FORMAT))
        if kind is int or kind is float:
            if -BIG_NUMBER < value < BIG_NUMBER or value != value:  # type: ignore[operator]
                return value
            return self.big_number(value)  # type: ignore[arg-type]
        if kind is dt.datetime:
            stamp: dt.datetime = value  # type: ignore[assignment]
            if stamp.tzinfo is not None:
                stamp = stamp.replace(tzinfo=None)
            if has_time(stamp):
                return self.styled(stamp, self.style("datetime", number_format=DATETIME_FORMAT))
            return self.styled(stamp, self.style("date", number_format=DATE_FORMAT))
        if kind is dt.date:
            return self.styled(value, self.style("date", number_format=DATE_FORMAT))
        if kind is dt.time:
            return self.styled(value, self.style("time", number_format=TIME_FORMAT))
        if isinstance(value, int | float):  # subclasses of int and float
            return value
        return self.text(str(value))

    def big_number(self, value: float) -> object:
        """A long whole number (an employee or phone number) shown in full, not as 1.2E+15."""
        if isinstance(value, float) and not value.is_integer():
            return value
        return self.styled(value, self.style("whole", number_format="0"))

    def id_text(self, value: object) -> object:
        """An identifier: always text, whatever type the input cell had."""
        if value is None:
            return None
        return self.text(value if type(value) is str else as_text(value))  # type: ignore[arg-type]

    def status(self, status: Status) -> WriteOnlyCell:
        fill, colour = STATUS_COLOURS[status]
        return self.styled(status.value, self.style(status, fill=fill, colour=colour))

    def header(
        self, name: str, *, fill: str = HEADER_FILL, horizontal: str | None = None, indent: int = 0
    ) -> WriteOnlyCell:
        style = self.style(
            ("header", fill, horizontal, indent),
            bold=True,
            fill=fill,
            horizontal=horizontal,
            indent=indent,
        )
        return self.styled(name, style)


def stream_prepared_cells(sheet: WriteOnlyWorksheet) -> None:
    """Let `sheet` take our prepared cells directly, as openpyxl's own path would after a
    failed conversion attempt (an exception and two string formats per styled cell: a third
    of the styling cost on a 100,000-row report). Plain values take openpyxl's own path."""
    # Only on the openpyxl line this copy was taken from; any other keeps openpyxl's own path.
    if openpyxl.__version__.startswith("3.1.") and hasattr(sheet, "_values_to_row"):
        sheet._values_to_row = MethodType(_values_to_row, sheet)


def _values_to_row(
    sheet: WriteOnlyWorksheet, values: Iterable[object], row_idx: int
) -> Iterator[Cell]:
    """openpyxl 3.1's `WriteOnlyWorksheet._values_to_row`, with prepared cells checked first."""
    cell = WriteOnlyCell(sheet)
    for col_idx, value in enumerate(values, 1):
        if value is None:
            continue
        if isinstance(value, Cell):
            value.column, value.row = col_idx, row_idx
            yield value
            continue
        cell.value = value
        cell.column, cell.row = col_idx, row_idx
        yield cell
        if cell.has_style:  # openpyxl gave a date a number format: the next value starts clean
            cell = WriteOnlyCell(sheet)


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


def set_layout(sheet: WriteOnlyWorksheet, widths: Sequence[float], rows: int) -> None:
    """Frozen header, autofilter over the data, column widths; before any row is appended."""
    last = get_column_letter(max(len(widths), 1))
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{last}{max(rows + 1, 1)}"
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    fit_to_page_width(sheet)
    sheet.print_title_rows = "1:1"  # the header on every printed page


def fit_to_page_width(
    sheet: WriteOnlyWorksheet, *, orientation: str = "landscape", pages_down: int = 0
) -> None:
    """Print all columns on one page width, on `pages_down` pages (0: as many as needed)."""
    sheet.page_setup.orientation = orientation
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = pages_down
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
