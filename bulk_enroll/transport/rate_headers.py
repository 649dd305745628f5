"""What an answer's rate-limit headers say: `RateLimit-*` (IETF draft), `X-RateLimit-*`, or the
draft's single `RateLimit` / `RateLimit-Policy` fields.

Servers spell these many ways; the sender only needs four numbers (calls allowed, calls left,
seconds until the quota is whole again, the window), so this reads what it can and ignores the
rest: a malformed header means "no hint", never a failed call.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

EPOCH_THRESHOLD = 1_000_000_000  # an X-RateLimit-Reset above this is a Unix time, not seconds
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_PARAMETER = re.compile(r"\b(limit|remaining|reset|r|t|q|w)\s*=\s*(-?\d+(?:\.\d+)?)", re.I)


@dataclass(frozen=True)
class RateLimitHint:
    """The server's own account of its limit, as far as it gave one."""

    limit: int | None = None  # calls allowed per window
    remaining: int | None = None  # calls left in the current window
    reset_s: float | None = None  # seconds until the quota is whole again (or a call frees up)
    window_s: float | None = None  # the policy's window, when the server names it


def parse_rate_limit(headers: Mapping[str, str] | None,
                     now: Callable[[], float] = time.time) -> RateLimitHint | None:
    """The hint in `headers`, or None when they carry none. `now` (Unix time) turns an epoch
    reset into seconds; injectable for tests."""
    if not headers:
        return None
    lowered = {name.lower(): value for name, value in headers.items()}
    values: dict[str, float] = {}
    for prefix in ("ratelimit-", "x-ratelimit-"):
        for field in ("limit", "remaining", "reset"):
            number = _first_number(lowered.get(prefix + field))
            if number is not None and field not in values:
                values[field] = number
    for name in ("ratelimit", "ratelimit-policy", "ratelimit-limit"):
        for key, text in _PARAMETER.findall(lowered.get(name, "")):
            field = {"r": "remaining", "t": "reset", "q": "limit", "w": "window"}.get(
                key.lower(), key.lower())
            values.setdefault(field, float(text))
    policy = _first_number(lowered.get("ratelimit-policy"))
    if policy is not None and not re.match(r"\s*\w+\s*=", lowered.get("ratelimit-policy", "")):
        values.setdefault("limit", policy)  # "100;w=60": the quota comes first
    if not values:
        return None
    reset = values.get("reset")
    if reset is not None and reset > EPOCH_THRESHOLD:
        reset = reset - now()
    return RateLimitHint(
        limit=_whole(values.get("limit")),
        remaining=_whole(values.get("remaining")),
        reset_s=max(0.0, reset) if reset is not None else None,
        window_s=values["window"] if values.get("window", 0) > 0 else None,
    )


def _first_number(text: str | None) -> float | None:
    """`100`, `100, 100;w=60` (draft lists), `100;w=60`: the first number."""
    if not text:
        return None
    match = _NUMBER.search(text)
    return float(match.group()) if match else None


def _whole(value: float | None) -> int | None:
    return None if value is None or value < 0 else int(value)
