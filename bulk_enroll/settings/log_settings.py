"""BULK_ENROLL_LOG_* (or the [log] section) and the --log-format/--log-file options ->
`logs.LogSettings`. Here rather than in `logs`, so that logging (which every package uses)
depends on no settings."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bulk_enroll.logs import (
    DEFAULT_BACKUPS,
    DEFAULT_MAX_BYTES,
    LOG_FORMATS,
    LOG_LEVELS,
    LogSettings,
)
from bulk_enroll.settings.environment import Environment


def load_log_settings(environ: Mapping[str, str], *, log_format: str | None = None,
                      log_file: Path | None = None) -> LogSettings:
    """Options first, then BULK_ENROLL_LOG_* (environment or configuration file)."""
    env = Environment(environ)
    chosen = log_format or env.choice("LOG_FORMAT", LOG_FORMATS, "human")
    level = env.choice("LOG_LEVEL", tuple(LOG_LEVELS), "") or None
    return LogSettings(
        format="json" if chosen == "json" else "human",
        file=log_file or env.path("LOG_FILE"),
        level=LOG_LEVELS[level] if level else None,
        max_bytes=env.whole("LOG_MAX_BYTES", DEFAULT_MAX_BYTES, minimum=1024),
        backups=env.whole("LOG_BACKUPS", DEFAULT_BACKUPS, minimum=0),
    )
