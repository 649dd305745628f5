"""What calamine does not say, read from the sheet's XML: hidden rows (by hand, by a filter),
hidden columns, and formula cells without a saved value or with an error.

Workbooks are real files: openpyxl writes the autofilter, hidden rows and columns and formulas
(without cached values, as any program that never ran Excel does); where a writer's exact XML
matters (shared formulas, cached values, error values, LibreOffice's `hidden="false"` on every
row), one cell or attribute of a real file is rewritten.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from bulk_enroll.model import DueDateType, DueSettings
from bulk_enroll.read.reader import read_table
from bulk_enroll.read.sheet_xml import NO_FACTS, sheet_facts
from bulk_enroll.read.table import KIND_FORMULA
from bulk_enroll.validate.rows import HIDDEN_ROW, ValidatedInput, validate_table
from tests.inputs import by_email, by_id, rewrite_zip, titled, write_filtered_workbook
from tests.support import make_id

UNLIMITED = DueSettings(DueDateType.UNLIMITED)
HEADER = ["Name", "Email", "Course", "Department", "Due date type"]
PEOPLE = [
    ["Ann", "ann@example.com", "Ethics", "Sales", "unlimited"],
    ["Bob", "bob@", "Ethics", "HR", "unlimited"],  # invalid, but hidden: not asked for
    ["Carl", "carl@example.com", "Ethics", "Sales", "unlimited"],
    ["Dana", "dana@example.com", "Ethics", "HR", "unlimited"],
    ["Eve", "eve@example.com", "Ethics", "Sales", "unlimited"],
    ["Fay", "fay@example.com", "Ethics", "Sales", "unlimited"],
]


def requests(validated: ValidatedInput) -> list[tuple[int, object, object]]:
    return [(row.source.row, r.learner, r.course) for row in validated.rows for r in row.requests]


def problems(validated: ValidatedInput) -> list[tuple[int, str | None, str, str]]:
    return [
        (i.source.row, i.column, i.message, i.kind) for r in validated.rows for i in r.issues
    ]


def filtered_workbook(path: Path) -> Path:
    """HR's sheet filtered to Sales (rows 3 and 5 hidden by the filter, as Excel writes it) and
    row 6 hidden by hand."""
    hidden = write_filtered_workbook(path, HEADER, PEOPLE, filter_column=3, shown="Sales",
                                     hidden_by_hand=[6])
    assert hidden == {3, 5, 6}
    return path


def test_rows_hidden_by_a_filter_or_by_hand_are_held_back_with_the_reason(tmp_path):
    validated = validate_table(read_table(filtered_workbook(tmp_path / "staff.xlsx")))
    assert requests(validated) == [
        (2, by_email("ann@example.com"), titled("Ethics")),
        (4, by_email("carl@example.com"), titled("Ethics")),
        (7, by_email("fay@example.com"), titled("Ethics")),
    ]
    held = {row.source.row: row.held_back for row in validated.rows if row.held_back}
    assert held == {3: HIDDEN_ROW, 5: HIDDEN_ROW, 6: HIDDEN_ROW}
    assert HIDDEN_ROW == (
        "hidden in the sheet (filter or hidden row): not sent; --include-hidden-rows to send"
    )
    assert problems(validated) == []  # Bob's bad email is hidden: nobody asked for him


def test_include_hidden_rows_reads_them_like_any_other_row(tmp_path):
    table = read_table(filtered_workbook(tmp_path / "staff.xlsx"))
    assert table.hidden_rows == {3, 5, 6}
    validated = validate_table(table, include_hidden_rows=True)
    assert [row for row, _, _ in requests(validated)] == [2, 4, 5, 6, 7]
    assert [(row, column) for row, column, _, _ in problems(validated)] == [(3, "Email")]
    assert not any(row.held_back for row in validated.rows)


def test_hidden_columns_are_read_and_marked_in_the_mapping(tmp_path):
    learner = make_id("hidden-learner")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Name", "User ID", "Course", "Due date type"])
    sheet.append(["Ann", learner, "Ethics", "unlimited"])
    sheet.column_dimensions["B"].hidden = True
    book.save(tmp_path / "ids.xlsx")
    table = read_table(tmp_path / "ids.xlsx")
    assert table.hidden_columns == {1}
    validated = validate_table(table)
    assert requests(validated) == [(2, by_id(learner), titled("Ethics"))]
    assert validated.columns.describe() == (
        "B 'User ID' -> learner_id (hidden column), C 'Course' -> course_title, "
        "D 'Due date type' -> due_date_type"
    )


def test_hiding_every_column_to_the_right_is_cheap_and_exact(tmp_path):
    """Excel users hide unused columns up to XFD in one <col min max> element."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Email", "Course", "Due date type"])
    sheet.append(["ann@example.com", "Ethics", "unlimited"])
    sheet.column_dimensions.group("D", "XFD", hidden=True)
    book.save(tmp_path / "wide.xlsx")
    facts = sheet_facts(tmp_path / "wide.xlsx", "Sheet", "xlsx")
    assert facts.hidden_columns == ((3, 16383),)
    assert read_table(tmp_path / "wide.xlsx").hidden_columns == frozenset()


