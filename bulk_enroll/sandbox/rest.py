"""The sandbox's REST endpoints, as the vendor's OpenAPI description specifies them.

`/users/v2` (GET), `/users/find_existing`, `/contents` (GET), `/enrollment` (POST creates, GET
lists) and `/enrollments` (GET, or POST with a JSON filter) over the same `SandboxState` as the
SOAP route, so both wire formats enforce one set of rules. Handlers take the parsed request and
return a status and a JSON payload; the server turns that into HTTP.

Where the published description is silent the sandbox picks the plain reading and says so:
filters of different kinds combine with AND, values of one kind with OR; email and login
filters ignore case; page tokens are opaque strings (decimal offsets here, since the POST
variant of `/enrollments` types `pageToken` as an integer); a missing `pageSize` means 1000.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import Message
from http import HTTPStatus
from typing import Protocol, TypeVar

from bulk_enroll.model import DueDateType
from bulk_enroll.sandbox.directory import Course, User, sandbox_id
from bulk_enroll.sandbox.state import (
    INVALID_TOKEN,
    TOKEN_EXPIRED,
    WRONG_PARAMETERS,
    EnrollmentRecord,
    SandboxState,
    SoapFault,
    TokenStatus,
)

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 1000
LEARNER_ROLE_ID = sandbox_id("role", "learner")
AUTHOR_ID = sandbox_id("user", "content.author@example.com")
ADDED_DATE = "2026-01-05 09:00:00"  # users: the vendor's `datetime` format
CONTENT_ADDED = "2026-01-05T09:00:00+00:00"  # content items: RFC 3339 `date-time`

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_NEW_ENROLLMENT_FIELDS = frozenset(
    ("courseIds", "learnerIds", "dueDateType", "dueDate", "duePeriod", "accessDate",
     "lockAfterDueDate")
)
_LIST_ENROLLMENTS_FIELDS = frozenset(
    {"pageSize", "pageToken", "courseIds", "learnerIds", "enrollmentIds"}
)
_FAULT_STATUS = {
    INVALID_TOKEN: HTTPStatus.UNAUTHORIZED,
    TOKEN_EXPIRED: HTTPStatus.UNAUTHORIZED,
    WRONG_PARAMETERS: HTTPStatus.BAD_REQUEST,
    "Permission denied": HTTPStatus.FORBIDDEN,
}

T = TypeVar("T")


class Incoming(Protocol):
    """What a handler reads from a request (the server's `Request` has these)."""

    @property
    def query(self) -> dict[str, list[str]]: ...

    @property
    def headers(self) -> Message: ...

    @property
    def body(self) -> bytes: ...


@dataclass(frozen=True)
class RestAnswer:
    """A status and a JSON payload (None: an empty body, as for 201 Created)."""

    status: int
    payload: object = None


class _Refused(Exception):
    """Ends a handler with an error answer `{code, message}`."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error(status: HTTPStatus, message: str) -> RestAnswer:
    """The API's error body: `{code, message}` (an integer code, as `ErrorResponse` says)."""
    return RestAnswer(status.value, {"code": status.value, "message": message})


RestHandler = Callable[[Incoming], RestAnswer]


class RestApi:
    """The REST routes of one emulated account."""

    enrollment_routes = frozenset({("POST", "/enrollment")})  # the ones that enroll

    def __init__(self, state: SandboxState, today: Callable[[], dt.date] = dt.date.today) -> None:
        self.state = state
        self._today = today

    def routes(self) -> dict[tuple[str, str], RestHandler]:
        return {
            ("GET", "/users/v2"): self.list_users,
            ("POST", "/users/find_existing"): self.find_existing_users,
            ("GET", "/contents"): self.list_contents,
            ("POST", "/enrollment"): self.create_enrollments,
            ("POST", "/enrollment/delete"): self.delete_enrollments,
            ("GET", "/enrollment"): self.get_enrollments,
            ("GET", "/enrollments"): self.list_enrollments,
            ("POST", "/enrollments"): self.list_enrollments_by_post,
        }

    # --- users -------------------------------------------------------------------------------

    def list_users(self, request: Incoming) -> RestAnswer:
        def handle() -> RestAnswer:
            self._authorize(request)
            users = self._filter_users(request.query)
            page, next_token = _query_page(users, request.query)
            return _page_answer("userProfiles", [self._user(u) for u in page], next_token)

        return _answer(handle)

    def find_existing_users(self, request: Incoming) -> RestAnswer:
        def handle() -> RestAnswer:
            self._authorize(request)
            body = _json_object(request.body)
            if "userIds" not in body:
                raise _Refused(HTTPStatus.BAD_REQUEST, "userIds is required")
            ids = _uuid_list(body["userIds"], "userIds")
            return RestAnswer(200, [i for i in dict.fromkeys(ids) if self.state.user(i)])

        return _answer(handle)

    def _filter_users(self, query: Mapping[str, list[str]]) -> list[User]:
        directory = self.state.directory
        emails = {e.strip().casefold() for e in query.get("emails[]", [])}
        logins = {e.strip().casefold() for e in query.get("logins[]", [])}
        ids = set(_uuid_list(query.get("userIds[]", []), "userIds[]"))
        departments = set(_uuid_list(query.get("departments[]", []), "departments[]"))
        groups = _uuid_list(query.get("groups[]", []), "groups[]")
        if groups:
            return []  # the sandbox account has no groups
        if emails:  # the narrowest filter first: index lookups, not a scan of 6,000 users
            candidates = [u for e in sorted(emails) for u in directory.users_by_email.get(e, [])]
        elif logins:
            by_login = directory.users_by_login
            candidates = [u for name in sorted(logins) for u in by_login.get(name, [])]
        elif ids:
            candidates = [u for u in map(self.state.user, sorted(ids)) if u is not None]
        else:
            candidates = list(directory.users)
        return [
            u
            for u in candidates
            if (not emails or u.email.casefold() in emails)
            and (not logins or u.login.casefold() in logins)
            and (not ids or u.user_id in ids)
            and (not departments or u.department_id in departments)
        ]

    @staticmethod
    def _user(user: User) -> dict[str, object]:
        no_supervisor = {"subordinationType": "no_supervisor"}
        return {
            "userId": user.user_id,
            "role": "learner",
            "roleId": LEARNER_ROLE_ID,
            "departmentId": user.department_id,
            "status": user.status_code,
            "fields": {
                "login": user.login,
                "email": user.email,
                "first_name": user.first_name,
                "last_name": user.last_name,
            },
            "addedDate": ADDED_DATE,
            "lastLoginDate": ADDED_DATE,
            "userRoles": [{"roleId": LEARNER_ROLE_ID, "roleType": "learner"}],
            "groups": [],
            "subordination": no_supervisor,
            "coSubordination": no_supervisor,
        }

    # --- content -----------------------------------------------------------------------------

    def list_contents(self, request: Incoming) -> RestAnswer:
        def handle() -> RestAnswer:
            self._authorize(request)
            ids = set(_uuid_list(request.query.get("contentItemIds[]", []), "contentItemIds[]"))
            types = set(request.query.get("contentTypes", []))
            items = [
                c
                for c in self.state.directory.courses
                if (not ids or c.content_id in ids) and (not types or "Course" in types)
            ]
            page, next_token = _query_page(items, request.query)
            return _page_answer("contentItems", [_content(c) for c in page], next_token)

        return _answer(handle)

    # --- enrollments -------------------------------------------------------------------------

    def create_enrollments(self, request: Incoming) -> RestAnswer:
        """`POST /enrollment`: the REST twin of `enrollLearnersInCourses`, same rules."""
        token = _bearer(request.headers)
        try:
            learners, courses, fields = _new_enrollment(request.body)
        except _Refused as refused:
            if self.state.check_token(token) is not TokenStatus.OK:
                return error(HTTPStatus.UNAUTHORIZED, INVALID_TOKEN)
            self.state.record_rejected_request(SoapFault(WRONG_PARAMETERS, detail=refused.message))
            return error(refused.status, f"{WRONG_PARAMETERS}: {refused.message}")
        try:
            self.state.enroll(token, learners, courses, fields)
        except SoapFault as fault:
            status = _FAULT_STATUS.get(fault.faultstring, HTTPStatus.BAD_REQUEST)
            return error(status, str(fault))
        return RestAnswer(HTTPStatus.CREATED.value)

    def delete_enrollments(self, request: Incoming) -> RestAnswer:
        """`POST /enrollment/delete` (Unenroll): what an administrator removing enrollments
        in the LMS does; unknown IDs are refused, nothing is removed then."""

        def handle() -> RestAnswer:
            self._authorize(request)
            body = _json_object(request.body)
            if "enrollmentIds" not in body:
                raise _Refused(HTTPStatus.BAD_REQUEST, "enrollmentIds is required")
            wanted = set(_uuid_list(body["enrollmentIds"], "enrollmentIds"))
            pairs = {enrollment_id(*pair): pair for pair in self.state.enrollments()}
            unknown = sorted(wanted - set(pairs))
            if unknown:
                raise _Refused(HTTPStatus.BAD_REQUEST, f"no such enrollment: {unknown[0]}")
            self.state.remove_enrollments(pairs[i] for i in wanted)
            return RestAnswer(HTTPStatus.NO_CONTENT.value)

        return _answer(handle)

    def get_enrollments(self, request: Incoming) -> RestAnswer:
        def handle() -> RestAnswer:
            self._authorize(request)
            records = self._filter_enrollments(
                learners=request.query.get("learnerIds[]", []),
                courses=request.query.get("courseIds[]", []),
                enrollments=request.query.get("enrollmentIds[]", []),
                names=("learnerIds[]", "courseIds[]", "enrollmentIds[]"),
            )
            return RestAnswer(200, {"enrollments": [self._enrollment(r) for r in records]})

        return _answer(handle)

    def list_enrollments(self, request: Incoming) -> RestAnswer:
        def handle() -> RestAnswer:
            self._authorize(request)
            records = self._filter_enrollments(
                learners=request.query.get("learnerIds[]", []),
                courses=request.query.get("courseIds[]", []),
                enrollments=request.query.get("enrollmentIds[]", []),
                names=("learnerIds[]", "courseIds[]", "enrollmentIds[]"),
            )
            page, next_token = _query_page(records, request.query)
            return _page_answer("enrollments", [self._enrollment(r) for r in page], next_token)

        return _answer(handle)

    def list_enrollments_by_post(self, request: Incoming) -> RestAnswer:
        def handle() -> RestAnswer:
            self._authorize(request)
            body = _json_object(request.body)
            unknown = sorted(set(body) - _LIST_ENROLLMENTS_FIELDS)
            if unknown:
                raise _Refused(HTTPStatus.BAD_REQUEST, f"unknown field(s): {', '.join(unknown)}")
            records = self._filter_enrollments(
                learners=body.get("learnerIds", []),
                courses=body.get("courseIds", []),
                enrollments=body.get("enrollmentIds", []),
                names=("learnerIds", "courseIds", "enrollmentIds"),
            )
            page, next_token = _page(records, body.get("pageSize"), body.get("pageToken"))
            return _page_answer("enrollments", [self._enrollment(r) for r in page], next_token)

        return _answer(handle)

    def _filter_enrollments(
        self, *, learners: object, courses: object, enrollments: object, names: tuple[str, ...]
    ) -> list[EnrollmentRecord]:
        learner_ids = set(_uuid_list(learners, names[0]))
        course_ids = set(_uuid_list(courses, names[1]))
        enrollment_ids = set(_uuid_list(enrollments, names[2]))
        return [
            record
            for (learner, course), record in self.state.enrollments().items()
            if (not learner_ids or learner in learner_ids)
            and (not course_ids or course in course_ids)
            and (not enrollment_ids or enrollment_id(learner, course) in enrollment_ids)
        ]

    def _enrollment(self, record: EnrollmentRecord) -> dict[str, object]:
        settings = record.settings
        access = settings.access_date.date() if settings.access_date else self._today()
        due = settings.due_date
        if settings.due_date_type is DueDateType.DUE_PERIOD and settings.due_period_hours:
            due = access + dt.timedelta(hours=settings.due_period_hours)
        item: dict[str, object] = {
            "enrollmentId": enrollment_id(record.learner_id, record.course_id),
            "courseId": record.course_id,
            "learnerId": record.learner_id,
            "accessDate": access.isoformat(),
            "shouldLockAfterDueDate": bool(settings.lock_after_due_date),
            "enrollmentTypeGroup": 0,
        }
        if due is not None:
            item["dueDate"] = due.isoformat()
        return item

    # --- shared ------------------------------------------------------------------------------

    def _authorize(self, request: Incoming) -> None:
        status = self.state.check_token(_bearer(request.headers))
        if status is TokenStatus.EXPIRED:
            raise _Refused(HTTPStatus.UNAUTHORIZED, TOKEN_EXPIRED)
        if status is not TokenStatus.OK:
            raise _Refused(HTTPStatus.UNAUTHORIZED, INVALID_TOKEN)


def enrollment_id(learner_id: str, course_id: str) -> str:
    """The stable ID the sandbox gives the enrollment of a learner in a course."""
    return sandbox_id("enrollment", f"{learner_id}/{course_id}")


def _answer(handle: Callable[[], RestAnswer]) -> RestAnswer:
    try:
        return handle()
    except _Refused as refused:
        return error(refused.status, refused.message)


def _content(course: Course) -> dict[str, object]:
    return {
        "contentItemId": course.content_id,
        "title": course.title,
        "subtitle": "",
        "description": "",
        "userId": AUTHOR_ID,
        "addedDate": CONTENT_ADDED,
        "viewUrl": f"https://sandbox.invalid/content/{course.content_id}",
        "type": "course",
        "viewType": "course",
        "contentItemType": "Course",
    }


def _bearer(headers: Message) -> str | None:
    value = headers.get("Authorization") or ""
    scheme, _, token = value.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _one(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name, [])
    if len(values) > 1:
        raise _Refused(HTTPStatus.BAD_REQUEST, f"{name} is given {len(values)} times")
    return values[0] if values else None


def _page(
    items: Sequence[T], size: object, token: object
) -> tuple[Sequence[T], str | None]:
    """One page of `items` and the token of the next page (None on the last page)."""
    page_size = DEFAULT_PAGE_SIZE if size is None else _integer(size, "pageSize")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise _Refused(HTTPStatus.BAD_REQUEST, f"pageSize must be 1 to {MAX_PAGE_SIZE}")
    offset = 0 if token in (None, "") else _integer(token, "pageToken")
    if not 0 <= offset <= len(items):
        raise _Refused(HTTPStatus.BAD_REQUEST, "pageToken is not a token this server issued")
    end = offset + page_size
    return items[offset:end], str(end) if end < len(items) else None


def _query_page(
    items: Sequence[T], query: Mapping[str, list[str]]
) -> tuple[Sequence[T], str | None]:
    """One page as the GET forms ask for it (`pageSize`, `pageToken` query parameters)."""
    return _page(items, _one(query, "pageSize"), _one(query, "pageToken"))


def _integer(value: object, name: str) -> int:
    if isinstance(value, bool):
        raise _Refused(HTTPStatus.BAD_REQUEST, f"{name} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise _Refused(HTTPStatus.BAD_REQUEST, f"{name} must be an integer")


def _page_answer(key: str, items: list[dict[str, object]], next_token: str | None) -> RestAnswer:
    payload: dict[str, object] = {key: items}
    if next_token is not None:
        payload["nextPageToken"] = next_token
    return RestAnswer(200, payload)


def _json_object(body: bytes) -> dict[str, object]:
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise _Refused(HTTPStatus.BAD_REQUEST, "the body is not JSON") from None
    if not isinstance(data, dict):
        raise _Refused(HTTPStatus.BAD_REQUEST, "the body must be a JSON object")
    return data


def _uuid_list(value: object, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Refused(HTTPStatus.BAD_REQUEST, f"{name} must be a list of IDs")
    bad = [v for v in value if not _UUID.match(v.strip())]
    if bad:
        raise _Refused(HTTPStatus.BAD_REQUEST, f"{name}: {bad[0]!r} is not a UUID")
    return [v.strip().lower() for v in value]


def _new_enrollment(body: bytes) -> tuple[list[str], list[str], dict[str, str]]:
    """A `NewEnrollment` body -> (learners, courses, SOAP-style fields for the shared rules).

    JSON types are checked here (the SOAP route gets text); the values themselves are then
    judged by `SandboxState.enroll`, exactly as for SOAP.
    """
    data = _json_object(body)
    unknown = sorted(set(data) - _NEW_ENROLLMENT_FIELDS)
    if unknown:
        raise _Refused(HTTPStatus.BAD_REQUEST, f"unknown parameter(s): {', '.join(unknown)}")
    for name in ("courseIds", "learnerIds", "dueDateType"):
        if name not in data:
            raise _Refused(HTTPStatus.BAD_REQUEST, f"{name} is required")
    learners = _string_list(data["learnerIds"], "learnerIds")
    courses = _string_list(data["courseIds"], "courseIds")
    fields: dict[str, str] = {}
    for name in ("dueDateType", "dueDate", "accessDate"):
        if name in data:
            if not isinstance(data[name], str):
                raise _Refused(HTTPStatus.BAD_REQUEST, f"{name} must be a string")
            fields[name] = str(data[name])
    if "accessDate" in fields and len(fields["accessDate"]) == len("YYYY-MM-DD"):
        fields["accessDate"] += " 00:00:00"  # a date: the start of that day
    if "duePeriod" in data:
        period = data["duePeriod"]
        if isinstance(period, bool) or not isinstance(period, int):
            raise _Refused(HTTPStatus.BAD_REQUEST, "duePeriod must be an integer (hours)")
        fields["duePeriod"] = str(period)
    if "lockAfterDueDate" in data:
        lock = data["lockAfterDueDate"]
        if not isinstance(lock, bool):
            raise _Refused(HTTPStatus.BAD_REQUEST, "lockAfterDueDate must be true or false")
        fields["lockAfterDueDate"] = "true" if lock else "false"
    return learners, courses, fields


def _string_list(value: object, name: str) -> list[str]:
    """A list of strings; the values are judged by the shared rules (unknown ID, ...)."""
    if not isinstance(value, list) or not all(isinstance(i, str) for i in value):
        raise _Refused(HTTPStatus.BAD_REQUEST, f"{name} must be a list of IDs")
    return [str(i) for i in value]
