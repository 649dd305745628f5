"""The REST API's read-only list calls, which lookups and the server check need.

`RestClient` calls `/users/v2`, `/users/find_existing`, `/contents` and `/enrollments`: it
follows `nextPageToken`, batches filters so a URL stays short, retries transient failures itself
(reads are safe to repeat) and renews a refused token once. Its failures are `ApiError` /
`AuthError`, raised before anything is enrolled.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol
from urllib.parse import urlencode

import requests
import tenacity
from tenacity.wait import wait_random_exponential

from bulk_enroll.errors import ApiError, AuthError, ConfigError, Interrupted
from bulk_enroll.model import ContentItem, DirectoryUser, ServerEnrollment
from bulk_enroll.transport import TransientError
from bulk_enroll.transport.auth import TokenSource
from bulk_enroll.transport.http import (
    classify_network_error,
    header,
    http_url,
    parse_retry_after,
    redact,
    status_text,
)
from bulk_enroll.transport.rest import server_message

log = logging.getLogger(__name__)

USERS_PATH = "/users/v2"
FIND_EXISTING_PATH = "/users/find_existing"
CONTENTS_PATH = "/contents"
ENROLLMENTS_PATH = "/enrollments"

MAX_PAGE_SIZE = 1000  # the documented default and the most a page holds
#: Query characters of filter values per GET. Servers and proxies commonly refuse request lines
#: over 8 KB; 6,000 leaves room for the path and the paging parameters.
DEFAULT_MAX_QUERY_CHARS = 6000
DEFAULT_IDS_PER_CALL = 500  # IDs per JSON body (find_existing, enrollment lists)
MAX_PAGES = 100_000  # a server whose paging never ends is a bug, not a big account
MAX_RETRY_AFTER_S = 120.0  # the longest wait a 5xx's Retry-After gets
DEFAULT_NO_PROGRESS_S = 600.0  # answered 429 for this long: give up (as the sender does)



class _TokenRefused(Exception):
    """One exchange got 401; the caller renews the token once."""


class StopRequest(Protocol):
    """A stop the reads obey (a `send.interrupt.CancelToken`): Ctrl-C, SIGTERM, a cancel."""

    @property
    def reason(self) -> str | None:
        """Why the run must stop ("interrupted by SIGTERM"), or None to go on."""
        ...

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, less when a stop comes meanwhile; True when stopped."""
        ...


