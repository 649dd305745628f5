"""SQLite journal: which pairs an account confirmed, and which calls were in flight.

This is what makes reruns and crashes safe. Every call is written as `in_flight` (and committed,
`synchronous=FULL`) before it is sent, and as `confirmed` together with its pairs after the
server said yes, in one transaction. So after a crash at any instant, a call is either
confirmed with all its pairs, or still `in_flight`: the next run settles those by reading the
server's enrollment list, or reports them `unknown` rather than sending them twice.

Nothing secret is stored: the account is named by its endpoint URL and client ID.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from bulk_enroll.errors import ConfigError
from bulk_enroll.file_modes import make_dirs, restrict, sqlite_files
from bulk_enroll.model import Batch, DueDateType, DueSettings, Pair

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS calls (
    call_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    account     TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    batch_id    TEXT NOT NULL,
    settings    TEXT NOT NULL,
    learners    TEXT NOT NULL,
    courses     TEXT NOT NULL,
    state       TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    message     TEXT
);
CREATE INDEX IF NOT EXISTS calls_by_state ON calls (account, state);
CREATE TABLE IF NOT EXISTS runs (
    run_id      TEXT PRIMARY KEY,
    account     TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    input       TEXT NOT NULL,
    report      TEXT,
    exit_code   INTEGER NOT NULL,
    verdict     TEXT NOT NULL,
    record      BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS confirmed (
    account      TEXT NOT NULL,
    learner_id   TEXT NOT NULL,
    course_id    TEXT NOT NULL,
    settings     TEXT NOT NULL,
    confirmed_at TEXT NOT NULL,
    call_id      INTEGER,
    PRIMARY KEY (account, learner_id, course_id, settings)
) WITHOUT ROWID;
"""


class CallState(StrEnum):
    IN_FLIGHT = "in_flight"  # written before sending; still here after a crash
    CONFIRMED = "confirmed"  # the server said yes (or its enrollment list showed the pairs)
    REJECTED = "rejected"  # the server said no; nothing applied
    NOT_APPLIED = "not_applied"  # never reached the server, or the list showed nothing applied
    UNKNOWN = "unknown"  # answer lost and not settled: not resent without --resend-unknown


@dataclass(frozen=True)
class RunEntry:
    """A run the journal keeps the report data of (see `Journal.record_run`)."""

    run_id: str
    started_at: str
    input: str
    report: str | None  # where its report was to be written
    exit_code: int
    verdict: str


@dataclass(frozen=True)
class JournalCall:
    """A call recorded by an earlier run that did not end confirmed, rejected or not applied."""

    call_id: int
    batch: Batch
    state: CallState
    started_at: str


def settings_key(settings: DueSettings) -> str:
    """A stable text form of the settings (the journal's grouping key)."""
    return json.dumps([
        settings.due_date_type.value,
        settings.access_date.isoformat(sep=" ") if settings.access_date else None,
        settings.due_date.isoformat() if settings.due_date else None,
        settings.due_period_hours,
        settings.lock_after_due_date,
    ])


def settings_from_key(key: str) -> DueSettings:
    due_type, access, due, period, lock = json.loads(key)
    return DueSettings(
        due_date_type=DueDateType(due_type),
        access_date=dt.datetime.fromisoformat(access) if access else None,
        due_date=dt.date.fromisoformat(due) if due else None,
        due_period_hours=period,
        lock_after_due_date=lock,
    )


