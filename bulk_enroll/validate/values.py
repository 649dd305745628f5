"""Cell value parsers: one raw cell in, one typed value out, or a `CellError` a person can read.

Pure functions. Messages say what was found and what is expected, because the person who made
the spreadsheet has to fix it from the message alone. Dates live in `dates.py`.
"""

from __future__ import annotations

import datetime as dt
import re

from bulk_enroll.model import DueDateType
from bulk_enroll.read.cells import EMAIL_PATTERN as EMAIL_PATTERN
from bulk_enroll.read.cells import UUID_PATTERN as UUID_PATTERN
from bulk_enroll.read.cells import VALUE_SEPARATORS, cell_text, is_number
from bulk_enroll.read.cells import looks_like_id as looks_like_id
from bulk_enroll.read.period_units import UNIT_HOURS, fold_word

# Problem kinds: short labels the `validate` summary counts problems by.
KIND_EMPTY = "missing value"
KIND_ID = "not an ID"
KIND_EMAIL = "not an email address"
KIND_TYPE = "unknown due date type"
KIND_PERIOD = "bad due period"
KIND_BOOL = "not true/false"


class CellError(ValueError):
    """A cell that cannot mean what its column says; `kind` groups similar problems."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


_SPLIT_ALL = VALUE_SEPARATORS
_SPLIT_NO_COMMA = re.compile(r"[;\r\n]+")


def split_values(text: str, *, commas: bool = True) -> list[str]:
    """Several values in one cell, separated by ';', ',' or line breaks (course titles often
    contain commas, so they split on ';' and line breaks only)."""
    pattern = _SPLIT_ALL if commas else _SPLIT_NO_COMMA
    if not pattern.search(text):
        return [text] if text else []
    return [part for part in (p.strip() for p in pattern.split(text)) if part]


_UUID = UUID_PATTERN
_EMAIL = EMAIL_PATTERN


def parse_id(cell: object) -> str:
    """A learner or course ID: the API's IDs are UUIDs, returned in lower case."""
    text = cell_text(cell)
    bare = text[1:-1] if text.startswith("{") and text.endswith("}") else text  # {GUID} form
    if _UUID.fullmatch(bare):
        return bare if bare.islower() or bare.isdigit() else bare.lower()  # keep the cell's str
    hint = ""
    if "@" in text:
        hint = "; it looks like an email address: put emails in a learner_email column"
    raise CellError(
        f"{text!r} is not an ID (expected a UUID like 8363b098-e031-11e9-89cf-0a580af40b0f)" + hint,
        KIND_ID,
    )


def parse_email(text: str) -> str:
    """An email address, trimmed and lower-cased (the LMS matches emails case-insensitively)."""
    value = text.strip()
    if not _EMAIL.fullmatch(value):
        raise CellError(
            f"{text!r} is not an email address (expected one like ann.lee@example.com)", KIND_EMAIL
        )
    return value.lower()


def numeric_identifier(cell: object) -> str | None:
    """A number typed into an identifier column, as integer text (None for text cells)."""
    if is_number(cell):
        number = float(cell)  # type: ignore[arg-type]
        return str(int(number)) if number.is_integer() else str(cell)
    return None


LEADING_ZEROS_NOTE = (
    "Excel stored {value} as a number; if it had leading zeros they may already be lost "
    "(format the column as Text)"
)

_DUE_TYPE_WORDS: dict[str, DueDateType] = {
    **{t.value: t for t in DueDateType},
    "none": DueDateType.UNLIMITED,
    "no_due_date": DueDateType.UNLIMITED,
    "date": DueDateType.DUE_DATE,
    "period": DueDateType.DUE_PERIOD,
}


def parse_due_date_type(cell: object) -> DueDateType:
    text = cell_text(cell)
    key = re.sub(r"[\s\-]+", "_", text.lower())
    try:
        return _DUE_TYPE_WORDS[key]
    except KeyError:
        allowed = ", ".join(t.value for t in DueDateType)
        raise CellError(
            f"{text!r} is not a due date type (expected one of {allowed})", KIND_TYPE
        ) from None


# Units a due period cannot be given in, with why: never read as something else.
_NO_FIXED_LENGTH = "months and years have no fixed number of hours"
_TOO_SHORT = "the LMS counts due periods in whole hours"
_REFUSED_UNITS: dict[str, str] = {
    **dict.fromkeys(
        ("mo", "month", "months", "monat", "monate", "mois", "mes", "meses", "mese", "mesi",
         "maand", "maanden", "y", "yr", "yrs", "year", "years", "jahr", "jahre", "an", "ans",
         "annee", "annees", "ano", "anos", "anno", "anni", "jaar", "jaren"),
        _NO_FIXED_LENGTH,
    ),
    **dict.fromkeys(
        ("min", "mins", "minute", "minutes", "minuten", "minuto", "minutos", "minuti", "minuut",
         "s", "sec", "secs", "second", "seconds", "sekunden", "secondes", "segundos", "secondi"),
        _TOO_SHORT,
    ),
    "m": "'m' may mean minutes or months",
}
_PERIOD = re.compile(r"^([-+]?\d+(?:[.,]\d+)?)\s*([a-z]*)$")
_PERIOD_EXAMPLES = "36h, 10 days, 2 weeks, 10 Tage, 2 semaines"


