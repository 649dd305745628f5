"""Cells far outside the data: the pure verdict (`far_cells.judge`), the C-speed scan of an XLSX
sheet part that feeds it, and the copy of a workbook without its stray cells."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
import python_calamine

from bulk_enroll.read.columns import column_letter
from bulk_enroll.read.far_cells import (
    FLOOR,
    MAX_LEFT_OUT,
    Cell,
    judge,
    left_out_note,
    refusal,
)
from bulk_enroll.read.reader import read_table
from bulk_enroll.read.sheet_xml import (
    _column_number,
    _greater_number,
    _letters_up_to,
    scan_sheet,
    without_cells,
)

DATA = [(row, column) for row in range(4) for column in range(3)]


def verdict_of(cells):  # type: ignore[no-untyped-def]
    return judge([r for r, _ in cells], [c for _, c in cells])


def test_a_compact_sheet_fits():
    verdict = verdict_of(DATA)
    assert verdict.fits and verdict.area == 12 and verdict.kept == (0, 0, 3, 2)


@pytest.mark.parametrize("far,area", [((1048575, 16383), 17_179_869_184),
                                      ((1048575, 25), 27_262_976), ((1999, 16383), 32_768_000)])
def test_one_stray_cell_is_set_aside_and_the_rest_fits(far, area):
    verdict = verdict_of([*DATA, far])
    assert verdict.area == area and not verdict.refused
    assert verdict.left_out == (Cell(*far),) and verdict.kept == (0, 0, 3, 2)


def test_a_block_within_the_floor_is_left_alone_however_empty():
    verdict = verdict_of([*DATA, (0, 16383), (100, 0)])  # 101 x 16384 cells: within 2 million
    assert verdict.fits and verdict.area == 101 * 16384 <= FLOOR


def test_scattered_values_are_refused():
    scattered = [(n * 40_000, (n * 7919) % 16384) for n in range(MAX_LEFT_OUT + 5)]
    verdict = verdict_of([*DATA, *scattered])
    assert verdict.refused and not verdict.left_out
    assert refusal("f.xlsx", "Sheet1", verdict).startswith(
        "f.xlsx: sheet 'Sheet1' scatters 37 values over ")


def test_the_note_and_the_refusal_name_the_cells():
    verdict = verdict_of([*DATA, (1048575, 16383)])
    verdict = verdict.__class__(**{**verdict.__dict__,
                                   "left_out": (Cell(1048575, 16383, "stray"),)})
    assert left_out_note("Sheet1", verdict) == (
        "sheet 'Sheet1': cell XFD1048576 ('stray') is far outside the data (A1:C4) and not read "
        "(with it, the sheet would span 17,179,869,184 cells, about 512 GB of memory); if it is "
        "left over, delete it in the file")
    assert refusal("f.ods", "Sheet1", verdict) == (
        "f.ods: sheet 'Sheet1' has a value far outside the data: XFD1048576 ('stray'), beyond "
        "the data (A1:C4); reading it would take about 512 GB of memory for 17,179,869,184 "
        "cells (A1:XFD1048576): refused; delete that cell (Ctrl+End jumps to the last used "
        "cell in Excel and LibreOffice), save and run again")


@pytest.mark.parametrize("number", [0, 1, 9, 10, 99, 100, 4711, 99999, 100001, 1048575])
def test_greater_number_patterns_match_exactly_the_greater_numbers(number):
    pattern = re.compile(b"(?:" + _greater_number(number) + b")$")
    for candidate in {*range(max(0, number - 120), number + 120), 10 * number + 1, 2_000_000}:
        assert bool(pattern.match(str(candidate).encode())) == (candidate > number), candidate


@pytest.mark.parametrize("letters", ["A", "I", "Z", "AA", "AZ", "BA", "ZZ", "AAA", "XFD"])
def test_letters_up_to_patterns_match_exactly_the_columns_up_to(letters):
    pattern = re.compile(b"(?:" + _letters_up_to(letters.encode()) + b")$")
    last = _column_number(letters.encode())
    for column in range(16384):
        assert bool(pattern.match(column_letter(column).encode())) == (column <= last), column


def export(path: Path, *strays: str) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["learner_id", "course_id", "due_date_type"])
    for n in range(3):
        sheet.append([f"l{n}", "c1", "unlimited"])
    for cell in strays:
        sheet[cell] = f"stray {cell}"
    book.save(path)
    return path


def edited(path: Path, change) -> Path:  # type: ignore[no-untyped-def]
    target = path.with_name("edited-" + path.name)
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            new.writestr(item, change(data) if item.filename.endswith("sheet1.xml") else data)
    return target


def test_the_scan_finds_stray_cells_and_their_values(tmp_path):
    scan = scan_sheet(export(tmp_path / "a.xlsx", "XFD1048576", "B2000"), "Sheet", "xlsx")
    assert scan.extent.left_out == (Cell(1048575, 16383, "stray XFD1048576"),)
    assert scan.extent.kept == (0, 0, 1999, 2)  # B2000 is near enough: 2,000 x 3 cells
    assert scan.part == "xl/worksheets/sheet1.xml" and not scan.facts_needed


def test_the_scan_does_not_trust_references_it_has_not_seen(tmp_path):
    plain = export(tmp_path / "plain.xlsx")
    lying = edited(plain, lambda xml: xml.replace(  # a cell naming a row far below its own
        b'<row r="3">', b'<row r="3"><c r="C999999" t="inlineStr"><is><t>x</t></is></c>', 1))
    assert scan_sheet(lying, "Sheet", "xlsx").extent.left_out == (Cell(999998, 2, "x"),)
    unreferenced = edited(plain, lambda xml: xml.replace(  # no r: the next place in its row
        b"</sheetData>", b'<row r="3000"><c><v>1</v></c><c><v>2</v></c></row></sheetData>'))
    extent = scan_sheet(unreferenced, "Sheet", "xlsx").extent
    assert extent.fits and extent.block == (0, 0, 2999, 2)
    absurd_claim = edited(plain, lambda xml: re.sub(rb'<dimension ref="[^"]*"',
                                                    b'<dimension ref="A1:XFD1048576"', xml))
    assert scan_sheet(absurd_claim, "Sheet", "xlsx").extent.fits


def test_a_copy_without_the_stray_cells_reads_as_the_data(tmp_path):
    path = export(tmp_path / "a.xlsx", "XFD1048576")
    scan = scan_sheet(path, "Sheet", "xlsx")
    without_cells(path, scan.part or "", scan.extent.left_out, tmp_path / "copy.xlsx")
    copy = python_calamine.CalamineWorkbook.from_path(str(tmp_path / "copy.xlsx"))
    assert copy.get_sheet_by_name("Sheet").end == (3, 2)
    table = read_table(path)
    assert [cells for _, cells in table.rows] == [(f"l{n}", "c1", "unlimited") for n in range(3)]
    assert table.notes[0].startswith("sheet 'Sheet': cell XFD1048576 ('stray XFD1048576') is far "
                                     "outside the data (A1:C4) and not read")
