"""Take an inbox file by copying it: the copy is what is read, hashed, sent and archived.

The HR system may replace a file, or write into it, while the run is sending it. Working on the
inbox path itself would read one content, remember the checksum of that one and archive the
other: the new content would never be sent. So a file is taken by copying it into the state
folder (`inbox-taken/`); the run reads and hashes that copy, and the archive receives it.
Afterwards the inbox file is *released*: removed when it is still what was copied (the same
file, or the same content), left in the inbox for the next run when it changed meanwhile.

A copy made while the file was changing is thrown away and the file waits for the next run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path

from bulk_enroll.file_modes import make_dirs, shared_mode
from bulk_enroll.inbox.archive import free_name
from bulk_enroll.jobs import file_sha256

TAKEN_DIR = "inbox-taken"


@dataclass(frozen=True)
class FileIdentity:
    """What tells two states of a path apart without reading it."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    regular: bool

    @classmethod
    def of(cls, path: Path) -> FileIdentity:
        info = path.stat(follow_symlinks=False)
        return cls(info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns,
                   stat.S_ISREG(info.st_mode))


@dataclass(frozen=True)
class TakenFile:
    original: Path  # the file in the inbox
    copy: Path  # what the run reads and the archive keeps
    sha256: str  # of the copy
    identity: FileIdentity  # of the original when it was copied


class ChangedWhileTaken(Exception):
    """The file changed while it was being copied: it waits for the next run."""


def take(path: Path, state_dir: Path, seen: tuple[int, int] | None = None) -> TakenFile | None:
    """Copy `path` into `state_dir/inbox-taken/`; None if it is gone. Raises
    `ChangedWhileTaken` if it changed since it was `seen` (size, modification time in ns, when
    the scan found it ready) or during the copy; the copy is then removed."""
    folder = state_dir / TAKEN_DIR / uuid.uuid4().hex
    make_dirs(folder)  # private: the copy holds names and emails
    copy = folder / path.name
    try:
        before = FileIdentity.of(path)
        if not before.regular:
            raise ChangedWhileTaken(f"{path.name} is no longer a regular file")
        if seen is not None and seen != (before.size, before.mtime_ns):
            raise ChangedWhileTaken(f"{path.name} changed since it was found ready")
        shutil.copyfile(path, copy)
        os.chmod(copy, shared_mode())  # archived later: a report's mode, never others'
        if FileIdentity.of(path) != before:
            raise ChangedWhileTaken(f"{path.name} changed while it was being copied")
    except FileNotFoundError:
        discard(copy)
        return None
    except BaseException:
        discard(copy)
        raise
    return TakenFile(path, copy, file_sha256(copy), before)


def release(taken: TakenFile) -> bool:
    """Remove the inbox file if it is still what was taken; True if removed (or gone).

    It is first renamed to a hidden name, so a new file the HR system writes meanwhile gets
    the name and is never the one removed. If it changed since it was taken, it is put back
    (under a free variant of its name if a newer file took the name) and False is returned.
    """
    original = taken.original
    hidden = original.with_name(f".{original.name}.taken-{uuid.uuid4().hex[:8]}")
    try:
        os.rename(original, hidden)
    except FileNotFoundError:
        return True
    now = FileIdentity.of(hidden)
    if now == taken.identity or now.regular and file_sha256(hidden) == taken.sha256:
        hidden.unlink()
        return True
    while True:  # never over a file that took the name since
        target = free_name(original.parent, original.name)
        try:
            os.link(hidden, target)
        except FileExistsError:
            continue
        except OSError:  # no hard links here: a rename, checked just before
            os.rename(hidden, target)
            return False
        hidden.unlink()
        return False


def discard(copy: Path) -> None:
    """Remove a taken copy (if still there) and its folder."""
    with contextlib.suppress(FileNotFoundError):
        copy.unlink()
    with contextlib.suppress(OSError):
        copy.parent.rmdir()


def discard_leftovers(state_dir: Path) -> None:
    """Copies a killed run left behind: their originals are still in the inbox."""
    folder = state_dir / TAKEN_DIR
    if not folder.is_dir():
        return
    for leftover in folder.iterdir():
        shutil.rmtree(leftover, ignore_errors=True)

