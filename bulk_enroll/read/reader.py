"""Spreadsheet files -> a `Table` of raw cells with Excel row numbers.

This is one of the three places that touch the outside world: it opens files and nothing else.
Meaning (which column is what, whether a value is valid) is decided later, in `validate/`.

- Every file is first checked by `safety.check_input` (size, type vs extension, encryption,
  zip bombs, XML entities).
- CSV/TXT/TSV: encoding detected (`encodings.py`), delimiter chosen among , ; tab | by which
  one yields a recognisable header, read as a stream. Cells stay text, so identifiers keep
  their leading zeros.
- XLSX/XLSM/XLS/ODS: read with python-calamine; cells keep their types (dates stay dates).
  The first visible sheet with a recognisable header is used unless `sheet` names one.
- `header.locate` skips title rows and blank rows, ignores trailing empty columns, flags
  values beyond the header's columns and sets footer lines ("Total: 3") aside.
- XLSX/ODS: `sheet_xml.sheet_facts` adds what calamine does not say: hidden rows and columns,
  and empty cells that hold a formula without a saved value (or an error).
- Every sheet is weighed before calamine reads it (`sheet_loader`): a value far outside the
  data must not make it allocate billions of cells.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import python_calamine

from bulk_enroll.errors import InputFileError, InputRefused
from bulk_enroll.gc_pause import gc_paused
from bulk_enroll.read.cells import cell_text, is_blank
from bulk_enroll.read.columns import Field, HeaderMatcher, expected_names, map_columns
from bulk_enroll.read.encodings import Detected, NotText, detect_encoding
from bulk_enroll.read.feedback import (
    RUN_SETTINGS_SHEET,
    ReadingOptions,
    drop_reason_column,
    pick_sheet_for_report,
)
from bulk_enroll.read.header import Located, NoHeader, is_blank_row, locate
from bulk_enroll.read.safety import (
    ODS_SUFFIXES,
    OOXML_SUFFIXES,
    TEXT_SUFFIXES,
    XLS_SUFFIXES,
    ReadLimits,
    check_input,
)
from bulk_enroll.read.sheet_loader import SheetLoader, weigh_before_opening
from bulk_enroll.read.sheet_xml import NO_FACTS, SheetFacts, sheet_facts
from bulk_enroll.read.table import Cell, Table

CSV_SUFFIXES = TEXT_SUFFIXES
EXCEL_SUFFIXES = OOXML_SUFFIXES | XLS_SUFFIXES | ODS_SUFFIXES
SUPPORTED = sorted(CSV_SUFFIXES | EXCEL_SUFFIXES)
DELIMITERS = (",", ";", "\t", "|")
_SAMPLE_CHARS = 64 * 1024
_INTERN_LIMIT = 100_000
_WORKBOOK_XML_LIMIT = 4 * 1024 * 1024  # a workbook's sheet list; larger is not one of ours


def read_table(
    path: Path,
    *,
    sheet: str | None = None,
    aliases: Mapping[str, Field | str] | None = None,
    limits: ReadLimits | None = None,
) -> Table:
    """Read the data sheet of a CSV, XLSX, XLSM, XLS or ODS file.

    `sheet` is a sheet name or a 1-based position; `aliases` are extra header names.
    """
    check_input_path(path)
    suffix = path.suffix.lower()
    check_input(path, limits or ReadLimits())
    matcher = HeaderMatcher(aliases)
    if suffix in CSV_SUFFIXES:
        if sheet is not None:
            raise InputFileError(f"{path.name}: --sheet applies to workbooks, not to text files")
        with gc_paused():
            table = _read_csv(path, matcher)
    else:
        with gc_paused():
            table = _read_workbook(path, sheet, matcher)
    return drop_reason_column(table)  # a report's Needs attention sheet, fed back


def stored_reading_options(path: Path, limits: ReadLimits | None = None) -> ReadingOptions | None:
    """The options a bulk-enroll report remembers its run read the file with (None for any
    other file). Cheap for other files: one look at the workbook's list of sheets. Never
    raises: a file that cannot be read is refused by `read_table`, with the reason."""
    if path.suffix.lower() not in OOXML_SUFFIXES or not path.is_file():
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("xl/workbook.xml")
            if info.file_size > _WORKBOOK_XML_LIMIT:
                return None
            listed = archive.read(info)
        if f'name="{RUN_SETTINGS_SHEET}"'.encode() not in listed:
            return None
        check_input(path, limits or ReadLimits())
        with python_calamine.CalamineWorkbook.from_path(str(path)) as workbook:
            if pick_sheet_for_report(workbook) is None:
                return None
            rows = workbook.get_sheet_by_name(RUN_SETTINGS_SHEET).to_python()
    except (OSError, KeyError, zipfile.BadZipFile, InputFileError,
            python_calamine.CalamineError):
        return None
    return ReadingOptions.from_rows(rows)


def check_input_path(path: Path) -> None:
    """Raise `InputFileError` unless `path` is a file of a supported type: the first thing a
    command checks, before it looks for an account."""
    if path.is_dir():
        raise InputFileError(f"{path} is a folder, not a file: give the spreadsheet's name")
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES and suffix not in EXCEL_SUFFIXES:
        raise InputFileError(
            f"{path.name}: unsupported file type {suffix or '(none)'}; "
            f"use one of {', '.join(SUPPORTED)}"
        )


# ---- CSV ---------------------------------------------------------------------------------------


def _read_csv(path: Path, matcher: HeaderMatcher) -> Table:
    try:
        detected = detect_encoding(path)
    except NotText as exc:
        raise InputRefused(f"{path.name} is not a text file: {exc}") from None
    notes: list[str] = []
    if detected.guessed:
        notes.append(
            f"{path.name} is not UTF-8; read it as {detected.describe()} (a guess: if names look "
            "wrong, save the file from Excel as 'CSV UTF-8' and run again)"
        )
    with _open_text(path, detected) as handle:
        sample = handle.read(_SAMPLE_CHARS)
        truncated = bool(handle.read(1))
    delimiter = choose_delimiter(sample, matcher, truncated=truncated)
    with _open_text(path, detected) as handle:
        records = csv.reader(handle, delimiter=delimiter)
        try:
            located = _locate(path.name, _numbered_records(records), matcher, delimited=True)
        except csv.Error as exc:
            raise InputFileError(
                f"{path.name}: not a readable CSV file near line {records.line_num} ({exc}); "
                'check for a quote (") that opens a value and is never closed'
            ) from None
        except UnicodeDecodeError as exc:
            raise InputFileError(
                f"{path.name}: cannot be read as {detected.describe()} (byte {exc.start} of a "
                "chunk does not fit); save it from Excel as 'CSV UTF-8' and run again"
            ) from None
    return Table(
        file=path.name,
        sheet=None,
        headers=located.headers,
        rows=located.rows,
        encoding=detected.encoding,
        notes=(*notes, *located.notes),
        typed=False,
        row_problems=located.problems,
        footer=located.footer,
    )


def _open_text(path: Path, detected: Detected) -> io.TextIOWrapper:
    encoding = detected.encoding
    if detected.bom_length:  # let Python's BOM-aware codecs drop the mark
        encoding = {"utf-8": "utf-8-sig", "utf-16-le": "utf-16", "utf-16-be": "utf-16"}.get(
            encoding, encoding.replace("-le", "").replace("-be", "")
        )
    return open(path, encoding=encoding, newline="", errors="strict")  # noqa: SIM115


def _numbered_records(records: Iterator[list[str]]) -> Iterator[tuple[int, tuple[str, ...]]]:
    """Records with their number (a quoted multi-line value stays one row, as in Excel).

    Repeated values (course IDs, due date types, dates) share one string object, which keeps a
    million-row file's memory in check.
    """
    memo: dict[str, str] = {}
    share = memo.setdefault
    for number, record in enumerate(records, start=1):
        yield number, tuple(map(share, record, record))
        if len(memo) > _INTERN_LIMIT:
            memo.clear()


def choose_delimiter(sample: str, matcher: HeaderMatcher, *, truncated: bool = False) -> str:
    """The delimiter under which the sample has a recognisable header (else the most regular)."""
    best_score: tuple[int, int, int, float] | None = None
    best = ","
    for delimiter in DELIMITERS:
        records = list(csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter))
        if truncated and len(records) > 1:
            records = records[:-1]  # the sample may end mid-record
        rows = [r for r in records if any(c.strip() for c in r)]
        header_at = next((i for i, r in enumerate(rows[:50]) if matcher.is_header(r)), None)
        recognised = len(matcher.recognised(rows[header_at])) if header_at is not None else 0
        body = rows[header_at or 0 :]
        widths = [len(r) for r in body]
        common = max(set(widths), key=widths.count) if widths else 0
        regular = widths.count(common) / len(widths) if widths else 0.0
        score = (int(header_at is not None), recognised, int(common > 1), regular)
        if best_score is None or score > best_score:
            best_score, best = score, delimiter
    return best


# ---- Workbooks ---------------------------------------------------------------------------------


def _read_workbook(path: Path, sheet: str | None, matcher: HeaderMatcher) -> Table:
    kind = _workbook_kind(path)
    weighed = weigh_before_opening(path, kind)  # XLS, ODS: calamine reads them whole
    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    except python_calamine.PasswordError:
        raise InputRefused(
            f"{path.name} is password-protected (encrypted); remove the password and run again"
        ) from None
    except Exception as exc:  # calamine raises several unrelated types for unreadable files
        raise InputFileError(f"{path.name}: not a readable workbook ({_short(exc)})") from None
    with workbook, ThreadPoolExecutor(max_workers=1) as pool, \
            SheetLoader(path, workbook, kind, weighed) as loader:
        names = _candidate_sheets(path.name, workbook, sheet, loader)
        misses: list[tuple[str, tuple[str, ...]]] = []
        for index, name in enumerate(names):
            # What the sheet would cost is known before calamine reads it (`sheet_loader`);
            # its XML facts are then read beside calamine's parse (which releases the GIL),
            # so on a multi-core machine they cost nothing.
            scan = loader.scan(name)
            facts = pool.submit(sheet_facts, path, name, kind, scan)
            try:
                cells, _, left_out = loader.load(name, scan)
                located = _locate_sheet(cells, matcher)
            except NoHeader as miss:
                misses.append((name, miss.first_row))
                continue
            except python_calamine.PasswordError:
                raise InputRefused(f"{path.name} is password-protected (encrypted)") from None
            except python_calamine.CalamineError as exc:
                raise InputFileError(
                    f"{path.name}: sheet {name!r} cannot be read ({_short(exc)})"
                ) from None
            notes = (left_out,) + located.notes if left_out else located.notes
            if index > 0:
                notes = (f"read sheet {name!r}: the first sheet with a recognisable header",
                         *notes)
            first_column = cells.start[1] if cells.start else 0
            table = Table(path.name, name, located.headers, located.rows, notes=notes,
                          first_column=first_column, row_problems=located.problems,
                          footer=located.footer)
            return _with_sheet_facts(table, facts.result())
    raise InputFileError(no_header_message(path.name, misses))


def _workbook_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in OOXML_SUFFIXES:
        return "xlsx"
    return "ods" if suffix in ODS_SUFFIXES else "xls" if suffix in XLS_SUFFIXES else ""


def _with_sheet_facts(table: Table, facts: SheetFacts) -> Table:
    """The table with what the sheet's XML says about its rows, columns and empty cells."""
    if facts is NO_FACTS:
        return table
    width, first = len(table.headers), table.first_column
    cells_of = dict(table.rows) if facts.unreadable else {}
    unreadable: dict[int, dict[int, str]] = {}
    for (number, column), why in facts.unreadable.items():
        cells = cells_of.get(number)
        position = column - first
        if cells is not None and 0 <= position < width and is_blank(cells[position]):
            unreadable.setdefault(number, {})[position] = why
    return dataclasses.replace(
        table,
        hidden_rows=facts.hidden_among(number for number, _ in table.rows),
        hidden_columns=frozenset(i for i in range(width) if facts.column_hidden(first + i)),
        unreadable=unreadable,
    )