class RestClient:
    """Read-only calls to the account (users, content, enrollments), paged and batched.

    Not thread-safe: lookups run once, before the sender's threads start. `requests_made`
    counts HTTP requests (retries included) for the run's summary. Within `stopping_when(stop)`
    a stop ends the reads between two requests (the one in flight finishes) with `Interrupted`.
    """

    def __init__(
        self,
        api_url: str,
        *,
        session: requests.Session,
        tokens: TokenSource,
        timeout: tuple[float, float] = (10, 60),
        page_size: int = MAX_PAGE_SIZE,
        max_attempts: int = 5,
        max_query_chars: int = DEFAULT_MAX_QUERY_CHARS,
        ids_per_call: int = DEFAULT_IDS_PER_CALL,
        sleep: Callable[[float], None] | None = None,
        no_progress_s: float = DEFAULT_NO_PROGRESS_S,
    ) -> None:
        http_url(api_url, "the API URL")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ConfigError(f"the page size must be 1 to {MAX_PAGE_SIZE}, not {page_size}")
        self.api_url = api_url.rstrip("/")
        self.page_size = page_size
        self.max_query_chars = max_query_chars
        self.ids_per_call = max(1, ids_per_call)
        self.requests_made = 0
        self._session = session
        self._tokens = tokens
        self._timeout = timeout
        self._max_attempts = max(1, max_attempts)
        self._no_progress_s = no_progress_s
        self._sleep = sleep  # None: time.sleep, or the stop's wait when there is a stop
        self._stop: StopRequest | None = None

    def __repr__(self) -> str:
        return f"RestClient(api_url={self.api_url!r})"

    @contextmanager
    def stopping_when(self, stop: StopRequest | None) -> Iterator[None]:
        """While the block runs, `stop` ends the reads: before each request, and during the
        wait before a retry, a stop raises `Interrupted` (nothing is enrolled by a read)."""
        previous, self._stop = self._stop, stop
        try:
            yield
        finally:
            self._stop = previous

    def _check_stop(self) -> None:
        reason = self._stop.reason if self._stop is not None else None
        if reason is not None:
            raise Interrupted(reason)

    def _pause(self, seconds: float) -> None:
        """The wait before a retry: cut short by a stop."""
        if self._sleep is not None:
            self._sleep(seconds)
        elif self._stop is not None:
            self._stop.wait(seconds)
        else:
            time.sleep(seconds)
        self._check_stop()

    # --- users -------------------------------------------------------------------------------

    def list_users(
        self,
        *,
        emails: Sequence[str] = (),
        logins: Sequence[str] = (),
        user_ids: Sequence[str] = (),
    ) -> list[DirectoryUser]:
        """Users whose email, login or ID is among those given (`GET /users/v2`, filtered).

        Each kind goes in separate requests (the API combines different filters with AND);
        each request carries as many values as fit in a short URL, and its pages are followed
        to the end.
        """
        users: list[DirectoryUser] = []
        kinds = (("emails[]", emails), ("logins[]", logins), ("userIds[]", user_ids))
        for name, values in kinds:
            for chunk in chunk_by_query_size(
                name, values, self.max_query_chars, self.page_size
            ):
                for page in self._get_pages(USERS_PATH, {name: chunk}, "userProfiles"):
                    users.extend(_user(item) for item in page)
        return users

    def find_existing_users(self, user_ids: Sequence[str]) -> set[str]:
        """The IDs among `user_ids` that exist (`POST /users/find_existing`, batched)."""
        found: set[str] = set()
        for chunk in _chunks(list(dict.fromkeys(user_ids)), self.ids_per_call):
            data = self._call("POST", FIND_EXISTING_PATH, body={"userIds": chunk})
            if not isinstance(data, list) or not all(isinstance(i, str) for i in data):
                raise ApiError(f"{FIND_EXISTING_PATH}: the answer is not a list of IDs")
            found.update(i.lower() for i in data)
        return found

    # --- content -----------------------------------------------------------------------------

    def list_contents(self) -> list[ContentItem]:
        """Every content item of the account (`GET /contents`, all pages)."""
        items: list[ContentItem] = []
        for page in self._get_pages(CONTENTS_PATH, {}, "contentItems"):
            items.extend(_content(item) for item in page)
        return items

    # --- enrollments -------------------------------------------------------------------------

    def list_enrollments(
        self, learner_ids: Iterable[str], course_ids: Iterable[str]
    ) -> set[tuple[str, str]]:
        """The (learner ID, course ID) pairs that exist among these learners and courses.

        Reusable by anything that must know what the server holds (reconciliation, settling
        calls whose answer was lost). IDs are compared in lower case.
        """
        return set(self.enrollment_records(learner_ids, course_ids))

    def enrollment_records(
        self, learner_ids: Iterable[str], course_ids: Iterable[str]
    ) -> dict[tuple[str, str], ServerEnrollment]:
        """The enrollments that exist among these learners and courses, with the settings the
        server shows, by (learner ID, course ID) in lower case.

        `POST /enrollments` with the IDs in the JSON body (no URL length limit), batched and
        paged.
        """
        learners = sorted({i.lower() for i in learner_ids})
        courses = sorted({i.lower() for i in course_ids})
        records: dict[tuple[str, str], ServerEnrollment] = {}
        for learner_chunk in _chunks(learners, self.ids_per_call):
            for course_chunk in _chunks(courses, self.ids_per_call):
                body = {"learnerIds": learner_chunk, "courseIds": course_chunk}
                wanted_l, wanted_c = set(learner_chunk), set(course_chunk)
                for page in self._post_pages(ENROLLMENTS_PATH, body, "enrollments"):
                    for item in page:
                        record = _enrollment(item)
                        if record.learner_id in wanted_l and record.course_id in wanted_c:
                            records[(record.learner_id, record.course_id)] = record
        return records

    # --- paging ------------------------------------------------------------------------------

    def _get_pages(
        self, path: str, params: Mapping[str, object], key: str
    ) -> Iterator[list[Mapping[str, Any]]]:
        token: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            query = {**params, "pageSize": self.page_size}
            if token is not None:
                query["pageToken"] = token
            data = self._call("GET", path, params=query)
            yield _items(data, key, path)
            token = _next_token(data, path, seen)
            if token is None:
                return
        raise ApiError(f"{path}: the server's paging did not end after {MAX_PAGES} pages")

    def _post_pages(
        self, path: str, body: Mapping[str, object], key: str
    ) -> Iterator[list[Mapping[str, Any]]]:
        token: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            payload = {**body, "pageSize": self.page_size}
            if token is not None:
                # The POST schema types pageToken as an integer while pages hand out strings:
                # send a numeric token as a number, anything else as given.
                payload["pageToken"] = int(token) if token.isdigit() else token
            data = self._call("POST", path, body=payload)
            yield _items(data, key, path)
            token = _next_token(data, path, seen)
            if token is None:
                return
        raise ApiError(f"{path}: the server's paging did not end after {MAX_PAGES} pages")

    # --- one call ----------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, object] | None = None,
        body: object = None,
    ) -> object:
        """One read, retried on network errors, 408 and 5xx (up to the attempts), and sent
        again after each 429 for as long as the server paces us within the no-progress limit
        (a 429 is pacing, not failure: it spends no attempt); a refused token is renewed once.
        Raises `ApiError` (or `AuthError`) with a message fit for the user."""
        retries = _ReadRetries(f"{method} {path}", self._max_attempts, self._no_progress_s)
        retrying = tenacity.Retrying(
            stop=retries.stop,
            wait=retries.wait,
            retry=tenacity.retry_if_exception_type(TransientError),
            sleep=self._pause,
            reraise=True,
        )
        try:
            return retrying(self._call_with_fresh_token, method, path, params, body)
        except TransientError as exc:
            raise ApiError(f"{method} {path}: {retries.gave_up} ({exc})") from None

    def _call_with_fresh_token(
        self, method: str, path: str, params: Mapping[str, object] | None, body: object
    ) -> object:
        self._check_stop()  # before the token too: fetching one is a request
        token = self._tokens.get()
        try:
            return self._exchange(method, path, params, body, token)
        except _TokenRefused:
            log.info("token refused on %s %s; renewing it", method, path)
        token = self._tokens.renew(token)
        try:
            return self._exchange(method, path, params, body, token)
        except _TokenRefused as exc:
            raise AuthError(f"the server refused a freshly issued token ({exc})") from None

    def _exchange(
        self,
        method: str,
        path: str,
        params: Mapping[str, object] | None,
        body: object,
        token: str,
    ) -> object:
        self._check_stop()
        self.requests_made += 1
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            response = self._session.request(
                method,
                self.api_url + path,
                params=params,  # type: ignore[arg-type]
                data=data,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise classify_network_error(exc, redact=[token]) from None
        status = response.status_code
        message = redact(server_message(response.content, response.headers), token)
        described = status_text(status) + (f": {message}" if message else "")
        if status == 401:
            raise _TokenRefused(message or status_text(status))
        if status in (408, 429) or status >= 500:
            raise TransientError(
                described,
                maybe_applied=False,  # reads: repeating one is always safe
                retry_after=parse_retry_after(header(response.headers, "Retry-After")),
                http_status=status,
            )
        if status != 200:
            location = header(response.headers, "Location")
            if 300 <= status < 400 and location:
                described += f"; the API redirects to {location}: configure that host instead"
            raise ApiError(f"{method} {path} was refused ({described})")
        try:
            return response.json()
        except ValueError:
            raise ApiError(f"{method} {path}: the answer is not JSON (HTTP {status})") from None


class _ReadRetries:
    """What one read has spent before its answer: failures (network, 408, 5xx) against the
    attempts, and time waited on the server's 429s against the no-progress limit. Tenacity
    asks `wait` and `stop` (in an order that depends on its version) after each failed
    attempt; both read one decision per attempt."""

    def __init__(self, what: str, max_attempts: int, no_progress_s: float) -> None:
        self.what = what
        self.max_attempts = max_attempts
        self.no_progress_s = no_progress_s
        self.failures = 0
        self.paced_s = 0.0
        self.gave_up = ""
        self._decided: tuple[int, float | None] = (0, None)

    def stop(self, state: tenacity.RetryCallState) -> bool:
        return self._decide(state) is None

    def wait(self, state: tenacity.RetryCallState) -> float:
        return self._decide(state) or 0.0

    def _decide(self, state: tenacity.RetryCallState) -> float | None:
        """The wait before the next attempt, or None to give up (why in `gave_up`)."""
        attempt, decided = self._decided
        if attempt == state.attempt_number:
            return decided
        self._decided = (state.attempt_number, self._next_wait(state))
        return self._decided[1]

    def _next_wait(self, state: tenacity.RetryCallState) -> float | None:
        error = state.outcome.exception() if state.outcome else None
        backoff = wait_random_exponential(multiplier=0.5, max=30)(state)
        retry_after = getattr(error, "retry_after", None)
        if isinstance(error, TransientError) and error.rate_limited:
            wait = float(retry_after) if retry_after is not None else backoff
            if self.paced_s + wait > self.no_progress_s:
                self.gave_up = (
                    f"the server kept answering 429 Too Many Requests "
                    f"({_whole_seconds(self.paced_s)} waited, {_whole_seconds(wait)} more asked), "
                    f"past the no-progress limit of {_whole_seconds(self.no_progress_s)} "
                    "(BULK_ENROLL_NO_PROGRESS_TIMEOUT)")
                return None
            self.paced_s += wait
            log.info("%s: the server asks to slow down (429 Too Many Requests); sent again in "
                     "%s", self.what, _whole_seconds(wait))
            return wait
        self.failures += 1
        if self.failures >= self.max_attempts:
            self.gave_up = f"no usable answer after {self.failures} attempts"
            return None
        return backoff if retry_after is None else max(backoff, min(float(retry_after),
                                                                     MAX_RETRY_AFTER_S))


def _whole_seconds(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds >= 1 else f"{seconds:.1f} s"


def chunk_by_query_size(
    name: str, values: Iterable[str], max_chars: int, max_count: int
) -> Iterator[list[str]]:
    """Split `values` into runs whose `name=value&...` query stays within `max_chars`
    (URL-encoded) and `max_count` values; a single overlong value still gets its own run."""
    chunk: list[str] = []
    size = 0
    for value in values:
        cost = len(urlencode({name: value})) + 1
        if chunk and (size + cost > max_chars or len(chunk) >= max_count):
            yield chunk
            chunk, size = [], 0
        chunk.append(value)
        size += cost
    if chunk:
        yield chunk


def _chunks(values: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def _items(data: object, key: str, path: str) -> list[Mapping[str, Any]]:
    items = data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ApiError(f"{path}: the answer has no {key} list")
    return items


def _next_token(data: object, path: str, seen: set[str]) -> str | None:
    token = data.get("nextPageToken") if isinstance(data, dict) else None
    if token in (None, ""):
        return None
    token = str(token)
    if token in seen:
        raise ApiError(f"{path}: the server returned the same page token twice")
    seen.add(token)
    return token


def _user(item: Mapping[str, Any]) -> DirectoryUser:
    raw_fields = item.get("fields")
    fields: Mapping[str, Any] = raw_fields if isinstance(raw_fields, dict) else {}
    user_id, status = item.get("userId"), item.get("status")
    if not isinstance(user_id, str) or isinstance(status, bool) or not isinstance(status, int):
        raise ApiError(f"{USERS_PATH}: a user in the answer has no userId or status")
    return DirectoryUser(
        user_id=user_id.lower(),
        login=str(fields.get("login") or ""),
        email=str(fields.get("email") or ""),
        status=status,
        name=" ".join(str(fields.get(key) or "").strip()
                      for key in ("first_name", "last_name")).strip(),
    )


def _content(item: Mapping[str, Any]) -> ContentItem:
    content_id, title = item.get("contentItemId"), item.get("title")
    if not isinstance(content_id, str) or not isinstance(title, str):
        raise ApiError(f"{CONTENTS_PATH}: an item in the answer has no contentItemId or title")
    kind = item.get("contentItemType")
    return ContentItem(content_id.lower(), title, kind if isinstance(kind, str) else None)


def _enrollment(item: Mapping[str, Any]) -> ServerEnrollment:
    learner, course = item.get("learnerId"), item.get("courseId")
    if not isinstance(learner, str) or not isinstance(course, str):
        raise ApiError(f"{ENROLLMENTS_PATH}: an enrollment has no learnerId or courseId")
    lock = item.get("shouldLockAfterDueDate")
    return ServerEnrollment(learner.lower(), course.lower(), _date(item.get("accessDate")),
                            _date(item.get("dueDate")), lock if isinstance(lock, bool) else None)


def _date(value: object) -> dt.date | None:
    """A date the server wrote (`2027-01-15`, or a date-time): None when absent or unreadable,
    since these settings only explain a row, they decide nothing."""
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None
