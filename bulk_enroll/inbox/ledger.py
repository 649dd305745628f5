"""Which file contents an inbox already processed (by SHA-256), per account.

The journal remembers pairs; this remembers files, so the same export saved again under a new
name is recognised and not applied a second time. It is a small SQLite file next to the journal
(`inbox.sqlite3` in the state folder); the journal's own tables are left alone.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from bulk_enroll.errors import ConfigError
from bulk_enroll.file_modes import make_dirs, restrict, sqlite_files

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
    def __init__(self, path: Path, account: str) -> None:
        self.path, self.account = path, account
        try:
            make_dirs(path.parent)
            self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            restrict(*sqlite_files(path))
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"cannot use the inbox ledger {path}: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"cannot create the state folder {path.parent}: "
                              f"{exc.strerror}") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> InboxLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def find(self, sha256: str) -> ProcessedFile | None:
        row = self._db.execute(
            "SELECT sha256, file_name, processed_at, outcome, exit_code, report, archived_to "
            "FROM processed_files WHERE account = ? AND sha256 = ?", (self.account, sha256),
        ).fetchone()
        return ProcessedFile(*row) if row else None

    def record(self, entry: ProcessedFile) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO processed_files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (self.account, entry.sha256, entry.file_name, entry.processed_at, entry.outcome,
             entry.exit_code, entry.report, entry.archived_to),
        )
