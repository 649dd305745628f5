"""Where an XLS (Excel 97-2003, BIFF8) sheet's value cells are, before calamine reads it, and
which of its rows and columns are hidden (calamine does not say).

calamine holds a sheet as one dense block from its first value to its last; in an XLS file
that block can reach 65,536 x 256 cells (about 1 GB) from a 6 KB file with one stray value at
IV65536. This reads the positions from the sheet's cell records (their row and column are the
records' first bytes) without decoding any value, so `far_cells.judge` can weigh them first.

The workbook stream's records are [type: 2 bytes][length: 2 bytes][data]; the globals list
each sheet (BOUNDSHEET8: its substream's offset and name); a sheet's substream runs from its
BOF to the matching EOF (charts inside it have BOF/EOF of their own).
"""

from __future__ import annotations

import struct
from array import array
from pathlib import Path

import olefile

from bulk_enroll.errors import InputFileError
from bulk_enroll.read.far_cells import Verdict, judge
from bulk_enroll.read.sheet_xml import NO_FACTS, SheetFacts, merged_ranges

BOF, EOF, BOUNDSHEET = 0x0809, 0x000A, 0x0085
ROW, COLINFO = 0x0208, 0x007D
ROW_HIDDEN = 0x20  # ROW's fDyZero: the row is hidden (by hand, by a filter, a collapsed group)
MULRK, MULBLANK = 0x00BD, 0x00BE
# Records holding one value at (row, column): NUMBER, RK, LABELSST, LABEL, FORMULA, BOOLERR,
# RSTRING. Blank cells (BLANK, MULBLANK) hold no value and cost calamine nothing.
ONE_VALUE = frozenset({0x0203, 0x027E, 0x00FD, 0x0204, 0x0006, 0x0205, 0x00D6})
_HEADER = struct.Struct("<HH")
_CELL = struct.Struct("<HH")


def xls_extents(path: Path) -> dict[str, Verdict]:
    """What reading each sheet's values would cost, by sheet name (calamine reads every sheet
    of an XLS file when it opens it, so all are weighed before)."""
    try:
        with olefile.OleFileIO(str(path)) as ole:
            stream = "Workbook" if ole.exists("Workbook") else "Book"
            data = ole.openstream(stream).read()
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{path.name}: not a readable workbook ({exc})") from None
    return {name: _extent(data, offset) for name, offset in _sheets(data)}


def xls_sheet_facts(path: Path, sheet: str) -> SheetFacts:
    """The sheet's hidden rows (1-based) and columns (0-based), from its ROW and COLINFO
    records: a sheet filtered to "Sales" in Excel or LibreOffice and saved as XLS hides the
    other rows there. (Formulas always have a saved value in XLS: nothing to add.)"""
    try:
        with olefile.OleFileIO(str(path)) as ole:
            data = ole.openstream("Workbook" if ole.exists("Workbook") else "Book").read()
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{path.name}: not a readable workbook ({exc})") from None
    offset = dict(_sheets(data)).get(sheet)
    if offset is None:
        return NO_FACTS
    rows: list[tuple[int, int]] = []
    columns: list[tuple[int, int]] = []
    for kind, body in _sheet_records(data, offset):
        if kind == ROW and len(body) >= 14:
            row = _CELL.unpack_from(body)[0]
            if struct.unpack_from("<H", body, 12)[0] & ROW_HIDDEN:
                rows.append((row + 1, row + 1))
        elif kind == COLINFO and len(body) >= 10:
            first, last = _CELL.unpack_from(body)
            if struct.unpack_from("<H", body, 8)[0] & 1:
                columns.append((first, last))
    if not rows and not columns:
        return NO_FACTS
    return SheetFacts(hidden_rows=merged_ranges(rows), hidden_columns=merged_ranges(columns))


def _extent(data: bytes, offset: int) -> Verdict:
    rows, columns = array("l"), array("l")
    for kind, body in _sheet_records(data, offset):
        if kind in ONE_VALUE and len(body) >= 4:
            row, column = _CELL.unpack_from(body)
            rows.append(row)
            columns.append(column)
        elif kind == MULRK and len(body) >= 6:  # row, first column, 6 bytes per value, last
            row, first = _CELL.unpack_from(body)
            last = struct.unpack_from("<H", body, len(body) - 2)[0]
            rows.extend((row, row))
            columns.extend((first, last))
    return judge(rows, columns)


def _records(data: bytes, offset: int = 0):  # type: ignore[no-untyped-def]
    """(type, body) of each record from `offset` on."""
    size = len(data)
    while offset + 4 <= size:
        kind, length = _HEADER.unpack_from(data, offset)
        body_at = offset + 4
        yield kind, data[body_at:body_at + length]
        offset = body_at + length


def _sheets(data: bytes) -> list[tuple[str, int]]:
    """Each sheet's name and the stream offset of its BOF, from the globals."""
    found = []
    for kind, body in _records(data):
        if kind == EOF:
            break  # the end of the globals
        if kind == BOUNDSHEET and len(body) >= 8:
            found.append((_sheet_name(body[6:]), int(struct.unpack_from("<I", body)[0])))
    return found


def _sheet_name(short_string: bytes) -> str:
    """A ShortXLUnicodeString: character count, a flag byte, then Latin-1 or UTF-16LE."""
    count, flags = short_string[0], short_string[1]
    text = short_string[2:]
    if flags & 1:
        return text[: 2 * count].decode("utf-16-le", "replace")
    return text[:count].decode("latin-1")


def _sheet_records(data: bytes, offset: int):  # type: ignore[no-untyped-def]
    """The records of the substream starting at `offset` (its BOF), nested ones skipped."""
    depth = 0
    for kind, body in _records(data, offset):
        if kind == BOF:
            depth += 1
        elif kind == EOF:
            depth -= 1
            if depth <= 0:
                return
        elif depth == 1:
            yield kind, body
