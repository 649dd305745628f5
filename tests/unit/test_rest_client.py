"""The REST list calls over requests-mock: paging, batching, retries, token renewal, errors."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from bulk_enroll.errors import ApiError, AuthError
from bulk_enroll.model import ContentItem, DirectoryUser
from bulk_enroll.transport.auth import StaticToken
from bulk_enroll.transport.http import make_session
from bulk_enroll.transport.lookup_client import RestClient, chunk_by_query_size
from tests.support import make_id

API = "https://api-learn.example.com"


class RenewingTokens:
    """A token source that hands out tok-1, then tok-2 on renewal."""

    def __init__(self) -> None:
        self.token = "tok-1"
        self.renewals = 0

    def get(self) -> str:
        return self.token

    def renew(self, stale: str) -> str:
        self.renewals += 1
        self.token = f"tok-{self.renewals + 1}"
        return self.token


def client(tokens=None, sleeps: list[float] | None = None, **kwargs) -> RestClient:  # type: ignore[no-untyped-def]
    return RestClient(
        API,
        session=make_session("test"),
        tokens=tokens or StaticToken("tok"),
        timeout=(1, 1),
        sleep=(sleeps if sleeps is not None else []).append,
        **kwargs,
    )


def user(name: str, status: int = 1) -> dict[str, object]:
    return {
        "userId": make_id(name).upper(),  # IDs are compared in lower case
        "status": status,
        "fields": {"login": name, "email": f"{name}@example.com"},
    }


def query(request) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return parse_qs(urlsplit(request.url).query)


def test_list_users_follows_next_page_tokens_to_the_end(requests_mock):
    pages = {
        None: {"userProfiles": [user("a"), user("b")], "nextPageToken": "p2"},
        "p2": {"userProfiles": [user("c", 3)], "nextPageToken": "p3"},
        "p3": {"userProfiles": []},
    }
    requests_mock.get(
        API + "/users/v2", json=lambda req, ctx: pages[query(req).get("pageToken", [None])[0]]
    )
    found = client(page_size=2).list_users(emails=["a@example.com", "b@example.com"])
    assert found == [
        DirectoryUser(make_id("a"), "a", "a@example.com", 1),
        DirectoryUser(make_id("b"), "b", "b@example.com", 1),
        DirectoryUser(make_id("c"), "c", "c@example.com", 3),
    ]
    assert [query(r).get("pageToken") for r in requests_mock.request_history] == [
        None, ["p2"], ["p3"]
    ]
    first = query(requests_mock.request_history[0])
    assert first["emails[]"] == ["a@example.com", "b@example.com"] and first["pageSize"] == ["2"]
    assert requests_mock.last_request.headers["Authorization"] == "Bearer tok"


def test_a_users_first_and_last_name_are_kept_for_messages(requests_mock):
    named = {**user("a"), "fields": {"login": "a", "email": "a@example.com",
                                     "first_name": "Pavel", "last_name": " Jensen "}}
    half = {**user("b"), "fields": {"login": "b", "email": "b@example.com", "first_name": "Bo"}}
    requests_mock.get(API + "/users/v2", json={"userProfiles": [named, half, user("c")]})
    assert [u.name for u in client().list_users(emails=["a@example.com"])] == [
        "Pavel Jensen", "Bo", ""
    ]


def test_emails_and_logins_are_asked_separately_in_short_urls(requests_mock):
    requests_mock.get(API + "/users/v2", json={"userProfiles": []})
    emails = [f"person.number{i}@example.com" for i in range(400)]
    client(max_query_chars=2000).list_users(emails=emails, logins=["jdoe"])
    history = requests_mock.request_history
    asked = [e for r in history for e in query(r).get("emails[]", [])]
    assert asked == emails  # every email once, in order
    assert all(len(urlsplit(r.url).query) < 2000 + 100 for r in history)
    assert len(history) == len(list(chunk_by_query_size("emails[]", emails, 2000, 1000))) + 1
    assert not any("emails[]" in query(r) and "logins[]" in query(r) for r in history)


def test_chunks_respect_both_the_character_budget_and_the_page_size():
    values = [f"v{i:03d}" for i in range(10)]
    assert [len(c) for c in chunk_by_query_size("x[]", values, 10_000, 4)] == [4, 4, 2]
    cost = len("x%5B%5D=v000") + 1
    assert [len(c) for c in chunk_by_query_size("x[]", values, cost * 3, 100)] == [3, 3, 3, 1]
    assert list(chunk_by_query_size("x[]", ["y" * 50], 10, 10)) == [["y" * 50]]


def test_find_existing_posts_ids_in_batches(requests_mock):
    ids = [make_id(f"u{i}") for i in range(7)]
    requests_mock.post(
        API + "/users/find_existing", json=lambda req, ctx: req.json()["userIds"][:1]
    )
    found = client(ids_per_call=3).find_existing_users(ids + ids[:2])  # repeats asked once
    assert [len(r.json()["userIds"]) for r in requests_mock.request_history] == [3, 3, 1]
    assert found == {ids[0], ids[3], ids[6]}


def test_list_contents_reads_every_page(requests_mock):
    item = {"contentItemId": make_id("c1"), "title": "Fire Safety", "contentItemType": "Course"}
    requests_mock.get(
        API + "/contents",
        [
            {"json": {"contentItems": [item], "nextPageToken": "1"}},
            {"json": {"contentItems": [{**item, "contentItemId": make_id("c2")}]}},
        ],
    )
    assert client().list_contents() == [
        ContentItem(make_id("c1"), "Fire Safety", "Course"),
        ContentItem(make_id("c2"), "Fire Safety", "Course"),
    ]


def test_list_enrollments_filters_in_the_body_and_sends_numeric_page_tokens_as_numbers(
    requests_mock,
):
    l1, l2, c1, other = make_id("l1"), make_id("l2"), make_id("c1"), make_id("other")

    def page(learner: str, course: str) -> dict[str, object]:
        return {"learnerId": learner, "courseId": course}

    requests_mock.post(
        API + "/enrollments",
        [
            {"json": {"enrollments": [page(l1, c1)], "nextPageToken": "1000"}},
            {"json": {"enrollments": [page(l2.upper(), c1), page(other, c1)]}},
        ],
    )
    pairs = client().list_enrollments([l1, l2, l1], [c1])
    assert pairs == {(l1, c1), (l2, c1)}  # a pair the server added beyond the filter is ignored
    first, second = (r.json() for r in requests_mock.request_history)
    assert first == {"learnerIds": sorted([l1, l2]), "courseIds": [c1], "pageSize": 1000}
    assert second["pageToken"] == 1000  # the POST schema types pageToken as an integer


def test_list_enrollments_without_learners_asks_nothing(requests_mock):
    assert client().list_enrollments([], [make_id("c1")]) == set()
    assert requests_mock.call_count == 0


def test_transient_failures_are_retried_then_reported(requests_mock):
    requests_mock.get(
        API + "/contents",
        [
            {"status_code": 503},
            {"exc": requests.exceptions.ConnectTimeout},
            {"status_code": 429, "headers": {"Retry-After": "3"}},
            {"json": {"contentItems": []}},
        ],
    )
    sleeps: list[float] = []
    assert client(sleeps=sleeps).list_contents() == []
    assert len(sleeps) == 3 and sleeps[2] >= 3
    requests_mock.get(API + "/contents", status_code=502)
    with pytest.raises(ApiError, match=r"GET /contents: no usable answer after 2 attempts"):
        client(max_attempts=2).list_contents()


def test_a_refused_token_is_renewed_once(requests_mock):
    requests_mock.get(
        API + "/contents",
        [{"status_code": 401, "json": {"code": 401, "message": "Token expired"}},
         {"json": {"contentItems": []}}],
    )
    tokens = RenewingTokens()
    assert client(tokens).list_contents() == []
    assert tokens.renewals == 1
    assert requests_mock.last_request.headers["Authorization"] == "Bearer tok-2"
    requests_mock.get(API + "/contents", status_code=401, json={"code": 401, "message": "no"})
    with pytest.raises(AuthError, match="refused a freshly issued token"):
        client(RenewingTokens()).list_contents()


def test_a_refused_static_token_stops_with_what_to_do(requests_mock):
    requests_mock.get(API + "/contents", status_code=401)
    with pytest.raises(AuthError, match="BULK_ENROLL_TOKEN"):
        client(StaticToken("tok")).list_contents()


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"status_code": 403, "json": {"code": 403, "message": "Permission denied"}},
         "GET /contents was refused (HTTP 403: Forbidden: Permission denied)"),
        ({"status_code": 200, "text": "<html>proxy</html>"},
         "GET /contents: the answer is not JSON"),
        ({"status_code": 200, "json": {"items": []}}, "/contents: the answer has no contentItems"),
        ({"status_code": 302, "headers": {"Location": "https://x"}},
         "GET /contents was refused (HTTP 302: Found; the API redirects to https://x: "
         "configure that host instead)"),
    ],
)
def test_unusable_answers_are_api_errors_with_the_servers_words(requests_mock, answer, message):
    requests_mock.get(API + "/contents", **answer)
    with pytest.raises(ApiError) as caught:
        client().list_contents()
    assert str(caught.value).startswith(message)
    assert requests_mock.call_count == 1  # not retried: the same question gets the same answer


def test_paging_that_never_ends_is_an_error_not_a_hang(requests_mock):
    requests_mock.get(API + "/contents", json={"contentItems": [], "nextPageToken": "same"})
    with pytest.raises(ApiError, match="same page token twice"):
        client().list_contents()
    assert requests_mock.call_count == 2


def test_requests_are_counted_for_the_summary(requests_mock):
    requests_mock.get(API + "/contents", [{"status_code": 503}, {"json": {"contentItems": []}}])
    directory = client()
    directory.list_contents()
    assert directory.requests_made == 2


def test_page_size_beyond_the_api_limit_is_refused():
    from bulk_enroll.errors import ConfigError

    with pytest.raises(ConfigError, match="page size"):
        client(page_size=1001)


def test_enrollment_records_carry_the_settings_the_server_shows(requests_mock):
    import datetime as dt

    from bulk_enroll.model import ServerEnrollment

    l1, l2, c1 = make_id("l1"), make_id("l2"), make_id("c1")
    requests_mock.post(API + "/enrollments", json={"enrollments": [
        {"learnerId": l1, "courseId": c1, "accessDate": "2027-01-02", "dueDate": "2027-01-15",
         "shouldLockAfterDueDate": True},
        {"learnerId": l2, "courseId": c1, "accessDate": "2027-01-02T09:30:00+00:00",
         "dueDate": "soon", "shouldLockAfterDueDate": "yes"},  # unreadable: not guessed
    ]})
    assert client().enrollment_records([l1, l2], [c1]) == {
        (l1, c1): ServerEnrollment(l1, c1, dt.date(2027, 1, 2), dt.date(2027, 1, 15), True),
        (l2, c1): ServerEnrollment(l2, c1, dt.date(2027, 1, 2), None, None),
    }


# --- a stop (Ctrl-C, SIGTERM, a cancel) ends the reads -------------------------------------------


def test_a_stop_ends_the_reads_between_two_requests(requests_mock):
    from bulk_enroll.errors import Interrupted
    from bulk_enroll.send.interrupt import CancelToken

    token = CancelToken()

    def first_page(request, context):  # type: ignore[no-untyped-def]
        token.cancel("interrupted by SIGTERM")  # arrives while this request is in flight
        return {"contentItems": [{"contentItemId": make_id("c1"), "title": "A"}],
                "nextPageToken": "2"}

    requests_mock.get(f"{API}/contents", json=first_page)
    reader = client()
    with reader.stopping_when(token), pytest.raises(Interrupted, match="^interrupted by SIGTERM$"):
        reader.list_contents()
    assert requests_mock.call_count == 1  # the second page was never asked for
    requests_mock.get(f"{API}/contents", json={"contentItems": []})
    assert reader.list_contents() == []  # outside the block, the stop no longer applies


def test_a_stop_cuts_the_wait_before_a_retry_short(requests_mock):
    import threading
    import time

    from bulk_enroll.errors import Interrupted
    from bulk_enroll.send.interrupt import CancelToken

    requests_mock.get(f"{API}/contents", status_code=429, headers={"Retry-After": "60"})
    token = CancelToken()
    reader = RestClient(API, session=make_session("test"), tokens=StaticToken("tok"),
                        timeout=(1, 1))  # the real wait: 60 s, as the server asked
    threading.Timer(0.2, token.cancel, args=("interrupted by SIGINT",)).start()
    began = time.monotonic()
    with reader.stopping_when(token), pytest.raises(Interrupted):
        reader.list_contents()
    assert time.monotonic() - began < 5 and requests_mock.call_count == 1


def test_a_429_is_pacing_that_spends_no_attempt_until_the_no_progress_limit(requests_mock):
    requests_mock.get(API + "/contents", [
        {"status_code": 429, "headers": {"Retry-After": "2"}},
        {"status_code": 429, "headers": {"Retry-After": "2"}},
        {"json": {"contentItems": []}},
    ])
    sleeps: list[float] = []
    assert client(sleeps=sleeps, max_attempts=1).list_contents() == []
    assert sleeps == [2.0, 2.0]
    requests_mock.get(API + "/contents", status_code=429, headers={"Retry-After": "30"})
    sleeps.clear()
    with pytest.raises(ApiError, match=r"kept answering 429 .*NO_PROGRESS_TIMEOUT"):
        client(sleeps=sleeps, no_progress_s=100).list_contents()
    assert sleeps == [30.0, 30.0, 30.0]  # a fourth wait would pass the 100 s
