"""Environment variables -> one typed `AccountSettings`; secrets never come from argv.

Plain http:// is accepted only for loopback hosts (the sandbox, a local proxy); anything else
must be https://, and certificate verification is never turned off.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bulk_enroll.errors import ConfigError
from bulk_enroll.plan.planner import DEFAULT_MAX_COURSES, DEFAULT_MAX_LEARNERS, PlanLimits
from bulk_enroll.transport.soap import DEFAULT_SERVICE_NAMESPACE

PREFIX = "BULK_ENROLL_"
NO_ACCOUNT = (
    "No LMS account is configured. Set BULK_ENROLL_SOAP_URL (the SOAP endpoint) and either "
    "BULK_ENROLL_TOKEN, or BULK_ENROLL_API_URL with BULK_ENROLL_CLIENT_ID and "
    "BULK_ENROLL_CLIENT_SECRET (or BULK_ENROLL_CLIENT_SECRET_FILE). "
    "To try the tool without an account, add --sandbox."
)
TRANSPORTS = ("soap", "rest")
MAX_PAGE_SIZE = 1000  # the API's documented page size, and the most it serves


@dataclass(frozen=True)
class AccountSettings:
    """Where and how to reach the LMS. `repr` hides the secrets."""

    soap_url: str | None  # None only with the REST transport, which does not use it
    api_url: str | None = None
    token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    service_namespace: str = DEFAULT_SERVICE_NAMESPACE
    transport: str = "soap"


@dataclass(frozen=True)
class RunSettings:
    """Tuning that applies to any account (limits, concurrency, retries)."""

    limits: PlanLimits = field(default_factory=PlanLimits)
    concurrency: int = 4
    max_attempts: int = 5
    retry_budget: int = 200
    rate_limit: float | None = None  # calls per second; None: learned from the server's 429s
    no_progress_timeout_s: float = 600.0  # no call accepted for this long: stop the run
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    state_dir: Path = field(default_factory=lambda: default_state_dir())
    page_size: int = MAX_PAGE_SIZE  # items per page of the API's list calls (lookups)
    lookup_cache: Path | None = None  # remember lookups between runs in this file
    lookup_cache_max_age_h: float = 24.0


def load_account(environ: Mapping[str, str] | None = None) -> AccountSettings:
    """Read the account from the environment; raise `ConfigError` saying what to set."""
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        value = env.get(PREFIX + name, "").strip()
        return value or None

    soap_url, api_url = get("SOAP_URL"), get("API_URL")
    token, client_id = get("TOKEN"), get("CLIENT_ID")
    secret = get("CLIENT_SECRET") or _read_secret_file(get("CLIENT_SECRET_FILE"))
    if not any((soap_url, api_url, token, client_id, secret)):
        raise ConfigError(NO_ACCOUNT)
    transport = load_transport(env)
    if transport == "rest" and api_url is None:
        raise ConfigError(
            "BULK_ENROLL_TRANSPORT=rest needs BULK_ENROLL_API_URL: enrollments are sent to "
            "{BULK_ENROLL_API_URL}/enrollment."
        )
    if soap_url is None and transport == "soap":
        raise ConfigError("BULK_ENROLL_SOAP_URL is not set: give the account's SOAP endpoint URL.")
    if soap_url is not None:
        check_url(soap_url, "BULK_ENROLL_SOAP_URL")
    if token is None:
        if not (client_id and secret):
            raise ConfigError(
                "No credentials: set BULK_ENROLL_TOKEN, or BULK_ENROLL_CLIENT_ID and "
                "BULK_ENROLL_CLIENT_SECRET (or BULK_ENROLL_CLIENT_SECRET_FILE)."
            )
        if api_url is None:
            raise ConfigError(
                "BULK_ENROLL_API_URL is not set: the client ID and secret are exchanged for a "
                "token at {BULK_ENROLL_API_URL}/api/v3/token."
            )
    if api_url is not None:
        check_url(api_url, "BULK_ENROLL_API_URL")
    return AccountSettings(
        soap_url=soap_url,
        api_url=api_url.rstrip("/") if api_url else None,
        token=token,
        client_id=client_id,
        client_secret=secret,
        service_namespace=get("SOAP_NAMESPACE") or DEFAULT_SERVICE_NAMESPACE,
        transport=transport,
    )


def load_transport(environ: Mapping[str, str] | None = None) -> str:
    """`soap` (default) or `rest`, from BULK_ENROLL_TRANSPORT."""
    env = os.environ if environ is None else environ
    transport = env.get(PREFIX + "TRANSPORT", "").strip().lower() or "soap"
    if transport not in TRANSPORTS:
        raise ConfigError(
            f"BULK_ENROLL_TRANSPORT={transport!r} is not a transport; use soap or rest."
        )
    return transport


def load_run_settings(environ: Mapping[str, str] | None = None) -> RunSettings:
    """Limits and tuning from the environment, each with a documented default."""
    env = os.environ if environ is None else environ

    def number(name: str, default: float, *, minimum: float = 1) -> float:
        raw = env.get(PREFIX + name, "").strip()
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{PREFIX}{name}={raw!r} is not a number") from None
        if not math.isfinite(value) or value > 1e9:
            raise ConfigError(f"{PREFIX}{name}={raw!r} is not a usable number")
        if value < minimum:
            raise ConfigError(f"{PREFIX}{name} must be at least {minimum:g}")
        return value

    cache = env.get(PREFIX + "LOOKUP_CACHE", "").strip()
    return RunSettings(
        limits=PlanLimits(
            max_learners=int(number("MAX_LEARNERS_PER_CALL", DEFAULT_MAX_LEARNERS)),
            max_courses=int(number("MAX_COURSES_PER_CALL", DEFAULT_MAX_COURSES)),
            max_pairs=int(number("MAX_PAIRS_PER_CALL", 0)) or None,  # unset: no pairs limit
        ),
        concurrency=int(number("CONCURRENCY", 4)),
        max_attempts=int(number("MAX_ATTEMPTS", 5)),
        retry_budget=int(number("RETRY_BUDGET", 200, minimum=0)),
        rate_limit=number("RATE_LIMIT", 0, minimum=0) or None,
        no_progress_timeout_s=number("NO_PROGRESS_TIMEOUT", 600.0),
        connect_timeout_s=number("CONNECT_TIMEOUT", 10.0, minimum=0.1),
        read_timeout_s=number("READ_TIMEOUT", 60.0, minimum=0.1),
        state_dir=default_state_dir(env),
        page_size=_page_size(int(number("PAGE_SIZE", MAX_PAGE_SIZE))),
        lookup_cache=Path(cache).expanduser() if cache else None,
        lookup_cache_max_age_h=number("LOOKUP_CACHE_HOURS", 24.0, minimum=0),
    )


def default_state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where the journal lives: BULK_ENROLL_STATE_DIR, else the XDG state folder."""
    env = os.environ if environ is None else environ
    if env.get(PREFIX + "STATE_DIR"):
        return Path(env[PREFIX + "STATE_DIR"]).expanduser()
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "bulk-enroll"


