"""The client's REST requests and the sandbox's REST answers follow the vendor's OpenAPI file.

Every exchange the client makes with the sandbox (token, users, find_existing, contents, paged
enrollment lists, enrollments created and refused) is recorded on the real HTTP session and
validated with openapi-core against `tests/fixtures/ispring-learn-rest-openapi.yaml`, a copy of
the vendor's file: request parameters and bodies (formats included: uuid, date) and response
bodies for every status.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import requests
import yaml
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.validation.request.exceptions import InvalidRequestBody

from bulk_enroll.model import Batch, DueDateType, DueSettings
from bulk_enroll.resolve.lookups import References, fetch_lookups
from bulk_enroll.sandbox import SandboxServer, default_directory
from bulk_enroll.sandbox.state import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from bulk_enroll.transport.auth import ClientCredentialsToken, StaticToken
from bulk_enroll.transport.http import make_session
from bulk_enroll.transport.lookup_client import RestClient
from bulk_enroll.transport.rest import RestTransport

SPEC = Path(__file__).resolve().parents[1] / "fixtures" / "ispring-learn-rest-openapi.yaml"
DIRECTORY = default_directory()
ACTIVE = [u for u in DIRECTORY.users if u.is_active]
INACTIVE = next(u for u in DIRECTORY.users if not u.is_active)
COURSES = [c.content_id for c in DIRECTORY.courses]


@pytest.fixture(scope="module")
def spec_dict() -> dict[str, object]:
    return yaml.safe_load(SPEC.read_text(encoding="utf-8"))


def validator(spec: dict[str, object], base_url: str) -> OpenAPI:
    """The vendor's description, served from the sandbox's address instead of the vendor's."""
    return OpenAPI.from_dict({**spec, "servers": [{"url": base_url}]})


def recording_session(recorded: list[requests.Response]) -> requests.Session:
    session = make_session("conformance-test")
    session.hooks["response"].append(lambda response, *args, **kwargs: recorded.append(response))
    return session


def check(api: OpenAPI, response: requests.Response) -> None:
    request = RequestsOpenAPIRequest(response.request)
    api.validate_request(request)
    api.validate_response(request, RequestsOpenAPIResponse(response))


