"""An Excel template HR can fill in, that `run` and `validate` read back with no options.

The first sheet ("Enrollments") has the canonical headers; identifier columns are formatted as
text (so Excel keeps leading zeros and long numbers), date columns as dates, and dropdowns
guard the due date type and the lock flag. The due period only gets a hint that never blocks,
since "10 days" or "2 weeks" are as good as a number of hours. A second sheet explains every
column with examples (kept off the data sheet so an example is never enrolled by mistake).
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from bulk_enroll.model import DueDateType

DATA_SHEET = "Enrollments"
HELP_SHEET = "Instructions"
LAST_ROW = 20_000  # how far down the dropdowns and checks reach

# (header, width, number format, what to write, example)
COLUMNS: tuple[tuple[str, int, str, str, str], ...] = (
    (
        "learner_email",
        32,
        "@",
        "The learner's email address in the LMS. Fill one learner column per row.",
        "ann.lee@example.com",
    ),
    (
        "learner_login",
        18,
        "@",
        "Or the learner's login (kept as text, leading zeros are safe).",
        "0042",
    ),
    (
        "learner_id",
        38,
        "@",
        "Or the learner's LMS user ID (a UUID). Used first when several are filled.",
        "8363b098-e031-11e9-89cf-0a580af40b0f",
    ),
    (
        "course_title",
        36,
        "@",
        "The course's title as shown in the LMS. Several: separate with ; or line breaks.",
        "Fire safety 2027; Data protection basics",
    ),
    (
        "course_id",
        38,
        "@",
        "Or the course's ID (a UUID). Used first when both are filled.",
        "2f6d1c4e-0b7a-4c1e-9a52-3f0d6c1b7e21",
    ),
    (
        "access_date",
        18,
        "yyyy-mm-dd hh:mm",
        "Optional: when the course opens (date, or date and time). Empty: now.",
        "2027-01-10 09:00",
    ),
    (
        "due_date_type",
        16,
        "General",
        "unlimited, default, due_date or due_period (pick from the list).",
        "due_date",
    ),
    (
        "due_date",
        14,
        "yyyy-mm-dd",
        "The due date, when the type is due_date.",
        "2027-03-31",
    ),
    (
        "due_period",
        12,
        "0",
        "Hours to complete, when the type is due_period; '10 days' or '2 weeks' work too.",
        "720",
    ),
    (
        "lock_after_due_date",
        20,
        "General",
        "Optional: true to lock the course after the due date (pick from the list).",
        "true",
    ),
)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
DUE_PERIOD_HINT = "Hours, or e.g. 10 days, 2 weeks, 36h"


def write_template(path: Path) -> Path:
    """Write the template workbook to `path` (any existing file is replaced)."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = DATA_SHEET
    sheet.freeze_panes = "A2"
    for index, (header, width, number_format, _, _) in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index, value=header)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = width
        sheet.column_dimensions[letter].number_format = number_format
    _add_validations(sheet)
    _write_instructions(workbook.create_sheet(HELP_SHEET))
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def _column(header: str) -> str:
    index = next(i for i, column in enumerate(COLUMNS, start=1) if column[0] == header)
    letter = get_column_letter(index)
    return f"{letter}2:{letter}{LAST_ROW}"


def _add_validations(sheet) -> None:  # type: ignore[no-untyped-def]
    types = ",".join(t.value for t in DueDateType)
    rules = [
        (
            DataValidation(type="list", formula1=f'"{types}"', allow_blank=True),
            "due_date_type",
            "Due date type",
            f"One of: {types}",
        ),
        (
            DataValidation(type="list", formula1='"true,false"', allow_blank=True),
            "lock_after_due_date",
            "Lock after due date",
            "true or false",
        ),
        (
            # Only a hint: "10 days", "2 weeks" or "36h" are valid too, so Excel must not refuse
            # them ("information" shows the message with OK to keep the value).
            DataValidation(
                type="whole",
                operator="greaterThan",
                formula1="0",
                allow_blank=True,
                errorStyle="information",
            ),
            "due_period",
            "Due period",
            DUE_PERIOD_HINT,
        ),
        (
            DataValidation(type="date", operator="greaterThan", formula1="1", allow_blank=True),
            "due_date",
            "Due date",
            "A date, e.g. 2027-03-31",
        ),
        (
            DataValidation(type="date", operator="greaterThan", formula1="1", allow_blank=True),
            "access_date",
            "Access date",
            "A date, or a date and time, e.g. 2027-01-10 09:00",
        ),
    ]
    for rule, header, title, text in rules:
        rule.errorTitle = title
        rule.error = text
        rule.promptTitle = title
        rule.prompt = text
        rule.showErrorMessage = True
        rule.showInputMessage = True
        rule.add(_column(header))
        sheet.add_data_validation(rule)


def _write_instructions(sheet) -> None:  # type: ignore[no-untyped-def]
    sheet.column_dimensions["A"].width = 22
    sheet.column_dimensions["B"].width = 80
    sheet.column_dimensions["C"].width = 40
    lines: list[tuple[str, str, str]] = [
        ("How to fill in the Enrollments sheet", "", ""),
        ("", "One row per enrollment request: who, which course(s), and by when.", ""),
        ("", "Name the learner by email, login or ID, and the course by title or ID.", ""),
        ("", "Several courses for one learner: separate titles with ; (or one per line).", ""),
        ("", "Do not rename or reorder the header row; extra columns of your own are kept.", ""),
        ("", "Check the file without sending anything: bulk-enroll validate FILE.xlsx", ""),
        ("", "", ""),
        ("Column", "What to write", "Example"),
    ]
    lines += [(header, text, example) for header, _, _, text, example in COLUMNS]
    for row in lines:
        sheet.append(list(row))
    sheet["A1"].font = Font(bold=True, size=14)
    for cell in sheet[8]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
    for row in sheet.iter_rows(min_row=9):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            cell.number_format = "@"
