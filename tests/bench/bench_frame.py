"""DataFrame input benchmark (not collected by default). Run explicitly:

    .venv/bin/python -m pytest tests/bench/bench_frame.py -s

A 100,000-row DataFrame as a database query gives it (text, Timestamps with NaT, a nullable
Int64 column, booleans): `read_frame` (the cells turned into the reader's Python values) against
a bare `DataFrame.itertuples()` pass over the same frame, in the same run, alternating rounds
and comparing the best of each (the machine may be shared); validation of the table is timed
too, to show where a DataFrame run spends its time. Target: reading the frame costs no more
than the bare pass.
"""

from __future__ import annotations

import random
import time
import uuid

import pandas as pd
import pytest

from bulk_enroll.read.frame import read_frame
from bulk_enroll.validate.rows import validate_table

pytestmark = pytest.mark.bench

ROWS = 100_000
ROUNDS = 3
KINDS = ("due_date", "due_period", "unlimited")


def hr_frame() -> pd.DataFrame:
    rng = random.Random(3)
    courses = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(40)]
    return pd.DataFrame({
        "Employee name": [f"Person {i}" for i in range(ROWS)],
        "learner_id": [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(ROWS)],
        "course_id": [courses[i % 40] for i in range(ROWS)],
        "due_date_type": [KINDS[i % 3] for i in range(ROWS)],
        "due_date": [pd.Timestamp(2027, 3, 1) + pd.Timedelta(days=i % 30) if i % 3 == 0
                     else pd.NaT for i in range(ROWS)],
        "due_period": pd.array([720 if i % 3 == 1 else None for i in range(ROWS)],
                               dtype="Int64"),
        "lock_after_due_date": [bool(i % 2) for i in range(ROWS)],
        "access_date": [pd.Timestamp(2027, 1, 1, 9)] * ROWS,
    })


def _timed(action) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def test_reading_a_dataframe_costs_no_more_than_a_bare_pass() -> None:
    frame = hr_frame()
    bare: list[float] = []
    ours: list[float] = []
    validating: list[float] = []
    for _ in range(ROUNDS):
        bare.append(_timed(lambda: list(frame.itertuples(index=False))))
        ours.append(_timed(lambda: read_frame(frame)))
        table = read_frame(frame)
        validating.append(_timed(lambda: validate_table(table)))  # noqa: B023
    valid = sum(1 for row in validate_table(read_frame(frame)).rows if row.requests)
    ratio = min(ours) / min(bare)
    print(
        f"\n{ROWS:,}-row DataFrame, best of {ROUNDS}:"
        f"\n  bare DataFrame.itertuples(): {min(bare):.3f} s"
        f"\n  read_frame:                  {min(ours):.3f} s ({ROWS / min(ours):,.0f} rows/s)"
        f"\n  validate_table of it:        {min(validating):.3f} s"
        f"\n  ratio read_frame / bare: {ratio:.2f}x (target <= 1.0x)"
        f"\n  all rounds: bare {[round(t, 3) for t in bare]}, ours {[round(t, 3) for t in ours]}"
    )
    assert valid == ROWS
    assert ratio <= 1.0
