"""Reader + validation on real CSV and XLSX files: exact pairs and exact problems."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bulk_enroll.errors import InputFileError
from bulk_enroll.model import DueDateType, DueSettings, Pair
from bulk_enroll.read.columns import Field
from bulk_enroll.read.reader import read_table
from bulk_enroll.resolve.rows import resolve_rows
from bulk_enroll.validate.rows import RowDefaults, validate_table
from bulk_enroll.validate.values import BOOL_EXPECTED
from tests.support import HEADER, make_id

L1, L2, C1, C2 = make_id("l1"), make_id("l2"), make_id("c1"), make_id("c2")


def problems(path: Path, defaults: RowDefaults | None = None) -> list[tuple[int, str | None, str]]:
    validated = validate_table(read_table(path), defaults)
    return [(i.source.row, i.column, i.message) for r in validated.rows for i in r.issues]


def pairs(path: Path, defaults: RowDefaults | None = None) -> list[Pair]:
    validated = validate_table(read_table(path), defaults)
    return [p for r in resolve_rows(validated.rows) for p in r.pairs]


@pytest.mark.parametrize("delimiter", [",", ";"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_csv_delimiters_and_bom_give_the_same_pairs(csv_file, delimiter, encoding):
    path = csv_file(
        [HEADER, [L1, C1, "due_period", "", "720", "yes", ""]],
        delimiter=delimiter,
        encoding=encoding,
    )
    assert pairs(path) == [
        Pair(
            L1,
            C1,
            DueSettings(DueDateType.DUE_PERIOD, due_period_hours=720, lock_after_due_date=True),
        )
    ]


def test_xlsx_date_cells_and_booleans(xlsx_file):
    path = xlsx_file(
        [
            HEADER,
            [
                L1,
                C1,
                "due_date",
                dt.datetime(2027, 3, 31),
                None,
                True,
                dt.datetime(2027, 1, 10, 9, 0),
            ],
        ]
    )
    assert pairs(path) == [
        Pair(
            L1,
            C1,
            DueSettings(
                DueDateType.DUE_DATE,
                access_date=dt.datetime(2027, 1, 10, 9, 0),
                due_date=dt.date(2027, 3, 31),
                lock_after_due_date=True,
            ),
        )
    ]


def test_headers_match_ignoring_case_spaces_and_api_names(csv_file):
    path = csv_file(
        [["Learner ID", "courseId", "DUE-DATE-TYPE", "Name"], [L1.upper(), C1, "Unlimited", "Ann"]]
    )
    validated = validate_table(read_table(path))
    assert [p for r in resolve_rows(validated.rows) for p in r.pairs] == [
        Pair(L1, C1, DueSettings(DueDateType.UNLIMITED))
    ]
    assert validated.rows[0].values[3] == "Ann"  # extra columns are kept


def test_every_problem_of_a_row_is_reported_with_excel_row_and_written_column(csv_file):
    path = csv_file(
        [
            ["Learner_ID", "Course_ID", "Due Date Type", "Due Date", "Due Period", "Lock"],
            [L1, C1, "unlimited", "", "", ""],
            ["EMP-1", "", "due_date", "2027-02-30", "", "maybe"],
            [L2, C2, "asap", "", "", ""],
            [L2, C2, "due_period", "", "-5", ""],
            [L2, C2, "due_date", "", "", ""],
        ]
    )
    assert problems(path) == [
        (
            3,
            "Learner_ID",
            "'EMP-1' is not an ID (expected a UUID like 8363b098-e031-11e9-89cf-0a580af40b0f)",
        ),
        (3, "Course_ID", "course ID is empty"),
        (
            3,
            "Lock",
            "'maybe' is not true or false "
            f"({BOOL_EXPECTED})",
        ),
        (
            3,
            "Due Date",
            "'2027-02-30' is not a date (expected YYYY-MM-DD, DD.MM.YYYY, a slash date like "
            "31/03/2027, or a date cell)",
        ),
        (
            4,
            "Due Date Type",
            "'asap' is not a due date type "
            "(expected one of unlimited, default, due_date, due_period)",
        ),
        (5, "Due Period", "'-5' is not a whole, positive number of hours"),
        (6, "Due Date", "due date is required when the due date type is due_date"),
    ]


def test_fields_that_do_not_apply_to_the_type_are_flagged(csv_file):
    path = csv_file([HEADER, [L1, C1, "unlimited", "2027-01-01", "10", "", ""]])
    assert [(row, column) for row, column, _ in problems(path)] == [
        (2, "due_date"),
        (2, "due_period"),
    ]


def test_due_date_before_access_date_is_an_error(csv_file):
    path = csv_file([HEADER, [L1, C1, "due_date", "2027-01-01", "", "", "2027-02-01 10:00:00"]])
    assert problems(path) == [
        (2, "due_date", "due date 2027-01-01 is before the access date 2027-02-01")
    ]


def test_options_supply_missing_columns_and_a_cell_wins(csv_file):
    path = csv_file(
        [["learner_id", "course_id", "due_date_type"], [L1, C1, ""], [L2, C1, "unlimited"]]
    )
    defaults = RowDefaults(due_date_type="due_period", due_period="48", lock_after_due_date="false")
    assert pairs(path, defaults) == [
        Pair(
            L1,
            C1,
            DueSettings(DueDateType.DUE_PERIOD, due_period_hours=48, lock_after_due_date=False),
        ),
        Pair(L2, C1, DueSettings(DueDateType.UNLIMITED, lock_after_due_date=False)),
    ]


def test_missing_required_column_is_one_clear_error(csv_file):
    path = csv_file([["learner_id", "Course code", "due_date_type"], [L1, "x", "unlimited"]])
    with pytest.raises(InputFileError) as error:
        read_table(path)
    assert str(error.value) == (
        "input.csv: no header row with a learner and a course column; expected a learner "
        "column (learner_id, learner_email, learner_login; also e.g. 'Learner ID', 'User ID', "
        "'Email', 'Employee email', 'Login') and a course column (course_id, course_title; "
        "also e.g. 'Course ID', 'Course', 'Course title', 'Course name'). "
        "Found: 'learner_id', 'Course code', 'due_date_type'"
    )


def test_bad_option_value_is_a_usage_error(csv_file):
    path = csv_file([["learner_id", "course_id"], [L1, C1]])
    with pytest.raises(InputFileError, match="^--due-period: 'ten' is not a due period"):
        validate_table(read_table(path), RowDefaults(due_date_type="due_period", due_period="ten"))


def test_blank_rows_are_skipped_but_row_numbers_stay_excel_numbers(xlsx_file):
    path = xlsx_file([HEADER, [None] * 7, ["EMP-9", C1, "unlimited"]])
    assert [(row, column) for row, column, _ in problems(path)] == [(3, "learner_id")]


def test_whole_floats_from_excel_are_accepted_as_hours(xlsx_file):
    path = xlsx_file([HEADER, [L1, C1, "due_period", None, 240.0, None, None]])
    assert pairs(path)[0].settings.due_period_hours == 240


def test_unreadable_and_unsupported_files_raise_input_errors(tmp_path):
    (tmp_path / "x.pdf").write_bytes(b"%PDF")
    with pytest.raises(InputFileError, match="unsupported file type .pdf"):
        read_table(tmp_path / "x.pdf")
    (tmp_path / "fake.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputFileError, match="^fake.xlsx is a damaged or incomplete ZIP file;"):
        read_table(tmp_path / "fake.xlsx")
    with pytest.raises(InputFileError, match="no such file"):
        read_table(tmp_path / "missing.csv")


@pytest.mark.parametrize(
    ("header", "hours", "unit"),
    [("Due period (days)", 720, "days"), ("Due in (days)", 720, "days"),
     ("Due in weeks", 30 * 168, "weeks"), ("Deadline (Tage)", 720, "Tage"),
     ("Due [jours]", 720, "jours"), ("Due period (hours)", 30, None), ("Due period", 30, None),
     ("due_period", 30, None)],
)
def test_a_due_period_header_that_names_its_unit_reads_bare_numbers_in_it(
        xlsx_file, header, hours, unit):
    """HR exports say "Due in (days)": 30 there is 30 days. Before, such a column was not read
    at all (the course's own settings were sent), or "Due in" 14 went out as 14 hours."""
    path = xlsx_file([["learner_id", "course_id", header], [L1, C1, 30], [L2, C1, "36 h"]])
    validated = validate_table(read_table(path))
    assert validated.columns.index[Field.DUE_PERIOD] == 2
    assert [p.settings for p in pairs(path)] == [
        DueSettings(DueDateType.DUE_PERIOD, due_period_hours=hours),
        DueSettings(DueDateType.DUE_PERIOD, due_period_hours=36),  # the cell's own unit wins
    ]
    notes = [note for note in validated.rows[0].notes if note.startswith(header)]
    assert notes == ([f"{header}: due period '30' read as {hours} hours (the column's unit is "
                      f"{unit})"] if unit else [])


def test_a_duration_cell_is_a_due_period_of_its_length(xlsx_file):
    """A cell formatted as a duration ([h]:mm, as Excel writes 72:00) holds its length; before,
    '3 days, 0:00:00' was refused as not a due period."""
    path = xlsx_file([["learner_id", "course_id", "Due period (days)"],
                      [L1, C1, dt.timedelta(days=3)], [L2, C1, dt.timedelta(hours=36)]])
    assert problems(path) == []
    assert [p.settings.due_period_hours for p in pairs(path)] == [72, 36]


@pytest.mark.parametrize("header", ["Due in", "Deadline period"])
def test_a_bare_number_under_a_due_period_header_without_a_unit_is_asked_about(
        csv_file, header):
    path = csv_file([["learner_id", "course_id", header], [L1, C1, "14"], [L2, C1, "14 days"]])
    assert problems(path) == [
        (2, header, "'14' has no unit and the column's header names none: write it with one "
                    "('14 days', '14 h'), or name the column e.g. 'Due period (days)'"),
    ]
    assert [p.settings.due_period_hours for p in pairs(path)] == [336]


@pytest.mark.parametrize("header", ["Due (notes)", "Due date (days)", "Course (days)"])
def test_a_unit_after_another_header_does_not_make_a_due_period(csv_file, header):
    path = csv_file([["learner_id", "course_id", header], [L1, C1, "30"]])
    assert Field.DUE_PERIOD not in validate_table(read_table(path)).columns.index
