"""Move a processed file out of the inbox into a dated archive folder, never overwriting.

`archive/<kind>/YYYY-MM-DD/<name>`; when that name is taken (the same export dropped twice a
day), `<stem>-2<suffix>`, `<stem>-3<suffix>`, ... On one file system the move is a hard link
plus an unlink, so an existing file can never be replaced, even by a racing process; across file
systems it falls back to a copy.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import shutil
from pathlib import Path

from bulk_enroll.file_modes import SHARED_DIR, make_dirs

MAX_SUFFIX = 10_000


def dated_folder(archive: Path, kind: str, day: dt.date) -> Path:
    return archive / kind / day.isoformat()


def free_name(folder: Path, name: str) -> Path:
    """`folder/name`, or the first `stem-N.suffix` that does not exist yet."""
    candidate = folder / name
    stem, suffix = candidate.stem, candidate.suffix
    number = 1
    while candidate.exists() or candidate.is_symlink():
        number += 1
        if number > MAX_SUFFIX:
            raise FileExistsError(errno.EEXIST, "no free name", str(folder / name))
        candidate = folder / f"{stem}-{number}{suffix}"
    return candidate


def move_into(source: Path, folder: Path) -> Path:
    """Move `source` into `folder` under its own name or a free variant; return the new path."""
    make_dirs(folder, SHARED_DIR)
    while True:
        target = free_name(folder, source.name)
        try:
            os.link(source, target)  # fails if target exists: nothing is ever overwritten
        except FileExistsError:
            continue  # taken since we looked: look again
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK):
                raise
            return Path(shutil.move(str(source), str(target)))  # another file system
        source.unlink()
        return target
