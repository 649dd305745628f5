"""One instance at a time: a lock the kernel holds for the process and drops when it dies.

`flock` (POSIX) / `msvcrt.locking` (Windows) locks belong to the open file: they vanish when the
process exits for any reason, SIGKILL and power loss included, so a lock "left" by a killed run
never blocks the next night. A lock *file* that merely exists means nothing; it is never
deleted (deleting it would let two processes lock two different files of the same name).
The file records who holds it, for the message the second instance prints.

filelock's FileLock was considered: on file systems without flock it falls back to a lock that
does survive the process, which is exactly what must not happen here.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import sys
from pathlib import Path
from types import TracebackType

from bulk_enroll.errors import ConfigError, SafetyStop
from bulk_enroll.file_modes import PRIVATE_FILE, make_dirs, restrict

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    HOLDER_OFFSET = 1  # Windows locks bytes: the holder note lives after the locked byte
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    HOLDER_OFFSET = 0


class InstanceLock:
    """`with InstanceLock(path, "inbox"):` - raise `SafetyStop` if another process holds it."""

    def __init__(self, path: Path, purpose: str) -> None:
        self.path, self.purpose = path, purpose
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            make_dirs(self.path.parent)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        except OSError as exc:
            raise ConfigError(f"cannot create the lock file {self.path}: {exc.strerror}") from None
        restrict(self.path)  # one an older version left readable to others
        try:
            locked = _try_lock(fd)
        except OSError as exc:  # a file system without locks (some network shares)
            os.close(fd)
            raise ConfigError(f"cannot lock {self.path} ({exc.strerror}): put the state folder "
                              "on a local disk") from None
        if not locked:
            holder = _read_holder(fd)
            os.close(fd)
            raise SafetyStop(
                f"another bulk-enroll {self.purpose} is running{holder}; this one stops without "
                f"doing anything (lock: {self.path})"
            )
        note = (f"pid {os.getpid()} on {socket.gethostname()}, "
                f"started {dt.datetime.now().replace(microsecond=0).isoformat(sep=' ')}\n")
        os.ftruncate(fd, HOLDER_OFFSET)
        os.lseek(fd, HOLDER_OFFSET, os.SEEK_SET)
        os.write(fd, note.encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    try:
        os.lseek(fd, HOLDER_OFFSET, os.SEEK_SET)
        text = os.read(fd, 200).decode("utf-8", "replace").strip()
    except OSError:
        return ""
    return f" ({text})" if text else ""


def lock_holder(path: Path, purpose: str) -> str | None:
    """Why a run could not take the lock at `path` now (another holds it), else None.

    For a page that must say "another run is sending" before a person presses Start. The lock
    is taken and dropped at once; only a missing folder is not created (nothing holds it).
    """
    if not path.parent.is_dir():
        return None
    try:
        with InstanceLock(path, purpose):
            return None
    except SafetyStop as stop:
        return str(stop)
