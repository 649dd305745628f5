"""Rows -> requests as written: learner/course columns, aliases, multi-value cells, dates,
booleans, due period units; exact requests and exact problems from real files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bulk_enroll.errors import InputFileError
from bulk_enroll.model import DueDateType, DueSettings
from bulk_enroll.read.columns import Field, parse_alias_options
from bulk_enroll.read.reader import read_table
from bulk_enroll.validate.rows import RowDefaults, ValidatedInput, validate_table
from bulk_enroll.validate.values import BOOL_EXPECTED
from tests.inputs import by_email, by_id, by_login, course_id, titled, write_text, write_workbook
from tests.support import make_id

L1, L2, C1, C2 = make_id("l1"), make_id("l2"), make_id("c1"), make_id("c2")
UNLIMITED = DueSettings(DueDateType.UNLIMITED)


def validated(path: Path, **options: object) -> ValidatedInput:
    aliases = options.get("aliases")
    return validate_table(read_table(path, aliases=aliases), **options)  # type: ignore[arg-type]


def requests(result: ValidatedInput) -> list[tuple[int, object, object]]:
    return [(row.source.row, r.learner, r.course) for row in result.rows for r in row.requests]


def problems(result: ValidatedInput) -> list[tuple[int, str | None, str]]:
    return [(i.source.row, i.column, i.message) for r in result.rows for i in r.issues]


@pytest.mark.parametrize(
    "learner_header,course_header",
    [
        ("learner_email", "course_title"),
        ("Employee email", "Course"),
        ("E-mail", "Course name"),
        ("Email", "Course title"),
    ],
)
def test_learners_by_email_and_courses_by_title_under_common_headers(
    tmp_path, learner_header, course_header
):
    path = write_text(
        tmp_path / "in.csv",
        [
            [learner_header, course_header, "Due date type"],
            [" Ann.Lee@Example.com ", "Fire safety", "unlimited"],
        ],
    )
    assert requests(validated(path)) == [
        (2, by_email("ann.lee@example.com"), titled("Fire safety"))
    ]


def test_logins_ids_and_titles_that_are_ids(tmp_path):
    path = write_text(
        tmp_path / "in.csv",
        [
            ["Login", "Course", "due_date_type"],
            ["jdoe", C1.upper(), "unlimited"],  # a UUID in a title column is the course's ID
        ],
    )
    assert requests(validated(path)) == [(2, by_login("jdoe"), course_id(C1))]


def test_the_id_is_used_the_other_names_kept_for_checking_and_the_email_when_alone(tmp_path):
    path = write_text(
        tmp_path / "in.csv",
        [
            ["learner_email", "Learner ID", "course_title", "course_id", "due_date_type"],
            ["ann@example.com", L1, "Ethics", C1, "unlimited"],
            ["bob@example.com", "", "Ethics", "", "unlimited"],
            ["not an email", L2, "", C2, "unlimited"],  # beside the ID, it is still read
            ["", "", "", "", "unlimited"],
        ],
    )
    result = validated(path)
    assert requests(result) == [
        (2, by_id(L1), course_id(C1)),
        (3, by_email("bob@example.com"), titled("Ethics")),
    ]
    assert [(twice.headers, twice.names) for twice in result.rows[0].named_twice] == [
        (("Learner ID", "learner_email"), ((by_id(L1),), (by_email("ann@example.com"),))),
        (("course_id", "course_title"), ((course_id(C1),), (titled("Ethics"),))),
    ]
    assert result.rows[1].named_twice == ()
    assert problems(result) == [
        (4, "learner_email",
         "'not an email' is not an email address (expected one like ann.lee@example.com)"),
        (5, "Learner ID", "no learner: 'Learner ID' and 'learner_email' are empty"),
        (5, "course_id", "no course: 'course_id' and 'course_title' are empty"),
    ]
    assert result.rows[2].references == (by_id(L2), course_id(C2))


def test_multi_value_cells_expand_into_every_combination_of_the_row(tmp_path):
    path = write_text(
        tmp_path / "in.csv",
        [
            ["learner_email", "course_title", "due_date_type"],
            ["ann@example.com; bob@example.com", "Fire safety, advanced\nFirst aid", "unlimited"],
            ["carl@example.com,dana@example.com", "Ethics", "unlimited"],
            ["eve@example.com; not-an-email", "Ethics", "unlimited"],
        ],
    )
    result = validated(path)
    assert requests(result) == [
        (2, by_email("ann@example.com"), titled("Fire safety, advanced")),
        (2, by_email("ann@example.com"), titled("First aid")),
        (2, by_email("bob@example.com"), titled("Fire safety, advanced")),
        (2, by_email("bob@example.com"), titled("First aid")),
        (3, by_email("carl@example.com"), titled("Ethics")),
        (3, by_email("dana@example.com"), titled("Ethics")),
    ]
    assert problems(result) == [
        (
            4,
            "learner_email",
            "'not-an-email' is not an email address (expected one like ann.lee@example.com)",
        )
    ]


def test_outlook_address_forms_give_the_address_with_a_note(tmp_path):
    path = write_workbook(
        tmp_path / "outlook.xlsx",
        {"Sheet1": [
            ["Email", "Course", "Due date type"],
            ['"Ann Lee" <Ann.Lee@example.com>', "Ethics", "unlimited"],
            ["Doe, Jane <jane@example.com>; Roe, John <john@example.com>", "Ethics", "unlimited"],
            ["mailto:carl@example.com", "Ethics", "unlimited"],
            ["dana@example.com <eve@example.com>", "Ethics", "unlimited"],
        ]},
    )
    result = validated(path)
    assert requests(result) == [
        (2, by_email("ann.lee@example.com"), titled("Ethics")),
        (3, by_email("jane@example.com"), titled("Ethics")),
        (3, by_email("john@example.com"), titled("Ethics")),
        (4, by_email("carl@example.com"), titled("Ethics")),
    ]
    assert [row.notes for row in result.rows[:3]] == [
        ("Email: '\"Ann Lee\" <Ann.Lee@example.com>' read as ann.lee@example.com",),
        ("Email: 'Doe, Jane <jane@example.com>; Roe, John <john@example.com>' read as "
         "jane@example.com, john@example.com",),
        ("Email: 'mailto:carl@example.com' read as carl@example.com",),
    ]
    assert problems(result) == [
        (5, "Email", "'dana@example.com <eve@example.com>' names two addresses "
                     "(dana@example.com and eve@example.com); keep one, or separate addresses "
                     "with ';'"),
    ]


def test_a_learner_column_of_outlook_addresses_is_an_email_column(tmp_path):
    path = write_text(
        tmp_path / "in.csv",
        [["Employee", "Course", "Due date type"],
         ["Ann Lee <ann@example.com>", "Ethics", "unlimited"]],
    )
    result = validated(path)
    assert result.columns.describe().startswith("A 'Employee' -> learner_email")
    assert requests(result) == [(2, by_email("ann@example.com"), titled("Ethics"))]


def test_course_ids_separated_by_commas_in_a_title_column_are_several_courses(tmp_path):
    path = write_text(
        tmp_path / "in.csv",
        [["learner_id", "Course", "due_date_type"],
         [L1, f"{C1}, {{{C2.upper()}}}", "unlimited"],
         [L1, f"Ethics, {C2}", "unlimited"]],  # titles hold commas: the account's list decides
    )
    assert requests(validated(path)) == [
        (2, by_id(L1), course_id(C1)),
        (2, by_id(L1), course_id(C2)),
        (3, by_id(L1), titled(f"Ethics, {C2}")),
    ]


def test_multiple_course_ids_in_one_cell(tmp_path):
    path = write_text(
        tmp_path / "in.csv",
        [["learner_id", "course_id", "due_date_type"], [L1, f"{C1}, {C2}", "unlimited"]],
    )
    assert requests(validated(path)) == [
        (2, by_id(L1), course_id(C1)),
        (2, by_id(L1), course_id(C2)),
    ]


def test_user_aliases_map_unknown_headers(tmp_path):
    path = write_text(
        tmp_path / "in.csv",
        [
            ["Mitarbeiter E-Mail", "Schulung", "Fälligkeitsart"],
            ["ann@example.com", "Brandschutz", "unlimited"],
        ],
    )
    with pytest.raises(InputFileError, match="no header row with a learner and a course column"):
        read_table(path)
    aliases = parse_alias_options(
        ["Mitarbeiter E-Mail=learner_email", "Schulung=course_title", "Fälligkeitsart=due type"]
    )
    assert aliases == {
        "Mitarbeiter E-Mail": Field.LEARNER_EMAIL,
        "Schulung": Field.COURSE_TITLE,
        "Fälligkeitsart": Field.DUE_DATE_TYPE,
    }
    assert requests(validated(path, aliases=aliases)) == [
        (2, by_email("ann@example.com"), titled("Brandschutz"))
    ]


def test_bad_alias_options_say_what_is_allowed():
    with pytest.raises(ValueError, match="^'Email' is not HEADER=FIELD"):
        parse_alias_options(["Email"])
    with pytest.raises(ValueError) as error:
        parse_alias_options(["Mail=learner_mail"])
    assert str(error.value).startswith("'learner_mail' is not a field; use one of learner_id, ")


DATE_FORMS = [
    ("2027-03-31", dt.date(2027, 3, 31)),
    ("31.03.2027", dt.date(2027, 3, 31)),
    ("31/03/2027", dt.date(2027, 3, 31)),
    ("3/31/2027", dt.date(2027, 3, 31)),
    ("2027/03/31", dt.date(2027, 3, 31)),
    ("31-Mar-2027", dt.date(2027, 3, 31)),
    ("46477", dt.date(2027, 3, 31)),
]


def test_each_date_form_in_a_csv(tmp_path):
    rows = [["learner_id", "course_id", "due_date_type", "due_date"]]
    rows += [[make_id(f"l{i}"), C1, "due_date", text] for i, (text, _) in enumerate(DATE_FORMS)]
    result = validated(write_text(tmp_path / "dates.csv", rows))
    assert problems(result) == []
    assert [r.settings.due_date for row in result.rows for r in row.requests] == [
        date for _, date in DATE_FORMS
    ]
    assert result.rows[-1].notes == ("due_date: 46477 read as an Excel date number: 2027-03-31",)


def test_ambiguous_slash_dates_and_the_date_order_option(tmp_path):
    path = write_text(
        tmp_path / "us.csv",
        [
            ["learner_id", "course_id", "due_date_type", "due_date", "access_date"],
            [L1, C1, "due_date", "03/04/2027", ""],
            [L2, C1, "due_date", "13/04/2027", "04/05/2027 09:00"],
        ],
    )
    assert problems(validated(path)) == [
        (
            2,
            "due_date",
            "'03/04/2027' is ambiguous: 3 April 2027 (day first) or March 4, 2027 (month first); "
            "pass --date-order dmy or --date-order mdy, or write it as YYYY-MM-DD",
        ),
        (
            3,
            "access_date",
            "'04/05/2027 09:00' is ambiguous: 4 May 2027 (day first) or April 5, 2027 (month "
            "first); pass --date-order dmy or --date-order mdy, or write it as YYYY-MM-DD",
        ),
    ]
    result = validated(path, date_order="mdy")
    assert [r.settings for row in result.rows for r in row.requests] == [
        DueSettings(DueDateType.DUE_DATE, due_date=dt.date(2027, 3, 4)),
        DueSettings(
            DueDateType.DUE_DATE,
            access_date=dt.datetime(2027, 4, 5, 9, 0),
            due_date=dt.date(2027, 4, 13),
        ),
    ]
    assert problems(validated(path, date_order="dmy")) == [  # read day first, 4 May is later
        (3, "due_date", "due date 2027-04-13 is before the access date 2027-05-04")
    ]


def test_date_order_applies_to_command_line_defaults(tmp_path):
    path = write_text(tmp_path / "in.csv", [["learner_id", "course_id"], [L1, C1]])
    defaults = RowDefaults(due_date_type="due_date", due_date="01/02/2027")
    with pytest.raises(InputFileError, match="^--due-date: '01/02/2027' is ambiguous"):
        validated(path, defaults=defaults)
    result = validated(path, defaults=defaults, date_order="dmy")
    assert result.rows[0].requests[0].settings.due_date == dt.date(2027, 2, 1)


def test_due_date_before_access_date(tmp_path):
    path = write_text(
        tmp_path / "in.csv",
        [
            ["learner_id", "course_id", "due_date_type", "due_date", "access_date"],
            [L1, C1, "due_date", "31.01.2027", "01.02.2027 08:00"],
        ],
    )
    assert problems(validated(path)) == [
        (2, "due_date", "due date 2027-01-31 is before the access date 2027-02-01")
    ]


def test_boolean_cells_of_every_kind_in_xlsx(tmp_path):
    words = [True, False, "TRUE", "false", "yes", "No", "y", "n", 1, 0, "1", "0"]
    rows = [["learner_id", "course_id", "due_date_type", "Lock after due date"]]
    rows += [[make_id(f"l{i}"), C1, "unlimited", word] for i, word in enumerate(words)]
    rows += [[L1, C2, "unlimited", "perhaps"], [L2, C2, "unlimited", None]]
    result = validated(write_workbook(tmp_path / "bools.xlsx", {"Sheet1": rows}))
    locks = [row.requests[0].settings.lock_after_due_date for row in result.rows if row.requests]
    assert locks == [True, False] * 6 + [None]
    assert problems(result) == [
        (
            len(words) + 2,
            "Lock after due date",
            "'perhaps' is not true or false "
            f"({BOOL_EXPECTED})",
        )
    ]


def test_a_check_mark_column_reads_empty_as_false(tmp_path):
    path = write_text(
        tmp_path / "marks.csv",
        [
            ["learner_id", "course_id", "due_date_type", "Lock"],
            [L1, C1, "unlimited", "x"],
            [L2, C1, "unlimited", ""],
            [L1, C2, "unlimited", " X "],
        ],
    )
    result = validated(path)
    assert [row.requests[0].settings.lock_after_due_date for row in result.rows] == [
        True,
        False,
        True,
    ]


def test_due_period_units_are_converted_and_noted(tmp_path):
    path = write_text(
        tmp_path / "in.csv",
        [
            ["learner_id", "course_id", "due_date_type", "due_period"],
            [L1, C1, "due_period", "10 days"],
            [L2, C1, "due_period", "2 weeks"],
            [L1, C2, "due_period", "36h"],
            [L2, C2, "due_period", "720"],
        ],
    )
    result = validated(path)
    assert [row.requests[0].settings.due_period_hours for row in result.rows] == [240, 336, 36, 720]
    assert [row.notes for row in result.rows] == [
        ("due_period: due period '10 days' read as 240 hours",),
        ("due_period: due period '2 weeks' read as 336 hours",),
        ("due_period: due period '36h' read as 36 hours",),
        (),
    ]


def test_numeric_login_in_xlsx_warns_but_a_numeric_id_is_an_error(tmp_path):
    path = write_workbook(
        tmp_path / "in.xlsx",
        {
            "Sheet1": [
                ["learner_id", "learner_login", "course_id", "due_date_type"],
                [None, 1234.0, C1, "unlimited"],
                [98765, None, C1, "unlimited"],
            ]
        },
    )
    result = validated(path)
    assert requests(result) == [(2, by_login("1234"), course_id(C1))]
    assert result.rows[0].notes == (
        "learner_login: Excel stored 1234 as a number; if it had leading zeros they may "
        "already be lost (format the column as Text)",
    )
    assert problems(result) == [
        (
            3,
            "learner_id",
            "'98765' is not an ID (expected a UUID like 8363b098-e031-11e9-89cf-0a580af40b0f)",
        )
    ]


def test_missing_learner_and_course_columns_after_aliases_is_one_error(tmp_path):
    path = write_text(tmp_path / "in.csv", [["learner_id", "course_id"], [L1, C1]])
    table = read_table(path)
    with pytest.raises(InputFileError) as error:
        validate_table(table, aliases={"learner_id": "due_date", "course_id": "due_period"})
    assert str(error.value).startswith(
        "in.csv: missing a learner column (learner_id, learner_email, learner_login; "
    )
    assert str(error.value).endswith("Columns found: 'learner_id', 'course_id'")
