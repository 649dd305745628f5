"""What a row's values mean, through `bulk-enroll run` against the sandbox over HTTP (issue 11,
the values, identifiers and feedback classes): identifiers that must agree, due date types
without a column, yes/no and units in HR's languages, Outlook's email forms, several courses
in one cell. Each test asserts the exact pairs the sandbox holds, the statuses and messages.

Expected enrollments come from the seeded directory by construction (which user, which
course), never from the code under test.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from bulk_enroll.cli import main
from bulk_enroll.model import DueDateType, DueSettings
from bulk_enroll.sandbox import default_directory
from tests.inputs import write_text
from tests.support import enrolled_once, sheet_rows

DIRECTORY = default_directory()
ACTIVE = [u for u in DIRECTORY.users if u.is_active]
COURSE = {c.title: c for c in reversed(DIRECTORY.courses)}  # a repeated title: the first one
FIRE, GDPR, CODE = COURSE["Fire Safety"], COURSE["GDPR Essentials"], COURSE["Code of Conduct 2027"]
UNLIMITED = DueSettings(DueDateType.UNLIMITED)
DEFAULT = DueSettings(DueDateType.DEFAULT)


def statuses_and_messages(report):
    return [(r["Status"], r["Message"]) for r in sheet_rows(report)]


def test_an_id_and_a_hidden_email_naming_two_people_are_not_enrolled(sandbox, tmp_path):
    """Before, the ID silently won: here User ID names one person and the (hidden) Email
    column another, and nothing is sent for that row."""
    pavel, david, anna, james = ACTIVE[0], ACTIVE[1], ACTIVE[2], ACTIVE[3]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["User ID", "Email", "Course ID", "Course", "Due date type"])
    sheet.append([pavel.user_id, pavel.email.upper(), FIRE.content_id, "fire safety", "unlimited"])
    sheet.append([pavel.user_id, david.email, GDPR.content_id, None, "unlimited"])
    sheet.append([anna.user_id, None, GDPR.content_id, FIRE.title, "unlimited"])
    sheet.append([None, james.email, None, GDPR.title, "unlimited"])
    sheet.column_dimensions["B"].hidden = True
    book.save(tmp_path / "hr.xlsx")

    assert main(["run", str(tmp_path / "hr.xlsx"), "--report", "out.xlsx"]) == 1
    assert enrolled_once(sandbox) == {
        (pavel.user_id, FIRE.content_id, UNLIMITED),
        (james.user_id, GDPR.content_id, UNLIMITED),
    }
    assert statuses_and_messages(tmp_path / "out.xlsx") == [
        ("enrolled", None),
        ("invalid", f"Email: User ID is {pavel.full_name}'s but Email is {david.full_name}'s: "
                    "both must name the same person; correct one of them (or clear it)"),
        ("invalid", "Course: Course ID is the course 'GDPR Essentials' but Course is 'Fire "
                    "Safety': both must name the same course; correct one of them (or clear it)"),
        ("enrolled", None),
    ]


def test_without_the_rest_api_the_id_is_used_and_the_row_says_the_email_was_not_checked(
    soap_only_sandbox, tmp_path, capsys
):
    pavel, david = ACTIVE[0], ACTIVE[1]
    path = write_text(tmp_path / "ids.csv", [
        ["learner_id", "Email", "course_id", "due_date_type"],
        [pavel.user_id, david.email, FIRE.content_id, "unlimited"],
    ])
    assert main(["run", str(path), "--report", "out.xlsx"]) == 0
    assert enrolled_once(soap_only_sandbox) == {(pavel.user_id, FIRE.content_id, UNLIMITED)}
    assert statuses_and_messages(tmp_path / "out.xlsx") == [(
        "enrolled",
        f"Email ('{david.email}') was not checked against learner_id: it can only be looked up "
        "through the account's REST API (set BULK_ENROLL_API_URL to have them checked); "
        "learner_id was used",
    )]
    # An exit 0 that says nothing on the terminal would read as "checked": the summary says it.
    assert ("1 row with a learner or course named in more than one column (an ID and an email, "
            "...): without the account's REST API (BULK_ENROLL_API_URL) the names could not be "
            "checked against each other, and the ID was used; each row's message says which"
            ) in capsys.readouterr().err


def test_a_file_without_due_date_types_german_yes_no_and_units(sandbox, tmp_path, capsys):
    """A German HR export: semicolons, no due date type, 'Tage' and 'Wochen', WAHR/FALSCH."""
    users = ACTIVE[:5]
    path = write_text(
        tmp_path / "schulungen.csv",
        [
            ["E-Mail", "Kurs", "Due date", "Due period", "Lock"],
            [users[0].email, FIRE.title, "31.03.2027", "", "WAHR"],
            [users[1].email, FIRE.title, "", "10 Tage", "falsch"],
            [users[2].email, FIRE.title, "", "2 Wochen", "Ja"],
            [users[3].email, FIRE.title, "", "", ""],
            [users[4].email, FIRE.title, "", "3 Monate", "nein"],
        ],
        delimiter=";",
        encoding="cp1252",
    )
    assert main(["run", str(path), "--alias", "Kurs=course_title", "--report", "out.xlsx"]) == 1
    assert enrolled_once(sandbox) == {
        (users[0].user_id, FIRE.content_id,
         DueSettings(DueDateType.DUE_DATE, due_date=dt.date(2027, 3, 31),
                     lock_after_due_date=True)),
        (users[1].user_id, FIRE.content_id,
         DueSettings(DueDateType.DUE_PERIOD, due_period_hours=240, lock_after_due_date=False)),
        (users[2].user_id, FIRE.content_id,
         DueSettings(DueDateType.DUE_PERIOD, due_period_hours=336, lock_after_due_date=True)),
        (users[3].user_id, FIRE.content_id, DEFAULT),
    }
    assert statuses_and_messages(tmp_path / "out.xlsx") == [
        ("enrolled", "due date type due_date: the row gives a due date and no type"),
        ("enrolled", "due date type due_period: the row gives a due period and no type; "
                     "Due period: due period '10 Tage' read as 240 hours"),
        ("enrolled", "due date type due_period: the row gives a due period and no type; "
                     "Due period: due period '2 Wochen' read as 336 hours"),
        ("enrolled", "due date type default (the course's own due date settings): the row "
                     "gives no type, due date or period"),
        ("invalid", "Due period: '3 Monate' is not a due period: months and years have no "
                    "fixed number of hours; give hours, days or weeks (36h, 10 days, 2 weeks, "
                    "10 Tage, 2 semaines); due date type due_period: the row gives a due period "
                    "and no type"),
    ]
    facts = {row[0]: row[1] for row in openpyxl.load_workbook(tmp_path / "out.xlsx")["Summary"]
             .iter_rows(values_only=True) if row and row[0]}
    assert (
        "the file has no due_date_type column: a row with a due date gets due_date, one with a "
        "due period due_period, one with neither default (the course's own due date settings; "
        "--due-date-type or [defaults] due_date_type chooses another); rows: 1 default, "
        "1 due_date, 2 due_period"
    ) in facts["Note"]


def test_the_inbox_takes_the_default_due_date_type_from_the_configuration(
    sandbox, tmp_path, monkeypatch
):
    inbox = tmp_path / "drop"
    inbox.mkdir()
    write_text(inbox / "hires.csv", [["Email", "Course"],
                                     [ACTIVE[0].email, FIRE.title],
                                     [ACTIVE[1].email, GDPR.title]])
    config = tmp_path / "config.toml"
    config.write_text('[defaults]\ndue_date_type = "unlimited"\nlock_after_due_date = false\n'
                      "[inbox]\nstable_seconds = 0\n")
    assert main(["--config", str(config), "inbox", str(inbox)]) == 0
    settings = DueSettings(DueDateType.UNLIMITED, lock_after_due_date=False)
    assert enrolled_once(sandbox) == {(ACTIVE[0].user_id, FIRE.content_id, settings),
                                      (ACTIVE[1].user_id, GDPR.content_id, settings)}


def test_outlook_addresses_and_loosely_typed_titles_enroll_the_right_people(sandbox, tmp_path):
    a, b, c, d = ACTIVE[:4]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Employee", "Course", "Due date type", "Lock"])
    sheet.append([f'"{a.full_name}" <{a.email}>', "  fire   SAFETY ", "unlimited", "oui"])
    sheet.append([f"{b.last_name}, {b.first_name} <{b.email}>; "
                  f"{c.last_name}, {c.first_name} <{c.email}>", "GDPR\u00a0Essentials",
                  "unlimited", "VRAI"])
    sheet.append([f"mailto:{d.email}", "Code of Conduct 2027", "unlimited", "não"])
    sheet.append([f"{a.email} <{d.email}>", "Fire Safety", "unlimited", "sí"])
    book.save(tmp_path / "outlook.xlsx")
    assert main(["run", str(tmp_path / "outlook.xlsx"), "--report", "out.xlsx"]) == 1
    lock, no_lock = (DueSettings(DueDateType.UNLIMITED, lock_after_due_date=flag)
                     for flag in (True, False))
    assert enrolled_once(sandbox) == {
        (a.user_id, FIRE.content_id, lock),
        (b.user_id, GDPR.content_id, lock),
        (c.user_id, GDPR.content_id, lock),
        (d.user_id, CODE.content_id, no_lock),
    }
    assert statuses_and_messages(tmp_path / "out.xlsx") == [
        ("enrolled", f"Employee: '\"{a.full_name}\" <{a.email}>' read as {a.email}"),
        ("enrolled", f"Employee: '{b.last_name}, {b.first_name} <{b.email}>; {c.last_name}, "
                     f"{c.first_name} <{c.email}>' read as {b.email}, {c.email}"),
        ("enrolled", f"Employee: 'mailto:{d.email}' read as {d.email}"),
        ("invalid", f"Employee: '{a.email} <{d.email}>' names two addresses ({a.email} and "
                    f"{d.email}); keep one, or separate addresses with ';'"),
    ]


def test_several_courses_in_one_cell_separated_by_commas(sandbox, tmp_path):
    """A title with a comma is one course; a list of titles (or IDs) is several; anything else
    asks for ';' instead of guessing."""
    hse = COURSE["Health, Safety and Environment"]
    a, b, c, d = ACTIVE[:4]
    path = write_text(tmp_path / "courses.csv", [
        ["Email", "Course", "Due date type"],
        [a.email, "Health, Safety and Environment", "unlimited"],
        [b.email, "Fire Safety, gdpr  essentials", "unlimited"],
        [c.email, f"Fire Safety, {CODE.content_id}", "unlimited"],
        [d.email, "Fire Safety, First Aid Basics", "unlimited"],
        [d.email, "Health; Safety", "unlimited"],
    ])
    assert main(["run", str(path), "--report", "out.xlsx"]) == 1
    assert enrolled_once(sandbox) == {
        (a.user_id, hse.content_id, UNLIMITED),
        (b.user_id, FIRE.content_id, UNLIMITED),
        (b.user_id, GDPR.content_id, UNLIMITED),
        (c.user_id, FIRE.content_id, UNLIMITED),
        (c.user_id, CODE.content_id, UNLIMITED),
    }
    assert statuses_and_messages(tmp_path / "out.xlsx") == [
        ("enrolled", None),
        ("enrolled", "Course: 'Fire Safety, gdpr  essentials' read as 2 courses (Fire Safety; "
                     "gdpr  essentials); separate courses with ';' to be sure"),
        ("enrolled", f"Course: 'Fire Safety, {CODE.content_id}' read as 2 courses (Fire Safety; "
                     f"{CODE.content_id}); separate courses with ';' to be sure"),
        ("invalid", "Course: no course titled 'Fire Safety, First Aid Basics'; to name several "
                    "courses in one cell, separate them with ';' (as a list, 'First Aid Basics' "
                    "is no course either)"),
        ("invalid", "Course: no course titled 'Health'; Course: no course titled 'Safety'; did "
                    "you mean 'Fire Safety'?"),
    ]


def test_the_terminal_groups_the_same_problem_and_says_what_to_fix_in_the_lms(
    sandbox, tmp_path, monkeypatch, capsys
):
    """An inactive user on four rows is one line; so is a mistyped email on two; the rows the
    account refuses (a department administrator's outsider) are said to need the LMS."""
    from bulk_enroll.sandbox.state import DEPT_ADMIN_CLIENT_ID, DEPT_ADMIN_CLIENT_SECRET

    monkeypatch.setenv("BULK_ENROLL_CLIENT_ID", DEPT_ADMIN_CLIENT_ID)
    monkeypatch.setenv("BULK_ENROLL_CLIENT_SECRET", DEPT_ADMIN_CLIENT_SECRET)
    department = sandbox.state.dept_admin_department_id
    insider = next(u for u in ACTIVE if u.department_id == department)
    outsider = next(u for u in ACTIVE if u.department_id != department)
    gone = next(u for u in DIRECTORY.users if u.status == "inactive")
    titles = [FIRE.title, GDPR.title, CODE.title, "Information Security Basics"]
    path = write_text(tmp_path / "team.csv", [
        ["Email", "Course"],
        *([gone.email, title] for title in titles),
        ["ann.typo@example.com", FIRE.title],
        [insider.email, FIRE.title],
        ["ann.typo@example.com", GDPR.title],
        ["not-an-email", FIRE.title],
        [outsider.email, GDPR.title],
    ])
    assert main(["run", str(path), "--report", "out.xlsx"]) == 1
    assert enrolled_once(sandbox) == {(insider.user_id, FIRE.content_id, DEFAULT)}
    out = capsys.readouterr().out
    assert (
        "3 problems in the file:\n"
        "  team.csv, column 'Email': no user with email 'ann.typo@example.com': 2 rows (6, 8)\n"
        "  team.csv, row 9, column 'Email': 'not-an-email' is not an email address (expected "
        "one like ann.lee@example.com)\n"
        "5 rows to fix in the LMS (the file is right; the account is not):\n"
        f"  team.csv, column 'Email': the user with email '{gone.email}' ({gone.full_name}, "
        f"{gone.user_id}) is inactive (deactivated in the LMS) and cannot be enrolled: 4 rows "
        "(2, 3, 4, 5)\n"
        "  team.csv, row 10: failed: Permission denied"
    ) in out


# --- a localised office suite's TRUE and FALSE -------------------------------------------------

LOCALES = {"de-DE": ("WAHR", "FALSCH"), "fr-FR": ("VRAI", "FAUX"),
           "es-ES": ("VERDADERO", "FALSO"), "it-IT": ("VERO", "FALSO"),
           "nl-NL": ("WAAR", "ONWAAR"), "pt-PT": ("VERDADEIRO", "FALSO")}
LOCALE_SETTING = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry">
<item oor:path="/org.openoffice.Setup/L10N"><prop oor:name="ooSetupSystemLocale" oor:op="fuse">
<value>{locale}</value></prop></item>
</oor:items>
"""


@pytest.fixture(scope="session")
def localised_csv(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """locale -> the CSV LibreOffice, set to that locale, saves from a workbook whose Lock
    column holds real TRUE and FALSE cells (semicolons, as in those locales)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    base = tmp_path_factory.mktemp("localised")
    book = openpyxl.Workbook()
    book.active.append(["Email", "Course", "Due date type", "Lock"])
    book.active.append([ACTIVE[0].email, FIRE.title, "unlimited", True])
    book.active.append([ACTIVE[1].email, FIRE.title, "unlimited", False])
    book.save(base / "locks.xlsx")
    written = {}
    for locale in LOCALES:
        profile = base / f"profile-{locale}"
        (profile / "user").mkdir(parents=True)
        (profile / "user" / "registrymodifications.xcu").write_text(
            LOCALE_SETTING.format(locale=locale), encoding="utf-8")
        out = base / locale
        subprocess.run(
            [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
             "--convert-to", "csv:Text - txt - csv (StarCalc):59,34,76,1,,0,false,true,true",
             "--outdir", str(out), str(base / "locks.xlsx")],
            capture_output=True, timeout=180, check=True,
        )
        written[locale] = out / "locks.csv"
    return written


@pytest.mark.parametrize("locale", list(LOCALES))
def test_a_csv_saved_by_a_localised_office_suite_keeps_its_yes_and_no(
    sandbox, localised_csv, locale
):
    path = localised_csv[locale]
    yes, no = LOCALES[locale]
    assert path.read_text(encoding="utf-8").splitlines()[1:] == [
        f"{ACTIVE[0].email};{FIRE.title};unlimited;{yes}",
        f"{ACTIVE[1].email};{FIRE.title};unlimited;{no}",
    ]  # what LibreOffice wrote, in that locale
    assert main(["run", str(path), "--report", "out.xlsx"]) == 0
    assert enrolled_once(sandbox) == {
        (ACTIVE[0].user_id, FIRE.content_id, DueSettings(DueDateType.UNLIMITED,
                                                         lock_after_due_date=True)),
        (ACTIVE[1].user_id, FIRE.content_id, DueSettings(DueDateType.UNLIMITED,
                                                         lock_after_due_date=False)),
    }


def test_a_name_beside_an_address_that_is_someone_elses_is_not_enrolled(sandbox, tmp_path):
    """'"Anna Kowalski" <james.smith@...>' names two people: before, James Smith was enrolled
    with a note. The name only needs to share a word with the account's name."""
    anna, james, maria, lukas = ACTIVE[:4]
    path = write_text(tmp_path / "outlook.csv", [
        ["Email", "Course", "Due date type"],
        [f'"{anna.first_name} {anna.last_name}" <{james.email}>', FIRE.title, "unlimited"],
        [f"{maria.last_name}, {maria.first_name} <{maria.email}>", FIRE.title, "unlimited"],
        [f"{lukas.first_name[0]}. {lukas.last_name.upper()} <{lukas.email}>", FIRE.title,
         "unlimited"],
    ])
    assert main(["run", str(path), "--report", "out.xlsx"]) == 1
    assert enrolled_once(sandbox) == {(maria.user_id, FIRE.content_id, UNLIMITED),
                                      (lukas.user_id, FIRE.content_id, UNLIMITED)}
    status, message = statuses_and_messages(tmp_path / "out.xlsx")[0]
    assert status == "invalid"
    assert message.startswith(
        f"Email: the name '{anna.first_name} {anna.last_name}' is given with {james.email}, "
        f"which is {james.first_name} {james.last_name}'s address: which person is meant is "
        "not clear; correct the address, or remove the name")
