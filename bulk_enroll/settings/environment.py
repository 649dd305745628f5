"""Typed readers of the `BULK_ENROLL_*` settings: one set of rules and one error shape.

Every loader (account, limits, input, inbox, notifications, logging) reads its settings through
`Environment`, whether they were set as environment variables or in the configuration file
(which `config_file` translates into the same names). So a boolean is spelled the same way
everywhere, a number has the same checks, and every error names the variable, its value and
the file's key, e.g.

    BULK_ENROLL_CONCURRENCY='two' (concurrency in [limits]) is not a whole number

An empty variable counts as unset: the default applies.
"""

from __future__ import annotations

import ipaddress
import math
import os
import stat
from collections.abc import Mapping, Sequence
from email.utils import getaddresses
from pathlib import Path
from urllib.parse import urlsplit

from bulk_enroll.errors import ConfigError
from bulk_enroll.settings.schema import file_key

PREFIX = "BULK_ENROLL_"
TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")
LARGEST = 1e12  # no setting means more; a larger value is a typo (or inf)
MB = 1024 * 1024


class Environment:
    """Reads settings by their name after `BULK_ENROLL_` from one mapping (default: os.environ).

    Each reader returns the default when the setting is unset and raises `ConfigError` in the
    shape of `error` when it is set but unusable.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ: Mapping[str, str] = os.environ if environ is None else environ

    def text(self, name: str) -> str | None:
        """The value with surrounding blanks removed; None when unset or empty."""
        return self.environ.get(PREFIX + name, "").strip() or None

    def error(self, name: str, problem: str, *, value: str | None = None) -> ConfigError:
        """`BULK_ENROLL_NAME='value' (key in [section]) problem`; the value is left out when
        None (a secret, or nothing was set)."""
        shown = "" if value is None else f"={value!r}"
        key = file_key(name)
        where = f" ({key})" if key else ""
        return ConfigError(f"{PREFIX}{name}{shown}{where} {problem}")

    def choice(self, name: str, choices: Sequence[str], default: str) -> str:
        """One of `choices`, in any letter case."""
        raw = self.text(name)
        if raw is None:
            return default
        if raw.lower() not in choices:
            raise self.error(name, f"is not one of: {', '.join(choices)}", value=raw)
        return raw.lower()

    def flag(self, name: str, default: bool) -> bool:
        """true/false, yes/no, on/off or 1/0."""
        raw = self.text(name)
        if raw is None:
            return default
        if raw.lower() in TRUE_WORDS:
            return True
        if raw.lower() in FALSE_WORDS:
            return False
        raise self.error(name, "is not true or false (use true/false, yes/no, on/off or 1/0)",
                         value=raw)

    def number(self, name: str, default: float, *, minimum: float | None = None,
               maximum: float | None = None, above: float | None = None,
               unit: str = "", percent: bool = False) -> float:
        """A finite number within the bounds (`above`: strictly more than); `percent` also
        accepts "20%" for 0.2. `unit` names what the number counts, for the error."""
        raw = self.text(name)
        if raw is None:
            return default
        in_percent = percent and raw.endswith("%")
        try:
            value = float(raw[:-1]) / 100 if in_percent else float(raw)
        except ValueError:
            raise self.error(name, f"is not a number{unit and ' of ' + unit}", value=raw) from None
        if not math.isfinite(value) or abs(value) > LARGEST:
            raise self.error(name, "is not a usable number", value=raw)
        self._check_bounds(name, raw, value, minimum, maximum, above)
        return value

    def whole(self, name: str, default: int, *, minimum: int | None = None,
              maximum: int | None = None) -> int:
        """A whole number within the bounds ("1e3" and "10.0" are whole; "2.5" is not)."""
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise self.error(name, "is not a whole number", value=raw) from None
        if not math.isfinite(value) or abs(value) > LARGEST:
            raise self.error(name, "is not a usable number", value=raw)
        if not value.is_integer():
            raise self.error(name, "is not a whole number", value=raw)
        self._check_bounds(name, raw, value, minimum, maximum, None)
        return int(value)

    def seconds(self, name: str, default: float, *, minimum: float | None = None) -> float:
        """A duration in seconds: at least `minimum`, or without one more than 0."""
        if minimum is None:
            return self.number(name, default, above=0, unit="seconds")
        return self.number(name, default, minimum=minimum, unit="seconds")

    def megabytes(self, name: str, default_mb: float) -> int:
        """A size given in megabytes (more than 0; decimals allowed), in bytes."""
        return int(self.number(name, default_mb, above=0, unit="megabytes") * MB)

    def path(self, name: str) -> Path | None:
        """A path, `~` expanded (the configuration file's relative paths are already made
        relative to the file's folder)."""
        raw = self.text(name)
        return Path(raw).expanduser() if raw else None

    def url(self, name: str, *, secret: bool = False) -> str | None:
        """An http(s) URL: https:// anywhere, plain http:// only to this machine. A `secret`
        URL (a webhook with a token in its path) is shown as scheme://host/... in errors."""
        raw = self.text(name)
        if raw is None:
            return None
        parts = urlsplit(raw)
        shown: str | None = masked_url(raw) if secret else raw
        if parts.username or parts.password:
            raise self.error(name, "must not contain credentials")  # the value would show them
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise self.error(name, "is not an http(s) URL", value=shown)
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise self.error(name, f"uses plain http:// to {parts.hostname}; use https:// (plain "
                             "http is allowed only for 127.0.0.1, localhost and ::1)", value=shown)
        return raw

    def addresses(self, name: str) -> tuple[str, ...]:
        """E-mail addresses separated by commas ("a@example.com, B <b@example.com>")."""
        raw = self.text(name)
        found = tuple(address for _, address in getaddresses([raw or ""]) if address)
        if not found or any("@" not in address for address in found):
            raise self.error(name, "must list e-mail addresses", value=raw)
        return found

    def secret_file(self, name: str) -> str | None:
        """The text of the file named by `name`, which only its owner may read (as ssh
        insists for keys); None when unset or empty."""
        path = self.path(name)
        if path is None:
            return None
        try:
            if os.name != "nt" and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise self.error(name, f"is readable by other users; run: chmod 600 {path}",
                                 value=str(path))
            return path.read_text(encoding="utf-8").strip() or None
        except UnicodeDecodeError:
            raise self.error(name, "is not UTF-8 text; save the secret as plain UTF-8",
                             value=str(path)) from None
        except OSError as exc:
            raise self.error(name, f"cannot be read: {exc.strerror}", value=str(path)) from None

    def _check_bounds(self, name: str, raw: str, value: float, minimum: float | None,
                      maximum: float | None, above: float | None) -> None:
        if minimum is not None and maximum is not None:
            if not minimum <= value <= maximum:
                raise self.error(name, f"must be between {minimum:g} and {maximum:g}", value=raw)
        elif minimum is not None and value < minimum:
            raise self.error(name, f"must be at least {minimum:g}", value=raw)
        elif maximum is not None and value > maximum:
            raise self.error(name, f"must be at most {maximum:g}", value=raw)
        if above is not None and value <= above:
            raise self.error(name, f"must be more than {above:g}", value=raw)


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: where plain http crosses no network."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def masked_url(url: str) -> str:
    """scheme://host/... : a URL that may hold a token in its path or user info (a webhook),
    made safe to show. Unlike `report.sheets.public_url`, which keeps the path, this hides it."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/..."
