"""Corrected cells and chosen rows applied to a read table, before validation."""

from __future__ import annotations

import dataclasses

import pytest

from bulk_enroll.errors import InputFileError
from bulk_enroll.read.edits import apply_edits, keep_rows
from bulk_enroll.read.table import Table

TABLE = Table("hires.xlsx", "Sheet1", ("Email", "Course", "Email"),
              [(2, ("a@x.com", "Fire Safety", "ignored")), (5, ("b@x.com", "GDPR", "z"))])


def test_an_edit_replaces_the_cell_of_its_row_and_header() -> None:
    edited = apply_edits(TABLE, {(5, "Course"): "Fire Safety", (2, "Email"): "c@x.com"})
    assert edited.rows == [(2, ("c@x.com", "Fire Safety", "ignored")),
                           (5, ("b@x.com", "Fire Safety", "z"))]
    assert TABLE.rows[1][1][1] == "GDPR"  # the table read is left as it was


def test_an_edited_formula_cell_without_a_value_is_a_value_now() -> None:
    table = dataclasses.replace(TABLE, unreadable={2: {0: "a formula without a value",
                                                       1: "#REF!"}})
    edited = apply_edits(table, {(2, "Email"): "c@x.com"})
    assert edited.unreadable == {2: {1: "#REF!"}}
    assert apply_edits(table, {(2, "Email"): "c", (2, "Course"): "d"}).unreadable == {}


def test_an_edit_of_a_missing_row_or_column_is_an_error_naming_it() -> None:
    with pytest.raises(InputFileError, match="row 3, which holds no data"):
        apply_edits(TABLE, {(3, "Email"): "x"})
    with pytest.raises(InputFileError, match="column 'Due'"):
        apply_edits(TABLE, {(2, "Due"): "x"})


def test_keep_rows_keeps_only_the_chosen_rows_in_order() -> None:
    assert keep_rows(TABLE, None) is TABLE
    assert [number for number, _ in keep_rows(TABLE, {5}).rows] == [5]
    with pytest.raises(InputFileError, match=r"no data in row\(s\) 4"):
        keep_rows(TABLE, {4, 5})
