"""A small JSON file remembering lookups between runs, so nightly imports don't ask again.

Only positive answers are kept (a user found by email, an ID that exists, the content list),
each with the time it was fetched; entries older than `max_age_s` are ignored. Misses are never
cached: a person added to the LMS this afternoon must be found tonight. The file belongs to one
account (its API URL is stored and checked), holds emails and IDs but never a token, and is
written atomically, readable by its owner only.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path

from bulk_enroll.atomic_files import write_private_json
from bulk_enroll.model import ContentItem, DirectoryUser

log = logging.getLogger(__name__)

FORMAT = 1


class LookupCache:
    """Load with `LookupCache(path, api_url, max_age_s).load()`; `save()` after the lookups."""

    def __init__(
        self,
        path: Path,
        api_url: str,
        max_age_s: float,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.api_url = api_url
        self.max_age_s = max_age_s
        self._clock = clock
        self._users: dict[str, dict[str, object]] = {}
        self._ids: dict[str, float] = {}
        self._contents: dict[str, object] | None = None
        self._dirty = False

    def load(self) -> LookupCache:
        """Read the file if it exists and belongs to this account; a bad file is ignored."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return self
        except (OSError, ValueError) as exc:
            log.warning("ignoring the lookup cache %s: %s", self.path, exc)
            return self
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            log.warning("ignoring the lookup cache %s: unknown format", self.path)
            return self
        if data.get("api_url") != self.api_url:
            log.info("the lookup cache %s is for another account; starting afresh", self.path)
            return self
        self._users = _dict(data.get("users"))
        self._ids = {k: v for k, v in _dict(data.get("user_ids")).items() if _is_time(v)}
        contents = data.get("contents")
        self._contents = contents if isinstance(contents, dict) else None
        return self

    # --- reading (fresh entries only) --------------------------------------------------------

    def users(self, kind: str, value: str) -> tuple[DirectoryUser, ...] | None:
        entry = self._users.get(f"{kind}:{value}")
        if not isinstance(entry, dict) or not self._fresh(entry.get("at")):
            return None
        try:
            return tuple(DirectoryUser(**item) for item in entry["users"])  # type: ignore[attr-defined]
        except (KeyError, TypeError):
            return None

    def user_exists(self, user_id: str) -> bool:
        return self._fresh(self._ids.get(user_id))

    def contents(self) -> tuple[ContentItem, ...] | None:
        entry = self._contents
        if entry is None or not self._fresh(entry.get("at")):
            return None
        try:
            return tuple(ContentItem(**item) for item in entry["items"])  # type: ignore[attr-defined]
        except (KeyError, TypeError):
            return None

    # --- writing -----------------------------------------------------------------------------

    def put_users(self, kind: str, value: str, users: Iterable[DirectoryUser]) -> None:
        self._users[f"{kind}:{value}"] = {
            "at": self._clock(),
            "users": [asdict(u) for u in users],
        }
        self._dirty = True

    def put_existing(self, user_ids: Iterable[str]) -> None:
        now = self._clock()
        for user_id in user_ids:
            self._ids[user_id] = now
        self._dirty = True

    def put_contents(self, items: Iterable[ContentItem]) -> None:
        self._contents = {"at": self._clock(), "items": [asdict(c) for c in items]}
        self._dirty = True

    def save(self) -> None:
        """Write the file (expired entries dropped) atomically with mode 0600; a failure to
        write only costs the next run some lookups, so it is logged, not raised."""
        if not self._dirty:
            return
        data = {
            "format": FORMAT,
            "api_url": self.api_url,
            "users": {k: v for k, v in self._users.items() if self._fresh(v.get("at"))},
            "user_ids": {k: v for k, v in self._ids.items() if self._fresh(v)},
            "contents": self._contents,
        }
        try:
            write_private_json(self.path, data)
        except OSError as exc:
            log.warning("could not write the lookup cache %s: %s", self.path, exc)
            return
        self._dirty = False

    def _fresh(self, at: object) -> bool:
        return _is_time(at) and 0 <= self._clock() - at <= self.max_age_s  # type: ignore[operator]


def _dict(value: object) -> dict:  # type: ignore[type-arg]
    return value if isinstance(value, dict) else {}


def _is_time(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
