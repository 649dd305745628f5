"""SQLite journal: which pairs an account confirmed, and which calls were in flight.

This is what makes reruns and crashes safe. Every call is written as `in_flight` (and committed,
`synchronous=FULL`) before it is sent, and as `confirmed` together with its pairs after the
server said yes, in one transaction. So after a crash at any instant, a call is either
confirmed with all its pairs, or still `in_flight`: the next run settles those by reading the
server's enrollment list, or reports them `unknown` rather than sending them twice.

Calls belong to the account, named by the LMS host and the client ID: never by the transport
or the endpoint's path, so a run over REST sees the calls a SOAP run left in flight, and the
other way round. Nothing secret is stored. A journal that exists but cannot be read stops the
run (see `state_db`); only a missing one means a first run.
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
from urllib.parse import urlsplit

from bulk_enroll.errors import ConfigError
from bulk_enroll.model import Batch, DueDateType, DueSettings, Pair
from bulk_enroll.send.state_db import open_state_db

# 2: accounts are named by host and client ID (1 named them by endpoint URL and client ID).
SCHEMA_VERSION = 2
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
CREATE TABLE IF NOT EXISTS confirmed (
    account      TEXT NOT NULL,
    learner_id   TEXT NOT NULL,
    course_id    TEXT NOT NULL,
    settings     TEXT NOT NULL,
    confirmed_at TEXT NOT NULL,
    call_id      INTEGER,
    PRIMARY KEY (account, learner_id, course_id, settings)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS confirmed_by_pair ON confirmed (learner_id, course_id);
"""
_TABLES = ("meta", "calls", "confirmed")
# Run records (what a run's report shows, to write it again): added to a journal of any
# version when the first one is kept, so older journals need no upgrade for it.
_RUNS = """
CREATE TABLE IF NOT EXISTS runs (
    run_id      TEXT PRIMARY KEY,
    account     TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    input       TEXT NOT NULL,
    report      TEXT,
    exit_code   INTEGER NOT NULL,
    verdict     TEXT NOT NULL,
    record      BLOB NOT NULL
)
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


@dataclass(frozen=True)
class Confirmation:
    """An earlier run's confirmed enrollment of a learner in a course."""

    at: str  # when the server confirmed it (the journal's time stamp)
    settings: DueSettings  # the settings it was sent with

    @property
    def day(self) -> str:
        """The date of that run, as messages name it."""
        return self.at[:10]


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
    """One account's view of a journal file; safe to share between sender threads.

    `account` is the key new calls are written under; calls are read under it and under
    `aliases` (the same account's other names: its SOAP host when the REST API lives on
    another one). `replace_unusable` moves an unreadable journal aside and starts a new one
    (`--new-journal`) instead of stopping.
    """

    def __init__(self, path: Path, account: str, *, aliases: Iterable[str] = (),
                 replace_unusable: bool = False,
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now().replace(microsecond=0)
                 ) -> None:
        self.path, self.account, self._now = path, account, now
        self.accounts = tuple(dict.fromkeys((account, *aliases)))
        self._lock = threading.Lock()
        self._db = open_state_db(path, what="journal", schema=_create_schema,
                                 check=self._check_and_upgrade,
                                 replace_unusable=replace_unusable, now=now)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading ----------------------------------------------------------------------------

    def confirmed(self, pairs: Iterable[Pair]) -> dict[Pair, Confirmation]:
        """The requested pairs an earlier run confirmed, with when and with which settings.

        A learner is enrolled in a course or not: a pair confirmed with other settings is the
        same enrollment (sending it again would reset it), so it is found too, with the
        settings it was sent with (the latest, if several). Accounts are not compared: learner
        and course IDs are UUIDs, unique across accounts.
        """
        wanted: dict[tuple[str, str], list[Pair]] = {}
        for pair in pairs:
            wanted.setdefault((pair.learner_id, pair.course_id), []).append(pair)
        if not wanted:
            return {}
        with self._lock, self._transaction():
            self._db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted "
                             "(learner_id TEXT, course_id TEXT)")
            self._db.execute("DELETE FROM wanted")
            self._db.executemany("INSERT INTO wanted VALUES (?, ?)", wanted)
            found = self._db.execute(
                "SELECT c.learner_id, c.course_id, c.settings, c.confirmed_at FROM confirmed c "
                "JOIN wanted w USING (learner_id, course_id) ORDER BY c.confirmed_at",
            ).fetchall()
            self._db.execute("DELETE FROM wanted")
        latest = {(learner, course): Confirmation(at, settings_from_key(key))
                  for learner, course, key, at in found}  # ordered: the latest wins
        return {pair: confirmation for key, confirmation in latest.items()
                for pair in wanted[key]}

    def open_calls(self, *, other_accounts: bool = False) -> list[JournalCall]:
        """Calls of earlier runs still `in_flight` (a crash) or `unknown` (an answer lost):
        this account's, or with `other_accounts` those written under other account keys
        (other credentials: maybe another client of the same LMS, maybe another LMS)."""
        where = "NOT IN" if other_accounts else "IN"
        with self._lock:
            rows = self._db.execute(
                "SELECT call_id, batch_id, settings, learners, courses, state, started_at "
                f"FROM calls WHERE account {where} ({_marks(self.accounts)}) "
                "AND state IN (?, ?) ORDER BY call_id",
                (*self.accounts, CallState.IN_FLIGHT.value, CallState.UNKNOWN.value),
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
            self._db.execute(_RUNS)
            self._db.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (entry.run_id, self.account, entry.started_at, entry.input, entry.report,
                 entry.exit_code, entry.verdict, record),
            )
            self._db.execute("DELETE FROM runs WHERE started_at < ?", (cutoff,))

    def run_record(self, run_id: str) -> tuple[RunEntry, bytes] | None:
        """The run `run_id` (or the only run whose ID starts with it) and its record."""
        if not self._has_runs():
            return None
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
        if not self._has_runs():
            return []
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

    def _has_runs(self) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                    "name = 'runs'").fetchone() is not None

    def _check_and_upgrade(self, db: sqlite3.Connection) -> str | None:
        """None if `db` is a journal this version can use (upgraded if older), else what is
        wrong with it. A journal of a newer version is refused outright: never moved aside."""
        tables = {name for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() \
            if "meta" in tables else None
        if row is None:
            return "is an SQLite database but not a bulk-enroll journal"
        missing = [name for name in _TABLES if name not in tables]
        if missing:
            return f"is damaged: its table {missing[0]!r} is missing"
        if not str(row[0]).isdigit():
            return f"is damaged: its schema version {row[0]!r} is not a number"
        version = int(row[0])
        if version > SCHEMA_VERSION:
            db.close()
            raise ConfigError(f"the journal {self.path} was written by a newer bulk-enroll "
                              f"(schema {version}); upgrade bulk-enroll")
        if version < SCHEMA_VERSION:
            db.execute("BEGIN IMMEDIATE")
            try:
                _create_tables(db)
                for table in ("calls", "confirmed"):
                    rekey_accounts(db, table)
                db.execute("UPDATE meta SET value = ? WHERE key = 'schema'",
                           (str(SCHEMA_VERSION),))
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        return None


def _create_tables(db: sqlite3.Connection) -> None:
    """The tables and indexes (those missing), inside the caller's transaction."""
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)


