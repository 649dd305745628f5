"""The REST API's enrollment call: `POST /enrollment` as a `Transport`.

`RestTransport` is the JSON twin of the SOAP method: one exchange per `enroll`, the same
`CallResult` / `TransientError` / `ProtocolError` meanings, so the sender's retries, token
renewal and bisection work unchanged. 201 is success; 400, 401 and 403 carry `{code, message}`.
The read-only list calls are in `lookup_client.py`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping

import requests

from bulk_enroll.model import Batch, DueDateType
from bulk_enroll.transport import CallResult, CallVerdict, TransientError
from bulk_enroll.transport.http import (
    ProtocolError,
    header,
    http_url,
    parse_retry_after,
    post_call,
    status_text,
)

ENROLL_PATH = "/enrollment"
MAX_MESSAGE_CHARS = 300
_SUCCESS = frozenset({200, 201, 204})




def build_enrollment(batch: Batch) -> dict[str, object]:
    """The `NewEnrollment` JSON body of one batch; only the fields its due-date type uses.

    `accessDate` is a date in the published schema; a time of day, when the file gives one,
    is written `YYYY-MM-DD HH:MM:SS` as the SOAP method takes it, rather than dropped.
    """
    if not batch.learner_ids or not batch.course_ids:
        raise ValueError(f"batch {batch.batch_id} has no learners or no courses")
    settings = batch.settings
    body: dict[str, object] = {
        "courseIds": list(batch.course_ids),
        "learnerIds": list(batch.learner_ids),
        "dueDateType": settings.due_date_type.value,
    }
    if settings.due_date_type is DueDateType.DUE_DATE:
        if settings.due_date is None:
            raise ValueError(f"batch {batch.batch_id}: due_date type without a due date")
        body["dueDate"] = _date(settings.due_date).isoformat()
    if settings.due_date_type is DueDateType.DUE_PERIOD:
        if settings.due_period_hours is None:
            raise ValueError(f"batch {batch.batch_id}: due_period type without a period")
        body["duePeriod"] = int(settings.due_period_hours)
    if settings.access_date is not None:
        access = settings.access_date.replace(microsecond=0, tzinfo=None)
        body["accessDate"] = (
            access.date().isoformat() if access.time() == dt.time() else access.isoformat(" ")
        )
    if settings.lock_after_due_date is not None:
        body["lockAfterDueDate"] = bool(settings.lock_after_due_date)
    return body


def _date(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def server_message(body: bytes, headers: Mapping[str, str] | None) -> str:
    """The server's own words: `message` of `{code, message}`, a short plain-text body, or ""."""
    text = ""
    try:
        data = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        data = None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        text = data["message"]
    elif (header(headers, "Content-Type") or "").startswith("text/plain"):
        text = body.decode("utf-8", "replace")
    text = " ".join(text.split())
    return text[: MAX_MESSAGE_CHARS - 3] + "..." if len(text) > MAX_MESSAGE_CHARS else text


def parse_enroll_response(
    status: int, body: bytes, headers: Mapping[str, str] | None = None
) -> CallResult:
    """What the answer to `POST /enrollment` means; pure, so every case is testable offline.

    Raises `TransientError` for 408, 429 and 5xx (5xx: maybe applied), and `ProtocolError` for
    answers no retry or split can change: a redirect, a 404 or 405 (wrong API URL), an HTML
    page where JSON was expected.
    """
    message = server_message(body, headers)
    retry_after = parse_retry_after(header(headers, "Retry-After"))
    content_type = (header(headers, "Content-Type") or "").lower()
    if status in _SUCCESS:
        if content_type.startswith("text/html"):
            raise ProtocolError(
                f"{status_text(status)} with an HTML page instead of the API's answer "
                "(a proxy or a login page?); the enrollment may or may not exist",
                http_status=status,
            )
        return CallResult(CallVerdict.SUCCESS, "", status)
    if status == 401:
        return CallResult(CallVerdict.AUTH, message or status_text(status), status)
    if status in (400, 403):
        return CallResult(CallVerdict.REJECTED, message or status_text(status), status)
    if status in (408, 429):
        detail = "the server asks to slow down" if status == 429 else "the server did not get it"
        raise TransientError(
            f"{status_text(status)}, {detail}",
            maybe_applied=False,
            retry_after=retry_after,
            http_status=status,
        )
    if status >= 500:
        # As for SOAP: 503 means the server would not take the call (RFC 9110, 15.6.4); any
        # other 5xx may come after it was applied, and the sender settles it by reading.
        raise TransientError(
            status_text(status) + (f" ({message})" if message else ""),
            maybe_applied=status != 503,
            retry_after=retry_after,
            http_status=status,
        )
    text = status_text(status) + (f": {message}" if message else "")
    location = header(headers, "Location")
    if 300 <= status < 400 and location:
        text += f" (the API redirects to {location}; configure that URL instead)"
    elif status in (404, 405):
        text += " (is BULK_ENROLL_API_URL the account's API host?)"
    raise ProtocolError(text, http_status=status, maybe_applied=200 <= status < 300)


class RestTransport:
    """Sends each batch as one `POST {api_url}/enrollment`; one exchange, no retries here."""

    name = "rest"

    def __init__(
        self,
        api_url: str,
        *,
        session: requests.Session,
        timeout: tuple[float, float] = (10, 60),
    ) -> None:
        self.url = http_url(api_url, "the API URL").rstrip("/") + ENROLL_PATH
        self.timeout = timeout
        self._session = session

    def __repr__(self) -> str:
        return f"RestTransport(url={self.url!r})"

    def enroll(self, batch: Batch, token: str) -> CallResult:
        """POST one JSON body and read the answer; never follows redirects (that would resend
        the token elsewhere), never echoes the token."""
        body = json.dumps(build_enrollment(batch)).encode()
        return post_call(
            self._session,
            self.url,
            body,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            timeout=self.timeout,
            token=token,
            parse=parse_enroll_response,
        )