def _page_size(value: int) -> int:
    if value > MAX_PAGE_SIZE:
        raise ConfigError(f"{PREFIX}PAGE_SIZE must be at most {MAX_PAGE_SIZE} (the API's limit)")
    return value


def check_url(url: str, name: str) -> None:
    """https:// anywhere; http:// only to this machine, where nothing crosses a network."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name}={url!r} is not an http(s) URL")
    if parts.username or parts.password:
        raise ConfigError(f"{name} must not contain credentials")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(
            f"{name} uses plain http:// to {parts.hostname}; use https:// "
            "(plain http is allowed only for 127.0.0.1, localhost and ::1)"
        )


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _read_secret_file(path: str | None) -> str | None:
    """Read a client secret from a file only the owner can read (like ssh does for keys)."""
    if path is None:
        return None
    secret_path = Path(path).expanduser()
    try:
        mode = secret_path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"{secret_path} is readable by other users; run: chmod 600 {secret_path}"
            )
        return secret_path.read_text(encoding="utf-8").strip() or None
    except UnicodeDecodeError:
        raise ConfigError(f"BULK_ENROLL_CLIENT_SECRET_FILE {secret_path} is not UTF-8 text; "
                          "save the secret as plain UTF-8") from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read BULK_ENROLL_CLIENT_SECRET_FILE {secret_path}: {exc.strerror}"
        ) from None


@dataclass(frozen=True)
class InputSettings:
    """How to read input files, from the configuration: date order, extra header names."""

    date_order: str | None = None
    aliases: dict[str, str] = field(default_factory=dict)  # header as written -> field name


def load_input_settings(environ: Mapping[str, str] | None = None) -> InputSettings:
    """BULK_ENROLL_DATE_ORDER (dmy or mdy) and BULK_ENROLL_ALIASES (a JSON object, which the
    configuration file's [input] aliases table becomes)."""
    from bulk_enroll.read.columns import field_named

    env = os.environ if environ is None else environ
    order = env.get(PREFIX + "DATE_ORDER", "").strip().lower() or None
    if order not in (None, "dmy", "mdy"):
        raise ConfigError(f"{PREFIX}DATE_ORDER={order!r}: use dmy or mdy")
    raw = env.get(PREFIX + "ALIASES", "").strip()
    aliases: dict[str, str] = {}
    if raw:
        try:
            table = json.loads(raw)
            if not isinstance(table, dict):
                raise ValueError("not an object")
            aliases = {str(header): field_named(str(name)).value for header, name in table.items()}
        except ValueError as exc:
            raise ConfigError(f"{PREFIX}ALIASES: {exc} (expected header = field pairs, e.g. "
                              '{"Mitarbeiter E-Mail": "learner_email"})') from None
    return InputSettings(order, aliases)
