"""Which column is which: by content where a header does not decide, duplicates refused,
columns dropped with `ignore`, the access date not taken from a hire date, typos named, and
the mapping shown. Real CSV files; exact requests, notes and errors."""

from __future__ import annotations

import pytest

from bulk_enroll.errors import ConfigError, InputFileError
from bulk_enroll.model import DueDateType, DueSettings
from bulk_enroll.read.columns import Field, map_columns, parse_alias_options
from bulk_enroll.read.reader import read_table
from bulk_enroll.settings.config import load_input_settings
from bulk_enroll.validate.rows import ValidatedInput, validate_table
from tests.inputs import by_email, by_id, course_id, titled, write_text, write_workbook
from tests.support import make_id

L1, L2, C1 = make_id("l1"), make_id("l2"), make_id("c1")
UNLIMITED = DueSettings(DueDateType.UNLIMITED)


def validated(tmp_path, rows, **options) -> ValidatedInput:  # type: ignore[no-untyped-def]
    path = write_text(tmp_path / "hires.csv", rows)
    return validate_table(read_table(path, aliases=options.get("aliases")), **options)


def requests(result: ValidatedInput) -> list[tuple[int, object, object]]:
    return [(row.source.row, r.learner, r.course) for row in result.rows for r in row.requests]


def refusal(tmp_path, rows, **options) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(InputFileError) as error:
        validated(tmp_path, rows, **options)
    return str(error.value)


# ---- by content -------------------------------------------------------------------------------


def test_a_learner_column_of_names_beside_an_email_column_is_not_the_learner_id(tmp_path):
    """Today's wrong enrollment: "Learner" (an alias of learner_id) held names, every row was
    invalid as "not an ID" (or, with the ID first, the email was never used)."""
    result = validated(
        tmp_path,
        [
            ["Learner", "Email", "Course", "Due date type"],
            ["Ann Lee", "ann@example.com", "Ethics", "unlimited"],
            ["Bob Stone", "bob@example.com", "Ethics", "unlimited"],
        ],
    )
    assert requests(result) == [
        (2, by_email("ann@example.com"), titled("Ethics")),
        (3, by_email("bob@example.com"), titled("Ethics")),
    ]
    assert result.notes == (
        "column A 'Learner' holds neither learner IDs nor emails (e.g. 'Ann Lee'): not used; "
        "if they are logins, pass --alias 'Learner=learner_login'",
    )
    assert result.columns.describe() == (
        "B 'Email' -> learner_email, C 'Course' -> course_title, "
        "D 'Due date type' -> due_date_type"
    )


@pytest.mark.parametrize(
    "header,values,expected",
    [
        ("User", [L1, L2], [by_id(L1), by_id(L2)]),
        ("Employee", ["ann@example.com", "bob@example.com"],
         [by_email("ann@example.com"), by_email("bob@example.com")]),
        ("Participant", ["ann@example.com; bob@example.com", "carl@example.com"],
         [by_email("ann@example.com"), by_email("bob@example.com"),
          by_email("carl@example.com")]),
    ],
)  # fmt: skip
def test_a_generic_learner_column_is_read_as_what_its_values_are(
    tmp_path, header, values, expected
):
    result = validated(
        tmp_path, [[header, "Course ID", "Due date type"], *([v, C1, "unlimited"] for v in values)]
    )
    assert [learner for _, learner, _ in requests(result)] == expected
    assert result.notes == ()


def test_most_values_decide_and_the_rest_are_row_problems(tmp_path):
    result = validated(
        tmp_path,
        [
            ["User", "Course ID", "Due date type"],
            [L1, C1, "unlimited"],
            [L2, C1, "unlimited"],
            ["ann@example.com", C1, "unlimited"],
        ],
    )
    assert [row for row, _, _ in requests(result)] == [2, 3]
    assert result.rows[2].issues[0].message.startswith("'ann@example.com' is not an ID")


def test_an_hr_user_id_column_holding_no_lms_ids_is_not_used(tmp_path):
    result = validated(
        tmp_path,
        [
            ["User ID", "Work email", "Course", "Due date type"],
            ["10023", "ann@example.com", "Ethics", "unlimited"],
            ["10024", "bob@example.com", "Ethics", "unlimited"],
        ],
    )
    assert [learner for _, learner, _ in requests(result)] == [
        by_email("ann@example.com"),
        by_email("bob@example.com"),
    ]
    assert result.notes == (
        "column A 'User ID' holds neither learner IDs nor emails (e.g. '10023'): not used; if "
        "they are logins, pass --alias 'User ID=learner_login'",
    )


