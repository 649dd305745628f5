"""Cell parsers: every accepted form, and the exact message for what is refused."""

from __future__ import annotations

import datetime as dt

import pytest

from bulk_enroll.model import DueDateType
from bulk_enroll.read.cells import AddressError, cell_text, clean_text, email_addresses, fold_title
from bulk_enroll.validate.dates import DateOrder, parse_date, parse_datetime
from bulk_enroll.validate.values import (
    CellError,
    parse_bool,
    parse_due_date_type,
    parse_due_period,
    parse_email,
    parse_id,
    split_values,
)

EXPECTED = "expected YYYY-MM-DD, DD.MM.YYYY, a slash date like 31/03/2027, or a date cell"


@pytest.mark.parametrize(
    "cell,expected",
    [
        (dt.date(2027, 3, 31), dt.datetime(2027, 3, 31)),
        (dt.datetime(2027, 3, 31, 9, 30, 15, 500), dt.datetime(2027, 3, 31, 9, 30, 15)),
        ("2027-03-31", dt.datetime(2027, 3, 31)),
        ("2027-03-31 09:30", dt.datetime(2027, 3, 31, 9, 30)),
        ("2027-03-31T09:30:15", dt.datetime(2027, 3, 31, 9, 30, 15)),
        ("31.03.2027", dt.datetime(2027, 3, 31)),
        ("1.3.2027 14:05", dt.datetime(2027, 3, 1, 14, 5)),
        ("31.03.27", dt.datetime(2027, 3, 31)),
        ("31/03/2027", dt.datetime(2027, 3, 31)),  # day > 12: day first
        ("3/31/2027", dt.datetime(2027, 3, 31)),  # second > 12: month first
        ("13/04/2027 8:00 PM", dt.datetime(2027, 4, 13, 20, 0)),
        ("04/04/2027", dt.datetime(2027, 4, 4)),  # same either way
        ("31-03-2027", dt.datetime(2027, 3, 31)),
        ("2027/03/31", dt.datetime(2027, 3, 31)),
        ("20270331", dt.datetime(2027, 3, 31)),
        ("31 Mar 2027", dt.datetime(2027, 3, 31)),
        ("31-Mar-2027", dt.datetime(2027, 3, 31)),
        ("March 31, 2027", dt.datetime(2027, 3, 31)),
        ("\u00a02027-03-31 ", dt.datetime(2027, 3, 31)),
    ],
)
def test_date_forms(cell, expected):
    assert parse_datetime(cell)[0] == expected


def test_excel_serial_numbers_are_converted_and_said_so():
    assert parse_date(46477) == (
        dt.date(2027, 3, 31),
        "46477 read as an Excel date number: 2027-03-31",
    )
    assert parse_datetime(46477.5) == (
        dt.datetime(2027, 3, 31, 12, 0),
        "46477.5 read as an Excel date number: 2027-03-31 12:00:00",
    )
    assert parse_date("46477")[0] == dt.date(2027, 3, 31)  # a CSV of an unformatted column


def test_a_date_number_with_a_time_says_which_date_and_time_it_is():
    message = ("'46477.5' (Excel's date number for 2027-03-31 12:00) has a time of day; the due "
               "date is a date, so 2027-03-31 is used")
    assert parse_date(46477.5) == (dt.date(2027, 3, 31), message)
    assert parse_date("46477.5") == (dt.date(2027, 3, 31), message)


def test_a_time_on_a_due_date_is_dropped_with_a_note():
    assert parse_date("2027-03-31 17:00") == (
        dt.date(2027, 3, 31),
        "'2027-03-31 17:00' has a time of day; the due date is a date, so 2027-03-31 is used",
    )
    assert parse_date("2027-03-31 00:00:00") == (dt.date(2027, 3, 31), None)


def test_ambiguous_slash_date_is_an_error_unless_an_order_is_given():
    with pytest.raises(CellError) as error:
        parse_date("03/04/2027")
    assert str(error.value) == (
        "'03/04/2027' is ambiguous: 3 April 2027 (day first) or March 4, 2027 (month first); "
        "pass --date-order dmy or --date-order mdy, or write it as YYYY-MM-DD"
    )
    assert error.value.kind == "ambiguous date"
    assert parse_date("03/04/2027", DateOrder.DMY)[0] == dt.date(2027, 4, 3)
    assert parse_date("03/04/2027", DateOrder.MDY)[0] == dt.date(2027, 3, 4)
    assert parse_date("13/04/2027", DateOrder.MDY)[0] == dt.date(2027, 4, 13)  # no choice


