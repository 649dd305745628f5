"""Files replaced whole (reports, the JSON summary, the lookup cache, learned rate limits, the
web page's history).

Each is written to a temporary file in the same folder and renamed over the old one, so a
reader (a scheduler, a person, the next run) never sees half a file, and a crash leaves the
previous version. A private file keeps mkstemp's mode 0600 (state files name the account's
endpoint and client), in folders made 0700; a shared one (a report: names and emails) gets
0640 less what the umask removes, or the mode of the file it replaces without the others'
bits, in folders made 0750: the owner's group can open it, nobody else (`file_modes`).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bulk_enroll.file_modes import PRIVATE_DIR, SHARED_DIR, make_dirs, shared_mode


@contextmanager
def replacing(target: Path, *, private: bool) -> Iterator[Path]:
    """Yield a temporary path in `target`'s folder that replaces `target` only when the block
    succeeds; raises OSError (callers decide whether a file that cannot be written matters)."""
    make_dirs(target.parent, PRIVATE_DIR if private else SHARED_DIR)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        if not private:
            os.chmod(temporary, shared_mode(target))
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def write_private_json(path: Path, data: object) -> None:
    """Replace `path` with `data` as JSON, atomically, readable by its owner only."""
    with replacing(path, private=True) as temporary:
        temporary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

