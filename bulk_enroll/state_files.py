"""Small private files in the state folder (lookup cache, learned rate limits), written whole.

Written to a temporary file in the same folder and renamed over the old one, so a reader never
sees half a file and a crash leaves the previous version; mode 0600 (mkstemp's), because they
name the account's endpoint and client.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def write_private_json(path: Path, data: object) -> None:
    """Replace `path` with `data` as JSON, atomically, readable by its owner only; raises
    OSError (callers decide whether a state file that cannot be written matters)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, ensure_ascii=False)
        os.replace(name, path)
    finally:
        Path(name).unlink(missing_ok=True)
