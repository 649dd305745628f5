"""Run records: a live run's report data, kept in the journal before the report is written.

A report that cannot be written after sending (a full disk, a folder gone) must not lose what
happened: the journal already holds every pair's outcome, and this keeps, under the run's ID,
what the report shows (rows, results, calls; `report.record`), so `bulk-enroll report RUN_ID`
writes the workbook later. Records are kept `KEEP_DAYS` days.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from pathlib import Path

from bulk_enroll.errors import ConfigError
from bulk_enroll.report.data import ReportData
from bulk_enroll.report.record import RecordError, decode_report_data, encode_report_data
from bulk_enroll.send.journal import Journal, RunEntry

log = logging.getLogger(__name__)
KEEP_DAYS = 90


def new_run_id(started: dt.datetime) -> str:
    """A run's ID: when it started, and six random hex digits (`20270105T090000-a1b2c3`)."""
    return f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def save_run_record(journal_path: Path, account: str, run_id: str, data: ReportData,
                    report: Path | None, exit_code: int) -> bool:
    """Keep `data` in the journal under `run_id`; False (and an error logged) when it cannot
    be kept: that only costs the rebuild, never the run."""
    entry = RunEntry(run_id, data.facts.started.isoformat(sep=" "), data.facts.input_file,
                     str(report) if report else None, exit_code, data.verdict())
    try:
        record = encode_report_data(data)
        with Journal(journal_path, account) as journal:
            journal.record_run(entry, record, keep_days=KEEP_DAYS)
    except Exception as exc:  # a full disk, a locked journal: the run goes on without it
        log.error("could not keep the rows of run %s in the journal %s: %s", run_id,
                  journal_path, exc)
        return False
    return True


def load_run_record(journal_path: Path, run_id: str) -> tuple[RunEntry, ReportData]:
    """The run `run_id` (or the one run whose ID starts with it) and its report data; raises
    `ConfigError` saying which runs there are when there is no such run."""
    if not journal_path.is_file():
        raise ConfigError(f"no journal at {journal_path}: run IDs are kept in the journal of the "
                          "state folder the run used (give it with --state-dir)")
    with Journal(journal_path, "") as journal:
        found = journal.run_record(run_id)
        latest = journal.runs(5) if found is None else []
    if found is None:
        listed = "; ".join(f"{r.run_id} ({r.input})" for r in latest) or "none"
        raise ConfigError(f"the journal {journal_path} keeps no run {run_id!r} (or several start "
                          f"with it); the latest runs: {listed}")
    entry, record = found
    try:
        return entry, decode_report_data(record)
    except RecordError as exc:
        raise ConfigError(f"run {entry.run_id} in {journal_path}: {exc}") from None


def list_runs(journal_path: Path, limit: int = 20) -> list[RunEntry]:
    """The latest runs the journal keeps, newest first (none without a journal)."""
    if not journal_path.is_file():
        return []
    with Journal(journal_path, "") as journal:
        return journal.runs(limit)