def _candidate_sheets(
    file: str, workbook: python_calamine.CalamineWorkbook, choice: str | None,
    loader: SheetLoader,
) -> list[str]:
    names = list(workbook.sheet_names)
    if choice is None and (report_sheet := pick_sheet_for_report(workbook, loader.sheet)):
        return [report_sheet]  # our own report, fed back: read the rows the person fixed
    if choice is not None:
        if choice in names:
            return [choice]
        folded = {n.strip().casefold(): n for n in names}
        if choice.strip().casefold() in folded:
            return [folded[choice.strip().casefold()]]
        if choice.strip().isdigit() and 1 <= int(choice) <= len(names):
            return [names[int(choice) - 1]]
        listed = ", ".join(f"{i} {n!r}" for i, n in enumerate(names, start=1))
        raise InputFileError(f"{file}: no sheet {choice!r}; the sheets are: {listed}")
    visible = [
        meta.name
        for meta in workbook.sheets_metadata
        if meta.typ == python_calamine.SheetTypeEnum.WorkSheet
        and meta.visible == python_calamine.SheetVisibleEnum.Visible
    ]
    return visible or names


def _locate_sheet(sheet: python_calamine.CalamineSheet, matcher: HeaderMatcher) -> Located:
    start = sheet.start
    if start is None:  # an empty sheet
        raise NoHeader(())
    # calamine yields rows from the sheet's first row (so the n-th row is Excel row n) but
    # columns from the first used one (so column names start at `start[1]`).
    return locate(enumerate(sheet.iter_rows(), start=1), matcher, first_column=start[1])


