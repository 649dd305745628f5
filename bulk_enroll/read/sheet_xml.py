"""What calamine does not tell: hidden rows and columns, and formulas without a saved value.

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
"""

from __future__ import annotations

import bisect
import posixpath
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from lxml import etree

from bulk_enroll.errors import InputFileError

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


def sheet_facts(path: Path, sheet: str, kind: str) -> SheetFacts:
    """The facts of one sheet of an XLSX ("xlsx") or ODS ("ods") file; nothing for others (an
    XLS or CSV file cannot say, and reads as it always did)."""
    if kind not in ("xlsx", "ods"):
        return NO_FACTS
    try:
        with zipfile.ZipFile(path) as archive:
            return _xlsx_facts(archive, sheet) if kind == "xlsx" else _ods_facts(archive, sheet)
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


def _xlsx_facts(archive: zipfile.ZipFile, sheet: str) -> SheetFacts:
    part = _xlsx_sheet_part(archive, sheet)
    if part is None:
        return NO_FACTS
    prefix = _root_prefix(archive, part)
    has_formula = re.compile(
        rb"</" + prefix + rb"f>\s*(?:<" + prefix + rb"v\s*/>|<" + prefix + rb"v>\s*</"
        + prefix + rb"v>)?\s*</" + prefix + rb"c>"
        + rb"|<" + prefix + rb"f\b[^>]*/>\s*(?:<" + prefix + rb"v\s*/>|<" + prefix
        + rb"v>\s*</" + prefix + rb"v>)?\s*</" + prefix + rb"c>"
    )
    formula_start = b"<" + prefix + b"f"
    hidden = formulas = False
    for chunk in _chunks(archive, part):
        hidden = hidden or bool(_HIDDEN_XLSX.search(chunk))
        if not formulas and formula_start in chunk:
            formulas = bool(has_formula.search(chunk) or _ERROR_CELL.search(chunk))
        if hidden and formulas:
            break
    if not (hidden or formulas):
        return NO_FACTS
    with archive.open(part) as stream:
        return _parse_xlsx_sheet(stream)


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
    column = 0
    for char in reference:
        if not char.isalpha():
            break
        column = column * 26 + ord(char.upper()) - 64
    return column - 1


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
    tail = b""
    with archive.open(part) as stream:
        while chunk := stream.read(_CHUNK):
            yield tail + chunk
            tail = chunk[-_OVERLAP:]


# ---- ODS ---------------------------------------------------------------------------------------


def _ods_facts(archive: zipfile.ZipFile, sheet: str) -> SheetFacts:
    if not any(_ODS_MARKERS.search(chunk) for chunk in _chunks(archive, "content.xml")):
        return NO_FACTS
    with archive.open("content.xml") as stream:
        return _parse_ods_table(stream, sheet)


_T = f"{{{_ODS_TABLE}}}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_CALCEXT = "{urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0}"
_ODS_CELLS = (f"{_T}table-cell", f"{_T}covered-table-cell")


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
