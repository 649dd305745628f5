"""What stays on disk is private (state, journal, ledger, locks, logs, lookup cache: folders
0700, files 0600) or at most group-readable (reports, summaries, notes: 0640), whatever the
umask the process was started with."""

from __future__ import annotations

import datetime as dt
import logging
import os
import stat
from pathlib import Path

import pytest

from bulk_enroll.file_modes import current_umask, make_dirs, shared_mode
from bulk_enroll.inbox.ledger import InboxLedger
from bulk_enroll.logs import LogSettings, setup_logging
from bulk_enroll.model import DueDateType, DueSettings, Pair, SendStats
from bulk_enroll.report.data import ReportData, RunFacts
from bulk_enroll.report.workbook import write_report, write_summary_json
from bulk_enroll.resolve.cache import LookupCache
from bulk_enroll.send.journal import Journal
from bulk_enroll.send.lock import InstanceLock


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_000():
    """The loosest umask there is: everything made meanwhile would be world-writable."""
    previous = os.umask(0)
    yield
    os.umask(previous)


@pytest.fixture
def restore_logging():
    yield
    setup_logging(0, LogSettings())


def test_every_folder_made_is_private_and_existing_ones_are_left_alone(tmp_path, umask_000):
    tmp_path.chmod(0o755)
    make_dirs(tmp_path / "a" / "b" / "c")
    assert [mode(tmp_path / p) for p in ("a", "a/b", "a/b/c")] == [0o700] * 3
    assert mode(tmp_path) == 0o755
    make_dirs(tmp_path / "reports" / "2027", 0o750)
    assert mode(tmp_path / "reports") == mode(tmp_path / "reports" / "2027") == 0o750
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError):
        make_dirs(tmp_path / "file")


def test_the_journal_and_its_wal_files_are_private(tmp_path, umask_000):
    path = tmp_path / "state" / "journal.sqlite3"
    with Journal(path, "acct") as journal:
        settings = DueSettings(DueDateType.UNLIMITED)
        journal.confirm(None, [Pair("l1", "c1", settings)])
        files = [p for p in path.parent.iterdir()]
        assert {p.name for p in files} >= {"journal.sqlite3", "journal.sqlite3-wal"}
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
    assert mode(path.parent) == 0o700


def test_a_journal_an_older_version_left_readable_is_narrowed(tmp_path):
    path = tmp_path / "journal.sqlite3"
    Journal(path, "acct").close()
    path.chmod(0o644)
    Journal(path, "acct").close()
    assert mode(path) == 0o600


def test_the_ledger_and_the_locks_are_private(tmp_path, umask_000):
    state = tmp_path / "state"
    with InboxLedger(state / "inbox.sqlite3", "acct"):
        pass
    assert mode(state) == 0o700 and mode(state / "inbox.sqlite3") == 0o600
    with InstanceLock(state / "inbox.lock", "inbox"):
        assert mode(state / "inbox.lock") == 0o600
    (state / "send.lock").write_text("")
    (state / "send.lock").chmod(0o644)
    with InstanceLock(state / "send.lock", "run"):
        assert mode(state / "send.lock") == 0o600


def test_the_lookup_cache_and_its_folder_are_private(tmp_path, umask_000):
    cache = LookupCache(tmp_path / "cache" / "lookups.json", "https://api.example.com", 3600)
    cache.put_existing(["l1"])
    cache.save()
    assert mode(tmp_path / "cache") == 0o700
    assert mode(tmp_path / "cache" / "lookups.json") == 0o600


def test_the_log_file_is_private_and_stays_so_when_rotated(tmp_path, umask_000,
                                                            restore_logging):
    log_file = tmp_path / "logs" / "run.log"
    setup_logging(0, LogSettings(file=log_file, max_bytes=200, backups=2))
    for n in range(10):
        logging.getLogger("bulk_enroll.summary").info("line %d of a log that rotates", n)
    files = sorted(p.name for p in log_file.parent.iterdir())
    assert files == ["run.log", "run.log.1", "run.log.2"]
    assert {name: mode(log_file.parent / name) for name in files} == dict.fromkeys(files, 0o600)
    assert mode(log_file.parent) == 0o700


def report_data() -> ReportData:
    now = dt.datetime(2027, 1, 5, 9, 0)
    return ReportData(RunFacts("in.csv", None, now, now, False), ("learner_id",), [], [], [], [],
                      SendStats())


@pytest.mark.parametrize("name", ["r.xlsx", "r.csv"])
def test_reports_and_summaries_are_never_readable_by_others(tmp_path, umask_000, name):
    report = tmp_path / "reports" / name
    write_report(report, report_data(), report_format="csv" if name.endswith("csv") else "xlsx")
    write_summary_json(tmp_path / "reports" / "r.json", {"rows": 0})
    assert mode(report) == mode(tmp_path / "reports" / "r.json") == 0o640
    assert mode(tmp_path / "reports") == 0o750


def test_a_stricter_umask_makes_reports_private(tmp_path):
    previous = os.umask(0o077)
    try:
        assert current_umask() == 0o077
        write_report(tmp_path / "r.xlsx", report_data())
    finally:
        os.umask(previous)
    assert mode(tmp_path / "r.xlsx") == 0o600


def test_a_replaced_report_keeps_its_mode_without_the_others_bits(tmp_path):
    report = tmp_path / "r.xlsx"
    report.write_text("old")
    report.chmod(0o664)
    assert shared_mode(report) == 0o660
    write_report(report, report_data())
    assert mode(report) == 0o660


def test_remembered_state_files_are_private(tmp_path, umask_000):
    """What `atomic_files.write_private_json` keeps (the learned rate limit, the lookup cache,
    the web page's history): folders 0700, files 0600."""
    from bulk_enroll.atomic_files import write_private_json

    write_private_json(tmp_path / "state" / "rates" / "acct.json", {"limit_per_s": 4.5})
    assert mode(tmp_path / "state") == mode(tmp_path / "state" / "rates") == 0o700
    assert mode(tmp_path / "state" / "rates" / "acct.json") == 0o600
