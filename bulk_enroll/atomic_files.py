"""Files replaced whole (reports, the JSON summary, the lookup cache, learned rate limits, the
web page's history).

Each is written to a temporary file in the same folder and renamed over the old one, so a
reader (a scheduler, a person, the next run) never sees half a file, and a crash leaves the
previous version. A private file keeps mkstemp's mode 0600 (state files name the account's
endpoint and client); a shared one gets the mode of the file it replaces, or the mode any new
file would get, so a team sharing a reports folder can open it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(target: Path, *, private: bool) -> Iterator[Path]:
    """Yield a temporary path in `target`'s folder that replaces `target` only when the block
    succeeds; raises OSError (callers decide whether a file that cannot be written matters)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        if not private:
            os.chmod(temporary, _shared_mode(target))
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def write_private_json(path: Path, data: object) -> None:
    """Replace `path` with `data` as JSON, atomically, readable by its owner only."""
    with replacing(path, private=True) as temporary:
        temporary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def _shared_mode(target: Path) -> int:
    try:
        return target.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