@pytest.mark.parametrize(
    "cell,message",
    [
        ("2027-02-30", f"'2027-02-30' is not a date ({EXPECTED})"),
        ("31/31/2027", f"'31/31/2027' is not a date ({EXPECTED})"),
        ("next Friday", f"'next Friday' is not a date ({EXPECTED})"),
        ("0", f"'0' is not a date ({EXPECTED})"),
        (dt.time(9, 30), "'09:30:00' is a time or a duration, not a date"),
        (
            "2027-03-31T09:00:00+02:00",
            "'2027-03-31T09:00:00+02:00' has a time zone; write the local time without it",
        ),
    ],
)
def test_refused_dates(cell, message):
    with pytest.raises(CellError) as error:
        parse_datetime(cell)
    assert str(error.value) == message


@pytest.mark.parametrize(
    "cell,hours,note",
    [
        ("720", 720, None),
        (720, 720, None),
        (240.0, 240, None),
        ("36h", 36, "due period '36h' read as 36 hours"),
        ("10d", 240, "due period '10d' read as 240 hours"),
        ("10 days", 240, "due period '10 days' read as 240 hours"),
        ("1 Day", 24, "due period '1 Day' read as 24 hours"),
        ("2 weeks", 336, "due period '2 weeks' read as 336 hours"),
        ("1,5 days", 36, "due period '1,5 days' read as 36 hours"),
        # German, French, Spanish, Italian, Dutch, Portuguese: singular and plural, accents or
        # not, abbreviations with or without their dot
        ("10 Tage", 240, "due period '10 Tage' read as 240 hours"),
        ("1 Tag", 24, "due period '1 Tag' read as 24 hours"),
        ("2 Wochen", 336, "due period '2 Wochen' read as 336 hours"),
        ("36 Stunden", 36, "due period '36 Stunden' read as 36 hours"),
        ("1 Stunde", 1, "due period '1 Stunde' read as 1 hour"),
        ("12 Std.", 12, "due period '12 Std.' read as 12 hours"),
        ("3 jours", 72, "due period '3 jours' read as 72 hours"),
        ("3 j", 72, "due period '3 j' read as 72 hours"),
        ("2 semaines", 336, "due period '2 semaines' read as 336 hours"),
        ("8 heures", 8, "due period '8 heures' read as 8 hours"),
        ("5 días", 120, "due period '5 días' read as 120 hours"),
        ("5 dias", 120, "due period '5 dias' read as 120 hours"),
        ("1 día", 24, "due period '1 día' read as 24 hours"),
        ("2 semanas", 336, "due period '2 semanas' read as 336 hours"),
        ("6 horas", 6, "due period '6 horas' read as 6 hours"),
        ("3 giorni", 72, "due period '3 giorni' read as 72 hours"),
        ("1 settimana", 168, "due period '1 settimana' read as 168 hours"),
        ("12 ore", 12, "due period '12 ore' read as 12 hours"),
        ("4 dagen", 96, "due period '4 dagen' read as 96 hours"),
        ("2 weken", 336, "due period '2 weken' read as 336 hours"),
        ("4 uren", 4, "due period '4 uren' read as 4 hours"),
        ("2 wk", 336, "due period '2 wk' read as 336 hours"),
        ("1 sem.", 168, "due period '1 sem.' read as 168 hours"),
        ("1,5 Tage", 36, "due period '1,5 Tage' read as 36 hours"),
        ("10 D", 240, "due period '10 D' read as 240 hours"),
    ],
)
def test_due_periods(cell, hours, note):
    assert parse_due_period(cell) == (hours, note)


@pytest.mark.parametrize(
    "cell,message",
    [
        ("0", "'0' is not a whole, positive number of hours"),
        ("-5", "'-5' is not a whole, positive number of hours"),
        ("0.5h", "'0.5h' is not a whole, positive number of hours"),
        (
            "1 fortnight",
            "'1 fortnight' is not a due period (expected whole hours like 720, or a number with "
            "a unit: 36h, 10 days, 2 weeks, 10 Tage, 2 semaines)",
        ),
        # never read as something they are not
        (
            "1 month",
            "'1 month' is not a due period: months and years have no fixed number of hours; "
            "give hours, days or weeks (36h, 10 days, 2 weeks, 10 Tage, 2 semaines)",
        ),
        (
            "3 Monate",
            "'3 Monate' is not a due period: months and years have no fixed number of hours; "
            "give hours, days or weeks (36h, 10 days, 2 weeks, 10 Tage, 2 semaines)",
        ),
        (
            "1 an",
            "'1 an' is not a due period: months and years have no fixed number of hours; "
            "give hours, days or weeks (36h, 10 days, 2 weeks, 10 Tage, 2 semaines)",
        ),
        (
            "90 min",
            "'90 min' is not a due period: the LMS counts due periods in whole hours; "
            "give hours, days or weeks (36h, 10 days, 2 weeks, 10 Tage, 2 semaines)",
        ),
        (
            "3 m",
            "'3 m' is not a due period: 'm' may mean minutes or months; "
            "give hours, days or weeks (36h, 10 days, 2 weeks, 10 Tage, 2 semaines)",
        ),
        ("1,5 Std.", "'1,5 Std.' is not a whole, positive number of hours"),
    ],
)
def test_refused_due_periods(cell, message):
    with pytest.raises(CellError) as error:
        parse_due_period(cell)
    assert str(error.value) == message