def _locate(
    file: str,
    numbered: Iterator[tuple[int, Sequence[Cell]]],
    matcher: HeaderMatcher,
    *,
    delimited: bool = False,
) -> Located:
    try:
        return locate(numbered, matcher, delimited=delimited)
    except NoHeader as miss:
        raise InputFileError(no_header_message(file, [(None, miss.first_row)])) from None


def no_header_message(file: str, misses: Sequence[tuple[str | None, tuple[str, ...]]]) -> str:
    expected = f"expected {expected_names('learner')} and {expected_names('course')}"
    found = []
    for sheet, row in misses:
        cells = ", ".join(repr(c) for c in row if c) or "(nothing)"
        found.append(f"sheet {sheet!r}: {cells}" if sheet is not None else cells)
        found.extend(map_columns(row).notes)  # "did you mean 'email'?" for a misspelt header
    where = "; ".join(found) if found else "(the file is empty)"
    return f"{file}: no header row with a learner and a course column; {expected}. Found: {where}"


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


# ---- Outline: the first rows as they are, for a person to point at the header ----------------


@dataclass(frozen=True)
class Outline:
    """The start of a file's sheet as text, for a person to say which row is the header and
    which column means what (when the header is not recognised on its own)."""

    file: str
    sheets: tuple[str, ...]  # a workbook's visible sheets; () for a text file
    sheet: str | None  # the sheet shown
    rows: tuple[tuple[int, tuple[str, ...]], ...]  # (row as the sheet shows it, cells as text)
    header_row: int | None  # the row the reader would take as the header; None: none found


