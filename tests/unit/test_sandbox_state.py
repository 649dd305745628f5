"""The sandbox's rules for tokens and `enrollLearnersInCourses`, without HTTP."""

from __future__ import annotations

import datetime as dt

import pytest

from bulk_enroll.model import DueDateType, DueSettings
from bulk_enroll.sandbox.directory import default_directory, sandbox_id
from bulk_enroll.sandbox.state import (
    FAULT_CLIENT,
    INVALID_TOKEN,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SUCCESS,
    TOKEN_EXPIRED,
    WRONG_PARAMETERS,
    InvalidCredentials,
    SandboxState,
    SoapFault,
    TokenStatus,
)

DIRECTORY = default_directory()
ACTIVE = [u.user_id for u in DIRECTORY.users if u.is_active]
INACTIVE = next(u.user_id for u in DIRECTORY.users if not u.is_active)
COURSES = [c.content_id for c in DIRECTORY.courses]
TOKEN = "static-test-token"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state(clock: FakeClock) -> SandboxState:
    state = SandboxState(DIRECTORY, token_lifetime_s=1800, clock=clock)
    state.add_static_token(TOKEN)
    return state


def wrong(
    state: SandboxState,
    fields: dict[str, str],
    learners: list[str] | None = None,
    courses: list[str] | None = None,
) -> SoapFault:
    with pytest.raises(SoapFault) as caught:
        state.enroll(
            TOKEN,
            ACTIVE[:2] if learners is None else learners,
            COURSES[:2] if courses is None else courses,
            fields,
        )
    return caught.value


# --- directory -----------------------------------------------------------------------------


def test_directory_is_deterministic_and_shaped_for_the_samples() -> None:
    original = DIRECTORY.users[:240]  # the samples' users: fixed for good
    assert sum(not u.is_active for u in original) == 8
    assert len({u.email for u in original}) == 240
    assert len({u.login for u in original}) == 240
    first = DIRECTORY.users[0]
    assert (first.email, first.login) == ("anna.kowalski@example.com", "akowalski")
    assert first.user_id == sandbox_id("user", "anna.kowalski@example.com")
    titles = [c.title for c in DIRECTORY.courses[:14]]
    assert len(titles) - len(set(titles)) == 1  # exactly one duplicated title
    assert "Information Security Basics" in titles


def test_directory_has_a_realistic_size_and_the_quirks_lookups_must_handle() -> None:
    users = DIRECTORY.users
    assert len(users) == 6000
    assert len({u.email.casefold() for u in users}) == 6000  # unique ignoring case
    assert len({u.login for u in users}) == 6000
    assert len(DIRECTORY.user_by_id) == 6000
    assert {u.status for u in users} == {"active", "inactive", "terminated"}
    assert sum(u.status == "terminated" for u in users) > 50
    assert any(u.email != u.email.lower() for u in users)  # stored as typed: Chloe.Rossi@...
    assert any(u.login.endswith("2") for u in users)  # repeated names get numbered logins
    # Users beyond the samples' 240 are in departments of their own, so samples don't change.
    sample_departments = {u.department_id for u in users[:240]}
    assert not sample_departments & {u.department_id for u in users[240:]}
    titles = [c.title for c in DIRECTORY.courses]
    duplicated = {t for t in titles if titles.count(t) > 1}
    assert duplicated == {"Product Knowledge: Core Platform", "Leadership Essentials"}


# --- tokens --------------------------------------------------------------------------------


def test_issued_token_expires_after_its_lifetime(state: SandboxState, clock: FakeClock) -> None:
    token, expires_in = state.issue_token(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET)
    assert expires_in == 1800
    assert state.check_token(token) is TokenStatus.OK
    clock.now += 1799
    assert state.check_token(token) is TokenStatus.OK
    clock.now += 1
    assert state.check_token(token) is TokenStatus.EXPIRED
    with pytest.raises(SoapFault) as caught:
        state.enroll(token, ACTIVE[:1], COURSES[:1], {"dueDateType": "unlimited"})
    assert caught.value.faultstring == TOKEN_EXPIRED
    assert caught.value.faultcode == FAULT_CLIENT


