"""Tell someone how the nightly import went: a webhook POST and/or an e-mail with the reports.

Configured in the [notify] section (or BULK_ENROLL_NOTIFY_WHEN, _WEBHOOK_URL, _SMTP_*): sent on
failure only (exit code not 0, the default) or always. A notification that cannot be delivered
is logged as an error and never changes the import's outcome or exit code.

The webhook gets the run summary as JSON (plus a `text` line, which chat services such as Slack
or Mattermost display as is). Its URL follows the same rule as the API's: https://, or plain
http:// to this machine only. The e-mail goes through the standard library's smtplib, with
STARTTLS or implicit TLS (certificates verified); a password is never sent over an unencrypted
connection to another machine.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Literal

import requests
import tenacity

from bulk_enroll._version import __version__
from bulk_enroll.errors import ConfigError, exit_codes_legend
from bulk_enroll.logs import register_secrets
from bulk_enroll.settings.environment import PREFIX, Environment, is_loopback, masked_url

log = logging.getLogger(__name__)
When = Literal["failure", "always", "never"]
WHEN_CHOICES: tuple[When, ...] = ("failure", "always", "never")
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024  # in total; larger reports are named, not attached
WEBHOOK_ATTEMPTS = 3


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    starttls: bool = False
    ssl: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_s: float = 30.0
    attach_reports: bool = True


@dataclass(frozen=True)
class NotifySettings:
    when: When = "failure"
    webhook_url: str | None = field(default=None, repr=False)  # may embed a token
    webhook_timeout_s: float = 10.0
    smtp: SmtpSettings | None = None

    @property
    def configured(self) -> bool:
        return self.when != "never" and bool(self.webhook_url or self.smtp)

    def describe(self) -> str:
        """Where notifications go, without the webhook's path (it may be a secret)."""
        targets = []
        if self.webhook_url:
            targets.append(f"webhook {masked_url(self.webhook_url)}")
        if self.smtp:
            security = "SSL" if self.smtp.ssl else "STARTTLS" if self.smtp.starttls else "plain"
            targets.append(f"e-mail to {', '.join(self.smtp.recipients)} via "
                           f"{self.smtp.host}:{self.smtp.port} ({security})")
        if not targets or self.when == "never":
            return "none"
        return f"{' and '.join(targets)}, on {self.when}"


def load_notify_settings(environ: Mapping[str, str]) -> NotifySettings:
    """BULK_ENROLL_NOTIFY_WHEN, _WEBHOOK_URL, _WEBHOOK_TIMEOUT and _SMTP_* (or [notify]). The
    secrets read (webhook URL, SMTP password) are masked in every log line from now on."""
    env = Environment(environ)
    when = env.choice("NOTIFY_WHEN", WHEN_CHOICES, "failure")
    url = env.url("WEBHOOK_URL", secret=True)
    register_secrets([url])
    return NotifySettings(
        when="always" if when == "always" else "never" if when == "never" else "failure",
        webhook_url=url,
        webhook_timeout_s=env.seconds("WEBHOOK_TIMEOUT", 10.0),
        smtp=_load_smtp(env),
    )


def should_notify(settings: NotifySettings, exit_code: int) -> bool:
    return settings.configured and (settings.when == "always" or exit_code != 0)


def notify(settings: NotifySettings, summary: Mapping[str, object],
           attachments: Sequence[Path] = (), *, sleep: Callable[[float], None] = time.sleep,
           force: bool = False) -> list[str]:
    """Send the summary where configured (when due, or always with `force`); return the
    channels that accepted it. Never raises: a failure is logged."""
    exit_code = summary.get("exit_code", 0)
    if not (force and settings.configured) and not should_notify(
            settings, exit_code if isinstance(exit_code, int) else 1):
        return []
    delivered = []
    if settings.webhook_url:
        try:
            send_webhook(settings.webhook_url, summary, settings.webhook_timeout_s, sleep=sleep)
        except Exception as exc:
            log.error("notification to webhook %s failed: %s",
                      masked_url(settings.webhook_url), _describe(exc))
        else:
            delivered.append("webhook")
            log.info("notification sent to webhook %s", masked_url(settings.webhook_url))
    if settings.smtp:
        try:
            send_email(settings.smtp, summary, attachments)
        except Exception as exc:
            log.error("notification e-mail through %s:%d failed: %s", settings.smtp.host,
                      settings.smtp.port, _describe(exc))
        else:
            delivered.append("email")
            log.info("notification e-mailed to %s", ", ".join(settings.smtp.recipients))
    return delivered


class _Retryable(Exception):
    pass