def parse_hours(cell: object) -> int:
    """A due period in whole, positive hours (see `parse_due_period` for units)."""
    return parse_due_period(cell)[0]


def parse_due_period(cell: object, column_unit: tuple[str, int] | None = None
                     ) -> tuple[int, str | None]:
    """A due period: a bare number is hours, or the unit the column's header names
    (`column_unit`: the unit as written and its hours, e.g. ("days", 24) for "Due period
    (days)"; hours 0: the header names none and is not the API's name, so a bare number is
    refused); '10d', '10 days', '2 weeks', '36h', '10 Tage', '3 jours', '1,5 Std.' are converted.

    Returns the hours and, when a unit was converted, a note saying how it was read.
    A duration (an Excel cell formatted [h]:mm, a pandas Timedelta) is its length in hours.
    """
    if isinstance(cell, dt.timedelta):
        return _duration_hours(cell)
    text = cell_text(cell)
    match = _PERIOD.match(fold_word(text))
    unit = match.group(2) if match else ""
    if match is not None and unit in _REFUSED_UNITS:
        raise CellError(
            f"{text!r} is not a due period: {_REFUSED_UNITS[unit]}; give hours, days or weeks "
            f"({_PERIOD_EXAMPLES})",
            KIND_PERIOD,
        )
    if match is None or unit not in UNIT_HOURS and unit != "":
        raise CellError(
            f"{text!r} is not a due period (expected whole hours like 720, "
            f"or a number with a unit: {_PERIOD_EXAMPLES})",
            KIND_PERIOD,
        )
    if not unit and column_unit and not column_unit[1]:
        raise CellError(
            f"{text!r} has no unit and the column's header names none: write it with one "
            f"('{text} days', '{text} h'), or name the column e.g. 'Due period (days)'",
            KIND_PERIOD,
        )
    per_unit = UNIT_HOURS[unit] if unit else column_unit[1] if column_unit else 1
    hours = float(match.group(1).replace(",", ".")) * per_unit
    if not hours.is_integer() or hours <= 0:
        raise CellError(f"{text!r} is not a whole, positive number of hours", KIND_PERIOD)
    whole = int(hours)
    read_as = f"due period {text!r} read as {whole} hour{'' if whole == 1 else 's'}"
    if unit:
        return whole, read_as
    if column_unit and column_unit[1] != 1:
        return whole, f"{read_as} (the column's unit is {column_unit[0]})"
    return whole, None


def _duration_hours(duration: dt.timedelta) -> tuple[int, str]:
    seconds = duration.total_seconds()
    whole_minutes = int(abs(seconds) // 60)
    shown = f"{'-' if seconds < 0 else ''}{whole_minutes // 60}:{whole_minutes % 60:02d}"
    hours = seconds / 3600
    if not hours.is_integer() or hours <= 0:
        raise CellError(f"the duration {shown} (hours:minutes) is not a whole, positive number "
                        "of hours", KIND_PERIOD)
    whole = int(hours)
    return whole, f"due period {shown} (a duration) read as {whole} hour{'' if whole == 1 else 's'}"


# Yes and no as HR writes them, compared folded (`fold_word`): English, German, French,
# Spanish, Italian, Dutch and Portuguese words, Excel's TRUE/FALSE in those languages (a CSV
# saved by a localised Excel holds WAHR, VRAI, VERDADERO, VERO, WAAR, VERDADEIRO), J/N and S/N
# forms, and check marks. Only a yes/no cell is read with these lists, so a word is never
# taken for yes or no in another column.
TRUE_WORDS = frozenset({
    "true", "yes", "y", "1", "x", "on", "\u2713", "\u2714", "\u2611",
    "ja", "j", "wahr",  # German, Dutch
    "oui", "vrai",  # French
    "si", "s", "verdadero",  # Spanish ("sí" folds to "si")
    "vero",  # Italian ("sì")
    "waar",  # Dutch
    "sim", "verdadeiro",  # Portuguese
})
FALSE_WORDS = frozenset({
    "false", "no", "n", "0", "off",
    "nein", "falsch",  # German
    "non", "faux",  # French
    "falso",  # Spanish, Italian, Portuguese
    "nee", "onwaar",  # Dutch
    "nao",  # Portuguese ("não")
})
CHECK_MARKS = frozenset({"x", "\u2713", "\u2714", "\u2611"})
BOOL_EXPECTED = (
    "expected true/false, yes/no, y/n, 1/0, or x for yes; also ja/nein, oui/non, si/no, "
    "sim/nao, ja/nee, WAHR/FALSCH, VRAI/FAUX and the like"
)


def parse_bool(cell: object) -> bool:
    if isinstance(cell, bool):
        return cell
    text = cell_text(cell)
    folded = fold_word(text)
    if folded in TRUE_WORDS:
        return True
    if folded in FALSE_WORDS:
        return False
    raise CellError(f"{text!r} is not true or false ({BOOL_EXPECTED})", KIND_BOOL)


def is_check_mark(cell: object) -> bool:
    return cell_text(cell).lower() in CHECK_MARKS