def test_the_canonical_name_and_your_own_aliases_are_never_second_guessed(tmp_path):
    rows = [
        ["learner_id", "Learner", "Email", "course_id", "due_date_type"],
        ["10023", "Ann Lee", "ann@example.com", C1, "unlimited"],
    ]
    result = validated(tmp_path, rows, aliases={"Learner": "learner_login"})
    assert result.columns.index[Field.LEARNER_ID] == 0
    assert result.columns.index[Field.LEARNER_LOGIN] == 1
    assert result.rows[0].issues[0].message.startswith("'10023' is not an ID")


def test_a_names_column_as_the_only_learner_column_is_a_clear_refusal(tmp_path):
    message = refusal(
        tmp_path,
        [["Employee", "Course", "Due date type"], ["Ann Lee", "Ethics", "unlimited"]],
    )
    assert message.startswith("hires.csv: missing a learner column (learner_id, ")
    assert message.endswith(
        "Columns found: 'Employee', 'Course', 'Due date type'; column A 'Employee' holds "
        "neither learner IDs nor emails (e.g. 'Ann Lee'): not used; if they are logins, pass "
        "--alias 'Employee=learner_login'"
    )


def test_a_content_id_column_holding_titles_is_not_used_as_course_ids(tmp_path):
    result = validated(
        tmp_path,
        [
            ["Email", "Content ID", "Course", "Due date type"],
            ["ann@example.com", "Fire Safety", "Ethics", "unlimited"],
        ],
    )
    assert requests(result) == [(2, by_email("ann@example.com"), titled("Ethics"))]
    assert result.notes == (
        "column B 'Content ID' holds no course IDs (e.g. 'Fire Safety'): not used; if they "
        "are titles, pass --alias 'Content ID=course_title'",
    )


# ---- duplicates and ignore --------------------------------------------------------------------


def test_two_used_columns_with_one_name_stop_the_run_naming_them_and_their_letters(tmp_path):
    message = refusal(
        tmp_path,
        [
            ["Name", "Email", "Course", "Email", "Due date type"],
            ["Ann", "ann@example.com", "Ethics", "ann.lee@example.com", "unlimited"],
        ],
    )
    assert message == (
        "hires.csv: columns B 'Email' and D 'Email' both give learner_email: which one to read "
        "is not clear; rename or delete all but one of them"
    )


def test_differently_named_columns_for_one_field_can_be_dropped_with_ignore(tmp_path):
    rows = [
        ["Email", "Work email", "Course", "Training", "Course title", "Due date type"],
        ["ann@example.com", "ann.lee@example.com", "Ethics", "Ethics", "Ethics", "unlimited"],
    ]
    message = refusal(tmp_path, rows)
    assert message == (
        "hires.csv: columns A 'Email' and B 'Work email' both give learner_email; columns C "
        "'Course', D 'Training' and E 'Course title' all give course_title: which one to read "
        "is not clear; keep one: delete the others, or drop one with --alias 'HEADER=ignore'"
    )
    aliases = {"Email": "ignore", "Course": "ignore", "Training": "IGNORE"}
    result = validated(tmp_path, rows, aliases=aliases)
    assert requests(result) == [(2, by_email("ann.lee@example.com"), titled("Ethics"))]
    assert result.columns.describe() == (
        "B 'Work email' -> learner_email, E 'Course title' -> course_title, "
        "F 'Due date type' -> due_date_type"
    )


def test_duplicates_among_columns_the_tool_does_not_use_are_fine(tmp_path):
    result = validated(
        tmp_path,
        [
            ["Notes", "Email", "Notes", "Course", "Department", "Department", "Due date type"],
            ["a", "ann@example.com", "b", "Ethics", "HR", "HR", "unlimited"],
        ],
    )
    assert requests(result) == [(2, by_email("ann@example.com"), titled("Ethics"))]


def test_alias_options_and_the_configuration_accept_ignore(tmp_path):
    assert parse_alias_options(["Manager email=ignore", "Buddy=Ignore"]) == {
        "Manager email": "ignore",
        "Buddy": "ignore",
    }
    configured = load_input_settings({"BULK_ENROLL_ALIASES": '{"Manager email": "IGNORE"}'})
    assert configured.aliases == {"Manager email": "ignore"}
    with pytest.raises(ConfigError, match="'ignored' is not a field; use one of learner_id, "):
        load_input_settings({"BULK_ENROLL_ALIASES": '{"Manager email": "ignored"}'})


# ---- the access date and typos ----------------------------------------------------------------


