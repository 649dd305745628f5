"""The journal's file: only a missing one is a first run; accounts are named by host and client.

Everything SQLite would silently turn into a new, empty database stops the run with a message
that says what is wrong and how to start over (`--new-journal`, which moves the file aside).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest

from bulk_enroll.errors import ConfigError, ExitStatus, exit_status_for
from bulk_enroll.inbox.ledger import InboxLedger, ProcessedFile
from bulk_enroll.model import Batch, DueDateType, DueSettings, Pair
from bulk_enroll.send.journal import (
    CallState,
    Journal,
    account_host,
    account_keys,
    settings_key,
)
from bulk_enroll.send.state_db import UnusableStateFile

SETTINGS = DueSettings(DueDateType.DUE_PERIOD, due_period_hours=72)
BATCH = Batch("b-1", SETTINGS, ("l1", "l2", "l3"), ("c1",))
WHEN = dt.datetime(2026, 11, 30, 9, 0)


def journal_with_a_call(path: Path) -> None:
    with Journal(path, "host|client") as journal:
        journal.confirm(journal.begin(BATCH, "run-1"), BATCH.pairs())
        journal.begin(Batch("b-2", SETTINGS, ("l4",), ("c1",)), "run-1")  # left in flight


def empty(path: Path) -> None:
    path.write_bytes(b"")


def zeros(path: Path) -> None:
    path.write_bytes(b"\0" * 8192)


def text(path: Path) -> None:
    path.write_text("learner_id,course_id\n" * 50)


def folder(path: Path) -> None:
    path.mkdir()


def dangling_link(path: Path) -> None:
    path.symlink_to(path.with_name("elsewhere.sqlite3"))


def another_database(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (text)")
    db.close()


def truncated(path: Path) -> None:
    with Journal(path, "host|client") as journal:
        for n in range(300):  # enough pages that half of them are missing
            batch = Batch(f"b-{n}", SETTINGS, tuple(f"l{n}-{i}" for i in range(20)), ("c1",))
            journal.confirm(journal.begin(batch, "run-1"), batch.pairs())
    with path.open("r+b") as handle:
        handle.truncate(os.path.getsize(path) // 2 // 4096 * 4096)


def truncated_beside_its_log(path: Path) -> None:
    """What a run killed mid-send leaves, with the file then cut short (a copy, a full disk):
    the tables still show, every other page is gone."""
    source = Path(tempfile.mkdtemp()) / "journal.sqlite3"
    journal = Journal(source, "host|client")
    for n in range(300):
        batch = Batch(f"b-{n}", SETTINGS, tuple(f"l{n}-{i}" for i in range(20)), ("c1",))
        journal.confirm(journal.begin(batch, "run-1"), batch.pairs())
    data = source.read_bytes()
    log = source.with_name(source.name + "-wal").read_bytes()
    journal.close()
    path.write_bytes(data[: len(data) // 2])
    path.with_name(path.name + "-wal").write_bytes(log)


def table_dropped(path: Path) -> None:
    journal_with_a_call(path)
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE calls")
    db.close()


def version_garbled(path: Path) -> None:
    journal_with_a_call(path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = 'two' WHERE key = 'schema'")
    db.close()


def log_without_database(path: Path) -> None:
    """What deleting the journal while a run had it open leaves: the -wal alone."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("CREATE TABLE t (x)")
    db.execute("INSERT INTO t VALUES (1)")
    wal = path.with_name(path.name + "-wal").read_bytes()
    db.close()
    path.unlink()
    path.with_name(path.name + "-wal").write_bytes(wal)


DAMAGE = {
    "is empty (0 bytes)": empty,
    "holds only zero bytes": zeros,
    "is not an SQLite database": text,
    "is a folder": folder,
    "is a symbolic link to": dangling_link,
    "not a bulk-enroll journal": another_database,
    "is damaged (database disk image is malformed)": truncated,
    "is damaged (": truncated_beside_its_log,
    "its table 'calls' is missing": table_dropped,
    "its schema version 'two' is not a number": version_garbled,
    "is missing while its write-ahead log journal.sqlite3-wal remains": log_without_database,
}


@pytest.mark.parametrize("problem", DAMAGE)
def test_a_journal_that_exists_but_cannot_be_read_stops_the_run(tmp_path, problem):
    path = tmp_path / "journal.sqlite3"
    DAMAGE[problem](path)
    before = files_in(tmp_path)
    with pytest.raises(UnusableStateFile) as raised:
        Journal(path, "host|client")
    message = str(raised.value)
    assert message.startswith(f"the journal {path} ") and problem in message
    assert "nothing was sent" in message and "rerun with --new-journal" in message
    assert exit_status_for(raised.value) is ExitStatus.USAGE
    assert files_in(tmp_path) == before  # nothing created or removed


