"""A file without a due date type (no HR system exports one): each row's type follows from
what the row gives, and the report says which rule applied."""

from __future__ import annotations

import datetime as dt

from bulk_enroll.model import DueDateType, DueSettings
from bulk_enroll.read.reader import read_table
from bulk_enroll.validate.rows import RowDefaults, validate_table
from tests.inputs import problems_of, write_text
from tests.support import make_id

L1, L2, L3, L4, C1 = (make_id(n) for n in ("l1", "l2", "l3", "l4", "c1"))
DATED = DueSettings(DueDateType.DUE_DATE, due_date=dt.date(2027, 3, 31))
PERIOD = DueSettings(DueDateType.DUE_PERIOD, due_period_hours=240)


def settings_and_notes(validated):
    return [
        (row.source.row, row.requests[0].settings if row.requests else None, row.notes)
        for row in validated.rows
    ]


def test_no_type_column_a_due_date_a_due_period_or_neither(tmp_path):
    path = write_text(
        tmp_path / "hr.csv",
        [
            ["learner_id", "course_id", "Due date", "Due period"],
            [L1, C1, "2027-03-31", ""],
            [L2, C1, "", "10 days"],
            [L3, C1, "", ""],
            [L4, C1, "2027-03-31", "720"],
        ],
    )
    validated = validate_table(read_table(path))
    assert settings_and_notes(validated) == [
        (2, DATED, ("due date type due_date: the row gives a due date and no type",)),
        (3, PERIOD, ("due date type due_period: the row gives a due period and no type",
                     "Due period: due period '10 days' read as 240 hours")),
        (4, DueSettings(DueDateType.DEFAULT),
         ("due date type default (the course's own due date settings): the row gives no "
          "type, due date or period",)),
        (5, None, ()),
    ]
    assert problems_of(validated) == [
        (5, None, "both a due date and a due period are given and no due date type: which one "
                  "applies is not clear; set the type (due_date or due_period) or clear one "
                  "(the file has no due_date_type column: add one, or pass --due-date-type)"),
    ]
    assert validated.notes[-1] == (
        "the file has no due_date_type column: a row with a due date gets due_date, one with a "
        "due period due_period, one with neither default (the course's own due date settings; "
        "--due-date-type or [defaults] due_date_type chooses another); rows: 1 default, "
        "1 due_date, 1 due_period"
    )


def test_the_chosen_default_type_applies_to_rows_giving_neither(tmp_path):
    path = write_text(
        tmp_path / "hr.csv",
        [["learner_id", "course_id", "Due date"], [L1, C1, "2027-03-31"], [L2, C1, ""]],
    )
    validated = validate_table(read_table(path), RowDefaults(due_date_type="unlimited"))
    assert settings_and_notes(validated) == [
        (2, DATED, ("due date type due_date: the row gives a due date and no type",)),
        (3, DueSettings(DueDateType.UNLIMITED), ()),  # chosen: no note
    ]
    assert validated.notes[-1].endswith(
        "one with neither unlimited (the default you chose); rows: 1 due_date, 1 unlimited"
    )


def test_a_default_due_period_makes_rows_without_one_due_period(tmp_path):
    path = write_text(tmp_path / "hr.csv", [["learner_id", "course_id"], [L1, C1]])
    validated = validate_table(read_table(path), RowDefaults(due_period="10 days"))
    assert settings_and_notes(validated) == [(2, PERIOD, ())]


def test_a_blank_cell_of_a_type_column_follows_the_same_rule(tmp_path):
    path = write_text(
        tmp_path / "hr.csv",
        [
            ["learner_id", "course_id", "due_date_type", "due_date"],
            [L1, C1, "", "31.03.2027"],
            [L2, C1, "unlimited", ""],
        ],
    )
    validated = validate_table(read_table(path))
    assert settings_and_notes(validated) == [
        (2, DATED, ("due date type due_date: the row gives a due date and no type",)),
        (3, DueSettings(DueDateType.UNLIMITED), ()),
    ]
    assert not any("due_date_type column" in note for note in validated.notes)