@pytest.mark.parametrize(
    "cell,value",
    [
        (True, True),
        (False, False),
        ("TRUE", True),
        ("false", False),
        ("Yes", True),
        ("no", False),
        ("y", True),
        ("N", False),
        ("1", True),
        (0, False),
        (1.0, True),
        ("x", True),
        ("X", True),
        ("\u2713", True),
        # German, French, Spanish, Italian, Dutch, Portuguese, and Excel's TRUE/FALSE in them
        ("ja", True),
        ("Nein", False),
        ("J", True),
        ("WAHR", True),
        ("FALSCH", False),
        ("oui", True),
        ("Non", False),
        ("VRAI", True),
        ("FAUX", False),
        ("Sí", True),
        ("si", True),
        ("S", True),
        ("no", False),
        ("VERDADERO", True),
        ("FALSO", False),
        ("sì", True),
        ("VERO", True),
        ("nee", False),
        ("WAAR", True),
        ("ONWAAR", False),
        ("sim", True),
        ("não", False),
        ("NAO", False),
        ("VERDADEIRO", True),
    ],
)
def test_booleans(cell, value):
    assert parse_bool(cell) is value


def test_a_word_that_is_not_a_boolean():
    with pytest.raises(CellError) as error:
        parse_bool("maybe")
    assert str(error.value) == (
        "'maybe' is not true or false (expected true/false, yes/no, y/n, 1/0, or x for yes; "
        "also ja/nein, oui/non, si/no, sim/nao, ja/nee, WAHR/FALSCH, VRAI/FAUX and the like)"
    )


@pytest.mark.parametrize(
    "cell,value",
    [
        ("Due date", DueDateType.DUE_DATE),
        ("due-period", DueDateType.DUE_PERIOD),
        ("UNLIMITED", DueDateType.UNLIMITED),
        ("none", DueDateType.UNLIMITED),
        ("Default", DueDateType.DEFAULT),
    ],
)
def test_due_date_types(cell, value):
    assert parse_due_date_type(cell) is value


def test_emails_are_trimmed_lower_cased_and_checked():
    assert parse_email(" Ann.Lee@Example.COM ") == "ann.lee@example.com"
    for bad in ("ann", "ann@", "ann@example", "ann lee@example.com", "a@@example.com"):
        with pytest.raises(CellError) as error:
            parse_email(bad)
        assert str(error.value) == (
            f"{bad!r} is not an email address (expected one like ann.lee@example.com)"
        )


@pytest.mark.parametrize(
    "cell,addresses",
    [
        ("ann@x.com", ["ann@x.com"]),
        ("ann@x.com, bob@x.com;carl@x.com", ["ann@x.com", "bob@x.com", "carl@x.com"]),
    ],
)
def test_plain_addresses_are_not_unwrapped(cell, addresses):
    assert email_addresses(cell) == (addresses, False)


@pytest.mark.parametrize(
    "cell,addresses",
    [
        ('"Jane Doe" <jane@x.com>', ["jane@x.com"]),
        ("Jane Doe <jane@x.com>", ["jane@x.com"]),
        ("<jane@x.com>", ["jane@x.com"]),
        ("mailto:jane@x.com", ["jane@x.com"]),
        ("MAILTO:jane@x.com", ["jane@x.com"]),
        ("<mailto:jane@x.com>", ["jane@x.com"]),
        ("jane@x.com <jane@x.com>", ["jane@x.com"]),  # Outlook, when it knows no name
        # names with commas, as Outlook copies recipients ("Last, First"), ';' between them
        ("Doe, Jane <jane@x.com>; Roe, John <john@x.com>", ["jane@x.com", "john@x.com"]),
        ('"Doe, Jane" <jane@x.com>, "Roe, John" <john@x.com>', ["jane@x.com", "john@x.com"]),
        ("Jane <jane@x.com>;\nbob@x.com, mailto:carl@x.com",
         ["jane@x.com", "bob@x.com", "carl@x.com"]),
    ],
)
def test_outlook_forms_give_their_address(cell, addresses):
    assert email_addresses(cell) == (addresses, True)


