"""Environment variables -> the typed account, run, input and read-limit settings; secrets
never come from argv.

Values are read through `environment.Environment` (one set of rules for every setting). Plain
http:// is accepted only for loopback hosts (the sandbox, a local proxy); anything else must be
https://, and certificate verification is never turned off.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bulk_enroll.errors import ConfigError
from bulk_enroll.logs import register_secrets
from bulk_enroll.plan.planner import DEFAULT_MAX_COURSES, DEFAULT_MAX_LEARNERS, PlanLimits
from bulk_enroll.read.safety import DEFAULT_MAX_FILE_MB, DEFAULT_MAX_UNCOMPRESSED_MB, ReadLimits
from bulk_enroll.settings.environment import Environment
from bulk_enroll.transport.soap import DEFAULT_SERVICE_NAMESPACE

log = logging.getLogger(__name__)

NO_ACCOUNT = (
    "No LMS account is configured. Set BULK_ENROLL_SOAP_URL (the SOAP endpoint) and either "
    "BULK_ENROLL_TOKEN, or BULK_ENROLL_API_URL with BULK_ENROLL_CLIENT_ID and "
    "BULK_ENROLL_CLIENT_SECRET (or BULK_ENROLL_CLIENT_SECRET_FILE). "
    "To try the tool without an account, add --sandbox."
)
TRANSPORTS = ("soap", "rest")
# Any of these set means an account is configured (rightly or wrongly).
ACCOUNT_NAMES = ("SOAP_URL", "API_URL", "TOKEN", "CLIENT_ID", "CLIENT_SECRET",
                 "CLIENT_SECRET_FILE")
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
    # With the server checked: leave out pairs removed in the LMS since a run enrolled them.
    respect_removals: bool = False


def load_account(environ: Mapping[str, str] | None = None) -> AccountSettings:
    """Read the account from the environment; raise `ConfigError` saying what to set. Its
    secrets are masked in every log line from now on."""
    env = Environment(environ)
    soap_url, api_url = env.url("SOAP_URL"), env.url("API_URL")
    token, client_id = env.text("TOKEN"), env.text("CLIENT_ID")
    secret = env.text("CLIENT_SECRET") or env.secret_file("CLIENT_SECRET_FILE")
    register_secrets([token, secret])
    if not any((soap_url, api_url, token, client_id, secret)):
        raise ConfigError(NO_ACCOUNT)
    transport = load_transport(env.environ)
    if transport == "rest" and api_url is None:
        raise ConfigError(
            "BULK_ENROLL_TRANSPORT=rest needs BULK_ENROLL_API_URL: enrollments are sent to "
            "{BULK_ENROLL_API_URL}/enrollment."
        )
    if soap_url is None and transport == "soap":
        raise ConfigError("BULK_ENROLL_SOAP_URL is not set: give the account's SOAP endpoint URL.")
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
    return AccountSettings(
        soap_url=soap_url,
        api_url=api_url.rstrip("/") if api_url else None,
        token=token,
        client_id=client_id,
        client_secret=secret,
        service_namespace=env.text("SOAP_NAMESPACE") or DEFAULT_SERVICE_NAMESPACE,
        transport=transport,
    )


def configured_account(environ: Mapping[str, str] | None = None) -> AccountSettings | None:
    """The account for a dry run, which does without one: None when none is configured, and
    also when one is configured halfway (a client ID without its secret, no SOAP URL), which
    is logged as a warning saying what to set: the dry run goes on without the lookups, but
    never quietly, as if no account were meant (the live run stops on it, exit 2)."""
    env = Environment(environ)
    if not any(env.text(name) for name in ACCOUNT_NAMES):
        return None
    try:
        return load_account(environ)
    except ConfigError as exc:
        log.warning("the configured account cannot be used, so names are not looked up: %s",
                    exc)
        return None


def load_transport(environ: Mapping[str, str] | None = None) -> str:
    """`soap` (default) or `rest`, from BULK_ENROLL_TRANSPORT."""
    return Environment(environ).choice("TRANSPORT", TRANSPORTS, "soap")


def load_run_settings(environ: Mapping[str, str] | None = None) -> RunSettings:
    """Limits and tuning from the environment, each with a documented default."""
    env = Environment(environ)
    return RunSettings(
        limits=PlanLimits(
            max_learners=env.whole("MAX_LEARNERS_PER_CALL", DEFAULT_MAX_LEARNERS, minimum=1),
            max_courses=env.whole("MAX_COURSES_PER_CALL", DEFAULT_MAX_COURSES, minimum=1),
            max_pairs=env.whole("MAX_PAIRS_PER_CALL", 0, minimum=1) or None,  # unset: no limit
        ),
        concurrency=env.whole("CONCURRENCY", 4, minimum=1),
        max_attempts=env.whole("MAX_ATTEMPTS", 5, minimum=1),
        retry_budget=env.whole("RETRY_BUDGET", 200, minimum=0),
        rate_limit=env.number("RATE_LIMIT", 0, minimum=0) or None,
        no_progress_timeout_s=env.seconds("NO_PROGRESS_TIMEOUT", 600.0, minimum=1),
        connect_timeout_s=env.seconds("CONNECT_TIMEOUT", 10.0, minimum=0.1),
        read_timeout_s=env.seconds("READ_TIMEOUT", 60.0, minimum=0.1),
        state_dir=default_state_dir(env.environ),
        page_size=env.whole("PAGE_SIZE", MAX_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE),
        lookup_cache=env.path("LOOKUP_CACHE"),
        lookup_cache_max_age_h=env.number("LOOKUP_CACHE_HOURS", 24.0, minimum=0, unit="hours"),
        respect_removals=env.flag("RESPECT_REMOVALS", default=False),
    )


def default_state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where the journal lives: BULK_ENROLL_STATE_DIR, else the XDG state folder."""
    env = Environment(environ)
    configured = env.path("STATE_DIR")
    if configured is not None:
        return configured
    base = env.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "bulk-enroll"