def formula_workbook(path: Path) -> Path:
    """A workbook a program wrote: formulas, never calculated (openpyxl writes no values)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Name", "Email", "Course", "Due date type"])
    sheet.append(["Ann", "=VLOOKUP(A2,Directory!A:B,2,FALSE)", "Ethics", "unlimited"])
    sheet.append(["Bob", "bob@example.com", "Ethics", '=IF(B3="","unlimited","default")'])
    sheet.append(["Carl", "carl@example.com", "Ethics", "unlimited"])
    book.create_sheet("Directory").append(["Ann", "ann@example.com"])
    book.save(path)
    return path


def test_a_formula_without_a_saved_value_is_a_problem_naming_it_not_an_empty_cell(tmp_path):
    validated = validate_table(read_table(formula_workbook(tmp_path / "generated.xlsx")))
    assert requests(validated) == [(4, by_email("carl@example.com"), titled("Ethics"))]
    assert problems(validated) == [
        (
            2,
            "Email",
            "the cell holds a formula with no saved value (=VLOOKUP(A2,Directory!A:B,2,FALSE)); "
            "open and save the file in Excel or LibreOffice",
            KIND_FORMULA,
        ),
        (
            3,
            "Due date type",
            'the cell holds a formula with no saved value (=IF(B3="","unlimited","default")); '
            "open and save the file in Excel or LibreOffice",
            KIND_FORMULA,
        ),
    ]
    assert validated.rows[0].values[1] == ""  # the report shows the cell as the file has it


def replace_cells(source: Path, target: Path, cells: dict[str, str]) -> Path:
    """`source` with whole `<c r="REF" ...>...</c>` elements of its first sheet replaced, saved
    as Excel saves a workbook it has calculated (without openpyxl's `fullCalcOnLoad`)."""

    def edit(name: str, data: bytes) -> bytes:
        if name == "xl/workbook.xml":
            return data.replace(b' fullCalcOnLoad="1"', b"")
        if name != "xl/worksheets/sheet1.xml":
            return data
        text = data.decode()
        for ref, xml in cells.items():
            text, found = re.subn(rf'<c r="{ref}"[^>]*?(?:/>|>.*?</c>)', xml, text, count=1)
            assert found == 1, ref
        return text.encode()

    return rewrite_zip(source, target, edit)


def test_shared_formulas_cached_values_and_errors_as_excel_writes_them(tmp_path):
    source = tmp_path / "source.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Name", "Email", "Course", "Due date type"])
    for name in ("ann", "bob", "carl", "dana", "eve"):
        sheet.append([name, "placeholder", "Ethics", "unlimited"])
    book.save(source)
    path = replace_cells(source, tmp_path / "excel.xlsx", {
        # calculated by Excel: the saved value is read, the formula does not matter
        "B2": '<c r="B2" t="str"><f>LOWER(A2)&amp;"@example.com"</f><v>ann@example.com</v></c>',
        # a shared formula: its master and a secondary cell, neither calculated
        "B3": '<c r="B3"><f t="shared" ref="B3:B4" si="0">A3&amp;"@example.com"</f></c>',
        "B4": '<c r="B4"><f t="shared" si="0"/></c>',
        # calculated to an error
        "B5": '<c r="B5" t="e"><f>VLOOKUP(A5,X!A:B,2,FALSE)</f><v>#N/A</v></c>',
        # calculated to "" (a real empty value, not a missing one)
        "B6": '<c r="B6" t="str"><f>IF(A6="eve","",A6)</f><v></v></c>',
    })  # fmt: skip
    validated = validate_table(read_table(path))
    assert requests(validated) == [(2, by_email("ann@example.com"), titled("Ethics"))]
    no_value = (
        'the cell holds a formula with no saved value (=A3&"@example.com"); open and save the '
        "file in Excel or LibreOffice"
    )
    assert problems(validated) == [
        (3, "Email", no_value, KIND_FORMULA),
        (4, "Email", no_value, KIND_FORMULA),  # the master's formula, shown for its copies
        (
            5,
            "Email",
            "the cell shows the error #N/A from its formula (=VLOOKUP(A5,X!A:B,2,FALSE)); fix "
            "the formula or type the value, then save the file",
            KIND_FORMULA,
        ),
        (6, "Email", "learner email is empty", "missing value"),
    ]


