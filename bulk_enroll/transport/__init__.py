"""How a batch reaches the LMS: one small protocol, several wire formats behind it.

A transport performs exactly one HTTP exchange per `enroll` call and reports what happened.
Retrying, renewing tokens and splitting rejected batches belong to the sender, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bulk_enroll.model import Batch
from bulk_enroll.transport.rate_headers import RateLimitHint


class CallVerdict(StrEnum):
    """How the server answered one enrollment call."""

    SUCCESS = "success"
    REJECTED = "rejected"  # the server refused the content: Permission denied, Wrong parameters
    AUTH = "auth"  # the token was refused: renew it and try again


@dataclass(frozen=True)
class CallResult:
    verdict: CallVerdict
    message: str = ""
    http_status: int | None = None
    rate_limit: RateLimitHint | None = None  # what the answer's RateLimit-* headers said


class TransientError(Exception):
    """The call did not complete but may succeed if repeated (network, 5xx, 429).

    `maybe_applied` is True when the request may have reached the server before the answer was
    lost (read timeout, reset after sending, 5xx): the enrollment may already exist.
    `retry_after` is the server's requested wait in seconds, when it sent one.
    `rate_limited` marks a refusal by the server's rate limit (HTTP 429): the server pacing
    the client, never applied, so the call is simply sent again later.
    """

    def __init__(
        self,
        message: str,
        *,
        maybe_applied: bool,
        retry_after: float | None = None,
        http_status: int | None = None,
        rate_limit: RateLimitHint | None = None,
    ) -> None:
        super().__init__(message)
        self.maybe_applied = maybe_applied
        self.retry_after = retry_after
        self.http_status = http_status
        self.rate_limit = rate_limit

    @property
    def rate_limited(self) -> bool:
        return self.http_status == 429 and not self.maybe_applied


class Transport(Protocol):
    """What the sender needs from a wire format."""

    name: str

    def enroll(self, batch: Batch, token: str) -> CallResult:
        """Send one enrollment call; raise `TransientError` when the answer is missing or busy."""
        ...
