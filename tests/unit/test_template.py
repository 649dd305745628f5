"""The Excel template's data validations: dropdowns that guard, a due period hint that doesn't."""

from __future__ import annotations

import openpyxl

from bulk_enroll.read.template import write_template
from bulk_enroll.validate.values import parse_due_period


def validations(tmp_path):
    book = openpyxl.load_workbook(write_template(tmp_path / "t.xlsx"))
    sheet = book["Enrollments"]
    columns = {cell.value: cell.column_letter for cell in sheet[1]}
    by_range = {str(v.sqref): v for v in sheet.data_validations.dataValidation}
    return book, {header: by_range.get(f"{c}2:{c}20000") for header, c in columns.items()}


def test_due_period_check_does_not_refuse_units(tmp_path):
    _, rules = validations(tmp_path)
    rule = rules["due_period"]
    # Excel's default ("stop") would refuse "10 days"; the reader takes it.
    assert rule.errorStyle in ("information", "warning")
    assert "10 days" in rule.prompt and rule.prompt.lower().startswith("hours")
    assert rule.showInputMessage
    assert parse_due_period("10 days")[0] == 240


def test_the_dropdowns_still_refuse_other_values(tmp_path):
    _, rules = validations(tmp_path)
    for header in ("due_date_type", "lock_after_due_date"):
        rule = rules[header]
        assert rule.type == "list"
        assert rule.errorStyle in (None, "stop")
        assert rule.showErrorMessage


def test_instructions_and_validation_agree_on_units(tmp_path):
    book, rules = validations(tmp_path)
    help_rows = {row[0]: row[1] for row in book["Instructions"].iter_rows(values_only=True)}
    assert "10 days" in help_rows["due_period"]
    assert rules["due_period"].errorStyle in ("information", "warning")
