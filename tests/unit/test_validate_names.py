"""Files may name learners by email or login and courses by title (minimal column support)."""

from __future__ import annotations

import pytest

from bulk_enroll.errors import InputFileError
from bulk_enroll.model import CourseKey, CourseRef, LearnerKey, LearnerRef
from bulk_enroll.read.reader import read_table
from bulk_enroll.validate.rows import validate_table
from tests.support import make_id

L1, C1 = make_id("l1"), make_id("c1")


def validate(csv_file, rows):  # type: ignore[no-untyped-def]
    return validate_table(read_table(csv_file(rows))).rows


def test_a_learner_by_id_email_or_login_and_a_course_by_id_or_title(csv_file):
    header = ["Learner ID", "E-mail", "Login", "course_id", "Course title", "due_date_type"]
    rows = validate(csv_file, [
        header,
        [L1, "x@example.com", "x", C1, "Fire Safety", "unlimited"],  # IDs win
        ["", " Anna.Kowalski@Example.COM ", "akowalski", "", " Fire Safety ", "unlimited"],
        ["", "", "AKowalski", C1.upper(), "", "unlimited"],
    ])
    refs = [(r.requests[0].learner, r.requests[0].course) for r in rows]
    assert refs == [
        (LearnerRef(LearnerKey.ID, L1), CourseRef(CourseKey.ID, C1)),
        (LearnerRef(LearnerKey.EMAIL, "anna.kowalski@example.com"),
         CourseRef(CourseKey.TITLE, "Fire Safety")),
        (LearnerRef(LearnerKey.LOGIN, "AKowalski"), CourseRef(CourseKey.ID, C1)),
    ]


def test_empty_or_malformed_names_are_row_problems_naming_the_columns(csv_file):
    rows = validate(csv_file, [
        ["learner_id", "email", "course_title", "due_date_type"],
        ["", "", "Fire Safety", "unlimited"],
        ["", "not an email", "Fire Safety", "unlimited"],
        ["", "a@b.com", "", "unlimited"],
    ])
    assert [[(i.column, i.message) for i in r.issues] for r in rows] == [
        [("learner_id", "no learner: 'learner_id' and 'email' are empty")],
        [("email", "'not an email' is not an email address "
                   "(expected one like ann.lee@example.com)")],
        [("course_title", "course title is empty")],
    ]


def test_a_file_needs_some_way_to_name_learners_and_courses(csv_file):
    path = csv_file([["email", "due_date_type"], ["a@b.com", "unlimited"]])
    with pytest.raises(InputFileError, match="no header row with a learner and a course column"):
        validate_table(read_table(path))
    path = csv_file([["login", "course_title", "due_date_type"], ["x", "y", "unlimited"]])
    assert validate_table(read_table(path)).rows[0].requests
