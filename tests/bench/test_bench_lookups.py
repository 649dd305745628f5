"""Benchmark: resolving 5,000 emails in batches vs. one call per email (the naive baseline).

Run explicitly: `.venv/bin/python -m pytest tests/bench -s`. Both run against the same local
sandbox in the same process, so the ratio is meaningful even though absolute times vary.
"""

from __future__ import annotations

import time
import tracemalloc

import pytest

from bulk_enroll.resolve.lookups import References, fetch_lookups
from bulk_enroll.sandbox import SandboxServer, default_directory
from bulk_enroll.transport.auth import StaticToken
from bulk_enroll.transport.http import make_session
from bulk_enroll.transport.lookup_client import RestClient

pytestmark = pytest.mark.bench
EMAILS = [u.email.lower() for u in default_directory().users[:5000]]


def test_batched_lookups_against_one_call_per_email():
    with SandboxServer().start() as server:
        server.state.add_static_token("bench")

        def client() -> RestClient:
            return RestClient(server.api_url, session=make_session("bench"),
                              tokens=StaticToken("bench"))

        baseline = client()
        started = time.perf_counter()
        for email in EMAILS:  # what a per-row resolver would do
            baseline.list_users(emails=[email])
        baseline_s = time.perf_counter() - started

        refs = References(emails=frozenset(EMAILS))
        batched = client()
        started = time.perf_counter()
        lookups = fetch_lookups(refs, batched)
        batched_s = time.perf_counter() - started
        tracemalloc.start()  # a separate run: tracing slows Python down several times
        fetch_lookups(refs, client())
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    assert len(lookups.users_by_email) == len(EMAILS)
    print(
        f"\nresolve {len(EMAILS):,} emails against the sandbox:"
        f"\n  baseline (one call per email): {baseline.requests_made:,} calls, "
        f"{baseline_s:.2f} s, {len(EMAILS) / baseline_s:,.0f} emails/s"
        f"\n  batched (fetch_lookups):       {batched.requests_made:,} calls, "
        f"{batched_s:.2f} s, {len(EMAILS) / batched_s:,.0f} emails/s, "
        f"peak {peak / 1e6:.1f} MB traced"
        f"\n  calls: {baseline.requests_made / batched.requests_made:.0f}x fewer; "
        f"time: {baseline_s / batched_s:.1f}x faster"
    )
    assert batched.requests_made * 50 < baseline.requests_made
