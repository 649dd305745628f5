"""Which files of an inbox folder are ready: whole spreadsheets nobody is still writing.

An HR system, a person saving from Excel, or a file copy over the network may still be writing
a file when the scheduler starts. A file is taken only when

- its name is not a temporary or hidden one (`~$x.xlsx`, `x.part`, `x.tmp`, `.x`, ...),
- no office lock file says it is open (`~$x.xlsx` from Excel, `.~lock.x.xlsx#` from LibreOffice),
- its type is one the reader supports, and
- its size and modification time did not change for `stable_s` seconds: a file modified less
  than `stable_s` ago is looked at again after that interval, and left for the next run if it
  changed meanwhile.

Subfolders are not looked into; symbolic links (to a file or a folder) are never followed, and
are listed as ignored so the log says why they were left. Ready files come oldest first
(modification time, then name). The clock and the sleep are parameters so tests need not wait.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bulk_enroll.read.reader import SUPPORTED

TEMPORARY_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".download",
                      ".filepart", ".swp", ".lock", "~")


@dataclass(frozen=True)
class Snapshot:
    path: Path
    size: int
    mtime_ns: int

    @property
    def mtime(self) -> float:
        return self.mtime_ns / 1e9


@dataclass
class Scan:
    ready: list[Snapshot] = field(default_factory=list)  # oldest first
    waiting: list[tuple[Path, str]] = field(default_factory=list)  # left for the next run
    ignored: list[tuple[Path, str]] = field(default_factory=list)  # never taken: not spreadsheets


def is_temporary(name: str) -> bool:
    """Names writers use while a file is incomplete, and hidden files."""
    return name.startswith((".", "~")) or name.lower().endswith(TEMPORARY_SUFFIXES)


def open_in_office(name: str, names: set[str]) -> bool:
    """Excel keeps `~$name` (or `~$` + name minus two letters) while a workbook is open;
    LibreOffice keeps `.~lock.name#`."""
    return bool({f"~${name}", f"~${name[2:]}", f".~lock.{name}#"} & names)


def scan_inbox(folder: Path, stable_s: float, *, clock: Callable[[], float] = time.time,
               sleep: Callable[[float], None] = time.sleep) -> Scan:
    """The files of `folder` (not its subfolders) that are ready to be processed."""
    scan = Scan()
    entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    names = {entry.name for entry in entries}
    candidates: list[Snapshot] = []
    for entry in entries:
        path = Path(entry.path)
        if is_temporary(entry.name) or entry.is_dir(follow_symlinks=False):
            continue
        if entry.is_symlink():  # to a file or a folder: never followed out of the inbox
            target = "a folder" if entry.is_dir() else "a file"
            scan.ignored.append((path, f"a symbolic link (to {target}), not followed"))
        elif not entry.is_file(follow_symlinks=False):
            scan.ignored.append((path, "not a regular file"))
        elif path.suffix.lower() not in SUPPORTED:
            scan.ignored.append((path, f"not a spreadsheet this tool reads "
                                       f"({', '.join(SUPPORTED)})"))
        elif open_in_office(entry.name, names):
            scan.waiting.append((path, "open in an office application (its lock file exists)"))
        else:
            snapshot = _snapshot(path)
            if snapshot is not None:
                candidates.append(snapshot)
    young = [s for s in candidates if clock() - s.mtime < stable_s]
    if young:
        sleep(stable_s)
    for before in candidates:
        after = _snapshot(before.path) if before in young else before
        if after is None:
            continue  # gone meanwhile (moved by its writer): nothing to do
        if after != before:
            scan.waiting.append((before.path, f"still being written (changed within "
                                              f"{stable_s:g} s)"))
        else:
            scan.ready.append(before)
    scan.ready.sort(key=lambda s: (s.mtime_ns, s.path.name))
    return scan


def _snapshot(path: Path) -> Snapshot | None:
    try:
        info = path.stat(follow_symlinks=False)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return Snapshot(path, info.st_size, info.st_mtime_ns)
