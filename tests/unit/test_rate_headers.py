"""Rate-limit headers as servers spell them."""

from __future__ import annotations

import pytest

from bulk_enroll.transport.rate_headers import RateLimitHint, parse_rate_limit


@pytest.mark.parametrize(("headers", "hint"), [
    ({"RateLimit-Limit": "100", "RateLimit-Remaining": "7", "RateLimit-Reset": "3"},
     RateLimitHint(100, 7, 3.0)),
    ({"ratelimit-limit": "100, 100;w=60", "ratelimit-remaining": "0", "ratelimit-reset": "12"},
     RateLimitHint(100, 0, 12.0, 60.0)),
    ({"RateLimit-Policy": "20;w=1", "RateLimit-Remaining": "4"},
     RateLimitHint(20, 4, None, 1.0)),
    ({"RateLimit": "limit=10, remaining=2, reset=5"}, RateLimitHint(10, 2, 5.0)),
    ({"RateLimit": '"default";r=50;t=30', "RateLimit-Policy": '"default";q=100;w=60'},
     RateLimitHint(100, 50, 30.0, 60.0)),
    ({"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4999",
      "X-RateLimit-Reset": "1700000060"}, RateLimitHint(5000, 4999, 60.0)),
])
def test_each_spelling_gives_the_same_numbers(headers, hint):
    assert parse_rate_limit(headers, now=lambda: 1_700_000_000.0) == hint


@pytest.mark.parametrize("headers", [None, {}, {"Content-Type": "text/xml"},
                                     {"RateLimit-Limit": "lots"}])
def test_no_usable_header_is_no_hint(headers):
    assert parse_rate_limit(headers) is None