@dataclass(frozen=True)
class InputSettings:
    """How to read input files, from the configuration: date order, extra header names,
    whether rows hidden in the sheet are sent, and values for rows without them (`[defaults]`,
    field name -> text as the row default options take it)."""

    date_order: str | None = None
    aliases: dict[str, str] = field(default_factory=dict)  # header as written -> field name
    include_hidden_rows: bool = False
    row_defaults: dict[str, str] = field(default_factory=dict)


def load_input_settings(environ: Mapping[str, str] | None = None) -> InputSettings:
    """BULK_ENROLL_DATE_ORDER (dmy or mdy), BULK_ENROLL_ALIASES (a JSON object, which the
    configuration file's [input] aliases table becomes; a field or "ignore"),
    BULK_ENROLL_INCLUDE_HIDDEN_ROWS and the row defaults BULK_ENROLL_DEFAULT_* ([defaults])."""
    from bulk_enroll.read.columns import alias_target

    env = Environment(environ)
    order = env.choice("DATE_ORDER", ("dmy", "mdy"), "") or None
    raw = env.text("ALIASES")
    aliases: dict[str, str] = {}
    if raw:
        try:
            table = json.loads(raw)
            if not isinstance(table, dict):
                raise ValueError("not an object")
            aliases = {str(header): str(alias_target(str(name))) for header, name in table.items()}
        except ValueError as exc:
            raise env.error("ALIASES", f"is not a table of header = field pairs ({exc}); e.g. "
                            '{"Mitarbeiter E-Mail": "learner_email"}') from None
    return InputSettings(order, aliases, env.flag("INCLUDE_HIDDEN_ROWS", False),
                         _row_defaults(env))


DUE_DATE_TYPES = ("unlimited", "default", "due_date", "due_period")


def _row_defaults(env: Environment) -> dict[str, str]:
    """`[defaults]`: the due date type, due period and lock for rows without them, checked
    here so a bad one is a configuration error naming its key."""
    from bulk_enroll.validate.values import CellError, parse_hours

    found: dict[str, str] = {}
    due_type = env.choice("DEFAULT_DUE_DATE_TYPE", DUE_DATE_TYPES, "")
    if due_type:
        found["due_date_type"] = due_type
    period = env.text("DEFAULT_DUE_PERIOD")
    if period:
        try:
            parse_hours(period)
        except CellError:
            raise env.error("DEFAULT_DUE_PERIOD", "is not a due period (whole hours like 720, "
                            "or a number with a unit: 30 days, 2 weeks)", value=period) from None
        found["due_period"] = period
    if env.text("DEFAULT_LOCK_AFTER_DUE_DATE"):
        found["lock_after_due_date"] = str(env.flag("DEFAULT_LOCK_AFTER_DUE_DATE", False)).lower()
    return found


def load_read_limits(environ: Mapping[str, str] | None = None) -> ReadLimits:
    """How large an input file may be: BULK_ENROLL_MAX_FILE_MB and _MAX_UNCOMPRESSED_MB."""
    env = Environment(environ)
    return ReadLimits(
        max_file_bytes=env.megabytes("MAX_FILE_MB", DEFAULT_MAX_FILE_MB),
        max_uncompressed_bytes=env.megabytes("MAX_UNCOMPRESSED_MB", DEFAULT_MAX_UNCOMPRESSED_MB),
    )
