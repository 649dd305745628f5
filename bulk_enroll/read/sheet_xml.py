"""What calamine does not tell: hidden rows and columns, formulas without a saved value, and
what reading a sheet's values would cost.

python-calamine gives a sheet's values only. Whether a row is hidden (by hand, or by a filter:
HR filters a sheet to "Sales" and expects Sales) and whether an empty cell is really a formula
that was never calculated (a workbook written by a program and never opened in Excel) are read
here from the sheet's own XML:

- XLSX: `<row hidden="1">` and `<col hidden="1">` in the sheet part; `<c><f>...</f></c>` with
  no (or an empty) `<v>`, and formula cells whose saved value is an error (`t="e"`, `#N/A`).
- ODS: `table:visibility="collapse"|"filter"` on `table:table-row` / `table:table-column` in
  content.xml, counting `number-rows-repeated` / `number-columns-repeated`.

Cost stays proportional to the file and near zero for the usual one: the part is first scanned
as bytes for the few markers that matter (C-speed searches over the inflated stream); only a
sheet that has one is parsed, with lxml's streaming `iterparse` (elements cleared as it goes,
no DTD, no entities, no network). The archive itself was checked by `safety.check_zip` first
(sizes, zip-bomb ratio, DOCTYPE/ENTITY declarations).

The same pass (`scan_sheet`, run before calamine loads the sheet) says what the values would
cost: calamine holds a sheet as one dense block, so one stray value at XFD1048576 asks for 17
billion cells. XLSX: how far the cells reach is kept current with C-speed work (`_Reach`: the
last row tag of each chunk, and one look-ahead search per chunk for a cell reference beyond
what is known); only when the reach is absurd or uncertain are the cells' positions read one
by one (`far_cells.judge` then picks the stray ones). ODS: a value after a large repeat of
empty rows or cells, or a repeated value, sends every table to the same exact reading
(`ods_workbook_scan`, before calamine opens the file: it reads all tables at once).
`without_cells` writes an XLSX copy without stray cells.
"""

from __future__ import annotations

import bisect
import dataclasses
import posixpath
import re
import shutil
import zipfile
from array import array
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from lxml import etree

from bulk_enroll.errors import InputFileError, InputRefused
from bulk_enroll.read.columns import column_letter
from bulk_enroll.read.far_cells import FLOOR, Cell, Verdict, allowed_area, area_of, judge, memory

_CHUNK = 4 << 20
_OVERLAP = 512  # bytes kept between chunks so a marker split by a chunk edge is still found
_FORMULA_SHOWN = 80  # characters of a formula quoted in a message
_REL = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)
_ODS_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_HIDDEN_XLSX = re.compile(rb"""hidden=["'](?:1|true)["']""")
_ODS_MARKERS = re.compile(
    rb"""visibility=["'](?:collapse|filter)["']|value-type=["']error["']|<table:table-cell """
    rb"""table:formula="[^"]*"(?: table:[\w-]+="[^"]*")*/?>"""
)
_ERROR_CELL = re.compile(rb"""\bt=["']e["']""")
_END = 1 << 62


@dataclass(frozen=True)
class SheetFacts:
    """Hidden rows (sheet row numbers, 1-based) and hidden columns (0-based), each as sorted
    inclusive ranges (an ODS file hides a million rows in one element); cells that hold a
    formula but no value: (row, 0-based column) -> why the cell is empty."""

    hidden_rows: tuple[tuple[int, int], ...] = ()
    hidden_columns: tuple[tuple[int, int], ...] = ()
    unreadable: dict[tuple[int, int], str] = field(default_factory=dict)

    def column_hidden(self, column: int) -> bool:
        return _within(self.hidden_columns, column)

    def hidden_among(self, rows: Iterable[int]) -> frozenset[int]:
        """Which of these row numbers are hidden."""
        if not self.hidden_rows:
            return frozenset()
        return frozenset(n for n in rows if _within(self.hidden_rows, n))


