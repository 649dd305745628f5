"""Sender throughput against a rate-limited, slow sandbox (run explicitly, prints figures).

    python -m pytest tests/bench/bench_sender.py -s

The sandbox runs in its own process (50 ms latency, 20 requests/s, 429 above that) so the
client's CPU time is measured alone. The same 100,000-row cohort workload, the same planned
calls, sent two ways:
  * baseline: what a home-made script does: 8 threads posting the envelopes, sleeping for
    Retry-After on a 429 and trying again;
  * ours: `bulk-enroll run` with its adaptive throttle (BULK_ENROLL_RATE_LIMIT=20).
Rates are measured over the send phase (the summary's send_seconds); CPU per 1,000 rows covers
the whole client run (read, validate, plan, send, report).
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from bulk_enroll.cli import main
from bulk_enroll.model import Batch
from bulk_enroll.plan.planner import PlanLimits, plan
from bulk_enroll.read.reader import read_table
from bulk_enroll.resolve.rows import resolve_rows
from bulk_enroll.results import unique_pairs
from bulk_enroll.sandbox import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, default_directory
from bulk_enroll.transport.soap import build_envelope
from bulk_enroll.validate.rows import validate_table
from tests.bench.sandbox_process import free_port
from tests.bench.sandbox_process import start_sandbox as start_process
from tests.support import HEADER, write_csv

pytestmark = pytest.mark.bench

LIMIT = 20.0
LATENCY = 0.05
COHORTS, COHORT_SIZE, COURSES_PER_COHORT = 400, 50, 5  # 100,000 rows
LEARNERS_PER_CALL = 25  # 800 calls: enough to measure a rate, short enough to run twice


def cohort_file(path: Path) -> Path:
    """Disjoint cohorts, each with its own set of courses (so no two cohorts share a call)."""
    courses = [c.content_id for c in default_directory().courses]
    course_sets = itertools.combinations(courses, COURSES_PER_COHORT)
    rows: list[list[object]] = [list(HEADER)]
    for cohort, chosen in zip(range(COHORTS), course_sets, strict=False):
        learners = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench/{cohort}/{i}"))
                    for i in range(COHORT_SIZE)]
        rows += [[lr, c, "unlimited", "", "", "", ""] for lr in learners for c in chosen]
    return write_csv(path, rows)


def start_sandbox(port: int) -> subprocess.Popen[bytes]:
    return start_process(port, "--latency", str(LATENCY), "--rate-limit", str(int(LIMIT)),
                         "--accept-any-learner")


def naive_run(source: Path) -> dict[str, float]:
    """8 threads, retry after Retry-After on 429, nothing else: the baseline."""
    port = free_port()
    sandbox = start_sandbox(port)
    try:
        base = f"http://127.0.0.1:{port}"
        token = requests.post(f"{base}/api/v3/token", data={
            "client_id": SANDBOX_CLIENT_ID, "client_secret": SANDBOX_CLIENT_SECRET,
            "grant_type": "client_credentials"}, timeout=10).json()["access_token"]
        rows = validate_table(read_table(source)).rows
        batches = plan(unique_pairs(resolve_rows(rows)),
                       PlanLimits(max_learners=LEARNERS_PER_CALL))
        session = requests.Session()

        def post(batch: Batch) -> int:
            body = build_envelope(batch, token)
            while True:
                answer = session.post(f"{base}/soap", data=body, timeout=30,
                                      headers={"Content-Type": "text/xml; charset=utf-8"})
                if answer.status_code != 429:
                    return answer.status_code
                time.sleep(float(answer.headers.get("Retry-After", "1")))

        started = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(post, batches))
        send = time.perf_counter() - started
        stats = requests.get(f"{base}/_sandbox/stats", timeout=5).json()
    finally:
        sandbox.terminate()
        sandbox.wait(10)
    assert set(codes) == {200}
    figures = {"calls": stats["successful_calls"] + stats["faults"].get("rate_limit", 0),
               "successful_calls": stats["successful_calls"],
               "429s": stats["faults"].get("rate_limit", 0), "send_s": send,
               "calls_per_s": stats["successful_calls"] / send,
               "pairs_per_s": stats["enrollments"] / send}
    print("\n baseline: " + ", ".join(
        f"{k} {v:,.1f}" if isinstance(v, float) else f"{k} {v:,}" for k, v in figures.items()))
    return figures


def one_run(tmp_path: Path, source: Path, label: str, env: dict[str, str]) -> dict[str, float]:
    port = free_port()
    sandbox = start_sandbox(port)
    try:
        os.environ.update({
            "BULK_ENROLL_SOAP_URL": f"http://127.0.0.1:{port}/soap",
            "BULK_ENROLL_API_URL": f"http://127.0.0.1:{port}",
            "BULK_ENROLL_CLIENT_ID": SANDBOX_CLIENT_ID,
            "BULK_ENROLL_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
            "BULK_ENROLL_STATE_DIR": str(tmp_path / f"state-{label}"),
            "BULK_ENROLL_MAX_ATTEMPTS": "50",
            "BULK_ENROLL_RETRY_BUDGET": "100000",
            "BULK_ENROLL_MAX_LEARNERS_PER_CALL": str(LEARNERS_PER_CALL),
            **{f"BULK_ENROLL_{name}": value for name, value in env.items()},
        })
        wall, cpu = time.perf_counter(), time.process_time()
        code = main(["run", str(source), "--report", str(tmp_path / f"{label}.xlsx"),
                     "--summary-json", str(tmp_path / f"{label}.json")])
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        stats = requests.get(f"http://127.0.0.1:{port}/_sandbox/stats", timeout=5).json()
    finally:
        sandbox.terminate()
        sandbox.wait(10)
        for name in ("RATE_LIMIT", "CONCURRENCY"):
            os.environ.pop(f"BULK_ENROLL_{name}", None)
    summary = json.loads((tmp_path / f"{label}.json").read_text())
    assert code == 0, summary["status_counts"]
    rows = summary["rows"]
    figures = {
        "rows": rows,
        "calls": summary["api_calls"],
        "successful_calls": stats["successful_calls"],
        "retries": summary["retries"],
        "429s": stats["faults"].get("rate_limit", 0),
        "wall_s": wall,
        "send_s": summary["send_seconds"],
        "calls_per_s": stats["successful_calls"] / summary["send_seconds"],
        "pairs_per_s": stats["enrollments"] / summary["send_seconds"],
        "cpu_ms_per_1000_rows": 1000 * cpu / rows * 1000,
    }
    print(f"\n{label:>9}: " + ", ".join(
        f"{k} {v:,.1f}" if isinstance(v, float) else f"{k} {v:,}" for k, v in figures.items()))
    return figures


def test_throughput_against_a_rate_limited_sandbox(tmp_path):
    source = cohort_file(tmp_path / "cohorts.csv")
    naive = naive_run(source)
    ours = one_run(tmp_path, source, "ours", {"CONCURRENCY": "4", "RATE_LIMIT": str(LIMIT)})
    share = ours["calls_per_s"] / LIMIT
    print(f"\nours reached {share:.0%} of the {LIMIT:g} calls/s limit with {ours['429s']} 429s "
          f"(baseline: {naive['calls_per_s']:.1f} calls/s, {naive['429s']} 429s)")
    assert share >= 0.9
    assert ours["429s"] <= max(3, naive["429s"] // 10)  # no 429 storm