def _create_schema(db: sqlite3.Connection) -> None:
    _create_tables(db)
    db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))


def _marks(values: tuple[str, ...]) -> str:
    return ", ".join("?" * len(values))


# --- how the journal names an account ----------------------------------------------------------


def account_key(host: str, client_id: str | None) -> str:
    """How the journal (and the inbox ledger) names an account: the LMS host and the client
    ID, never a secret, the transport or the endpoint's path."""
    return f"{host}|{client_id or ''}"


def account_host(url: str) -> str:
    """The host (and a port other than the scheme's default) of `url`, in lower case."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6
        host = f"[{host}]"
    port = parts.port
    default = {"https": 443, "http": 80}.get(parts.scheme.lower())
    return host if port is None or port == default else f"{host}:{port}"


def account_keys(urls: Iterable[str | None], client_id: str | None) -> tuple[str, ...]:
    """The account's names, one per distinct host among `urls` (the first is the main one)."""
    hosts = dict.fromkeys(account_host(url) for url in urls if url)
    return tuple(account_key(host, client_id) for host in hosts)


def upgraded_account_key(key: str) -> str:
    """A key as version 1 wrote it (`https://host/path|client`) as it is named now."""
    endpoint, separator, client_id = key.partition("|")
    if not separator or "://" not in endpoint:
        return key
    return account_key(account_host(endpoint), client_id)


def rekey_accounts(db: sqlite3.Connection, table: str) -> None:
    """Rename the accounts of `table` written under version 1 keys (endpoint URLs)."""
    for (old,) in db.execute(f"SELECT DISTINCT account FROM {table}").fetchall():
        new = upgraded_account_key(old)
        if new != old:
            # OR REPLACE: the same pair confirmed over SOAP and REST becomes one row.
            db.execute(f"UPDATE OR REPLACE {table} SET account = ? WHERE account = ?",
                       (new, old))
