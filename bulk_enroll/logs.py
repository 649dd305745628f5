"""Logging for people and for machines: human lines or JSON lines, a rotating file, no secrets.

Every command logs through the standard `logging` module; `setup_logging` (called once by the
CLI, with `settings.log_settings.load_log_settings`) decides where lines go and how they look:

- human lines (`LEVEL message`) on stderr by default, or JSON lines (`--log-format json`) with
  the time, level, run ID, message and the structured fields a caller passed as
  `extra={"fields": {...}}` (file, counts, durations);
- optionally a log file rotated by size (`logging.handlers.RotatingFileHandler`); with a log
  file, stderr only gets warnings and errors (unless -v), so cron mails only when something
  needs a look;
- a `RedactingFilter` on every handler masks the secrets the configuration holds, `Bearer ...`
  headers, `token=`/`password:`-style values and SOAP `<token>` elements, in messages and
  tracebacks alike.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import logging.handlers
import os
import re
import sys
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from bulk_enroll.errors import ConfigError
from bulk_enroll.file_modes import make_dirs, make_private_file

LogFormat = Literal["human", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("human", "json")
MASK = "***"
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_BACKUPS = 5
# Loggers whose INFO lines are the point of an unattended run (what happened to each file).
OPERATIONAL_LOGGERS = (
    "bulk_enroll.send.progress",
    "bulk_enroll.inbox.runner",
    "bulk_enroll.inbox.notify",
    "bulk_enroll.summary",
)
SUMMARY_LOGGER = "bulk_enroll.summary"  # one line per file: for logs, not for a person's terminal
# An unexpected error's traceback: for the log file; the console gets one line from the CLI.
INTERNAL_ERROR_LOGGER = "bulk_enroll.internal"
LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
              "error": logging.ERROR}
_PATTERNS = (
    (re.compile(r"(?i)\b(bearer)\s+[^\s\"',;]+"), r"\1 " + MASK),
    (re.compile(r"(?i)(?<![a-z0-9])(access_token|refresh_token|client_secret|password|secret"
                r"|token)(\s*[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;<>]+"), r"\1\2" + MASK),
    (re.compile(r"(?i)<((?:[\w.-]+:)?token)>[^<]*<"), r"<\1>" + MASK + "<"),
)


@dataclass(frozen=True)
class LogSettings:
    format: LogFormat = "human"
    file: Path | None = None
    level: int | None = None  # from the configuration; -v lowers it further
    max_bytes: int = DEFAULT_MAX_BYTES
    backups: int = DEFAULT_BACKUPS


class Redactor:
    """Known secret values and secret-looking patterns -> `***`. Thread-safe."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, *values: str | None) -> None:
        with self._lock:
            # Very short values would mask ordinary words; no real secret is that short.
            self._secrets.update(v for v in values if v and len(v) >= 4)

    def clear(self) -> None:
        with self._lock:
            self._secrets.clear()

    def __call__(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, MASK)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text


redact = Redactor()
_run_id = f"{dt.datetime.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def run_id() -> str:
    """This process's run ID: in every JSON line, the inbox summary and notifications."""
    return _run_id


def register_secrets(values: Iterable[str | None]) -> None:
    """Mask these values wherever they would appear in a log line."""
    redact.add(*values)