def _within(ranges: tuple[tuple[int, int], ...], number: int) -> bool:
    at = bisect.bisect_right(ranges, (number, _END)) - 1
    return at >= 0 and ranges[at][0] <= number <= ranges[at][1]


NO_FACTS = SheetFacts()


@dataclass(frozen=True)
class SheetScan:
    """One quick pass over a sheet's XML, before calamine reads it: what its values would cost
    (`extent`), and whether the XML must be parsed for its facts (hidden rows, formulas)."""

    extent: Verdict
    facts_needed: bool = False
    part: str | None = None  # the XLSX member holding the sheet


UNSCANNED = SheetScan(Verdict(0, 0))


def scan_sheet(path: Path, sheet: str, kind: str) -> SheetScan:
    """The scan of one sheet of an XLSX ("xlsx") or ODS ("ods") file; nothing for others."""
    if kind not in ("xlsx", "ods"):
        return UNSCANNED
    if kind == "ods":
        return _ods_scan(path, sheet)
    with _readable(path, sheet), zipfile.ZipFile(path) as archive:
        return _xlsx_scan(archive, sheet)


def sheet_facts(path: Path, sheet: str, kind: str, scan: SheetScan | None = None) -> SheetFacts:
    """The facts of one sheet of an XLSX ("xlsx") or ODS ("ods") file; nothing for others (an
    XLS or CSV file cannot say, and reads as it always did). `scan`: the sheet's scan, when it
    was made already."""
    if kind not in ("xlsx", "ods"):
        return NO_FACTS
    scan = scan or scan_sheet(path, sheet, kind)
    if not scan.facts_needed:
        return NO_FACTS
    with _readable(path, sheet), zipfile.ZipFile(path) as archive:
        if kind == "xlsx":
            with archive.open(scan.part or "") as stream:
                return _parse_xlsx_sheet(stream)
        with archive.open("content.xml") as stream:
            return _parse_ods_table(stream, sheet)


