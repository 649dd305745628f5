"""The request envelope: standard SOAP 1.1, well-formed, and only the fields that apply."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from bulk_enroll.model import Batch, DueDateType, DueSettings
from bulk_enroll.transport.soap import (
    DEFAULT_SERVICE_NAMESPACE,
    SOAP_ENV_NS,
    build_envelope,
)

TOKEN = "p-1sJDjmULL5DdpXPJTcbm4jVIaWVHvNmrjAxATRbNE"
STRICT = etree.XMLParser(resolve_entities=False, no_network=True, recover=False)


def make_batch(settings: DueSettings, learners=("l-1", "l-2"), courses=("c-1",)) -> Batch:
    return Batch("b-1", settings, tuple(learners), tuple(courses))


def parse(data: bytes) -> etree._Element:
    return etree.fromstring(data, STRICT)


def request_of(data: bytes, ns: str = DEFAULT_SERVICE_NAMESPACE) -> etree._Element:
    root = parse(data)
    body = root.find(f"{{{SOAP_ENV_NS}}}Body")
    assert body is not None
    request = body.find(f"{{{ns}}}EnrollLearnersInCoursesRequest")
    assert request is not None
    return request


def child_names(request: etree._Element) -> list[str]:
    return [etree.QName(child).localname for child in request]


def text(request: etree._Element, name: str, ns: str = DEFAULT_SERVICE_NAMESPACE) -> str | None:
    return request.findtext(f"{{{ns}}}{name}")


def test_envelope_is_well_formed_utf8_with_declaration_and_soap11_namespace():
    data = build_envelope(make_batch(DueSettings(DueDateType.UNLIMITED)), TOKEN)

    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = parse(data)
    assert root.tag == "{http://schemas.xmlsoap.org/soap/envelope/}Envelope"
    assert SOAP_ENV_NS == "http://schemas.xmlsoap.org/soap/envelope/"
    assert b"https://schemas.xmlsoap.org" not in data


def test_request_element_is_in_the_default_service_namespace_with_children():
    request = request_of(build_envelope(make_batch(DueSettings(DueDateType.DEFAULT)), TOKEN))

    assert request.nsmap[None] == "https://ispringlearn.com/go/services/api/soap"
    assert all(etree.QName(el).namespace == DEFAULT_SERVICE_NAMESPACE for el in request.iter())


def test_custom_service_namespace_is_used_everywhere():
    ns = "http://ispringlearn.com/go/services/api/soap"
    data = build_envelope(make_batch(DueSettings(DueDateType.DEFAULT)), TOKEN, service_namespace=ns)

    request = request_of(data, ns)
    assert all(etree.QName(el).namespace == ns for el in request.iter())
    assert DEFAULT_SERVICE_NAMESPACE.encode() not in data


def test_token_and_ids_in_order():
    batch = make_batch(
        DueSettings(DueDateType.UNLIMITED), learners=("z-9", "a-1", "m-5"), courses=("c-3", "c-1")
    )
    request = request_of(build_envelope(batch, TOKEN))
    ns = f"{{{DEFAULT_SERVICE_NAMESPACE}}}"

    assert request.findtext(f"{ns}credentials/{ns}token") == TOKEN
    assert [el.text for el in request.find(f"{ns}courseIds")] == ["c-3", "c-1"]
    assert [el.text for el in request.find(f"{ns}learnerIds")] == ["z-9", "a-1", "m-5"]
    assert child_names(request.find(f"{ns}learnerIds")) == ["id", "id", "id"]


def test_markup_characters_in_values_are_escaped_not_injected():
    token = "a&b<c>]]>"
    data = build_envelope(
        make_batch(DueSettings(DueDateType.UNLIMITED), learners=("<learnerIds>",)), token
    )
    request = request_of(data)
    ns = f"{{{DEFAULT_SERVICE_NAMESPACE}}}"

    assert request.findtext(f"{ns}credentials/{ns}token") == token
    assert [el.text for el in request.find(f"{ns}learnerIds")] == ["<learnerIds>"]


ACCESS = dt.datetime(2019, 9, 24, 10, 30, 5, 123456)


@pytest.mark.parametrize(
    ("settings", "expected_children", "expected_texts"),
    [
        (
            DueSettings(DueDateType.UNLIMITED),
            ["credentials", "courseIds", "learnerIds", "dueDateType"],
            {"dueDateType": "unlimited"},
        ),
        (
            DueSettings(DueDateType.DEFAULT, access_date=ACCESS),
            ["credentials", "courseIds", "learnerIds", "accessDate", "dueDateType"],
            {"dueDateType": "default", "accessDate": "2019-09-24 10:30:05"},
        ),
        (
            DueSettings(
                DueDateType.DUE_DATE, due_date=dt.date(2019, 9, 25), lock_after_due_date=True
            ),
            [
                "credentials",
                "courseIds",
                "learnerIds",
                "dueDateType",
                "dueDate",
                "lockAfterDueDate",
            ],
            {"dueDateType": "due_date", "dueDate": "2019-09-25", "lockAfterDueDate": "true"},
        ),
        (
            DueSettings(
                DueDateType.DUE_PERIOD,
                access_date=dt.datetime(2024, 1, 2, 3, 4, 5),
                due_period_hours=10,
                lock_after_due_date=False,
            ),
            [
                "credentials",
                "courseIds",
                "learnerIds",
                "accessDate",
                "dueDateType",
                "duePeriod",
                "lockAfterDueDate",
            ],
            {
                "dueDateType": "due_period",
                "duePeriod": "10",
                "lockAfterDueDate": "false",
                "accessDate": "2024-01-02 03:04:05",
            },
        ),
    ],
    ids=["unlimited", "default", "due_date", "due_period"],
)
def test_fields_per_due_date_type(settings, expected_children, expected_texts):
    request = request_of(build_envelope(make_batch(settings), TOKEN))

    assert child_names(request) == expected_children
    for name, value in expected_texts.items():
        assert text(request, name) == value


@pytest.mark.parametrize("due_type", [DueDateType.UNLIMITED, DueDateType.DEFAULT])
def test_inapplicable_due_fields_are_never_sent_even_if_set(due_type):
    """The vendor's sample sends dueDate and duePeriod with `unlimited`; we must not."""
    settings = DueSettings(due_type, due_date=dt.date(2019, 9, 25), due_period_hours=10)
    request = request_of(build_envelope(make_batch(settings), TOKEN))

    assert "dueDate" not in child_names(request)
    assert "duePeriod" not in child_names(request)


