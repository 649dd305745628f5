"""Every setting the configuration file can hold, and the environment name it becomes.

`config_file` uses it to check and translate a file; `environment` to name a variable's file
key in its error messages. The README's configuration table mirrors it.
"""

from __future__ import annotations

from typing import Literal

Kind = Literal["text", "path", "int", "number", "bool", "list", "table", "secret", "secret-url",
               "text-or-number"]

# section -> key -> (name after BULK_ENROLL_, kind).
SCHEMA: dict[str, dict[str, tuple[str, Kind]]] = {
    "": {
        "state_dir": ("STATE_DIR", "path"),
        "respect_removals": ("RESPECT_REMOVALS", "bool"),
    },
    "account": {
        "soap_url": ("SOAP_URL", "text"),
        "api_url": ("API_URL", "text"),
        "client_id": ("CLIENT_ID", "text"),
        "client_secret_file": ("CLIENT_SECRET_FILE", "path"),
        "client_secret": ("CLIENT_SECRET", "secret"),
        "soap_namespace": ("SOAP_NAMESPACE", "text"),
        "transport": ("TRANSPORT", "text"),
    },
    "limits": {
        "max_learners_per_call": ("MAX_LEARNERS_PER_CALL", "int"),
        "max_courses_per_call": ("MAX_COURSES_PER_CALL", "int"),
        "concurrency": ("CONCURRENCY", "int"),
        "max_attempts": ("MAX_ATTEMPTS", "int"),
        "retry_budget": ("RETRY_BUDGET", "int"),
        "rate_limit": ("RATE_LIMIT", "number"),
        "no_progress_timeout": ("NO_PROGRESS_TIMEOUT", "number"),
        "connect_timeout": ("CONNECT_TIMEOUT", "number"),
        "read_timeout": ("READ_TIMEOUT", "number"),
        "max_pairs_per_call": ("MAX_PAIRS_PER_CALL", "int"),
        "page_size": ("PAGE_SIZE", "int"),
    },
    "input": {
        "max_file_mb": ("MAX_FILE_MB", "number"),
        "max_uncompressed_mb": ("MAX_UNCOMPRESSED_MB", "number"),
        "date_order": ("DATE_ORDER", "text"),
        "aliases": ("ALIASES", "table"),  # {"Header as written" = "field" or "ignore"}
        "include_hidden_rows": ("INCLUDE_HIDDEN_ROWS", "bool"),
    },
    "defaults": {  # values for rows without them, as the row default options
        "due_date_type": ("DEFAULT_DUE_DATE_TYPE", "text"),
        "due_period": ("DEFAULT_DUE_PERIOD", "text-or-number"),  # 720, or "30 days"
        "lock_after_due_date": ("DEFAULT_LOCK_AFTER_DUE_DATE", "bool"),
    },
    "lookups": {
        "cache": ("LOOKUP_CACHE", "path"),
        "cache_hours": ("LOOKUP_CACHE_HOURS", "number"),
    },
    "inbox": {
        "dir": ("INBOX_DIR", "path"),
        "archive_dir": ("INBOX_ARCHIVE_DIR", "path"),
        "reports_dir": ("INBOX_REPORTS_DIR", "path"),
        "stable_seconds": ("INBOX_STABLE_SECONDS", "number"),
        "max_new_enrollments_per_file": ("INBOX_MAX_NEW_PER_FILE", "int"),
        "max_new_enrollments_per_run": ("INBOX_MAX_NEW_PER_RUN", "int"),
        "max_invalid_share": ("INBOX_MAX_INVALID_SHARE", "number"),
        "check_server": ("INBOX_CHECK_SERVER", "bool"),
    },
    "notify": {
        "when": ("NOTIFY_WHEN", "text"),
        "webhook_url": ("WEBHOOK_URL", "secret-url"),  # may hold a token: redacted
        "webhook_timeout": ("WEBHOOK_TIMEOUT", "number"),
    },
    "notify.email": {
        "host": ("SMTP_HOST", "text"),
        "port": ("SMTP_PORT", "int"),
        "from": ("SMTP_FROM", "text"),
        "to": ("SMTP_TO", "list"),
        "starttls": ("SMTP_STARTTLS", "bool"),
        "ssl": ("SMTP_SSL", "bool"),
        "username": ("SMTP_USERNAME", "text"),
        "password_file": ("SMTP_PASSWORD_FILE", "path"),
        "password": ("SMTP_PASSWORD", "secret"),
        "timeout": ("SMTP_TIMEOUT", "number"),
        "attach_reports": ("SMTP_ATTACH_REPORTS", "bool"),
    },
    "web": {
        "password": ("WEB_PASSWORD", "secret"),  # `bulk-enroll web --host` beyond loopback
    },
    "log": {
        "format": ("LOG_FORMAT", "text"),
        "file": ("LOG_FILE", "path"),
        "level": ("LOG_LEVEL", "text"),
        "max_bytes": ("LOG_MAX_BYTES", "int"),
        "backups": ("LOG_BACKUPS", "int"),
    },
}


# Environment variables holding secrets (masked in every log line); the TOKEN has no file key.
SECRET_NAMES = ("CLIENT_SECRET", "TOKEN", "SMTP_PASSWORD", "WEBHOOK_URL", "WEB_PASSWORD")


def file_key(name: str) -> str | None:
    """How the configuration file spells the setting `name` (after BULK_ENROLL_), e.g.
    "concurrency in [limits]"; None for a setting the file cannot hold."""
    for section, table in SCHEMA.items():
        for key, (setting, _) in table.items():
            if setting == name:
                return f"{key} in [{section}]" if section else f"{key} at the top level"
    return None
