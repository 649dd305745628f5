"""Regenerate the sample input files from the sandbox's seeded directory.

Run `python sample_data/make_samples.py`. The output is byte-for-byte deterministic (fixed IDs
from `default_directory()`, fixed workbook timestamps), so regenerating shows no diff unless
the data changed. Both files mix valid rows with a few deliberately broken ones, so a dry run
against the sandbox shows every kind of row status; the script prints which rows are broken.

new_hires_onboarding.xlsx (sheet "Enrollments", 151 data rows): three cohorts of new hires,
each assigned 3-5 courses, and 6 broken rows: learner_id "EMP-00123"; a well-formed UUID that
is not in the directory; due_date type without a due_date; due_date_type "asap"; due_period
"-5"; an exact duplicate of an earlier row.

compliance_refresh.csv (UTF-8 with BOM, ";" delimited, 77 data rows): everyone in Finance,
Human Resources and Legal assigned two compliance courses, and 4 broken rows: due_date
"2027-02-30"; lock flag "maybe"; no course_id and a misspelled course title; an inactive
user's ID.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script from a checkout, package not installed

from openpyxl import Workbook  # noqa: E402
from openpyxl.styles import Font  # noqa: E402
from openpyxl.utils import get_column_letter  # noqa: E402

from bulk_enroll.sandbox.directory import (  # noqa: E402
    Course,
    Directory,
    User,
    default_directory,
    sandbox_id,
)

OUT_DIR = Path(__file__).resolve().parent
XLSX_NAME = "new_hires_onboarding.xlsx"
CSV_NAME = "compliance_refresh.csv"

# Fixed workbook metadata and zip entry times: openpyxl would stamp "now" on every save.
FIXED_TIME = dt.datetime(2027, 1, 1, 0, 0, 0)

# HR exports name the line manager; these people need not be LMS users.
MANAGERS = {
    "Engineering": "Søren Ålund",
    "Sales": "Zoë Laurent",
    "Customer Support": "José Núñez",
    "Operations": "Grzegorz Wiśniewski",
    "Finance": "Margit Østergaard",
    "Human Resources": "Amélie Brunet",
    "Legal": "Raphaël Côté",
}

XLSX_COLUMNS = (
    "Employee name",
    "Department",
    "Manager",
    "Cohort",
    "learner_id",
    "Course title",
    "course_id",
    "access_date",
    "due_date_type",
    "due_date",
    "due_period",
    "lock_after_due_date",
)
DATE_FORMATS = {"access_date": "yyyy-mm-dd hh:mm:ss", "due_date": "yyyy-mm-dd"}
CSV_COLUMNS = (
    "Employee name",
    "Department",
    "Manager",
    "learner_id",
    "Course title",
    "course_id",
    "due_date_type",
    "due_date",
    "lock_after_due_date",
)


@dataclass
class Row:
    """One output row by column name, plus why it is broken (empty for valid rows)."""

    cells: dict[str, object]
    broken: str = ""


def _course(directory: Directory, title: str) -> Course:
    matches = [c for c in directory.courses if c.title == title]
    assert len(matches) == 1, f"course title {title!r} must be unique"
    return matches[0]


def _department_users(directory: Directory, name: str) -> list[User]:
    department = next(d for d in directory.departments if d.name == name)
    return [u for u in directory.users if u.department_id == department.department_id]


def _person(directory: Directory, user: User) -> dict[str, object]:
    department = directory.department_by_id[user.department_id].name
    return {
        "Employee name": user.full_name,
        "Department": department,
        "Manager": MANAGERS[department],
        "learner_id": user.user_id,
    }


def _enrollment(course: Course) -> dict[str, object]:
    return {"Course title": course.title, "course_id": course.content_id}


# --- new hires (xlsx) ----------------------------------------------------------------------


@dataclass(frozen=True)
class Cohort:
    name: str
    learners: tuple[User, ...]
    course_titles: tuple[str, ...]
    settings: dict[str, object]


def _cohorts(directory: Directory) -> list[Cohort]:
    def newest(department: str, count: int) -> list[User]:
        # New hires are the last users added to a department; leavers are never new hires.
        return [u for u in _department_users(directory, department) if u.is_active][-count:]

    onboarding = ("Onboarding: Welcome to the Company", "Code of Conduct 2027")
    return [
        Cohort(
            "2027-01 Engineering",
            tuple(newest("Engineering", 12)),
            (*onboarding, "Information Security Basics", "GDPR Essentials"),
            {
                "access_date": dt.datetime(2027, 1, 4, 9, 0),
                "due_date_type": "due_period",
                "due_period": 720,
                "lock_after_due_date": False,
            },
        ),
        Cohort(
            "2027-02 Sales",
            tuple(newest("Sales", 10)),
            (*onboarding, "Customer Service Excellence"),
            {
                "due_date_type": "due_date",
                "due_date": dt.date(2027, 3, 31),
                "lock_after_due_date": True,
            },
        ),
        Cohort(
            "2027-02 Support & Operations",
            tuple(newest("Customer Support", 8) + newest("Operations", 6)),
            (
                *onboarding,
                "Information Security Basics",
                "Fire Safety",
                "Health and Safety at Work",
            ),
            {"due_date_type": "due_period", "due_period": 720, "lock_after_due_date": True},
        ),
    ]


def new_hire_rows(directory: Directory) -> list[Row]:
    rows: list[Row] = []
    for cohort in _cohorts(directory):
        start = len(rows)
        for user in cohort.learners:
            for title in cohort.course_titles:
                cells = {
                    **_person(directory, user),
                    "Cohort": cohort.name,
                    **_enrollment(_course(directory, title)),
                    **cohort.settings,
                }
                rows.append(Row(cells))
        cohort_rows = rows[start:]
        template = cohort_rows[0].cells
        if cohort.name.endswith("Engineering"):
            victim = cohort_rows[17]
            victim.cells["due_date_type"] = "asap"
            victim.broken = 'unknown due_date_type "asap"'
        elif cohort.name.endswith("Sales"):
            victim = cohort_rows[11]
            victim.cells["due_date"] = None
            victim.broken = "due_date_type due_date without a due_date"
            rows.append(
                Row(
                    {**template, "Employee name": "Jordan Blake", "learner_id": "EMP-00123"},
                    broken='learner_id "EMP-00123" is an HR number, not a UUID',
                )
            )
        else:
            victim = cohort_rows[33]
            victim.cells["due_period"] = "-5"
            victim.broken = 'due_period "-5"'
            unknown = sandbox_id("user", "kai.lindgren@example.com")
            assert unknown not in directory.user_by_id
            rows.append(
                Row(
                    {
                        **template,
                        "Employee name": "Kai Lindgren",
                        "Department": "Operations",
                        "Manager": MANAGERS["Operations"],
                        "learner_id": unknown,
                        **_enrollment(_course(directory, "Fire Safety")),
                    },
                    broken="learner_id is a well-formed UUID that is not in the directory",
                )
            )
    original = rows[5]
    rows.append(Row(dict(original.cells), broken=f"exact duplicate of Excel row {5 + 2}"))
    return rows


def write_xlsx(rows: list[Row], path: Path) -> None:
    workbook = Workbook()
    workbook.properties.creator = "HR Onboarding"
    workbook.properties.created = FIXED_TIME
    sheet = workbook.active
    sheet.title = "Enrollments"
    sheet.append(XLSX_COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for row in rows:
        sheet.append([row.cells.get(column) for column in XLSX_COLUMNS])
        for column, number_format in DATE_FORMATS.items():
            cell = sheet.cell(sheet.max_row, XLSX_COLUMNS.index(column) + 1)
            if cell.value is not None:
                cell.number_format = number_format
    widths = {
        "Employee name": 20,
        "Department": 18,
        "Manager": 22,
        "Cohort": 28,
        "learner_id": 38,
        "Course title": 36,
        "course_id": 38,
        "access_date": 20,
    }
    for index, column in enumerate(XLSX_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = widths.get(column, 16)
    buffer = io.BytesIO()
    workbook.save(buffer)
    path.write_bytes(_without_timestamps(buffer.getvalue()))


def _without_timestamps(xlsx: bytes) -> bytes:
    """The same workbook with fixed zip entry times and a fixed `modified` property."""
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(xlsx)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp.encode(), data)
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, data)
    return out.getvalue()


# --- compliance refresh (csv) --------------------------------------------------------------


def compliance_rows(directory: Directory) -> list[Row]:
    courses = [
        _course(directory, "Code of Conduct 2027"),
        _course(directory, "Anti-Bribery and Corruption"),
    ]
    finance = _department_users(directory, "Finance")
    leaver = next(u for u in finance if not u.is_active)  # the export still lists one leaver
    rows: list[Row] = []
    for department in ("Finance", "Human Resources", "Legal"):
        lock = "yes" if department == "Finance" else "no"
        for user in _department_users(directory, department):
            if not user.is_active and user is not leaver:
                continue
            for course in courses[:1] if user is leaver else courses:
                rows.append(
                    Row(
                        {
                            **_person(directory, user),
                            **_enrollment(course),
                            "due_date_type": "due_date",
                            "due_date": "2027-06-30",
                            "lock_after_due_date": lock,
                        },
                        broken="learner is inactive" if user is leaver else "",
                    )
                )
    # No course ID, and a title with a typo: resolved by title, it matches no course, and the
    # report suggests the closest titles.
    rows[9].cells["course_id"] = ""
    rows[9].cells["Course title"] = "Anti-Bribary and Corruption"
    rows[9].broken = "course_id is empty and the course title has a typo"
    rows[44].cells["due_date"] = "2027-02-30"
    rows[44].broken = 'due_date "2027-02-30" does not exist'
    rows[66].cells["lock_after_due_date"] = "maybe"
    rows[66].broken = 'lock_after_due_date "maybe"'
    return rows


def write_csv(rows: list[Row], path: Path) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            writer.writerow([row.cells.get(column, "") for column in CSV_COLUMNS])


def main() -> None:
    directory = default_directory()
    for name, rows, write in (
        (XLSX_NAME, new_hire_rows(directory), write_xlsx),
        (CSV_NAME, compliance_rows(directory), write_csv),
    ):
        write(rows, OUT_DIR / name)
        print(f"{name}: {len(rows)} data rows")
        for number, row in enumerate(rows, start=2):  # row 1 is the header
            if row.broken:
                print(f"  row {number}: {row.broken}")


if __name__ == "__main__":
    main()
