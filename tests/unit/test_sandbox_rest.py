"""The sandbox's REST endpoints without a socket: paging, filters, auth and the shared rules."""

from __future__ import annotations

import datetime as dt
import json
from email.message import Message
from urllib.parse import parse_qs, urlencode

import pytest

from bulk_enroll.model import DueDateType, DueSettings
from bulk_enroll.sandbox import SandboxState, default_directory
from bulk_enroll.sandbox.directory import sandbox_id
from bulk_enroll.sandbox.rest import enrollment_id
from bulk_enroll.sandbox.server import Request, SandboxApp

DIRECTORY = default_directory()
TOKEN = "static-token"
ACTIVE = [u for u in DIRECTORY.users if u.is_active]
INACTIVE = next(u for u in DIRECTORY.users if u.status == "inactive")
TERMINATED = next(u for u in DIRECTORY.users if u.status == "terminated")
COURSES = [c.content_id for c in DIRECTORY.courses]


@pytest.fixture
def app() -> SandboxApp:
    state = SandboxState(DIRECTORY)
    state.add_static_token(TOKEN)
    return SandboxApp(state)


def call(app: SandboxApp, method: str, path: str, query=None, body=None, token=TOKEN):  # type: ignore[no-untyped-def]
    headers = Message()
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    raw = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
    request = Request(method, path, parse_qs(urlencode(query or {}, doseq=True)), headers,
                      raw or b"")
    response = app.dispatch(request)
    return response.status, (json.loads(response.body) if response.body else None)


def test_users_are_found_by_email_ignoring_case_and_by_login(app):
    stored = next(u for u in DIRECTORY.users if u.email != u.email.lower())
    status, page = call(app, "GET", "/users/v2", {"emails[]": [stored.email.lower(), "x@y.z"]})
    assert status == 200 and "nextPageToken" not in page
    [profile] = page["userProfiles"]
    assert (profile["userId"], profile["fields"]["email"]) == (stored.user_id, stored.email)
    _, page = call(app, "GET", "/users/v2", {"logins[]": [ACTIVE[0].login.upper()]})
    assert [p["userId"] for p in page["userProfiles"]] == [ACTIVE[0].user_id]


def test_user_status_codes_follow_the_api(app):
    _, page = call(app, "GET", "/users/v2", {"userIds[]": [ACTIVE[0].user_id, INACTIVE.user_id,
                                                           TERMINATED.user_id]})
    assert {p["userId"]: p["status"] for p in page["userProfiles"]} == {
        ACTIVE[0].user_id: 1, INACTIVE.user_id: 3, TERMINATED.user_id: 5
    }


def test_filters_of_different_kinds_combine_with_and(app):
    user = ACTIVE[0]
    query = {"emails[]": [user.email], "logins[]": [ACTIVE[1].login]}
    assert call(app, "GET", "/users/v2", query)[1]["userProfiles"] == []
    query = {"departments[]": [user.department_id], "emails[]": [user.email]}
    assert len(call(app, "GET", "/users/v2", query)[1]["userProfiles"]) == 1


def test_the_whole_directory_pages_with_next_page_tokens(app):
    seen, token, calls = [], None, 0
    while True:
        query = {"pageSize": 1000, **({"pageToken": token} if token else {})}
        status, page = call(app, "GET", "/users/v2", query)
        assert status == 200
        calls += 1
        seen += [p["userId"] for p in page["userProfiles"]]
        token = page.get("nextPageToken")
        if token is None:
            break
    assert calls == 6 and seen == [u.user_id for u in DIRECTORY.users]


@pytest.mark.parametrize(
    "query",
    [{"pageSize": 0}, {"pageSize": 1001}, {"pageSize": "ten"}, {"pageToken": "zzz"},
     {"pageToken": "999999"}, {"userIds[]": ["not-a-uuid"]}],
)
def test_bad_paging_and_filters_are_400_with_code_and_message(app, query):
    status, body = call(app, "GET", "/users/v2", query)
    assert status == 400 and body["code"] == 400 and body["message"]


@pytest.mark.parametrize("path", ["/users/v2", "/contents", "/enrollments"])
@pytest.mark.parametrize("token", [None, "wrong"])
def test_list_endpoints_need_a_valid_bearer_token(app, path, token):
    assert call(app, "GET", path, token=token) == (401, {"code": 401, "message": "Invalid token"})


def test_find_existing_returns_the_ids_that_exist(app):
    unknown = sandbox_id("user", "nobody")
    asked = [INACTIVE.user_id, unknown, ACTIVE[0].user_id]
    status, ids = call(app, "POST", "/users/find_existing", body={"userIds": asked})
    assert status == 200 and ids == [INACTIVE.user_id, ACTIVE[0].user_id]
    assert call(app, "POST", "/users/find_existing", body={})[0] == 400
    assert call(app, "POST", "/users/find_existing", body=b"{nope")[0] == 400


