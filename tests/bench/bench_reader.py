"""Reader benchmarks (not collected by default). Run explicitly:

    .venv/bin/python -m pytest tests/bench/bench_reader.py -s

1. A generated 100,000-row XLSX: our read + validate against a bare
   `pandas.read_excel(path, engine="calamine")` of the same file, in the same run, alternating
   rounds and comparing the best of each (the machine may be shared). Target: at most 1.5x.
2. A generated 1,000,000-row CSV: read + validate in a fresh subprocess, whose peak resident
   memory (VmHWM) must stay under 1 GiB; prints rows/s, next to a bare `csv.reader` pass
   over the same file as the baseline.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from bulk_enroll.read.reader import read_table
from bulk_enroll.validate.rows import validate_table

pytestmark = pytest.mark.bench

XLSX_ROWS = 100_000
CSV_ROWS = 1_000_000
ROUNDS = 3
HEADER = [
    "Employee name",
    "Department",
    "learner_id",
    "course_id",
    "due_date_type",
    "due_date",
    "due_period",
    "lock_after_due_date",
    "access_date",
]
TYPES = ("due_date", "due_period", "unlimited")


def _ids(rng: random.Random, count: int) -> list[str]:
    return [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(count)]


@pytest.fixture(scope="module")
def big_xlsx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(1)
    courses = _ids(rng, 40)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Enrollments")
    sheet.append(HEADER)
    for i in range(XLSX_ROWS):
        kind = TYPES[i % 3]
        sheet.append(
            [
                f"Person {i}",
                "Sales",
                str(uuid.UUID(int=rng.getrandbits(128))),
                courses[i % 40],
                kind,
                dt.datetime(2027, 3, 1) + dt.timedelta(days=i % 30) if kind == "due_date" else None,
                720 if kind == "due_period" else None,
                bool(i % 2),
                dt.datetime(2027, 1, 1, 9, 0),
            ]
        )
    path = tmp_path_factory.mktemp("bench") / "big.xlsx"
    book.save(path)
    return path


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(2)
    courses = _ids(rng, 40)
    path = tmp_path_factory.mktemp("bench") / "big.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in range(CSV_ROWS):
            kind = TYPES[i % 3]
            writer.writerow(
                [
                    f"Person {i}",
                    "Sales",
                    str(uuid.UUID(int=rng.getrandbits(128))),
                    courses[i % 40],
                    kind,
                    f"2027-03-{1 + i % 28:02d}" if kind == "due_date" else "",
                    "720" if kind == "due_period" else "",
                    ("true", "false")[i % 2],
                    "2027-01-01 09:00",
                ]
            )
    return path


def _timed(action) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def test_xlsx_read_and_validate_within_1_5x_of_pandas(big_xlsx: Path) -> None:
    ours: list[float] = []
    pandas: list[float] = []
    rows = 0

    def read_and_validate() -> None:
        nonlocal rows
        validated = validate_table(read_table(big_xlsx))
        rows = sum(1 for row in validated.rows if row.requests)

    for _ in range(ROUNDS):
        pandas.append(_timed(lambda: pd.read_excel(big_xlsx, engine="calamine")))
        ours.append(_timed(read_and_validate))
    ratio = min(ours) / min(pandas)
    print(
        f"\n{XLSX_ROWS:,}-row XLSX ({big_xlsx.stat().st_size / 1e6:.1f} MB), best of {ROUNDS}:"
        f"\n  pandas.read_excel(engine='calamine'): {min(pandas):.3f} s"
        f"\n  bulk_enroll read + validate:          {min(ours):.3f} s"
        f" ({XLSX_ROWS / min(ours):,.0f} rows/s)"
        f"\n  ratio: {ratio:.2f}x (target <= 1.5x)"
        f"\n  all rounds: pandas {[round(t, 3) for t in pandas]},"
        f" ours {[round(t, 3) for t in ours]}"
    )
    assert rows == XLSX_ROWS
    assert ratio <= 1.5


_CHILD = """
import csv, json, resource, sys, time
from pathlib import Path
path = Path(sys.argv[1])
if sys.argv[2] == "baseline":
    started = time.perf_counter()
    with path.open(newline="", encoding="utf-8") as handle:
        rows = sum(1 for _ in csv.reader(handle)) - 1
else:
    from bulk_enroll.read.reader import read_table
    from bulk_enroll.validate.rows import validate_table
    started = time.perf_counter()
    validated = validate_table(read_table(path))
    rows = sum(1 for row in validated.rows if row.requests)
elapsed = time.perf_counter() - started
# VmHWM is this program's own peak; ru_maxrss would include the parent's size at fork time.
try:
    status = Path("/proc/self/status").read_text()
    peak = int(next(l for l in status.splitlines() if l.startswith("VmHWM:")).split()[1]) * 1024
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kilobytes
print(json.dumps({"rows": rows, "seconds": elapsed, "peak_bytes": peak}))
"""


def _child(path: Path, mode: str) -> dict[str, float]:
    completed = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), mode],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(completed.stdout)  # type: ignore[no-any-return]


def test_million_row_csv_under_1_gib(big_csv: Path) -> None:
    baseline = _child(big_csv, "baseline")
    ours = _child(big_csv, "validate")
    gib = 1024**3
    print(
        f"\n{CSV_ROWS:,}-row CSV ({big_csv.stat().st_size / 1e6:.0f} MB):"
        f"\n  bare csv.reader pass: {baseline['seconds']:.2f} s"
        f" ({baseline['rows'] / baseline['seconds']:,.0f} rows/s),"
        f" peak RSS {baseline['peak_bytes'] / 2**20:,.0f} MiB"
        f"\n  read + validate:      {ours['seconds']:.2f} s"
        f" ({ours['rows'] / ours['seconds']:,.0f} rows/s),"
        f" peak RSS {ours['peak_bytes'] / 2**20:,.0f} MiB (limit 1024 MiB)"
    )
    assert ours["rows"] == CSV_ROWS
    assert ours["peak_bytes"] < gib