def send_webhook(url: str, summary: Mapping[str, object], timeout_s: float, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
    """POST the summary as JSON; retry network errors, 429 and 5xx twice (1 s, then 2 s)."""
    payload = {"text": f"bulk-enroll: {summary.get('verdict')} (exit {summary.get('exit_code')})",
               **summary}
    body = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")

    def post() -> None:
        try:
            response = requests.post(
                url, data=body, timeout=timeout_s, allow_redirects=False,
                headers={"Content-Type": "application/json; charset=utf-8",
                         "User-Agent": f"bulk-enroll/{__version__}"},
            )
        except requests.RequestException as exc:
            raise _Retryable(type(exc).__name__) from None
        if response.status_code == 429 or response.status_code >= 500:
            raise _Retryable(f"HTTP {response.status_code}")
        if not 200 <= response.status_code < 300:
            raise RuntimeError(f"HTTP {response.status_code}")

    tenacity.Retrying(retry=tenacity.retry_if_exception_type(_Retryable),
                      stop=tenacity.stop_after_attempt(WEBHOOK_ATTEMPTS),
                      wait=tenacity.wait_exponential(multiplier=1, max=4),
                      sleep=sleep, reraise=True)(post)


def send_email(smtp: SmtpSettings, summary: Mapping[str, object],
               attachments: Sequence[Path] = ()) -> None:
    message = build_email(smtp, summary, attachments)
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if smtp.ssl:
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout_s, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s)
    with client:
        if smtp.starttls:
            client.starttls(context=context)
        if smtp.username:
            client.login(smtp.username, smtp.password or "")
        client.send_message(message)


def build_email(smtp: SmtpSettings, summary: Mapping[str, object],
                attachments: Sequence[Path] = ()) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = (f"bulk-enroll: {summary.get('verdict')} "
                          f"(exit {summary.get('exit_code')})")
    message["From"] = smtp.sender
    message["To"] = ", ".join(smtp.recipients)
    message["Message-ID"] = make_msgid(domain=smtp.sender.rpartition("@")[2] or None)
    lines = [render_text(summary)]
    budget = MAX_ATTACHMENT_BYTES
    attached: list[Path] = []
    for path in attachments if smtp.attach_reports else ():
        size = path.stat().st_size
        if size > budget:
            lines.append(f"Not attached (too large): {path}")
            continue
        budget -= size
        attached.append(path)
    message.set_content("\n".join(lines))
    for path in attached:
        kind, _ = mimetypes.guess_type(path.name)
        maintype, subtype = (kind or "application/octet-stream").split("/", 1)
        message.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype,
                               filename=path.name)
    return message


def render_text(summary: Mapping[str, object]) -> str:
    """The summary for people: the verdict, then one line per file."""
    lines = [
        f"{summary.get('verdict')}",
        "",
        f"Exit code: {summary.get('exit_code')}   Run: {summary.get('run_id')}   "
        f"Host: {summary.get('host')}",
        f"Inbox: {summary.get('inbox')}",
        f"Started: {summary.get('started')}   Finished: {summary.get('finished')}",
    ]
    if summary.get("error"):
        lines.append(f"Error: {summary.get('error')}")
    files = summary.get("files") or []
    if isinstance(files, list) and files:
        lines += ["", "Files:"]
        for item in files:
            if not isinstance(item, dict):
                continue
            lines.append(f"- {item.get('file')}: {str(item.get('outcome')).replace('_', ' ')} "
                         f"(exit {item.get('exit_code')})")
            counts = item.get("status_counts")
            if isinstance(counts, dict):
                shown = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
                lines.append(f"  rows: {shown or 'none'}")
            for key, label in (("reason", "why"), ("report", "report"),
                               ("archived_to", "archived as")):
                if item.get(key):
                    lines.append(f"  {label}: {item.get(key)}")
    for key, label in (("waiting", "Left for the next run"), ("ignored", "Ignored")):
        entries = summary.get(key) or []
        if isinstance(entries, list) and entries:
            lines += ["", f"{label}:"]
            lines += [f"- {e.get('file')}: {e.get('reason')}" for e in entries
                      if isinstance(e, dict)]
    lines += ["", exit_codes_legend()]
    return "\n".join(lines)


def _load_smtp(env: Environment) -> SmtpSettings | None:
    host = env.text("SMTP_HOST")
    if host is None:
        others = [n for n in ("SMTP_FROM", "SMTP_TO", "SMTP_USERNAME") if env.text(n)]
        if others:
            raise ConfigError(f"{PREFIX}{others[0]} is set but {PREFIX}SMTP_HOST is not "
                              "(host in [notify.email])")
        return None
    sender = env.text("SMTP_FROM")
    if not sender or "@" not in sender:
        raise env.error("SMTP_FROM", "must be an e-mail address", value=sender)
    recipients = env.addresses("SMTP_TO")
    use_ssl, starttls = env.flag("SMTP_SSL", False), env.flag("SMTP_STARTTLS", False)
    if use_ssl and starttls:
        raise ConfigError("choose one of ssl (implicit TLS, port 465) and starttls (port 587)")
    username = env.text("SMTP_USERNAME")
    password = env.text("SMTP_PASSWORD") or env.secret_file("SMTP_PASSWORD_FILE")
    register_secrets([password])
    if username and not password:
        raise ConfigError(f"{PREFIX}SMTP_USERNAME is set but no password: set "
                          f"{PREFIX}SMTP_PASSWORD or password_file in [notify.email]")
    if username and not (use_ssl or starttls) and not is_loopback(host):
        raise ConfigError(f"refusing to send the SMTP password to {host} unencrypted: "
                          "set starttls = true (or ssl = true)")
    return SmtpSettings(
        host=host,
        port=env.whole("SMTP_PORT", 465 if use_ssl else 587 if starttls else 25, minimum=1,
                       maximum=65535),
        sender=sender,
        recipients=recipients,
        starttls=starttls,
        ssl=use_ssl,
        username=username,
        password=password,
        timeout_s=env.seconds("SMTP_TIMEOUT", 30.0),
        attach_reports=env.flag("SMTP_ATTACH_REPORTS", True),
    )


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