def outline(
    path: Path,
    *,
    sheet: str | None = None,
    aliases: Mapping[str, Field | str] | None = None,
    limits: ReadLimits | None = None,
    max_rows: int = 12,
) -> Outline:
    """The first `max_rows` non-blank rows of the file's sheet (the chosen one, else the first
    visible), after the same safety checks as `read_table`."""
    suffix = path.suffix.lower()
    if not path.is_file() or (suffix not in CSV_SUFFIXES and suffix not in EXCEL_SUFFIXES):
        read_table(path, sheet=sheet, aliases=aliases, limits=limits)  # raises its error
    check_input(path, limits or ReadLimits())
    matcher = HeaderMatcher(aliases)
    if suffix in CSV_SUFFIXES:
        try:
            detected = detect_encoding(path)
        except NotText as exc:
            raise InputRefused(f"{path.name} is not a text file: {exc}") from None
        with _open_text(path, detected) as handle:
            sample = handle.read(_SAMPLE_CHARS)
            truncated = bool(handle.read(1))
        records = csv.reader(io.StringIO(sample, newline=""),
                             delimiter=choose_delimiter(sample, matcher, truncated=truncated))
        return _outline(path.name, (), None, enumerate(records, start=1), matcher, max_rows)
    kind = _workbook_kind(path)
    weighed = weigh_before_opening(path, kind)  # as `read_table`: never more than it costs
    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises several unrelated types
        raise InputFileError(f"{path.name}: not a readable workbook ({_short(exc)})") from None
    with workbook, SheetLoader(path, workbook, kind, weighed) as loader:
        visible = _candidate_sheets(path.name, workbook, None, loader)
        chosen = (_candidate_sheets(path.name, workbook, sheet, loader)[0] if sheet
                  else visible[0])
        rows = enumerate(loader.sheet(chosen).iter_rows(), start=1)
        return _outline(path.name, tuple(visible), chosen, rows, matcher, max_rows)


def _outline(file: str, sheets: tuple[str, ...], sheet: str | None,
             numbered: Iterator[tuple[int, Sequence[Cell]]], matcher: HeaderMatcher,
             max_rows: int) -> Outline:
    rows: list[tuple[int, tuple[str, ...]]] = []
    header_row = None
    for number, row in numbered:
        if is_blank_row(row):
            continue
        texts = tuple(cell_text(cell) for cell in row)
        if header_row is None and matcher.is_header(texts):
            header_row = number
        rows.append((number, texts))
        if len(rows) >= max_rows:
            break
    width = max((i + 1 for _, texts in rows for i, text in enumerate(texts) if text), default=0)
    squared = tuple((number, (*texts[:width], *("",) * (width - len(texts))))
                    for number, texts in rows)
    return Outline(file, sheets, sheet, squared, header_row)