def test_due_date_type_sends_only_due_date_and_due_period_only_period():
    both = {"due_date": dt.date(2030, 12, 31), "due_period_hours": 48}
    by_date = request_of(
        build_envelope(make_batch(DueSettings(DueDateType.DUE_DATE, **both)), TOKEN)
    )
    by_period = request_of(
        build_envelope(make_batch(DueSettings(DueDateType.DUE_PERIOD, **both)), TOKEN)
    )

    assert text(by_date, "dueDate") == "2030-12-31"
    assert "duePeriod" not in child_names(by_date)
    assert text(by_period, "duePeriod") == "48"
    assert "dueDate" not in child_names(by_period)


def test_due_date_given_as_datetime_is_written_as_a_date():
    settings = DueSettings(DueDateType.DUE_DATE, due_date=dt.datetime(2030, 1, 2, 23, 59))
    request = request_of(build_envelope(make_batch(settings), TOKEN))

    assert text(request, "dueDate") == "2030-01-02"


def test_timezone_aware_access_date_keeps_its_wall_clock_time():
    aware = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone(dt.timedelta(hours=3)))
    settings = DueSettings(DueDateType.UNLIMITED, access_date=aware)
    request = request_of(build_envelope(make_batch(settings), TOKEN))

    assert text(request, "accessDate") == "2024-05-06 07:08:09"


@pytest.mark.parametrize(
    "settings",
    [DueSettings(DueDateType.DUE_DATE), DueSettings(DueDateType.DUE_PERIOD)],
    ids=["due_date-without-date", "due_period-without-hours"],
)
def test_missing_required_due_field_is_a_programming_error(settings):
    with pytest.raises(ValueError, match="b-1"):
        build_envelope(make_batch(settings), TOKEN)


def test_empty_batch_is_refused():
    with pytest.raises(ValueError, match="no learners or no courses"):
        build_envelope(make_batch(DueSettings(DueDateType.UNLIMITED), learners=()), TOKEN)