def test_libreoffice_style_visible_rows_cost_no_xml_parse(tmp_path):
    """LibreOffice writes hidden="false" on every row: the byte scan must not take that for a
    hidden row (which would parse the whole sheet), and nothing is held back."""
    source = tmp_path / "source.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["Email", "Course", "Due date type"])
    for number in range(200):
        book.active.append([f"p{number}@example.com", "Ethics", "unlimited"])
    book.save(source)

    def visible(name: str, data: bytes) -> bytes:
        if name != "xl/worksheets/sheet1.xml":
            return data
        return re.sub(rb"<row ", b'<row hidden="false" ', data)

    path = rewrite_zip(source, tmp_path / "lo.xlsx", visible)
    with zipfile.ZipFile(path) as archive:
        assert archive.read("xl/worksheets/sheet1.xml").count(b'hidden="false"') == 201
    assert sheet_facts(path, "Sheet", "xlsx") is NO_FACTS
    assert len(validate_table(read_table(path)).rows) == 200


ODS_CONTENT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.3">
<office:body><office:spreadsheet>
<table:table table:name="Other"><table:table-row table:visibility="collapse">
<table:table-cell office:value-type="string"><text:p>x</text:p></table:table-cell>
</table:table-row></table:table>
<table:table table:name="Staff">
<table:table-column table:number-columns-repeated="2"/>
<table:table-column table:visibility="collapse"/>
<table:table-column table:number-columns-repeated="2"/>
<table:table-row>{header}</table:table-row>
<table:table-row>{ann}</table:table-row>
<table:table-row table:number-rows-repeated="2" table:visibility="collapse">{bob}</table:table-row>
<table:table-row-group>
<table:table-row table:visibility="filter">{carl}</table:table-row>
<table:table-row>{dana}</table:table-row>
</table:table-row-group>
<table:table-row>{eve}</table:table-row>
<table:table-row table:number-rows-repeated="1048570" table:visibility="collapse">
<table:table-cell table:number-columns-repeated="5"/></table:table-row>
</table:table>
</office:spreadsheet></office:body></office:document-content>
"""
ODS_MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"
 manifest:version="1.3">
<manifest:file-entry manifest:full-path="/"
 manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>
"""


def ods_row(*values: str) -> str:
    return "".join(
        f'<table:table-cell office:value-type="string"><text:p>{v}</text:p></table:table-cell>'
        for v in values
    )


def test_ods_rows_collapsed_or_filtered_are_held_back_counting_repeats(tmp_path):
    """An ODS file as the OpenDocument format allows: a repeated collapsed row (two sheet rows),
    a filtered row inside a row group, a hidden column, a million hidden empty rows below."""
    content = ODS_CONTENT.format(
        header=ods_row("Name", "Email", "Department", "Course", "Due date type"),
        ann=ods_row("Ann", "ann@example.com", "Sales", "Ethics", "unlimited"),
        bob=ods_row("Bob", "bob@example.com", "HR", "Ethics", "unlimited"),
        carl=ods_row("Carl", "carl@example.com", "HR", "Ethics", "unlimited"),
        dana=ods_row("Dana", "dana@example.com", "Sales", "Ethics", "unlimited"),
        eve=ods_row("Eve").replace("</table:table-cell>", "</table:table-cell>"
                                   '<table:table-cell table:formula="of:=LOWER([.A7])"/>', 1)
        + ods_row("Sales", "Ethics", "unlimited"),  # a formula a program wrote, no value
    )
    path = tmp_path / "staff.ods"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet",
                         compress_type=zipfile.ZIP_STORED)  # fmt: skip
        archive.writestr("META-INF/manifest.xml", ODS_MANIFEST)
        archive.writestr("content.xml", re.sub(r">\s+<", "><", content))  # as writers do
    table = read_table(path, sheet="Staff")
    assert table.hidden_rows == {3, 4, 5}
    assert table.hidden_columns == {2}
    validated = validate_table(table)
    assert requests(validated) == [
        (2, by_email("ann@example.com"), titled("Ethics")),
        (6, by_email("dana@example.com"), titled("Ethics")),
    ]
    assert [row.source.row for row in validated.rows if row.held_back] == [3, 4, 5]
    assert [(i.source.row, i.column, i.message) for r in validated.rows for i in r.issues] == [
        (7, "Email", "the cell holds a formula with no saved value (=LOWER([.A7])); open and "
                     "save the file in Excel or LibreOffice"),
    ]  # fmt: skip