@pytest.mark.parametrize(
    "cell,message",
    [
        ("ann@x.com <bob@x.com>", "'ann@x.com <bob@x.com>' names two addresses (ann@x.com and "
                                  "bob@x.com); keep one, or separate addresses with ';'"),
        ("Jane <jane@x.com> Doe", "'Jane <jane@x.com> Doe' has text after the address ('Doe'); "
                                  "write one address per name, separated by ';'"),
    ],
)
def test_addresses_that_cannot_be_told_apart(cell, message):
    with pytest.raises(AddressError) as error:
        email_addresses(cell)
    assert str(error.value) == message


@pytest.mark.parametrize(
    "written,listed",
    [
        ("fire safety", "Fire Safety"),
        ("Fire   Safety ", "Fire Safety"),
        ("Fire\u00a0Safety", "Fire Safety"),
        ("Cafe\u0301 culture", "Caf\u00e9 Culture"),  # e + combining accent
        ("\ufb01re safety", "Fire Safety"),  # the "fi" ligature
    ],
)
def test_titles_compare_ignoring_case_spaces_and_unicode_forms(written, listed):
    assert fold_title(written) == fold_title(listed)
    assert fold_title("Fire Safety") != fold_title("Fire Safety II")


def test_ids_accept_braces_and_case_and_hint_at_emails():
    assert parse_id("{8363B098-E031-11E9-89CF-0A580AF40B0F}") == (
        "8363b098-e031-11e9-89cf-0a580af40b0f"
    )
    with pytest.raises(CellError) as error:
        parse_id("ann@example.com")
    assert str(error.value) == (
        "'ann@example.com' is not an ID (expected a UUID like "
        "8363b098-e031-11e9-89cf-0a580af40b0f); it looks like an email address: put emails in "
        "a learner_email column"
    )


def test_hygiene_and_splitting():
    assert clean_text("\u00a0Fire\u00a0safety\u200b ") == "Fire safety"
    assert clean_text("\u201cQuoted\u201d \u2018single\u2019") == "\"Quoted\" 'single'"
    assert clean_text('="00123"') == "00123"
    assert clean_text("Ethics\x0b\x00 ") == "Ethics"
    assert cell_text(240.0) == "240"
    assert cell_text(240.5) == "240.5"
    assert split_values("a@x.com; b@x.com,\nc@x.com;;") == ["a@x.com", "b@x.com", "c@x.com"]
    assert split_values("Health, safety; Ethics\r\nLaw", commas=False) == [
        "Health, safety",
        "Ethics",
        "Law",
    ]
    assert split_values("") == []


@pytest.mark.parametrize(("cell", "shown", "hint"), [
    ("30", "1900-01-29", ", or, for a number of days, use a due period column ('30 days')"),
    (30, "1900-01-29", ", or, for a number of days, use a due period column ('30 days')"),
    (14.0, "1900-01-13", ", or, for a number of days, use a due period column ('14 days')"),
    ("123456", "2238-01-03", ""),
])
def test_a_number_no_course_runs_to_is_not_read_as_a_date_number(cell, shown, hint):
    """'Deadline: 30' (days) went out as a due date of 29 January 1900."""
    text = str(cell).removesuffix(".0")
    with pytest.raises(CellError) as error:
        parse_date(cell)
    assert str(error.value) == (f"{text!r} is not a date: as an Excel date number it is {shown}, "
                                f"which no course runs to; write the date (YYYY-MM-DD){hint}")
    assert parse_date(36526)[0] == dt.date(2000, 1, 1)  # the window's ends are dates
    assert parse_date("73050")[0] == dt.date(2099, 12, 31)


@pytest.mark.parametrize("cell", ["2207-03-31", "31.03.1927", dt.datetime(1900, 1, 30),
                                  dt.date(2207, 3, 31)])
def test_a_year_no_course_runs_to_is_a_problem(cell):
    """A typo in the year (2207) or 30 typed into a date-formatted cell (1900-01-30) would
    enroll with a deadline no one meant."""
    with pytest.raises(CellError, match=r"is in the year \d{4}, which no course runs to; check "
                                        r"the year"):
        parse_datetime(cell)