def files_in(folder: Path) -> list[str]:
    """The folder's files, but SQLite's -shm (an index of a -wal log it rebuilds when it
    opens one, no data of its own)."""
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith("-shm"))


@pytest.mark.parametrize("problem", DAMAGE)
def test_new_journal_moves_the_unusable_file_aside_and_starts_over(tmp_path, problem):
    path = tmp_path / "journal.sqlite3"
    DAMAGE[problem](path)
    kept = {p.name: p.is_dir() or p.read_bytes() for p in tmp_path.iterdir() if not p.is_symlink()}
    with Journal(path, "host|client", replace_unusable=True, now=lambda: WHEN) as journal:
        assert journal.open_calls() == [] and journal.integrity_check() == "ok"
    aside = {p.name.replace(".unusable-20261130-090000", ""): p
             for p in tmp_path.iterdir() if ".unusable-" in p.name}
    assert set(aside) >= set(kept)  # everything that was there is kept under the new name
    for name, content in kept.items():
        assert (aside[name].is_dir() or aside[name].read_bytes()) == content
    with Journal(path, "host|client") as journal:  # the new one is a journal
        assert journal.open_calls() == []


def test_new_journal_keeps_a_journal_that_can_be_read(tmp_path):
    path = tmp_path / "journal.sqlite3"
    journal_with_a_call(path)
    with Journal(path, "host|client", replace_unusable=True) as journal:
        assert [call.batch.batch_id for call in journal.open_calls()] == ["b-2"]
    assert [p.name for p in tmp_path.iterdir() if ".unusable-" in p.name] == []


def test_only_a_missing_journal_is_a_first_run_and_it_never_appears_half_made(tmp_path):
    path = tmp_path / "journal.sqlite3"

    def crash(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE meta (key TEXT)")
        raise KeyboardInterrupt  # killed while the new journal was being written

    from bulk_enroll.send import state_db

    with pytest.raises(KeyboardInterrupt):
        state_db.open_state_db(path, what="journal", schema=crash, check=lambda db: None)
    assert list(tmp_path.iterdir()) == []  # no empty journal the next run would refuse
    with Journal(path, "host|client") as journal:
        assert journal.open_calls() == []
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))) \
        == ["journal.sqlite3"]


