"""A pandas DataFrame read into the same Table a sheet gives: headers, cell types, row numbers."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from bulk_enroll.errors import InputFileError
from bulk_enroll.read.columns import Field
from bulk_enroll.read.frame import read_frame
from bulk_enroll.validate.rows import validate_table
from tests.support import make_id

LEARNER, COURSE = make_id("learner-a"), make_id("course-a")
NAN = float("nan")
NUMPY_SEVEN = pd.Series([7], dtype="int64").iloc[0]  # a numpy.int64


def test_cells_become_the_python_values_a_workbook_gives():
    frame = pd.DataFrame({
        "learner_id": [LEARNER, LEARNER],
        "course_id": [COURSE, COURSE],
        "due_period": pd.Series([720, 360], dtype="int64"),
        "due_date": [pd.Timestamp("2027-03-31 00:00"), pd.NaT],
        "score": [1.5, NAN],
        "lock": pd.array([True, None], dtype="boolean"),
        "count": pd.array([3, None], dtype="Int64"),
        "mixed": pd.Series([NUMPY_SEVEN, None], dtype=object),
        "wait": [pd.Timedelta(hours=2), pd.NaT],
    })
    assert type(NUMPY_SEVEN).__module__ == "numpy"
    table = read_frame(frame)
    assert table.headers == tuple(frame.columns)
    assert table.file == "DataFrame" and table.sheet is None and table.typed
    (first_number, first), (second_number, second) = table.rows
    assert (first_number, second_number) == (0, 1)
    assert first[2:] == (720, dt.datetime(2027, 3, 31), 1.5, True, 3, 7, dt.timedelta(hours=2))
    assert [type(cell) for cell in first[2:]] == [int, dt.datetime, float, bool, int, int,
                                                  dt.timedelta]
    assert second[3:] == (None,) * 6  # NaT, NaN, NA, None, NaT: empty cells


def test_row_numbers_are_positions_whatever_the_index_holds():
    frame = pd.DataFrame(
        {"Work email": ["a@example.com", None, "c@example.com"], "Course": ["Fire Safety"] * 3},
        index=["x", "y", "z"],
    )
    table = read_frame(frame)
    assert [number for number, _ in table.rows] == [0, 1, 2]


def test_a_row_with_every_cell_empty_is_skipped_and_numbers_stay_positions():
    frame = pd.DataFrame({"learner_id": [LEARNER, None, LEARNER],
                          "course_id": [COURSE, NAN, COURSE]})
    assert [number for number, _ in read_frame(frame).rows] == [0, 2]


def test_header_aliases_and_user_aliases_apply():
    frame = pd.DataFrame({"Mitarbeiter E-Mail": ["a@example.com"], "Training": ["Fire Safety"],
                          "due_date_type": ["unlimited"]})
    with pytest.raises(InputFileError):
        read_frame(frame)  # no learner column without the alias
    aliases = {"Mitarbeiter E-Mail": "learner_email"}
    validated = validate_table(read_frame(frame, aliases=aliases), aliases=aliases)
    assert validated.columns.index == {Field.LEARNER_EMAIL: 0, Field.COURSE_TITLE: 1,
                                       Field.DUE_DATE_TYPE: 2}
    [row] = validated.rows
    assert row.is_valid
    assert row.requests[0].learner.value == "a@example.com"


def test_columns_without_a_learner_and_a_course_are_refused_naming_what_was_found():
    frame = pd.DataFrame({"name": ["learner_id"], "note": ["course_id"]})  # a header-like row
    with pytest.raises(InputFileError) as caught:
        read_frame(frame)
    message = str(caught.value)
    assert message.startswith("DataFrame: no header row with a learner and a course column")
    assert "'name', 'note'" in message  # the columns, not the data row, are the header


def test_several_column_levels_are_refused():
    frame = pd.DataFrame([[LEARNER, COURSE]],
                         columns=pd.MultiIndex.from_tuples([("who", "learner_id"),
                                                            ("what", "course_id")]))
    with pytest.raises(InputFileError, match="several levels; flatten them"):
        read_frame(frame)


def test_a_timestamp_with_a_time_zone_is_a_row_problem_not_a_silent_shift():
    frame = pd.DataFrame({
        "learner_id": [LEARNER],
        "course_id": [COURSE],
        "due_date_type": ["unlimited"],
        "access_date": pd.to_datetime(["2027-01-04 09:00"]).tz_localize("Europe/Berlin"),
    })
    [row] = validate_table(read_frame(frame)).rows
    [issue] = row.issues
    assert issue.column == "access_date"
    assert "has a time zone; write the local time without it" in issue.message
    assert issue.describe().startswith("DataFrame, row 0, column 'access_date': ")


def test_cells_no_sheet_could_hold_are_row_problems_not_a_type_error():
    # A dict or a list in an object column (a JSON field of a database query) once crashed
    # validation with "unhashable type: 'dict'"; it is an odd cell like any other.
    frame = pd.DataFrame({
        "learner_id": [{"id": LEARNER}, [LEARNER], LEARNER],
        "course_id": [COURSE, COURSE, {COURSE}],
        "due_date_type": ["unlimited"] * 3,
    })
    rows = validate_table(read_frame(frame)).rows
    assert [[(i.column, i.message.split(" is not")[0]) for i in row.issues] for row in rows] == [
        [("learner_id", repr(str({"id": LEARNER})))],
        [("learner_id", repr(str([LEARNER])))],
        [("course_id", repr(str({COURSE})))],
    ]


def test_a_duration_is_a_due_period_in_its_hours():
    # A pandas Timedelta (an interval column of a database query) is a due period's length,
    # not text to parse: 3 days is 72 hours; a part of an hour is a problem, not rounded.
    frame = pd.DataFrame({
        "learner_id": [LEARNER, LEARNER],
        "course_id": [COURSE, COURSE],
        "due_date_type": ["due_period", "due_period"],
        "due_period": [pd.Timedelta(days=3), pd.Timedelta(minutes=90)],
    })
    first, second = validate_table(read_frame(frame)).rows
    assert not first.issues and first.requests[0].settings.due_period_hours == 72
    assert "due period 72:00 (a duration) read as 72 hours" in " ".join(first.notes)
    assert [(i.column, i.message) for i in second.issues] == [
        ("due_period",
         "the duration 1:30 (hours:minutes) is not a whole, positive number of hours")]
