"""Open a state database (the journal, the inbox ledger) so that SQLite never makes a new one
in place of one that was lost.

SQLite turns whatever it is pointed at into an empty database when it can: a 0-byte file, or a
missing file whose write-ahead log (`-wal`) is still there (the log is then thrown away). For
the journal that would mean forgetting every confirmed pair and every call left in flight, and
sending them again. So:

- only a missing file (with no `-wal` beside it) means a first run. The new database is built
  complete under a temporary name and linked into place, so a crash while creating it leaves
  no file rather than an empty one that the next run would have to refuse;
- anything else that is not a database of the expected kind (empty, zeros, text, truncated, a
  folder, a dangling symbolic link, a log without its database, another program's database)
  stops the run with `UnusableStateFile` (a `ConfigError`: exit 2, nothing sent), saying what
  is wrong and how to start over deliberately;
- starting over (`--new-journal`, `replace_unusable=True`) moves the unusable file and its
  `-wal`/`-shm` aside as `NAME.unusable-TIME`; nothing is ever deleted. A usable database is
  never replaced.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import logging
import os
import sqlite3
import stat
import uuid
from collections.abc import Callable
from pathlib import Path

from bulk_enroll.errors import ConfigError
from bulk_enroll.file_modes import PRIVATE_FILE, make_dirs, restrict

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"
SIDECARS = ("-wal", "-shm")
NEW_JOURNAL_OPTION = "--new-journal"

# Checks a database that opened: None if it is of the expected kind, else what is wrong.
KindCheck = Callable[[sqlite3.Connection], str | None]
# Writes the schema of a new database (inside its creation; the file is not in place yet).
Schema = Callable[[sqlite3.Connection], None]


class UnusableStateFile(ConfigError):
    """A state database exists but cannot be used; nothing was sent."""


def open_state_db(path: Path, *, what: str, schema: Schema, check: KindCheck,
                  replace_unusable: bool = False,
                  now: Callable[[], dt.datetime] = dt.datetime.now) -> sqlite3.Connection:
    """An open connection to the state database `path` (WAL, `synchronous=FULL`).

    `what` names it in messages ("journal", "inbox ledger"). A missing file is created with
    `schema`; an existing one must open and pass `check`, else `UnusableStateFile` - unless
    `replace_unusable`, which moves it aside and starts a new one.
    """
    try:
        make_dirs(path.parent)  # the state folder: private (0700) when made here
    except OSError as exc:
        raise ConfigError(f"cannot create the folder of the {what} {path.parent}: "
                          f"{exc.strerror}") from None
    problem = file_problem(path)
    db: sqlite3.Connection | None = None
    if problem is None and _exists(path):
        db, problem = _open_existing(path, check)
    if problem is not None:
        if not replace_unusable:
            raise UnusableStateFile(unusable_message(what, path, problem))
        moved = move_aside(path, now())
        log.warning("the %s %s %s; moved aside as %s, starting a new one (%s)", what, path,
                    problem, moved, NEW_JOURNAL_OPTION)
    if db is None:
        _create(path, schema, what)
        db, problem = _open_existing(path, check)
        if db is None or problem is not None:  # another process put something else there
            raise UnusableStateFile(unusable_message(what, path, problem or "is unusable"))
    restrict(*(_sidecar(path, suffix) for suffix in ("", *SIDECARS)))  # one an older version
    return db  # left readable: the journal knows who was enrolled where


def unusable_message(what: str, path: Path, problem: str) -> str:
    """What is wrong, why nothing was sent, and the ways out."""
    return (f"the {what} {path} {problem}. It is how bulk-enroll knows which enrollments "
            f"earlier runs made or left in flight, so nothing was sent. If it was damaged or "
            f"emptied by mistake, restore it from a backup; to start over deliberately, rerun "
            f"with {NEW_JOURNAL_OPTION} (the file is moved aside, nothing is deleted) and "
            f"--check-server, so that enrollments already in the LMS are not sent again")


def file_problem(path: Path) -> str | None:
    """Why `path` cannot be a database, judged without opening it; None when it is missing
    (a first run) or looks like an SQLite database. A file that cannot be read (permissions)
    raises `ConfigError`: that is no reason to start over."""
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            return f"is a symbolic link to {os.readlink(path)}, which does not exist"
        wal = _sidecar(path, "-wal")
        if wal.exists():
            return (f"is missing while its write-ahead log {wal.name} remains (the database "
                    f"was deleted or moved)")
        return None
    except OSError as exc:  # permissions, I/O: the machine's problem, not the file's content
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        return "is a folder, not a file"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file"
    if info.st_size == 0:
        return "exists but is empty (0 bytes)"
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    if header != SQLITE_HEADER:
        if not header.strip(b"\x00"):
            return f"holds only zero bytes ({info.st_size} bytes): it is not a database"
        return "is not an SQLite database"
    return None


def move_aside(path: Path, when: dt.datetime) -> Path:
    """Rename `path` (and its -wal/-shm) to a free `NAME.unusable-TIME`; return the new name."""
    base = f"{path.name}.unusable-{when:%Y%m%d-%H%M%S}"
    target, number = path.with_name(base), 2
    while _exists(target) or any(_exists(_sidecar(target, s)) for s in SIDECARS):
        target, number = path.with_name(f"{base}-{number}"), number + 1
    try:
        for suffix in ("", *SIDECARS):
            source = _sidecar(path, suffix)
            if _exists(source):
                os.rename(source, _sidecar(target, suffix))
    except OSError as exc:
        raise ConfigError(f"cannot move {path} aside: {exc.strerror}") from None
    return target


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _sidecar(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


# What SQLite says of a file whose content is not (or no longer) a database. Any other error
# (read-only, locked, permissions, I/O) is the machine's: the file is never moved aside for it.
DAMAGED = ("SQLITE_NOTADB", "SQLITE_CORRUPT")


def _open_existing(path: Path,
                   check: KindCheck) -> tuple[sqlite3.Connection | None, str | None]:
    try:
        # mode=rw: never create. The file was checked an instant ago; this closes the gap.
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True,
                             check_same_thread=False, isolation_level=None, timeout=30)
    except sqlite3.Error as exc:
        raise ConfigError(f"cannot open {path}: {exc}") from None
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        # Every page, not just the schema's: a file cut short (a copy, a full disk) can still
        # show its tables, and fail only when a run is under way.
        found = db.execute("PRAGMA quick_check(1)").fetchone()[0]
        if found != "ok":
            db.close()
            return None, f"is damaged ({found})"
        problem = check(db)  # before any write: another program's database stays untouched
        if problem is None:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            # Checkpoint after every commit: what a call leaves is then in the file itself,
            # not only in its -wal log, which a backup of the file alone, or a log deleted
            # or truncated after a kill, would lose (and every pair of it be sent again).
            db.execute("PRAGMA wal_autocheckpoint=1")
    except sqlite3.Error as exc:
        db.close()
        if getattr(exc, "sqlite_errorname", None) not in DAMAGED:
            raise ConfigError(f"cannot use {path}: {exc}") from None
        return None, f"is damaged ({exc})"
    if problem is not None:
        db.close()
        return None, problem
    return db, None


def _create(path: Path, schema: Schema, what: str) -> None:
    """Build a new database beside `path` and link it into place, never over another file."""
    temporary = path.with_name(f".{path.name}.new-{uuid.uuid4().hex[:12]}")
    try:
        # Private before anything is written; the link keeps the mode, and SQLite gives the
        # -wal and -shm files the database's.
        os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
        db = sqlite3.connect(temporary, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")  # recorded in the file's header
            db.execute("BEGIN IMMEDIATE")
            schema(db)
            db.execute("COMMIT")
        finally:
            db.close()  # the last connection checkpoints the log into the file and removes it
        _check_built(temporary)
        _fsync(temporary)
        try:
            os.link(temporary, path)  # fails if the name was taken meanwhile: theirs wins
        except FileExistsError:
            pass
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EMLINK, errno.EXDEV):
                raise
            if not _exists(path):  # a file system without hard links
                os.replace(temporary, path)
        _fsync(path.parent)
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"cannot create the {what} {path}: "
                          f"{getattr(exc, 'strerror', None) or exc}") from None
    finally:
        for leftover in (temporary, *(_sidecar(temporary, s) for s in SIDECARS)):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def _check_built(path: Path) -> None:
    """Raise unless the new file holds the whole database by itself. On a nearly full disk
    the checkpoint at close can fail without a word, leaving a file SQLite calls malformed:
    linked into place, it would stop every later run (exit 2) even once there is room."""
    if any(_exists(_sidecar(path, suffix)) for suffix in SIDECARS):
        raise OSError(errno.ENOSPC, "its log could not be written into it (is the disk full?)")
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        found = db.execute("PRAGMA quick_check(1)").fetchone()[0]
    finally:
        db.close()
    if found != "ok":
        raise OSError(errno.ENOSPC, f"it was not written whole ({found}; is the disk full?)")


def _fsync(path: Path) -> None:
    """Make a new file (or a folder's new entry) durable before anything relies on it."""
    flags = (os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)) if path.is_dir() else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:  # folders cannot be opened on Windows; NTFS journals the entry itself
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
