"""The emulated account's mutable state and the rules of `enrollLearnersInCourses`.

Kept free of HTTP and XML so the rules can be tested directly, and so the SOAP route and the
REST routes share one truth. One lock guards everything: the server is threaded.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from bulk_enroll.model import DueDateType, DueSettings
from bulk_enroll.sandbox.directory import ACTIVE, Directory, User

SANDBOX_CLIENT_ID = "sandbox-client"
SANDBOX_CLIENT_SECRET = "sandbox-secret"
# A department administrator: may enroll only learners of DEPT_ADMIN_DEPARTMENT.
DEPT_ADMIN_CLIENT_ID = "sandbox-dept-admin"
DEPT_ADMIN_CLIENT_SECRET = "sandbox-dept-secret"
DEPT_ADMIN_DEPARTMENT = "Engineering"
PERMISSION_DENIED = "Permission denied"

FAULT_CLIENT = "SOAP-ENV:Client"
INVALID_TOKEN = "Invalid token"
TOKEN_EXPIRED = "Token expired"
WRONG_PARAMETERS = "Wrong parameters"

#: The optional/conditional parameters of the method, by their SOAP element names.
ENROLL_FIELDS = ("accessDate", "dueDateType", "dueDate", "duePeriod", "lockAfterDueDate")

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
_POSITIVE_INT = re.compile(r"[1-9][0-9]*")
_BOOLEANS = {"true": True, "false": False}
_DUE_DATE_TYPES = {t.value for t in DueDateType}

T = TypeVar("T")


class InvalidCredentials(Exception):
    """The token endpoint refused a client ID / secret pair."""


class SoapFault(Exception):
    """A fault the SOAP method answers; `faultstring` is what the vendor's clients match on."""

    def __init__(
        self, faultstring: str, *, faultcode: str = FAULT_CLIENT, detail: str | None = None
    ) -> None:
        super().__init__(faultstring if detail is None else f"{faultstring}: {detail}")
        self.faultstring = faultstring
        self.faultcode = faultcode
        self.detail = detail


class TokenStatus(StrEnum):
    OK = "ok"
    EXPIRED = "expired"
    INVALID = "invalid"


@dataclass(frozen=True)
class EnrollmentRecord:
    """One (learner, course) enrollment as the account holds it now."""

    learner_id: str
    course_id: str
    settings: DueSettings
    times_enrolled: int


@dataclass(frozen=True)
class CallRecord:
    """One enrollment call as received; `outcome` is "success" or the faultstring.

    `timestamp` is a reading of the state's clock (monotonic seconds unless a test injects one),
    good for ordering calls and measuring a client's request rate.
    """

    learner_ids: tuple[str, ...]
    course_ids: tuple[str, ...]
    fields: Mapping[str, str]
    outcome: str
    timestamp: float
    detail: str | None = None


SUCCESS = "success"
MAX_REQUEST_LOG = 200_000  # a long-running foreground sandbox keeps only the latest requests


@dataclass(frozen=True)
class RequestRecord:
    """One HTTP request the server answered (every route: token, SOAP, REST lists...).

    `status` is the HTTP status sent, 0 when the connection was dropped without an answer.
    Tests count these to check how many calls a client needed (lookups, paging).
    """

    method: str
    path: str
    status: int
    timestamp: float