def test_tokens_are_random_and_static_tokens_never_expire(
    state: SandboxState, clock: FakeClock
) -> None:
    first, _ = state.issue_token(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET)
    second, _ = state.issue_token(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET)
    assert first != second
    clock.now += 10 * 86400
    assert state.check_token(TOKEN) is TokenStatus.OK


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [(SANDBOX_CLIENT_ID, "wrong"), ("someone-else", SANDBOX_CLIENT_SECRET), ("", "")],
)
def test_wrong_credentials_are_refused(state: SandboxState, client_id: str, secret: str) -> None:
    with pytest.raises(InvalidCredentials):
        state.issue_token(client_id, secret)


@pytest.mark.parametrize("token", [None, "", "never-issued"])
def test_missing_or_unknown_token_is_invalid(state: SandboxState, token: str | None) -> None:
    assert state.check_token(token) is TokenStatus.INVALID
    with pytest.raises(SoapFault) as caught:
        state.enroll(token, ACTIVE[:1], COURSES[:1], {"dueDateType": "unlimited"})
    assert (caught.value.faultcode, caught.value.faultstring) == (FAULT_CLIENT, INVALID_TOKEN)
    assert state.enrollments() == {}


# --- Wrong parameters ----------------------------------------------------------------------

UNKNOWN_ID = sandbox_id("user", "nobody@example.com")


@pytest.mark.parametrize(
    ("learners", "courses"),
    [
        ([], COURSES[:1]),
        (ACTIVE[:1], []),
        ([UNKNOWN_ID], COURSES[:1]),
        ([INACTIVE], COURSES[:1]),
        (ACTIVE[:1], [UNKNOWN_ID]),
        (ACTIVE[:1], [""]),
    ],
    ids=[
        "no-learners",
        "no-courses",
        "unknown-learner",
        "inactive-learner",
        "unknown-course",
        "empty-course-id",
    ],
)
def test_bad_ids_are_wrong_parameters(
    state: SandboxState, learners: list[str], courses: list[str]
) -> None:
    fault = wrong(state, {"dueDateType": "unlimited"}, learners, courses)
    assert (fault.faultcode, fault.faultstring) == (FAULT_CLIENT, WRONG_PARAMETERS)
    assert fault.detail


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"dueDateType": "asap"},
        {"dueDateType": "UNLIMITED"},
        {"dueDateType": "due_date"},
        {"dueDateType": "due_date", "dueDate": "2027-02-30"},
        {"dueDateType": "due_date", "dueDate": "31.03.2027"},
        {"dueDateType": "due_date", "dueDate": "20270331"},
        {"dueDateType": "due_period"},
        {"dueDateType": "due_period", "duePeriod": "-5"},
        {"dueDateType": "due_period", "duePeriod": "0"},
        {"dueDateType": "due_period", "duePeriod": "1.5"},
        {"dueDateType": "unlimited", "dueDate": "2027-03-31"},
        {"dueDateType": "default", "duePeriod": "10"},
        {"dueDateType": "due_period", "duePeriod": "10", "dueDate": "2027-03-31"},
        {"dueDateType": "due_date", "dueDate": "2027-03-31", "duePeriod": "10"},
        {"dueDateType": "unlimited", "accessDate": "2027-01-04"},
        {"dueDateType": "unlimited", "accessDate": "2027-01-04T09:00:00"},
        {"dueDateType": "unlimited", "accessDate": "2027-01-04 25:00:00"},
        {"dueDateType": "unlimited", "lockAfterDueDate": "yes"},
        {"dueDateType": "unlimited", "lockAfterDueDate": "True"},
        {"dueDateType": "unlimited", "courseTitle": "Fire Safety"},
    ],
)
def test_bad_settings_are_wrong_parameters(state: SandboxState, fields: dict[str, str]) -> None:
    fault = wrong(state, fields)
    assert (fault.faultcode, fault.faultstring) == (FAULT_CLIENT, WRONG_PARAMETERS)
    assert state.enrollments() == {}
    assert state.calls()[-1].outcome == WRONG_PARAMETERS