class Journal:
    """One account's view of a journal file; safe to share between sender threads."""

    def __init__(self, path: Path, account: str, *,
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now().replace(microsecond=0)
                 ) -> None:
        self.path, self.account, self._now = path, account, now
        self._lock = threading.Lock()
        try:
            make_dirs(path.parent)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                                       timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            restrict(*sqlite_files(path))  # before a pair or a row is written to it
            self._check_version()
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"cannot use the journal {path}: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"cannot create the journal folder {path.parent}: "
                              f"{exc.strerror}") from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading ----------------------------------------------------------------------------

    def confirmed(self, pairs: Iterable[Pair]) -> dict[Pair, str]:
        """The requested pairs already confirmed, with when, under any account key.

        Learner and course IDs are UUIDs, unique across accounts: a pair confirmed while the
        account was reached another way (SOAP or REST, a token or client credentials) is the
        same enrollment and must not be sent again.
        """
        wanted = {(p.learner_id, p.course_id, settings_key(p.settings)): p for p in pairs}
        if not wanted:
            return {}
        with self._lock, self._transaction():
            self._db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted "
                             "(learner_id TEXT, course_id TEXT, settings TEXT)")
            self._db.execute("DELETE FROM wanted")
            self._db.executemany("INSERT INTO wanted VALUES (?, ?, ?)", wanted)
            found = self._db.execute(
                "SELECT c.learner_id, c.course_id, c.settings, c.confirmed_at FROM confirmed c "
                "JOIN wanted w USING (learner_id, course_id, settings)",
            ).fetchall()
            self._db.execute("DELETE FROM wanted")
        return {wanted[(learner, course, key)]: at for learner, course, key, at in found}

    def open_calls(self) -> list[JournalCall]:
        """Calls of earlier runs still `in_flight` (a crash) or `unknown` (an answer lost)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT call_id, batch_id, settings, learners, courses, state, started_at "
                "FROM calls WHERE account = ? AND state IN (?, ?) ORDER BY call_id",
                (self.account, CallState.IN_FLIGHT.value, CallState.UNKNOWN.value),
            ).fetchall()
        return [
            JournalCall(call_id, Batch(batch_id, settings_from_key(key),
                                       tuple(json.loads(learners)), tuple(json.loads(courses))),
                        CallState(state), started_at)
            for call_id, batch_id, key, learners, courses, state, started_at in rows
        ]

    # --- writing ----------------------------------------------------------------------------

    def begin(self, batch: Batch, run_id: str) -> int:
        """Record a call as in flight, durably, before it is sent."""
        with self._lock, self._transaction():
            cursor = self._db.execute(
                "INSERT INTO calls (account, run_id, batch_id, settings, learners, courses, "
                "state, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (self.account, run_id, batch.batch_id, settings_key(batch.settings),
                 json.dumps(batch.learner_ids), json.dumps(batch.course_ids),
                 CallState.IN_FLIGHT.value, self._stamp()),
            )
            return int(cursor.lastrowid or 0)

    def confirm(self, call_id: int | None, pairs: Iterable[Pair], message: str = "") -> None:
        """Remember `pairs` as enrolled and close the call, in one transaction."""
        stamp = self._stamp()
        with self._lock, self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO confirmed VALUES (?, ?, ?, ?, ?, ?)",
                ((self.account, p.learner_id, p.course_id, settings_key(p.settings), stamp,
                  call_id) for p in pairs),
            )
            if call_id is not None:
                self._set_state(call_id, CallState.CONFIRMED, message, stamp)

    def finish(self, call_id: int, state: CallState, message: str = "") -> None:
        with self._lock, self._transaction():
            self._set_state(call_id, state, message, self._stamp())

    # --- run records: what a run's report needs, to write it again --------------------------

    def record_run(self, entry: RunEntry, record: bytes, *, keep_days: int = 90) -> None:
        """Keep `record` (a run's report data, `report.record`) under the run's ID, before its
        report is written; records older than `keep_days` go, so the journal does not grow
        without end."""
        cutoff = (self._now() - dt.timedelta(days=keep_days)).isoformat(sep=" ")
        with self._lock, self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (entry.run_id, self.account, entry.started_at, entry.input, entry.report,
                 entry.exit_code, entry.verdict, record),
            )
            self._db.execute("DELETE FROM runs WHERE started_at < ?", (cutoff,))

    def run_record(self, run_id: str) -> tuple[RunEntry, bytes] | None:
        """The run `run_id` (or the only run whose ID starts with it) and its record."""
        with self._lock:
            rows = self._db.execute(
                "SELECT run_id, started_at, input, report, exit_code, verdict, record FROM runs "
                "WHERE run_id = ? OR substr(run_id, 1, ?) = ? ORDER BY run_id = ? DESC LIMIT 2",
                (run_id, len(run_id), run_id, run_id),
            ).fetchall()
        if not rows or (len(rows) > 1 and rows[0][0] != run_id):
            return None  # unknown, or a prefix of several
        *fields, record = rows[0]
        return RunEntry(*fields), bytes(record)

    def runs(self, limit: int = 20) -> list[RunEntry]:
        """The latest runs kept, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT run_id, started_at, input, report, exit_code, verdict FROM runs "
                "ORDER BY started_at DESC, run_id DESC LIMIT ?", (limit,),
            ).fetchall()
        return [RunEntry(*row) for row in rows]

    def integrity_check(self) -> str:
        with self._lock:
            return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])

    # --- internals --------------------------------------------------------------------------

    def _set_state(self, call_id: int, state: CallState, message: str, stamp: str) -> None:
        self._db.execute(
            "UPDATE calls SET state = ?, message = ?, finished_at = ? WHERE call_id = ?",
            (state.value, message, stamp, call_id),
        )

    def _stamp(self) -> str:
        return self._now().isoformat(sep=" ")

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _check_version(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) > SCHEMA_VERSION:
            raise ConfigError(f"the journal {self.path} was written by a newer bulk-enroll "
                              f"(schema {row[0]}); upgrade bulk-enroll")


def account_key(endpoint: str, client_id: str | None) -> str:
    """How the journal names an account: its endpoint and client ID, never a secret."""
    return f"{endpoint}|{client_id or ''}"