def test_a_start_or_hire_date_is_not_the_access_date(tmp_path):
    result = validated(
        tmp_path,
        [
            ["Email", "Course", "Due date type", "Start date", "Hire date"],
            ["ann@example.com", "Ethics", "unlimited", "2020-01-06", "2020-01-06"],
        ],
    )
    assert result.rows[0].requests[0].settings == UNLIMITED  # no access date in 2020
    assert result.notes == (
        "column D 'Start date' is not read as access_date (HR files use it for the hire date); "
        "if it is, pass --alias 'Start date=access_date'",
    )
    aliased = validated(tmp_path, [["Email", "Course", "Due date type", "Start date"],
                                   ["ann@example.com", "Ethics", "unlimited", "2027-01-06"]],
                        aliases={"Start date": "access_date"})  # fmt: skip
    assert aliased.rows[0].requests[0].settings.access_date.isoformat() == "2027-01-06T00:00:00"


@pytest.mark.parametrize("header", ["Access date", "Available from", "Start studying",
                                    "access_date", "accessDate"])  # fmt: skip
def test_access_date_headers_that_mean_it(header):
    assert map_columns(["Email", "Course", header]).index.get(Field.ACCESS_DATE) == 2


def test_misspelt_headers_get_a_did_you_mean(tmp_path):
    message = refusal(
        tmp_path, [["Emial", "Cousre title", "Due date type"], ["ann@example.com", "Ethics", "x"]]
    )
    assert message.startswith("hires.csv: no header row with a learner and a course column; ")
    assert message.endswith(
        "Found: 'Emial', 'Cousre title', 'Due date type'; column A 'Emial' is not used: "
        "did you mean 'email' (learner_email)?; column B 'Cousre title' is not used: did you "
        "mean 'course title' (course_title)?"
    )
    result = validated(
        tmp_path,
        [
            ["Email", "Course", "Due date type", "Due dtae", "Training date", "Manager"],
            ["ann@example.com", "Ethics", "unlimited", "", "", ""],
        ],
    )
    assert result.notes == (
        "column D 'Due dtae' is not used: did you mean 'due_date'?",
    )


def test_course_ids_by_position_letters_for_a_sheet_not_starting_at_a(tmp_path):
    columns = map_columns(["learner_id", "course_id"], first_column=2, hidden=frozenset({1}))
    assert columns.describe() == "C 'learner_id' -> learner_id, D 'course_id' -> course_id " \
        "(hidden column)"
    result = validated(tmp_path, [["learner_id", "course_id", "due_date_type"],
                                  [L1, C1, "unlimited"]])  # fmt: skip
    assert requests(result) == [(2, by_id(L1), course_id(C1))]


@pytest.mark.parametrize(
    "header",
    [
        ["E-Mail", "Kurs", "Fällig am", "Sperren"],  # German Excel users
        ["Adresse e-mail", "Formation", "Date limite", "Verrouiller"],  # French
        ["Correo electrónico", "Curso", "Fecha límite", "Bloquear"],  # Spanish
        ["Indirizzo email", "Corso", "Scadenza", "Bloccare"],  # Italian
        ["Email", "Courses", "Deadline", "Lock"],  # Google Sheets users, a plural
    ],
)
def test_headers_in_the_languages_hr_writes_them_map_to_the_fields(tmp_path, header):
    """A German or French export used to stop at "no header row with a learner and a course
    column" (exit 2)."""
    result = validated(tmp_path, [header, ["ann@example.com", "Ethics", "2027-03-31", "ja"]])
    assert result.columns.index == {
        Field.LEARNER_EMAIL: 0, Field.COURSE_TITLE: 1, Field.DUE_DATE: 2,
        Field.LOCK_AFTER_DUE_DATE: 3,
    }
    assert requests(result) == [(2, by_email("ann@example.com"), titled("Ethics"))]


def test_a_column_without_a_header_between_named_ones_is_said_not_read(tmp_path):
    """'2 weeks' under no header may mean something for the row: it is not guessed, and not
    silently dropped either. A headerless column of running numbers (pandas' index) is."""
    path = tmp_path / "gap.xlsx"
    write_workbook(path, {"Sheet": [["#", "Email", "Course", None, "Notes"],
                                    [1, "ann@example.com", "Ethics", "2 weeks", "new"],
                                    [2, "bob@example.com", "Ethics", None, None]]})
    result = validate_table(read_table(path))
    assert result.columns.notes == (
        "column D has no header but holds values (e.g. '2 weeks'): not read; if they mean "
        "something for their rows, give the column a header",
    )
    assert [problem for row in result.rows for problem in row.issues] == []
    index = write_text(tmp_path / "pandas.csv", [["", "Email", "Course"],
                                                 ["0", "ann@example.com", "Ethics"]])
    assert validate_table(read_table(index)).columns.notes == ()
    shifted = write_text(tmp_path / "shifted.csv", [["Email", "Course", "Due period"],
                                                    ["ann@example.com", "Ethics", "2", "5"]])
    assert validate_table(read_table(shifted)).columns.notes == ()  # a problem on its row
