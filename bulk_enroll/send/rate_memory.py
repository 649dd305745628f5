"""The rate limit learned for an account, kept in the state folder for the next run.

A nightly import then starts near the limit instead of rediscovering it with a burst of 429s.
One small file per account (named by a hash of the account key, which holds the endpoint and
client ID, never a secret), so runs for different accounts never overwrite each other. A file
that is missing, unreadable or odd means "nothing remembered": the run learns again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

from bulk_enroll.atomic_files import write_private_json

log = logging.getLogger(__name__)
FORMAT = 1


@dataclass(frozen=True)
class RememberedRate:
    limit_per_s: float  # the server's limit as learned, calls per second
    window_s: float | None = None  # the window it seemed to use


def memory_path(state_dir: Path, account: str) -> Path:
    digest = hashlib.sha256(account.encode("utf-8")).hexdigest()[:16]
    return state_dir / f"rate-limit-{digest}.json"


def recall(state_dir: Path, account: str) -> RememberedRate | None:
    """The rate remembered for `account`, if a usable one is on file."""
    path = memory_path(state_dir, account)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ignoring the remembered rate limit in %s: %s", path, exc)
        return None
    if not isinstance(data, dict) or data.get("account") != account:
        return None
    limit, window = data.get("limit_per_s"), data.get("window_s")
    if not isinstance(limit, int | float) or not _positive(limit):
        return None
    return RememberedRate(float(limit), window if _positive(window) else None)


def remember(state_dir: Path, account: str, rate: RememberedRate, when: dt.datetime) -> None:
    """Keep `rate` for `account` (atomically, mode 0600); failing to only costs the next run
    a rediscovery, so it is logged, not raised."""
    path = memory_path(state_dir, account)
    data = {"format": FORMAT, "account": account, "limit_per_s": round(rate.limit_per_s, 3),
            "window_s": rate.window_s, "learned": when.isoformat(timespec="seconds")}
    try:
        write_private_json(path, data)
    except OSError as exc:
        log.warning("could not remember the rate limit in %s: %s", path, exc)


def _positive(value: object) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0)