@contextmanager
def _readable(path: Path, sheet: str) -> Iterator[None]:
    """What a damaged part raises, as the error a user reads."""
    try:
        yield
    except (etree.LxmlError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InputFileError(
            f"{path.name}: the sheet {sheet!r} cannot be read ({str(exc)[:200]}); "
            "save or download the file again"
        ) from None


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _iterparse(stream: IO[bytes], **kwargs: object) -> Iterator[tuple[str, etree._Element]]:
    return etree.iterparse(  # type: ignore[no-any-return, call-overload]
        stream, resolve_entities=False, no_network=True, load_dtd=False, **kwargs
    )


# ---- XLSX --------------------------------------------------------------------------------------


def _xlsx_scan(archive: zipfile.ZipFile, sheet: str) -> SheetScan:
    part = _xlsx_sheet_part(archive, sheet)
    if part is None:
        return UNSCANNED
    prefix = _root_prefix(archive, part)
    has_formula = re.compile(
        rb"</" + prefix + rb"f>\s*(?:<" + prefix + rb"v\s*/>|<" + prefix + rb"v>\s*</"
        + prefix + rb"v>)?\s*</" + prefix + rb"c>"
        + rb"|<" + prefix + rb"f\b[^>]*/>\s*(?:<" + prefix + rb"v\s*/>|<" + prefix
        + rb"v>\s*</" + prefix + rb"v>)?\s*</" + prefix + rb"c>"
    )
    formula_start = b"<" + prefix + b"f"
    hidden = formulas = False
    reach = _Reach(prefix)
    for chunk, fresh in _chunks_with_news(archive, part):
        hidden = hidden or bool(_HIDDEN_XLSX.search(chunk))
        if not formulas and formula_start in chunk:
            formulas = bool(has_formula.search(chunk) or _ERROR_CELL.search(chunk))
        reach.update(chunk, fresh)
    if reach.certain and (reach.fits_loosely() or reach.fits_exactly(archive, part)):
        block = (0, 0, reach.row, reach.column)
        return SheetScan(Verdict(area_of(*block), reach.cells, block=block, kept=block),
                         hidden or formulas, part)
    # Too far, or not certain (cells or rows without references): read each position.
    rows, columns = array("l"), array("l")
    with archive.open(part) as stream:
        for row, column, _ in _xlsx_value_cells(stream):
            rows.append(row)
            columns.append(column)
    extent = judge(rows, columns)
    if extent.left_out:  # name them: read their values (a second pass, for a few cells)
        wanted = {(c.row, c.column) for c in extent.left_out}
        with archive.open(part) as stream:
            found = {(row, column): text for row, column, text in _xlsx_value_cells(stream)
                     if (row, column) in wanted}
        extent = dataclasses.replace(extent, left_out=tuple(
            dataclasses.replace(c, value=found.get((c.row, c.column), ""))
            for c in extent.left_out))
        extent = _with_shared_strings(archive, extent)
    return SheetScan(extent, hidden or formulas, part)


_REFERENCE_ROOM = 32  # bytes: more than `<x:c r="XFD1048576"` takes


class _Reach:
    """How far a sheet part's cells reach (0-based row and column) and how many it writes,
    kept current chunk by chunk with C-speed work and no per-cell Python. Rows come in order,
    so a chunk's last row tag is its lowest row; the first row (a header, usually) gives the
    width; one search per chunk finds a cell out of the ordinary (a later column, more row
    digits than the rows so far: a cell may name a row of its own, and calamine believes it;
    or no reference), and only then are the chunk's references read. A cell could still name
    a later row with as many digits: `fits_loosely` allows for the largest, and `fits_exactly`
    looks for them in a second pass when that matters. `certain` is False when a cell does not
    start with its reference (its place follows the previous one's, which only a full reading
    knows; `<c>` with no attribute at all can only add one place, which the allowance for gaps
    covers)."""

    def __init__(self, prefix: bytes) -> None:
        self.row = self.column = -1
        self.cells = 0
        self.certain = True
        self._tag = b"<" + prefix
        self._row_number = re.compile(self._tag + rb"row r=[\"'](\d+)[\"']")
        self._reference = re.compile(self._tag + rb"c r=[\"']([A-Z]{1,3})([0-9]+)[\"']")
        self._unusual = self._unusual_pattern()

    def update(self, chunk: bytes, fresh: bytes) -> None:
        tag = self._tag
        self.cells += fresh.count(tag + b"c r=")  # cells written (empty styled ones too)
        if self.column < 0:  # the first row says how wide the sheet is
            first = chunk[:chunk.find(tag + b"/row>") + 1 or len(chunk)]
            self._reach_cells(self._reference.findall(first))
        end = len(chunk)
        while (at := chunk.rfind(tag + b"row r=", 0, end)) >= 0:
            if number := self._row_number.match(chunk, at):  # not cut off by the chunk's end
                self._reach(int(number.group(1)) - 1, self.column)
                break
            end = at
        # (A reference cut off by the chunk's end is seen whole at the next chunk's start.)
        unusual = self._unusual.search(chunk)
        if unusual and unusual.start() < len(chunk) - _REFERENCE_ROOM:
            beyond = [found for found in self._reference.findall(chunk)
                      if _column_number(found[0]) > self.column or int(found[1]) > self.row + 1]
            if beyond:
                self._reach_cells(beyond)
            else:  # a cell without a reference (or one this scan cannot read)
                self.certain = False

    def fits_loosely(self) -> bool:
        """Whether the sheet fits even if a cell named the last row number its digits allow."""
        lowest = 10 ** len(str(self.row + 1)) - 2
        return area_of(0, 0, lowest, self.column) <= allowed_area(self.cells)

    def fits_exactly(self, archive: zipfile.ZipFile, part: str) -> bool:
        """Whether no cell names a row below the last row tag, and the sheet then fits."""
        if area_of(0, 0, self.row, self.column) > allowed_area(self.cells):
            return False
        later = re.compile(self._tag + rb"c r=[\"'][A-Z]{1,3}(?:"
                           + _greater_number(self.row + 1) + rb")[\"']")
        return not any(later.search(chunk) for chunk in _chunks(archive, part))

    def _reach_cells(self, references: list[tuple[bytes, bytes]]) -> None:
        if references:
            self._reach(max(int(digits) for _, digits in references) - 1,
                        max(_column_number(letters) for letters, _ in references))

    def _reach(self, row: int, column: int) -> None:
        if row > self.row or column > self.column:
            self.row, self.column = max(row, self.row), max(column, self.column)
            self._unusual = self._unusual_pattern()

    def _unusual_pattern(self) -> re.Pattern[bytes]:
        """A cell that does not start with a reference made of a column up to the width and
        as many row digits as the rows so far, or fewer (a later column, a lower row, or no
        reference): one negative look-ahead after a literal, so the engine skims from cell to
        cell."""
        letters = (_letters_up_to(column_letter(self.column).encode()) if self.column >= 0
                   else b"(?!)")
        digits = len(str(self.row + 1))
        return re.compile(self._tag + rb"c (?!r=[\"'](?:" + letters + rb")[0-9]{1,%d}[\"'])"
                          % digits)


def _letters_up_to(letters: bytes) -> bytes:
    """A regex for column letters up to `letters`: shorter names, or as long and not later."""
    options = [b"[A-Z]{1,%d}" % (len(letters) - 1)] if len(letters) > 1 else []
    for at, letter in enumerate(letters):
        if letter != ord("A"):
            options.append(letters[:at] + b"[A-" + bytes([letter - 1]) + b"]"
                           + b"[A-Z]{%d}" % (len(letters) - at - 1))
    options.append(letters)
    return b"|".join(options)


def _column_number(letters: bytes) -> int:
    """The 0-based column of "A", "AB", "XFD"."""
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number - 1


def _greater_number(number: int) -> bytes:
    """A regex for decimal numbers (without leading zeros) greater than `number`."""
    digits = str(number)
    options = [b"[1-9][0-9]{%d,}" % len(digits)]
    for at, digit in enumerate(digits):
        if digit != "9":
            options.append(digits[:at].encode() + b"[%d-9]" % (int(digit) + 1)
                           + b"[0-9]{%d}" % (len(digits) - at - 1))
    return b"|".join(options)


def _xlsx_value_cells(stream: IO[bytes]) -> Iterator[tuple[int, int, str]]:
    """Every cell with content (a value, an inline string, a formula) where calamine places
    it (at its reference, or after the previous cell and row when it has none): row, column
    (0-based) and its text as written."""
    row = -1
    for _, element in _iterparse(stream, events=("end",), tag="{*}row"):
        reference = element.get("r")
        row = int(reference) - 1 if reference and reference.isdigit() else row + 1
        column = -1
        for cell in element.iterchildren("{*}c"):
            where = cell.get("r") or ""
            letters = where.rstrip("0123456789")
            column = _column_number(letters.encode()) if letters else column + 1
            row_here = int(where[len(letters):]) - 1 if where[len(letters):] else row
            if len(cell):  # a <v>, an <is> or an <f>: calamine may hold a value there
                yield row_here, column, _cell_text(cell)
        element.clear(keep_tail=True)
        while element.getprevious() is not None:
            del element.getparent()[0]  # type: ignore[union-attr]


def _cell_text(cell: etree._Element) -> str:
    """A cell's value as written ("#12" stands for the 13th shared string, looked up only for
    the cells set aside)."""
    if cell.get("t") == "s":
        value = cell.find("{*}v")
        index = (value.text or "").strip() if value is not None else ""
        return f"#{index}" if index.isdigit() else ""
    return "".join(cell.itertext()).strip()[:_FORMULA_SHOWN]


def _with_shared_strings(archive: zipfile.ZipFile, extent: Verdict) -> Verdict:
    """The set-aside cells with their shared strings, read up to the last one needed."""
    wanted = {int(c.value[1:]) for c in extent.left_out if c.value[:1] == "#"}
    if not wanted:
        return extent
    found: dict[int, str] = {}
    try:
        with archive.open("xl/sharedStrings.xml") as stream:
            for index, (_, item) in enumerate(_iterparse(stream, events=("end",),
                                                         tag="{*}si")):
                if index in wanted:
                    found[index] = "".join(item.itertext()).strip()[:_FORMULA_SHOWN]
                item.clear(keep_tail=True)
                if index >= max(wanted):
                    break
    except KeyError:
        pass
    cells = tuple(dataclasses.replace(c, value=found.get(int(c.value[1:]), ""))
                  if c.value[:1] == "#" else c for c in extent.left_out)
    return dataclasses.replace(extent, left_out=cells)


def without_cells(path: Path, part: str, cells: Iterable[Cell], target: Path) -> None:
    """Copy the workbook `path` to `target` without these cells of the sheet `part`: their
    `<c>` elements are dropped (by reference); everything else is copied as it is."""
    references = b"|".join(f"{column_letter(c.column)}{c.row + 1}".encode() for c in cells)
    drop = re.compile(rb"<(?:\w+:)?c\b[^>]*?\br=[\"'](?:" + references
                      + rb")[\"'][^>]*?(?:/>|>.*?</(?:\w+:)?c>)", re.DOTALL)
    row_end = re.compile(rb"</(?:\w+:)?row>")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(target, "w") as copy:
        for item in source.infolist():
            with source.open(item) as reading, copy.open(item, "w") as writing:
                if item.filename != part:
                    shutil.copyfileobj(reading, writing, _CHUNK)
                    continue
                pending = b""
                while chunk := reading.read(_CHUNK):
                    pending += chunk
                    cut = max((m.end() for m in row_end.finditer(pending)), default=0)
                    writing.write(drop.sub(b"", pending[:cut]))
                    pending = pending[cut:]
                writing.write(drop.sub(b"", pending))


def _parse_xlsx_sheet(stream: IO[bytes]) -> SheetFacts:
    hidden_rows: set[int] = set()
    hidden_columns: list[tuple[int, int]] = []
    unreadable: dict[tuple[int, int], str] = {}
    shared: dict[str, str] = {}  # a shared formula's master text, by its si
    number = 0
    for _, element in _iterparse(stream, events=("end",), tag=("{*}row", "{*}col")):
        if element.tag.endswith("col"):
            if _true(element.get("hidden")):
                low, high = int(element.get("min", "1")), int(element.get("max", "1"))
                hidden_columns.append((low - 1, high - 1))
            continue
        number = int(element.get("r") or number + 1)
        if _true(element.get("hidden")):
            hidden_rows.add(number)
        for formula in element.iter("{*}f"):  # a C-level walk: cells without formulas cost nothing
            cell = formula.getparent()
            why = _unreadable_cell(cell, formula, shared) if cell is not None else None
            if why is not None:
                column = _column_of(cell.get("r"), element.index(cell))  # type: ignore[union-attr]
                unreadable[(number, column)] = why
        element.clear(keep_tail=True)
        while element.getprevious() is not None:
            del element.getparent()[0]  # type: ignore[union-attr]
    return SheetFacts(_merged((n, n) for n in hidden_rows), _merged(hidden_columns), unreadable)


def _unreadable_cell(
    cell: etree._Element, formula: etree._Element, shared: dict[str, str]
) -> str | None:
    """Why a formula cell gives no value (None when it has one)."""
    value = cell.find("{*}v")
    kind = cell.get("t")
    text = (formula.text or "").strip()
    if formula.get("t") == "shared" and formula.get("si") is not None:
        if text:
            shared[formula.get("si", "")] = text
        else:
            text = shared.get(formula.get("si", ""), "")
    saved = (value.text or "").strip() if value is not None else ""
    if kind == "e" and saved:
        return (
            f"the cell shows the error {saved} from its formula ({_shown(text)}); fix the "
            "formula or type the value, then save the file"
        )
    if saved or kind in ("str", "inlineStr"):  # "str" with no text: a formula that gave ""
        return None
    return (
        f"the cell holds a formula with no saved value ({_shown(text)}); open and save the "
        "file in Excel or LibreOffice"
    )


def _shown(formula: str | None) -> str:
    text = "=" + (formula or "...")
    return text if len(text) <= _FORMULA_SHOWN else text[: _FORMULA_SHOWN - 3] + "..."


def _column_of(reference: str | None, position: int) -> int:
    """0-based column of a cell reference like "AB12" (its position in the row if absent)."""
    if not reference:
        return position
    return _column_number(reference.rstrip("0123456789").upper().encode())


def _true(value: str | None) -> bool:
    return value in ("1", "true")


def _xlsx_sheet_part(archive: zipfile.ZipFile, sheet: str) -> str | None:
    """The zip member holding the sheet named `sheet`, found through the workbook's rels."""
    workbook = _office_document(archive)
    root = etree.fromstring(archive.read(workbook), _safe_parser())
    rel_id = None
    for element in root.iter("{*}sheet"):
        if element.get("name") == sheet:
            rel_id = next((element.get(f"{{{ns}}}id") for ns in _REL
                           if element.get(f"{{{ns}}}id")), None)
            break
    if rel_id is None:
        return None
    folder, name = posixpath.split(workbook)
    rels = etree.fromstring(
        archive.read(posixpath.join(folder, "_rels", f"{name}.rels")), _safe_parser()
    )
    for rel in rels.iter("{*}Relationship"):
        if rel.get("Id") == rel_id:
            target = rel.get("Target", "")
            if target.startswith("/"):
                return target.lstrip("/")
            return posixpath.normpath(posixpath.join(folder, target))
    return None


def _office_document(archive: zipfile.ZipFile) -> str:
    """The workbook part (xl/workbook.xml in every file seen, but the package says where)."""
    try:
        rels = etree.fromstring(archive.read("_rels/.rels"), _safe_parser())
    except KeyError:
        return "xl/workbook.xml"
    for rel in rels.iter("{*}Relationship"):
        if rel.get("Type", "").endswith("/officeDocument"):
            return rel.get("Target", "xl/workbook.xml").lstrip("/")
    return "xl/workbook.xml"


def _root_prefix(archive: zipfile.ZipFile, part: str) -> bytes:
    """The namespace prefix the sheet's elements use ("x:" in some generated files, else "")."""
    with archive.open(part) as stream:
        head = stream.read(4096)
    match = re.search(rb"<(\w+:)?worksheet\b", head)
    return match.group(1) or b"" if match else b""


def _chunks(archive: zipfile.ZipFile, part: str) -> Iterator[bytes]:
    """The inflated member in large chunks, each starting with the previous one's last bytes."""
    for chunk, _ in _chunks_with_news(archive, part):
        yield chunk


def _chunks_with_news(archive: zipfile.ZipFile, part: str) -> Iterator[tuple[bytes, bytes]]:
    """`_chunks`, each with its new bytes alone (for counts that must not count twice). The
    next chunk is inflated by a helper thread while this one is searched (zlib releases the
    GIL), so the searches cost little more than the inflating."""
    tail = b""
    with archive.open(part) as stream, ThreadPoolExecutor(max_workers=1) as reader:
        ahead = reader.submit(stream.read, _CHUNK)
        while chunk := ahead.result():
            ahead = reader.submit(stream.read, _CHUNK)
            yield tail + chunk, chunk
            tail = chunk[-_OVERLAP:]


# ---- ODS ---------------------------------------------------------------------------------------


# LibreOffice ends every row and table with large repeats of empty cells and rows; a value
# *after* one (a stray cell far off), or a value repeated many times, is what costs memory.
_ODS_GAP_THEN_CELL = re.compile(
    rb"""number-columns-repeated=["']\d{3,}["'][^>]*/>\s*<table:(?:covered-)?table-cell\b"""
)
_ODS_REPEATED_VALUE = re.compile(
    rb"""<table:table-cell\b(?=[^>]*number-columns-repeated=["']\d{3,}["'])"""
    rb"""(?=[^>]*value-type=)"""
)
_ODS_TALL_ROW = re.compile(rb"""number-rows-repeated=["']\d{4,}["']""")
_ODS_VALUE = re.compile(rb"""office:value-type=|</table:table>""")


def ods_workbook_scan(path: Path) -> tuple[bool, dict[str, Verdict]]:
    """Every table of an ODS file, in one pass over content.xml before calamine opens it (it
    reads all tables at once): whether the XML must be parsed for facts (hidden rows,
    formulas), and what each table's values would cost (none listed: all cheap)."""
    with _readable(path, "content.xml"), zipfile.ZipFile(path) as archive:
        facts_needed = suspect = watching = False  # watching: after a tall row, same table
        for chunk, fresh in _chunks_with_news(archive, "content.xml"):
            facts_needed = facts_needed or bool(_ODS_MARKERS.search(chunk))
            suspect = suspect or bool(_ODS_GAP_THEN_CELL.search(chunk)
                                      or _ODS_REPEATED_VALUE.search(chunk))
            new_from = len(chunk) - len(fresh)
            tall = [m.start() for m in _ODS_TALL_ROW.finditer(chunk) if m.end() > new_from]
            for marker in _ODS_VALUE.finditer(chunk):
                if marker.end() <= new_from:
                    continue
                watching = watching or any(at < marker.start() for at in tall)
                if marker.group().startswith(b"</"):
                    watching = False
                    tall = [at for at in tall if at > marker.start()]
                elif watching:
                    suspect = True
            watching = watching or bool(tall)
        if not suspect:
            return facts_needed, {}
        with archive.open("content.xml") as stream:
            tables = _ods_value_cells(stream)
    for name, (_, _, _, (count, row, column)) in tables.items():
        if count > FLOOR:  # one cell element standing for millions of values
            raise InputRefused(
                f"{path.name}: sheet {name!r} repeats one value over {count:,} cells (from "
                f"{column_letter(column)}{row + 1}); reading it would take {memory(count)} of "
                "memory: refused; delete the repeated cells, save and run again")
    return facts_needed, {name: judge(rows, columns, values)
                          for name, (rows, columns, values, _) in tables.items()}


def _ods_scan(path: Path, sheet: str) -> SheetScan:
    facts_needed, verdicts = ods_workbook_scan(path)
    return SheetScan(verdicts.get(sheet, Verdict(0, 0)), facts_needed)


_T = f"{{{_ODS_TABLE}}}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_CALCEXT = "{urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0}"
_ODS_CELLS = (f"{_T}table-cell", f"{_T}covered-table-cell")


_Repeat = tuple[int, int, int]  # the most values one cell element writes, and where it starts


def _ods_value_cells(
    stream: IO[bytes],
) -> dict[str, tuple[array[int], array[int], int, _Repeat]]:
    """Per table: where its value cells lie, repeats counted (the first and last position of
    each, 0-based rows and columns), how many value cell elements it has, and its largest
    repeated value."""
    table, row = f"{_T}table", f"{_T}table-row"
    found: dict[str, tuple[array[int], array[int], int, _Repeat]] = {}
    rows, columns = array("l"), array("l")
    values = next_row = 0
    largest: _Repeat = (0, 0, 0)
    for event, element in _iterparse(stream, events=("start", "end"), tag=(table, row)):
        if element.tag == table:
            if event == "start":
                rows, columns, values, next_row = array("l"), array("l"), 0, 0
                largest = (0, 0, 0)
            else:
                found[element.get(f"{_T}name", "")] = (rows, columns, values, largest)
                element.clear(keep_tail=True)
            continue
        if event == "start":
            continue
        tall = int(element.get(f"{_T}number-rows-repeated", "1"))
        column = 0
        for cell in element:
            if cell.tag not in _ODS_CELLS:
                continue
            wide = int(cell.get(f"{_T}number-columns-repeated", "1"))
            if cell.get(f"{_OFFICE}value-type") is not None or len(cell):
                rows.append(next_row)
                columns.append(column)
                if tall > 1 or wide > 1:
                    rows.append(next_row + tall - 1)
                    columns.append(column + wide - 1)
                    largest = max(largest, (tall * wide, next_row, column))
                values += 1
            column += wide
        next_row += tall
        element.clear(keep_tail=True)
        while element.getprevious() is not None:
            del element.getparent()[0]  # type: ignore[union-attr]
    return found


def _parse_ods_table(stream: IO[bytes], sheet: str) -> SheetFacts:
    table, row, column = f"{_T}table", f"{_T}table-row", f"{_T}table-column"
    hidden_rows: list[tuple[int, int]] = []
    hidden_columns: list[tuple[int, int]] = []
    unreadable: dict[tuple[int, int], str] = {}
    inside = False
    next_row = next_column = 0  # 0-based positions of the next row and column
    for event, element in _iterparse(stream, events=("start", "end"),
                                     tag=(table, row, column)):
        if element.tag == table:
            if event == "start":
                inside = element.get(f"{_T}name") == sheet
            elif inside:
                break  # the sheet is read; the rest of the file does not matter
            else:
                element.clear(keep_tail=True)
            continue
        if not inside:
            if event == "end" and element.tag == row:
                element.clear(keep_tail=True)
            continue
        if event == "start":
            hidden = element.get(f"{_T}visibility") in ("collapse", "filter")
            if element.tag == row:
                count = int(element.get(f"{_T}number-rows-repeated", "1"))
                if hidden:
                    hidden_rows.append((next_row + 1, next_row + count))
                next_row += count
            else:
                count = int(element.get(f"{_T}number-columns-repeated", "1"))
                if hidden:
                    hidden_columns.append((next_column, next_column + count - 1))
                next_column += count
        elif element.tag == row:
            _ods_unreadable_cells(element, next_row, unreadable)
            element.clear(keep_tail=True)
            while element.getprevious() is not None:
                del element.getparent()[0]  # type: ignore[union-attr]
    return SheetFacts(_merged(hidden_rows), _merged(hidden_columns), unreadable)


def _ods_unreadable_cells(
    row: etree._Element, number: int, unreadable: dict[tuple[int, int], str]
) -> None:
    """Formula cells of one row (its last repetition, `number`) that give no value."""
    column = 0
    for cell in row:
        if cell.tag not in _ODS_CELLS:
            continue
        formula = cell.get(f"{_T}formula")
        if formula is not None:
            text = formula.split(":", 1)[1] if formula.startswith("of:") else formula
            text = text[1:] if text.startswith("=") else text
            if cell.get(f"{_CALCEXT}value-type") == "error":
                error = "".join(cell.itertext()).strip() or "an error"
                unreadable[(number, column)] = (
                    f"the cell shows the error {error} from its formula ({_shown(text)}); "
                    "fix the formula or type the value, then save the file"
                )
            elif cell.get(f"{_OFFICE}value-type") is None:
                unreadable[(number, column)] = (
                    f"the cell holds a formula with no saved value ({_shown(text)}); open "
                    "and save the file in Excel or LibreOffice"
                )
        column += int(cell.get(f"{_T}number-columns-repeated", "1"))


def _merged(ranges: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Ranges sorted, overlapping or touching ones joined (so a bisect finds the right one)."""
    runs: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if runs and low <= runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], max(high, runs[-1][1]))
        else:
            runs.append((low, high))
    return tuple(runs)