def test_a_journal_of_a_newer_version_is_refused_and_never_moved_aside(tmp_path):
    path = tmp_path / "journal.sqlite3"
    journal_with_a_call(path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    db.close()
    with pytest.raises(ConfigError, match="newer bulk-enroll") as raised:
        Journal(path, "host|client", replace_unusable=True)
    assert not isinstance(raised.value, UnusableStateFile)
    assert [p.name for p in tmp_path.iterdir() if ".unusable-" in p.name] == []


# --- accounts ----------------------------------------------------------------------------------


def test_an_account_is_its_host_and_client_id_whatever_the_transport():
    soap, rest = "https://API-Learn.example.com/soap/v1", "https://api-learn.example.com:443"
    assert account_host(soap) == account_host(rest) == "api-learn.example.com"
    assert account_keys([rest, soap], "client") == ("api-learn.example.com|client",)
    assert account_keys([None, "http://127.0.0.1:8080/soap"], None) == ("127.0.0.1:8080|",)
    assert account_keys(["https://api.example.eu", "https://lms.example.eu/soap"], "c") == (
        "api.example.eu|c", "lms.example.eu|c")  # the SOAP host is an alias of the account


def test_calls_left_in_flight_are_seen_under_any_name_of_the_account(tmp_path):
    path = tmp_path / "journal.sqlite3"
    with Journal(path, "lms.example.eu|c") as journal:
        journal.begin(BATCH, "run-1")
    with Journal(path, "api.example.eu|c", aliases=["lms.example.eu|c"]) as journal:
        assert [call.batch for call in journal.open_calls()] == [BATCH]
    with Journal(path, "api.example.eu|other-client") as journal:
        assert journal.open_calls() == []


VERSION_1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE calls (
    call_id INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL, run_id TEXT NOT NULL,
    batch_id TEXT NOT NULL, settings TEXT NOT NULL, learners TEXT NOT NULL,
    courses TEXT NOT NULL, state TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
    message TEXT);
CREATE INDEX calls_by_state ON calls (account, state);
CREATE TABLE confirmed (
    account TEXT NOT NULL, learner_id TEXT NOT NULL, course_id TEXT NOT NULL,
    settings TEXT NOT NULL, confirmed_at TEXT NOT NULL, call_id INTEGER,
    PRIMARY KEY (account, learner_id, course_id, settings)) WITHOUT ROWID;
INSERT INTO meta VALUES ('schema', '1');
"""


def version_1_journal(path: Path, key: str) -> None:
    """A journal as the previous version wrote it: the account named by its endpoint URL."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(VERSION_1_SCHEMA)
    row = (key, "run-0", "b-1", settings_key(SETTINGS), json.dumps(BATCH.learner_ids),
           json.dumps(BATCH.course_ids), "in_flight", "2026-11-30 09:00:00")
    db.execute("INSERT INTO calls (account, run_id, batch_id, settings, learners, courses, "
               "state, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
    for other in ("http://127.0.0.1:8080/soap|sandbox-client",  # the same pair over both
                  "http://127.0.0.1:8080/enrollment|sandbox-client"):
        db.execute("INSERT INTO confirmed VALUES (?, 'l9', 'c9', ?, '2026-11-29 10:00:00', NULL)",
                   (other, settings_key(SETTINGS)))
    db.close()


@pytest.mark.parametrize("transport_then", ["soap", "rest"])
def test_a_journal_written_by_the_previous_version_keeps_its_calls_in_flight(tmp_path,
                                                                             transport_then):
    path = tmp_path / "journal.sqlite3"
    endpoint = {"soap": "http://127.0.0.1:8080/soap", "rest": "http://127.0.0.1:8080/enrollment"}
    version_1_journal(path, f"{endpoint[transport_then]}|sandbox-client")
    # Now reached over either transport: the same account.
    [key] = account_keys(["http://127.0.0.1:8080", "http://127.0.0.1:8080/soap"],
                         "sandbox-client")
    with Journal(path, key) as journal:
        [call] = journal.open_calls()
        assert call.batch.pairs() == BATCH.pairs() and call.state is CallState.IN_FLIGHT
        assert list(journal.confirmed([Pair("l9", "c9", SETTINGS)])) == [
            Pair("l9", "c9", SETTINGS)]
        accounts = journal._db.execute("SELECT DISTINCT account FROM confirmed").fetchall()
        assert accounts == [("127.0.0.1:8080|sandbox-client",)]
        assert journal._db.execute("SELECT value FROM meta").fetchone() == ("2",)


def test_the_inbox_ledger_is_checked_and_upgraded_the_same_way(tmp_path):
    path = tmp_path / "inbox.sqlite3"
    empty(path)
    with pytest.raises(UnusableStateFile, match=r"the inbox ledger .* is empty \(0 bytes\)"):
        InboxLedger(path, "host|c")
    path.unlink()
    entry = ProcessedFile("ab" * 32, "hr.csv", "2026-11-30 09:00:00", "processed", 0, None, None)
    with InboxLedger(path, "https://host/soap|c") as ledger:  # a previous version's key
        ledger.record(entry)
    with InboxLedger(path, "host|c") as ledger:
        assert ledger.find("ab" * 32) == entry
    shutil.copy(path, tmp_path / "copy")
    zeros(path)
    with InboxLedger(path, "host|c", replace_unusable=True) as ledger:
        assert ledger.find("ab" * 32) is None
    assert any(".unusable-" in p.name for p in tmp_path.iterdir())


def test_a_journal_the_machine_cannot_read_now_is_never_moved_aside(tmp_path, monkeypatch):
    """Permissions, a read-only disk, an I/O error: the file may be fine; starting over would
    send everything again, so even --new-journal stops."""
    from bulk_enroll.send import state_db

    path = tmp_path / "journal.sqlite3"
    journal_with_a_call(path)
    real_connect = sqlite3.connect

    class Failing:
        def __init__(self, *args: object, **kwargs: object) -> None:
            self.db = real_connect(*args, **kwargs)  # type: ignore[arg-type]

        def execute(self, *args: object) -> object:
            error = sqlite3.OperationalError("disk I/O error")
            error.sqlite_errorname = "SQLITE_IOERR"  # type: ignore[attr-defined]
            raise error

        def close(self) -> None:
            self.db.close()

    monkeypatch.setattr(state_db.sqlite3, "connect", Failing)
    with pytest.raises(ConfigError, match="disk I/O error") as raised:
        Journal(path, "host|client", replace_unusable=True)
    assert not isinstance(raised.value, UnusableStateFile)
    assert sorted(p.name for p in tmp_path.iterdir() if ".unusable-" in p.name) == []