def test_a_csv_cannot_hide_rows_and_reads_as_before(tmp_path):
    """CSV has no hidden rows (and XLS row visibility is not read: the LibreOffice tests show
    an XLS reading exactly as before): nothing is held back."""
    path = tmp_path / "staff.csv"
    path.write_text("\n".join(",".join(row) for row in [HEADER, *PEOPLE]) + "\n")
    assert sheet_facts(path, "", "csv") is NO_FACTS
    validated = validate_table(read_table(path))
    assert [row.source.row for row in validated.rows if row.requests] == [2, 4, 5, 6, 7]
    assert not any(row.held_back for row in validated.rows)


def test_the_python_api_takes_the_same_choice(tmp_path, monkeypatch):
    """`bulk_enroll.validate(..., include_hidden_rows=)` mirrors --include-hidden-rows."""
    import bulk_enroll

    monkeypatch.chdir(tmp_path)
    path = filtered_workbook(tmp_path / "staff.xlsx")
    held = bulk_enroll.validate(path, report=tmp_path / "a.xlsx")
    assert held.counts["not_sent"] == 6 and held.counts["invalid"] == 0
    assert held.exit_status == 0  # hidden rows are left out on purpose
    assert held.job.summary["hidden_rows_not_sent"] == 3
    sent = bulk_enroll.validate(path, report=tmp_path / "b.xlsx", include_hidden_rows=True)
    assert sent.counts["invalid"] == 1 and sent.exit_status == 1  # Bob's email is seen now
    with pytest.raises(bulk_enroll.ConfigError, match="include_hidden_rows='yes': give True"):
        bulk_enroll.validate(path, include_hidden_rows="yes")  # type: ignore[typeddict-item]


def test_a_sheet_written_with_a_namespace_prefix_reads_the_same(tmp_path):
    """Some generators (the .NET Open XML SDK) write <x:row>, <x:c>, <x:f>."""
    source = filtered_workbook(tmp_path / "plain.xlsx")

    def prefixed(name: str, data: bytes) -> bytes:
        if name != "xl/worksheets/sheet1.xml":
            return data
        data = re.sub(rb"<(/?)(?![?!])([A-Za-z]+)", rb"<\1x:\2", data)
        return data.replace(b'xmlns="http', b'xmlns:x="http', 1)

    path = rewrite_zip(source, tmp_path / "prefixed.xlsx", prefixed)
    with zipfile.ZipFile(path) as archive:
        assert b"<x:row " in archive.read("xl/worksheets/sheet1.xml")
    assert read_table(path).hidden_rows == read_table(source).hidden_rows == {3, 5, 6}


def test_a_workbook_a_program_wrote_has_placeholders_not_values_in_its_formulas(tmp_path):
    """XlsxWriter saves 0 as every formula's value and asks Excel to calculate on opening
    (`fullCalcOnLoad`): a Lock formula that means TRUE read as 0, false, and the row was
    enrolled unlocked; a course formula read as the course '0'."""
    source = tmp_path / "source.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["Email", "Course", "Lock after due date", "Due date type"])
    book.active.append(["ann@example.com", "Ethics", "placeholder", "unlimited"])
    book.active.append(["bob@example.com", "placeholder", False, "unlimited"])
    book.save(source)
    path = replace_cells(source, tmp_path / "program.xlsx", {  # as XlsxWriter writes them
        "C2": '<c r="C2"><f>IF(B2="Ethics",TRUE,FALSE)</f><v>0</v></c>',
        "B3": '<c r="B3" t="str"><f>"Eth"&amp;"ics"</f><v>0</v></c>',
    })
    path = rewrite_zip(path, tmp_path / "xlsxwriter.xlsx", lambda name, data: data.replace(
        b"<calcPr ", b'<calcPr fullCalcOnLoad="1" ') if name == "xl/workbook.xml" else data)
    assert b'fullCalcOnLoad="1"' in zipfile.ZipFile(path).read("xl/workbook.xml")
    validated = validate_table(read_table(path))
    assert requests(validated) == []
    assert problems(validated) == [
        (2, "Lock after due date", 'the cell holds a formula with no saved value (=IF(B2="Ethics"'
         ',TRUE,FALSE)); open and save the file in Excel or LibreOffice', KIND_FORMULA),
        (3, "Course", 'the cell holds a formula with no saved value (="Eth"&"ics"); open and '
         "save the file in Excel or LibreOffice", KIND_FORMULA),
    ]
    excel = replace_cells(source, tmp_path / "excel.xlsx", {  # calculated: the values count
        "C2": '<c r="C2" t="b"><f>IF(B2="Ethics",TRUE,FALSE)</f><v>1</v></c>',
        "B3": '<c r="B3" t="str"><f>"Eth"&amp;"ics"</f><v>Ethics</v></c>',
    })
    assert problems(validate_table(read_table(excel))) == []