class SandboxState:
    """Tokens, enrollments, received calls and injected-fault counters of one emulated account."""

    def __init__(
        self,
        directory: Directory,
        token_lifetime_s: float = 1800,
        clock: Callable[[], float] = time.monotonic,
        *,
        accept_unknown_learners: bool = False,
    ) -> None:
        self.directory = directory
        # For load tests: any well-formed learner ID counts as an active user.
        self.accept_unknown_learners = accept_unknown_learners
        self.token_lifetime_s = token_lifetime_s
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, float | None] = {}  # token -> expiry clock reading, None: never
        self._token_scope: dict[str, str] = {}  # token -> the only department it may enroll
        self._enrollments: dict[tuple[str, str], EnrollmentRecord] = {}
        self._calls: list[CallRecord] = []
        self._fault_counts: Counter[str] = Counter()
        self._requests: deque[RequestRecord] = deque(maxlen=MAX_REQUEST_LOG)

    # --- tokens -------------------------------------------------------------------------------

    def issue_token(self, client_id: str, client_secret: str) -> tuple[str, int]:
        """A new bearer token and its lifetime in seconds, as `POST /api/v3/token` answers."""
        scope = self._scope_of(client_id, client_secret)
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = self._clock() + self.token_lifetime_s
            if scope is not None:
                self._token_scope[token] = scope
        return token, int(self.token_lifetime_s)

    def _scope_of(self, client_id: str, client_secret: str) -> str | None:
        """The department a client may enroll (None: the whole account); refuse strangers."""
        clients = {
            SANDBOX_CLIENT_ID: (SANDBOX_CLIENT_SECRET, None),
            DEPT_ADMIN_CLIENT_ID: (DEPT_ADMIN_CLIENT_SECRET, self.dept_admin_department_id),
        }
        known = clients.get(client_id)
        if known is None or not secrets.compare_digest(client_secret.encode(),
                                                       known[0].encode()):
            raise InvalidCredentials("unknown client_id or wrong client_secret")
        return known[1]

    @property
    def dept_admin_department_id(self) -> str:
        return next(d.department_id for d in self.directory.departments
                    if d.name == DEPT_ADMIN_DEPARTMENT)

    def add_static_token(self, token: str, *, department_id: str | None = None) -> None:
        """Accept `token` forever (a pre-issued token for demos and tests); with
        `department_id`, it is a department administrator's token for that department."""
        with self._lock:
            self._tokens[token] = None
            if department_id is not None:
                self._token_scope[token] = department_id

    def check_token(self, token: str | None) -> TokenStatus:
        with self._lock:
            return self._check_token_locked(token)

    def _check_token_locked(self, token: str | None) -> TokenStatus:
        if not token or token not in self._tokens:
            return TokenStatus.INVALID
        expiry = self._tokens[token]
        if expiry is not None and self._clock() >= expiry:
            return TokenStatus.EXPIRED
        return TokenStatus.OK

    # --- enrollment -----------------------------------------------------------------------------

    def enroll(
        self,
        token: str | None,
        learner_ids: Iterable[str],
        course_ids: Iterable[str],
        fields: Mapping[str, str],
    ) -> None:
        """Apply one `enrollLearnersInCourses` call, all or nothing; raise `SoapFault` if refused.

        Every call is recorded, refused or not, so tests can see exactly what a client sent.
        """
        learners = tuple(learner_ids)
        courses = tuple(course_ids)
        fields = dict(fields)
        with self._lock:
            try:
                status = self._check_token_locked(token)
                if status is TokenStatus.EXPIRED:
                    raise SoapFault(TOKEN_EXPIRED)
                if status is not TokenStatus.OK:
                    raise SoapFault(INVALID_TOKEN)
                problems = self._id_problems(learners, courses)
                settings = parse_settings(fields, problems)
                if problems:
                    raise SoapFault(WRONG_PARAMETERS, detail="; ".join(problems))
                outsiders = self._outside_scope(token, learners)
                if outsiders:
                    raise SoapFault(PERMISSION_DENIED, detail="learners outside the "
                                    f"administrator's departments: {', '.join(outsiders)}")
            except SoapFault as fault:
                self._record_call(learners, courses, fields, fault.faultstring, fault.detail)
                raise
            assert settings is not None  # no problems means the settings parsed
            for pair in dict.fromkeys((lr, c) for lr in learners for c in courses):
                previous = self._enrollments.get(pair)
                times = previous.times_enrolled + 1 if previous else 1
                self._enrollments[pair] = EnrollmentRecord(*pair, settings, times)
            self._record_call(learners, courses, fields, SUCCESS)

    def remove_enrollments(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Unenroll these (learner, course) pairs, as an administrator can in the LMS. A pair
        enrolled again afterwards counts from 1: `times_enrolled` counts since the removal."""
        with self._lock:
            for pair in pairs:
                self._enrollments.pop(pair, None)

    def user(self, user_id: str) -> User | None:
        """The directory's user, or (load tests, `accept_unknown_learners`) a stand-in for any
        well-formed ID, so lookups and enrollments agree that it exists."""
        found = self.directory.user_by_id.get(user_id)
        if found is None and self.accept_unknown_learners:
            return User(user_id, f"load-{user_id[:8]}", f"{user_id}@load.example",
                        "Load", "Test", self.directory.departments[0].department_id, ACTIVE)
        return found

    def _outside_scope(self, token: str | None, learners: tuple[str, ...]) -> list[str]:
        scope = self._token_scope.get(token or "")
        if scope is None:
            return []
        users = self.directory.user_by_id
        return [lr for lr in dict.fromkeys(learners)
                if lr not in users or users[lr].department_id != scope]

    def record_rejected_request(self, fault: SoapFault) -> None:
        """Log a call whose request could not even be read (malformed XML, wrong body)."""
        with self._lock:
            self._record_call((), (), {}, fault.faultstring, fault.detail)

    def _id_problems(self, learners: tuple[str, ...], courses: tuple[str, ...]) -> list[str]:
        problems = []
        if not learners:
            problems.append("learnerIds is empty")
        if not courses:
            problems.append("courseIds is empty")
        users = self.directory.user_by_id
        for learner in dict.fromkeys(learners):
            user = users.get(learner)
            if user is None and self.accept_unknown_learners:
                continue
            if user is None:
                problems.append(f"unknown learner ID {learner!r}")
            elif not user.is_active:
                problems.append(f"learner {learner!r} is inactive")
        problems.extend(
            f"unknown course ID {course!r}"
            for course in dict.fromkeys(courses)
            if course not in self.directory.course_by_id
        )
        return problems

    def _record_call(
        self,
        learners: tuple[str, ...],
        courses: tuple[str, ...],
        fields: Mapping[str, str],
        outcome: str,
        detail: str | None = None,
    ) -> None:
        self._calls.append(
            CallRecord(learners, courses, dict(fields), outcome, self._clock(), detail)
        )

    # --- injected faults --------------------------------------------------------------------------

    def record_fault(self, kind: str) -> None:
        """Count one fault the server injected (latency, 503, 429, dropped connection...)."""
        with self._lock:
            self._fault_counts[kind] += 1

    def record_request(self, method: str, path: str, status: int) -> None:
        """Log one HTTP request and the status it was answered with (0: dropped)."""
        with self._lock:
            self._requests.append(RequestRecord(method, path, status, self._clock()))

    # --- read-only views (copies, safe to keep while the server runs) ----------------------------

    def enrollments(self) -> dict[tuple[str, str], EnrollmentRecord]:
        with self._lock:
            return dict(self._enrollments)

    def calls(self) -> list[CallRecord]:
        with self._lock:
            return list(self._calls)

    def fault_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._fault_counts)

    def requests(self, path: str | None = None) -> list[RequestRecord]:
        """The HTTP requests answered so far, oldest first; only those to `path` if given."""
        with self._lock:
            return [r for r in self._requests if path is None or r.path == path]


def parse_settings(fields: Mapping[str, str], problems: list[str]) -> DueSettings | None:
    """The call's `DueSettings`, or None after appending every problem found to `problems`.

    Strict on purpose: a field that does not apply to the due-date type is an error, so a
    client that sends stray fields is caught in tests rather than silently tolerated.
    """
    start = len(problems)
    problems.extend(f"unknown parameter {name!r}" for name in fields if name not in ENROLL_FIELDS)

    type_text = fields.get("dueDateType")
    due_type: DueDateType | None = None
    if type_text is None:
        problems.append("dueDateType is missing")
    elif type_text not in _DUE_DATE_TYPES:
        problems.append(f"dueDateType {type_text!r} is not one of {', '.join(DueDateType)}")
    else:
        due_type = DueDateType(type_text)

    due_date = _conditional(
        fields, "dueDate", due_type, DueDateType.DUE_DATE, _parse_date, problems
    )
    due_period = _conditional(
        fields, "duePeriod", due_type, DueDateType.DUE_PERIOD, _parse_positive_int, problems
    )

    access_date = None
    if "accessDate" in fields:
        access_date = _parse_datetime(fields["accessDate"])
        if access_date is None:
            problems.append(f"accessDate {fields['accessDate']!r} is not YYYY-MM-DD HH:MM:SS")

    lock = None
    if "lockAfterDueDate" in fields:
        lock = _BOOLEANS.get(fields["lockAfterDueDate"])
        if lock is None:
            problems.append(f"lockAfterDueDate {fields['lockAfterDueDate']!r} is not true/false")

    if len(problems) > start or due_type is None:
        return None
    return DueSettings(due_type, access_date, due_date, due_period, lock)


def _conditional(
    fields: Mapping[str, str],
    name: str,
    due_type: DueDateType | None,
    applies_to: DueDateType,
    parse: Callable[[str], T | None],
    problems: list[str],
) -> T | None:
    """Parse a field that is required for one due-date type and forbidden for the others."""
    text = fields.get(name)
    if due_type is None:  # the type is already wrong; still report a malformed value
        if text is not None and parse(text) is None:
            problems.append(f"{name} {text!r} is malformed")
        return None
    if due_type is not applies_to:
        if text is not None:
            problems.append(f"{name} does not apply to dueDateType {due_type.value}")
        return None
    if text is None:
        problems.append(f"{name} is required when dueDateType is {applies_to.value}")
        return None
    value = parse(text)
    if value is None:
        problems.append(f"{name} {text!r} is malformed")
    return value


def _parse_date(text: str) -> dt.date | None:
    if not _DATE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _parse_datetime(text: str) -> dt.datetime | None:
    if not _DATETIME.fullmatch(text):
        return None
    try:
        return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


def _parse_positive_int(text: str) -> int | None:
    return int(text) if _POSITIVE_INT.fullmatch(text) else None