class RedactingFilter(logging.Filter):
    """Masks secrets in the message and the traceback before any handler formats them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            record.fields = {key: _redact_value(value) for key, value in fields.items()}
        record.run_id = _run_id
        return True


# Characters that end a line for some reader (a newline, Python's `splitlines`, a terminal) or
# control a terminal: C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_controls(text: str) -> str:
    """`text` on one line: control characters written as `\\n`, `\\x1b`, `\\u2028`..., so a
    file name or value holding a newline cannot forge a log line (or recolour a terminal)."""
    return _CONTROL.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED_ESCAPES.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100
                                        else f"\\u{ord(char):04x}")


class HumanFormatter(logging.Formatter):
    """`LEVEL message` lines whose message is always one line (see `escape_controls`); a
    traceback, when there is one, follows on its own lines as usual."""

    def format(self, record: logging.LogRecord) -> str:
        one_line = logging.makeLogRecord(record.__dict__)
        one_line.msg, one_line.args = escape_controls(record.getMessage()), None
        return super().format(one_line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, run_id, message, then the fields.

    JSON already escapes newlines and C0 controls; DEL, C1 controls and U+2028/U+2029 (which
    end a line for `str.splitlines` and some viewers) are escaped too, as `\\uXXXX`: the values
    read back exactly, and a line is always one record."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).astimezone()
            .isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "run_id": getattr(record, "run_id", _run_id),
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            entry.update({k: v for k, v in fields.items() if k not in entry})
        if record.exc_text:
            entry["traceback"] = record.exc_text
        return _CONTROL.sub(_json_escape, json.dumps(entry, ensure_ascii=False, default=str))


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"  # only DEL, C1 and U+2028/9 are left raw by json


def setup_logging(verbose: int, settings: LogSettings, stream: IO[str] | None = None, *,
                  tracebacks: bool = False) -> None:
    """Install the stderr handler (and the file handler) on the root logger, replacing the
    ones an earlier call installed. An internal error's traceback reaches stderr only with
    `tracebacks` (--traceback); the log file always gets it."""
    level = logging.WARNING - 10 * min(verbose, 2)
    if settings.level is not None:
        level = min(level, settings.level)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_bulk_enroll", False)]:
        root.removeHandler(handler)
        handler.close()
    handlers: list[logging.Handler] = []
    console = logging.StreamHandler(stream or sys.stderr)
    console.setFormatter(JsonFormatter() if settings.format == "json"
                         else HumanFormatter("%(levelname)s %(message)s"))
    if settings.file is not None and verbose == 0:
        console.setLevel(logging.WARNING)  # the file has the rest; cron mails only trouble
    if (stream or sys.stderr).isatty():  # a person has the printed summary already
        console.addFilter(lambda record: record.name != SUMMARY_LOGGER)
    if not tracebacks:
        console.addFilter(lambda record: record.name != INTERNAL_ERROR_LOGGER)
    handlers.append(console)
    if settings.file is not None:
        handlers.append(_file_handler(settings))
    for handler in handlers:
        handler.addFilter(RedactingFilter())
        handler._bulk_enroll = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    for name in OPERATIONAL_LOGGERS:
        logging.getLogger(name).setLevel(min(level, logging.INFO))


def log_internal_error(error: BaseException) -> None:
    """Keep an unexpected error's traceback in the log file (on stderr only with --traceback,
    see `setup_logging`)."""
    logging.getLogger(INTERNAL_ERROR_LOGGER).error(
        "internal error: %s: %s", type(error).__name__, error, exc_info=error,
        extra={"fields": {"event": "internal_error", "error": type(error).__name__}})


@contextmanager
def unraisable_to_log() -> Iterator[None]:
    """Errors Python cannot raise (a half-written file's objects failing to close when they
    are freed, after a full disk) go to the log at debug level instead of being printed to
    stderr as tracebacks; the failure itself was reported once already."""
    def hook(unraisable: sys.UnraisableHookArgs) -> None:
        logging.getLogger(__name__).debug(
            "ignored while cleaning up: %s: %s", type(unraisable.exc_value).__name__,
            unraisable.exc_value)

    previous, sys.unraisablehook = sys.unraisablehook, hook
    try:
        yield
    finally:
        sys.unraisablehook = previous


def log_file() -> Path | None:
    """The log file `setup_logging` opened, if any."""
    for handler in logging.getLogger().handlers:
        if getattr(handler, "_bulk_enroll", False) and isinstance(handler, logging.FileHandler):
            return Path(handler.baseFilename)
    return None


def _file_handler(settings: LogSettings) -> logging.Handler:
    assert settings.file is not None
    try:
        make_dirs(settings.file.parent)
        make_private_file(settings.file)  # the handler then opens it as it is
        handler = logging.handlers.RotatingFileHandler(
            settings.file, maxBytes=settings.max_bytes, backupCount=settings.backups,
            encoding="utf-8",
        )
    except OSError as exc:
        raise ConfigError(f"cannot open the log file {settings.file}: {exc.strerror}") from None
    handler.rotator = _rotate_privately
    handler.setFormatter(
        JsonFormatter() if settings.format == "json"
        else HumanFormatter("%(asctime)s %(levelname)s [%(run_id)s] %(message)s")
    )
    return handler


def _rotate_privately(source: str, destination: str) -> None:
    """Rotation's rename, then the new log file created private before the handler opens it
    (it would otherwise get the umask's mode)."""
    os.replace(source, destination)
    make_private_file(Path(source))


def _redact_value(value: object) -> object:
    return redact(value) if isinstance(value, str) else value