def test_contents_list_every_course_with_duplicates(app):
    status, page = call(app, "GET", "/contents", {"pageSize": 7})
    assert status == 200 and page["nextPageToken"] == "7" and len(page["contentItems"]) == 7
    _, rest = call(app, "GET", "/contents", {"pageSize": 1000, "pageToken": "7"})
    titles = [c["title"] for c in page["contentItems"] + rest["contentItems"]]
    assert titles == [c.title for c in DIRECTORY.courses]
    assert {c["contentItemType"] for c in rest["contentItems"]} == {"Course"}


def enroll_body(**fields) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {"learnerIds": [ACTIVE[0].user_id], "courseIds": [COURSES[0]],
            "dueDateType": "unlimited", **fields}


def test_post_enrollment_creates_with_201_and_applies_the_settings(app):
    body = enroll_body(dueDateType="due_period", duePeriod=48, accessDate="2027-01-04",
                       lockAfterDueDate=True)
    assert call(app, "POST", "/enrollment", body=body) == (201, None)
    record = app.state.enrollments()[(ACTIVE[0].user_id, COURSES[0])]
    assert record.settings == DueSettings(
        DueDateType.DUE_PERIOD,
        access_date=dt.datetime(2027, 1, 4),
        due_period_hours=48,
        lock_after_due_date=True,
    )


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (enroll_body(learnerIds=[INACTIVE.user_id]), 400, "is inactive"),
        (enroll_body(courseIds=[sandbox_id("course", "x")]), 400, "unknown course ID"),
        (enroll_body(dueDate="2027-01-01"), 400, "dueDate does not apply"),
        (enroll_body(duePeriod="48"), 400, "duePeriod must be an integer"),
        (enroll_body(lockAfterDueDate="yes"), 400, "lockAfterDueDate must be true or false"),
        (enroll_body(extra=1), 400, "unknown parameter(s): extra"),
        ({"learnerIds": [], "courseIds": []}, 400, "dueDateType is required"),
    ],
)
def test_post_enrollment_refuses_what_the_soap_method_refuses(app, body, status, message):
    code, answer = call(app, "POST", "/enrollment", body=body)
    assert (code, answer["code"]) == (status, status)
    assert answer["message"].startswith("Wrong parameters") and message in answer["message"]
    assert app.state.enrollments() == {}
    assert app.state.calls()[-1].outcome == "Wrong parameters"  # logged like a SOAP call


def test_post_enrollment_with_a_bad_token_is_401(app):
    assert call(app, "POST", "/enrollment", body=enroll_body(), token="nope") == (
        401, {"code": 401, "message": "Invalid token"}
    )
    assert call(app, "POST", "/enrollment", body=b"junk", token="nope")[0] == 401


def test_enrollments_are_listed_by_get_and_post_with_filters_and_paging(app):
    learners = [u.user_id for u in ACTIVE[:5]]
    app.state.enroll(TOKEN, learners, COURSES[:2], {"dueDateType": "unlimited"})
    status, page = call(app, "POST", "/enrollments",
                        body={"learnerIds": learners[:3], "courseIds": [COURSES[1]],
                              "pageSize": 2})
    assert status == 200 and page["nextPageToken"] == "2"
    _, last = call(app, "POST", "/enrollments",
                   body={"learnerIds": learners[:3], "courseIds": [COURSES[1]], "pageSize": 2,
                         "pageToken": 2})
    pairs = {(e["learnerId"], e["courseId"]) for e in page["enrollments"] + last["enrollments"]}
    assert pairs == {(lr, COURSES[1]) for lr in learners[:3]}
    _, by_get = call(app, "GET", "/enrollments", {"learnerIds[]": learners[:1]})
    assert {e["courseId"] for e in by_get["enrollments"]} == set(COURSES[:2])
    wanted = enrollment_id(learners[0], COURSES[0])
    _, one = call(app, "GET", "/enrollment", {"enrollmentIds[]": [wanted]})
    assert [e["enrollmentId"] for e in one["enrollments"]] == [wanted]
    assert call(app, "POST", "/enrollments", body={"bogus": 1})[0] == 400


def test_every_request_is_logged_with_its_status(app):
    call(app, "GET", "/contents")
    call(app, "GET", "/contents", token=None)
    call(app, "GET", "/nowhere")
    assert [(r.method, r.path, r.status) for r in app.state.requests()] == [
        ("GET", "/contents", 200), ("GET", "/contents", 401), ("GET", "/nowhere", 404)
    ]
    assert len(app.state.requests("/contents")) == 2