def test_the_vendor_sample_parameters_are_refused(state: SandboxState) -> None:
    # The method page's sample sends dueDate and duePeriod with dueDateType=unlimited.
    fields = {
        "accessDate": "2019-09-24 10:30:00",
        "dueDateType": "unlimited",
        "dueDate": "2019-09-25",
        "duePeriod": "10",
    }
    assert wrong(state, fields).faultstring == WRONG_PARAMETERS


def test_every_problem_is_listed_in_the_detail(state: SandboxState) -> None:
    fault = wrong(
        state, {"dueDateType": "due_date", "lockAfterDueDate": "maybe"}, [UNKNOWN_ID], COURSES[:1]
    )
    assert fault.detail is not None
    for fragment in (UNKNOWN_ID, "dueDate is required", "lockAfterDueDate"):
        assert fragment in fault.detail


# --- applying ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"dueDateType": "unlimited"}, DueSettings(DueDateType.UNLIMITED)),
        (
            {"dueDateType": "default", "lockAfterDueDate": "false"},
            DueSettings(DueDateType.DEFAULT, lock_after_due_date=False),
        ),
        (
            {"dueDateType": "due_date", "dueDate": "2027-03-31", "lockAfterDueDate": "true"},
            DueSettings(
                DueDateType.DUE_DATE, due_date=dt.date(2027, 3, 31), lock_after_due_date=True
            ),
        ),
        (
            {"dueDateType": "due_period", "duePeriod": "720", "accessDate": "2027-01-04 09:00:00"},
            DueSettings(
                DueDateType.DUE_PERIOD, access_date=dt.datetime(2027, 1, 4, 9), due_period_hours=720
            ),
        ),
    ],
)
def test_valid_call_enrolls_the_cross_product(
    state: SandboxState, fields: dict[str, str], expected: DueSettings
) -> None:
    state.enroll(TOKEN, ACTIVE[:3], COURSES[:2], fields)
    records = state.enrollments()
    assert set(records) == {(lr, c) for lr in ACTIVE[:3] for c in COURSES[:2]}
    assert all(r.settings == expected and r.times_enrolled == 1 for r in records.values())
    call = state.calls()[-1]
    assert (call.outcome, call.learner_ids, call.fields) == (SUCCESS, tuple(ACTIVE[:3]), fields)


def test_one_bad_learner_fails_the_whole_call(state: SandboxState) -> None:
    with pytest.raises(SoapFault):
        state.enroll(TOKEN, [*ACTIVE[:5], INACTIVE], COURSES[:3], {"dueDateType": "unlimited"})
    assert state.enrollments() == {}
    assert [c.outcome for c in state.calls()] == [WRONG_PARAMETERS]


def test_reenrolling_counts_and_updates_settings(state: SandboxState, clock: FakeClock) -> None:
    learner, course = ACTIVE[0], COURSES[0]
    state.enroll(TOKEN, [learner], [course], {"dueDateType": "unlimited"})
    clock.now += 5
    state.enroll(
        TOKEN, [learner, ACTIVE[1]], [course], {"dueDateType": "due_period", "duePeriod": "24"}
    )
    # A duplicated ID inside one call counts once.
    state.enroll(
        TOKEN, [learner, learner], [course], {"dueDateType": "due_period", "duePeriod": "48"}
    )
    records = state.enrollments()
    assert records[(learner, course)].times_enrolled == 3
    assert records[(learner, course)].settings.due_period_hours == 48
    assert records[(ACTIVE[1], course)].times_enrolled == 1
    timestamps = [c.timestamp for c in state.calls()]
    assert timestamps == [1000.0, 1005.0, 1005.0]


def test_accessors_return_copies(state: SandboxState) -> None:
    state.enroll(TOKEN, ACTIVE[:1], COURSES[:1], {"dueDateType": "unlimited"})
    state.enrollments().clear()
    state.calls().clear()
    assert len(state.enrollments()) == 1
    assert len(state.calls()) == 1


def test_fault_counts(state: SandboxState) -> None:
    state.record_fault("error")
    state.record_fault("error")
    state.record_fault("latency")
    assert state.fault_counts() == {"error": 2, "latency": 1}
