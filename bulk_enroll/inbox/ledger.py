"""Which file contents an inbox already processed (by SHA-256), per account.

The journal remembers pairs; this remembers files, so the same export saved again under a new
name is recognised and not applied a second time. It is a small SQLite file next to the journal
(`inbox.sqlite3` in the state folder); the journal's own tables are left alone. Like the
journal, a ledger that exists but cannot be read stops the run (see `send.state_db`), and
files are remembered per account (host and client ID), whatever the transport.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bulk_enroll.send.journal import rekey_accounts
from bulk_enroll.send.state_db import open_state_db

LEDGER_NAME = "inbox.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS processed_files (
    account      TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    file_name    TEXT NOT NULL,
    processed_at TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    exit_code    INTEGER NOT NULL,
    report       TEXT,
    archived_to  TEXT,
    PRIMARY KEY (account, sha256)
) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class ProcessedFile:
    sha256: str
    file_name: str
    processed_at: str
    outcome: str
    exit_code: int
    report: str | None
    archived_to: str | None


class InboxLedger:
    def __init__(self, path: Path, account: str, *, aliases: Iterable[str] = (),
                 replace_unusable: bool = False) -> None:
        self.path, self.account = path, account
        self.accounts = tuple(dict.fromkeys((account, *aliases)))
        self._db = open_state_db(path, what="inbox ledger", schema=_create_schema,
                                 check=_check_and_upgrade, replace_unusable=replace_unusable,
                                 now=dt.datetime.now)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> InboxLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def find(self, sha256: str) -> ProcessedFile | None:
        row = self._db.execute(
            "SELECT sha256, file_name, processed_at, outcome, exit_code, report, archived_to "
            f"FROM processed_files WHERE account IN ({', '.join('?' * len(self.accounts))}) "
            "AND sha256 = ?", (*self.accounts, sha256),
        ).fetchone()
        return ProcessedFile(*row) if row else None

    def record(self, entry: ProcessedFile) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO processed_files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (self.account, entry.sha256, entry.file_name, entry.processed_at, entry.outcome,
             entry.exit_code, entry.report, entry.archived_to),
        )


def _create_schema(db: sqlite3.Connection) -> None:
    db.execute(_SCHEMA)


def _check_and_upgrade(db: sqlite3.Connection) -> str | None:
    """None if `db` is a ledger (its accounts renamed as this version names them)."""
    found = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                       "AND name = 'processed_files'").fetchone()
    if found is None:
        return "is an SQLite database but not a bulk-enroll inbox ledger"
    db.execute("BEGIN IMMEDIATE")
    try:
        rekey_accounts(db, "processed_files")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return None
