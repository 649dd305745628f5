"""Who may read what bulk-enroll leaves on disk, whatever the umask it was started with.

The state folder, journal, ledger, locks, logs and lookup cache hold who was enrolled where
(and, in the journal's run records, the input rows with names and emails): they are created
private to the user running bulk-enroll (folders 0700, files 0600), even under `umask 000`.
Reports, summaries and notes are for the people handling the import: owner and group may read
them, others never (0640 at most, less when the umask says so).

A folder or file that already exists keeps the mode its owner gave it, except the private
files, which are narrowed to 0600 (an older bulk-enroll may have left them readable).
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
SHARED_DIR = 0o750  # reports and archive folders: the owner's group may look in
SHARED_FILE = 0o640  # reports, summaries, notes: never readable by others


def make_dirs(folder: Path, mode: int = PRIVATE_DIR) -> None:
    """`mkdir -p folder`, where every folder created gets `mode` (less what the umask takes
    away); folders that exist are left alone. `Path.mkdir(parents=True)` would give the
    parents the umask's default instead."""
    missing: list[Path] = []
    current = folder
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another process
            path.mkdir(mode)
    if not folder.is_dir():  # a file of that name: as `mkdir(exist_ok=True)` says it
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(folder))


def make_private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 if it does not exist; narrow it to 0600 if it does."""
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
    except OSError:
        return  # the caller's own open reports what is wrong, in its words
    os.close(handle)
    restrict(path)


def restrict(*paths: Path, mode: int = PRIVATE_FILE) -> None:
    """Narrow existing files to `mode` (0600); missing files and files of another owner are
    skipped (those are the owner's choice)."""
    for path in paths:
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if path.stat().st_mode & 0o777 & ~mode:
                os.chmod(path, mode)


def shared_mode(existing: Path | None = None) -> int:
    """The mode of a report written to replace `existing`: the mode it had, without the
    others' bits; for a new file, 0640 less what the umask takes away."""
    if existing is not None:
        try:
            return existing.stat().st_mode & 0o770
        except FileNotFoundError:
            pass
    return SHARED_FILE & ~current_umask()


def write_shared_text(path: Path, text: str) -> None:
    """Write a new note (or replace one) with the mode of a report."""
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, SHARED_FILE)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux), so
    another thread never creates a file under a momentary umask of 0."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    umask = os.umask(0o077)  # elsewhere: briefly the strictest umask, never a looser one
    os.umask(umask)
    return umask