def test_client_requests_and_sandbox_answers_match_the_published_schemas(spec_dict):
    recorded: list[requests.Response] = []
    with SandboxServer().start() as server:
        api = validator(spec_dict, server.api_url)
        session = recording_session(recorded)
        tokens = ClientCredentialsToken(
            server.api_url, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, session=session
        )
        client = RestClient(server.api_url, session=session, tokens=tokens, page_size=7)
        stored = next(u for u in DIRECTORY.users if u.email != u.email.lower())
        refs = References(
            emails=frozenset({ACTIVE[0].email, stored.email.lower(), "nobody@example.com"}),
            logins=frozenset({ACTIVE[1].login, "ghost"}),
            learner_ids=frozenset({ACTIVE[2].user_id, INACTIVE.user_id}),
            titles=frozenset({"Fire Safety"}),
        )
        lookups = fetch_lookups(refs, client)
        assert lookups.users_by_email[stored.email.lower()][0].user_id == stored.user_id
        assert lookups.contents is not None and len(lookups.contents) == len(COURSES)

        transport = RestTransport(server.api_url, session=session)
        token = tokens.get()
        learners = tuple(u.user_id for u in ACTIVE[:3])
        settings = [
            DueSettings(DueDateType.UNLIMITED),
            DueSettings(
                DueDateType.DUE_DATE,
                access_date=dt.datetime(2027, 1, 4),
                due_date=dt.date(2027, 3, 31),
                lock_after_due_date=True,
            ),
            DueSettings(DueDateType.DUE_PERIOD, due_period_hours=720, lock_after_due_date=False),
        ]
        for n, setting in enumerate(settings):
            batch = Batch(f"b-{n}", setting, learners, (COURSES[n],))
            assert transport.enroll(batch, token).http_status == 201
        refused = Batch("bad", settings[0], (INACTIVE.user_id,), (COURSES[5],))
        assert transport.enroll(refused, token).http_status == 400
        stale = transport.enroll(Batch("t", settings[0], learners, COURSES[:1]), "stale")
        assert stale.http_status == 401

        # Paged enrollment listing (POST, integer page tokens) over several pages.
        small = RestClient(server.api_url, session=session, tokens=StaticToken(token), page_size=2)
        pairs = small.list_enrollments(learners, COURSES[:3])
        assert pairs == {(lr, c) for lr in learners for c in COURSES[:3]}
        # The sandbox's other list forms, as a client of the published API would call them.
        auth = {"Authorization": f"Bearer {token}"}
        session.get(server.api_url + "/enrollments", headers=auth,
                    params={"learnerIds[]": list(learners), "pageSize": 4})
        session.get(server.api_url + "/enrollment", headers=auth,
                    params={"courseIds[]": COURSES[:1]})
        session.get(server.api_url + "/users/v2", headers={"Authorization": "Bearer nope"})
        session.get(server.api_url + "/contents", headers=auth, params={"pageSize": 5000})

    assert recorded, "nothing was recorded"
    for response in recorded:
        check(api, response)
    seen = {(r.request.method, r.request.path_url.split("?")[0], r.status_code) for r in recorded}
    assert seen >= {
        ("POST", "/api/v3/token", 200),
        ("GET", "/users/v2", 200),
        ("GET", "/users/v2", 401),
        ("POST", "/users/find_existing", 200),
        ("GET", "/contents", 200),
        ("GET", "/contents", 400),
        ("POST", "/enrollment", 201),
        ("POST", "/enrollment", 400),
        ("POST", "/enrollment", 401),
        ("POST", "/enrollments", 200),
        ("GET", "/enrollments", 200),
        ("GET", "/enrollment", 200),
    }
    pages = [r for r in recorded if r.request.path_url.startswith("/enrollments")]
    assert any(b'"pageToken": 2' in (r.request.body or b"") for r in pages)  # paging was used


def test_the_validator_catches_a_body_that_breaks_the_schema(spec_dict):
    """Guards the test above: a request the schema forbids must fail validation."""
    with SandboxServer().start() as server:
        api = validator(spec_dict, server.api_url)
        server.state.add_static_token("t")
        response = requests.post(
            server.api_url + "/enrollment",
            json={"learnerIds": ["not-a-uuid"], "courseIds": [COURSES[0]],
                  "dueDateType": "unlimited"},
            headers={"Authorization": "Bearer t"},
            timeout=5,
        )
    with pytest.raises(InvalidRequestBody):
        check(api, response)


def test_an_access_time_of_day_is_the_one_documented_deviation(spec_dict):
    """The schema's `accessDate` is a date; a row with a time keeps it (SOAP's format, as
    README says). Only that field fails the schema, and the sandbox accepts it."""
    recorded: list[requests.Response] = []
    with SandboxServer().start() as server:
        api = validator(spec_dict, server.api_url)
        server.state.add_static_token("t")
        transport = RestTransport(server.api_url, session=recording_session(recorded))
        timed = DueSettings(DueDateType.UNLIMITED, access_date=dt.datetime(2027, 1, 4, 9, 0))
        batch = Batch("b", timed, (ACTIVE[0].user_id,), (COURSES[0],))
        assert transport.enroll(batch, "t").http_status == 201
        record = server.state.enrollments()[(ACTIVE[0].user_id, COURSES[0])]
        assert record.settings.access_date == dt.datetime(2027, 1, 4, 9, 0)
    with pytest.raises(InvalidRequestBody) as caught:
        check(api, recorded[0])
    assert "'2027-01-04 09:00:00' is not a 'date'" in str(caught.value.__cause__ or caught.value)
