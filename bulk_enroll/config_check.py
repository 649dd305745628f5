"""`bulk-enroll config check`: is this configuration ready for tonight? Enrolls nobody.

Each part of the configuration is loaded with the same loaders a run uses, so a check that
passes means the run will read the same values; then the connection is tested: a token is
fetched (proving the client ID and secret), and when the REST API is configured one cheap read
call (`GET /contents?pageSize=1`) proves the token is accepted for reading (lookups and the
server check need it, over SOAP too). The SOAP API has no read method, so for a SOAP account
without the REST API the token fetch is the whole test; the output says so.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import requests

from bulk_enroll._version import __version__
from bulk_enroll.connect import Connection, connect
from bulk_enroll.errors import BulkEnrollError
from bulk_enroll.file_modes import make_dirs
from bulk_enroll.inbox.notify import load_notify_settings, notify
from bulk_enroll.inbox.runner import load_inbox_settings
from bulk_enroll.logs import run_id
from bulk_enroll.report.sheets import public_url
from bulk_enroll.settings.config import (
    AccountSettings,
    RunSettings,
    load_account,
    load_run_settings,
)
from bulk_enroll.settings.config_file import ConfigFile
from bulk_enroll.settings.log_settings import load_log_settings
from bulk_enroll.transport.auth import ClientCredentialsToken

Verdict = Literal["ok", "fail", "info"]
READ_PATH = "/contents"


@dataclass(frozen=True)
class Check:
    name: str
    verdict: Verdict
    detail: str

    def line(self) -> str:
        mark = {"ok": "ok  ", "fail": "FAIL", "info": "--  "}[self.verdict]
        return f"{mark} {self.name}: {self.detail}"


def check_configuration(
    file: ConfigFile | None,
    environ: Mapping[str, str],
    *,
    test_connection: bool = True,
    connect_to: Callable[[AccountSettings, RunSettings], Connection] = connect,
) -> list[Check]:
    """Every check, in order; a failed one does not hide the others."""
    checks = [Check("configuration file", "ok" if file else "info",
                    f"{file.path} ({len(file.values)} settings)" if file else
                    "none found; using environment variables only")]
    account = run = None
    try:
        account = load_account(environ)
        checks.append(Check("account", "ok", _describe_account(account)))
    except BulkEnrollError as exc:
        checks.append(Check("account", "fail", str(exc)))
    try:
        run = load_run_settings(environ)
        checks.append(Check("limits", "ok", f"{run.limits.max_learners} learners x "
                            f"{run.limits.max_courses} courses per call, concurrency "
                            f"{run.concurrency}, retry budget {run.retry_budget}, rate "
                            f"limit {_rate_limit(run.rate_limit)}, stop after "
                            f"{run.no_progress_timeout_s:g} s without an accepted call"))
        checks.append(_check_folder("state folder", run.state_dir))
    except BulkEnrollError as exc:
        checks.append(Check("limits", "fail", str(exc)))
    checks.append(_check_inbox(environ))
    try:
        checks.append(Check("notifications", "ok", load_notify_settings(environ).describe()))
    except BulkEnrollError as exc:
        checks.append(Check("notifications", "fail", str(exc)))
    try:
        log = load_log_settings(environ)
        checks.append(Check("logging", "ok", f"{log.format} lines"
                            + (f", file {log.file}" if log.file else ", stderr only")))
    except BulkEnrollError as exc:
        checks.append(Check("logging", "fail", str(exc)))
    if test_connection and account is not None and run is not None:
        checks += _check_connection(account, run, connect_to)
    return checks


def _describe_account(account: AccountSettings) -> str:
    how = ("a pre-issued token" if account.token
           else f"client ID {account.client_id} (token from {account.api_url})")
    return f"{account.transport.upper()} endpoint {public_url(account.soap_url)}, {how}"


def _check_folder(name: str, folder: Path) -> Check:
    try:
        make_dirs(folder)  # the state folder: private (0700) when created here
    except OSError as exc:
        return Check(name, "fail", f"cannot create {folder}: {exc.strerror}")
    if not os.access(folder, os.W_OK):
        return Check(name, "fail", f"{folder} is not writable")
    return Check(name, "ok", f"{folder} (writable)")


def _check_inbox(environ: Mapping[str, str]) -> Check:
    try:
        settings = load_inbox_settings(environ)
    except BulkEnrollError as exc:
        if "no inbox folder" in str(exc):
            return Check("inbox", "info", "no folder configured (give it to `bulk-enroll "
                         "inbox DIR`)")
        return Check("inbox", "fail", str(exc))
    if not settings.inbox.is_dir():
        return Check("inbox", "fail", f"the folder {settings.inbox} does not exist")
    limits = settings.limits
    return Check("inbox", "ok", (
        f"{settings.inbox}; archive {settings.archive}; reports {settings.reports}; files "
        f"stable for {settings.stable_s:g} s; at most {limits.max_new_per_file:,} new "
        f"enrollments per file, {limits.max_new_per_run:,} per run, "
        f"{limits.max_invalid_share:.0%} invalid rows"))


def _check_connection(account: AccountSettings, run: RunSettings,
                      connect_to: Callable[[AccountSettings, RunSettings], Connection]
                      ) -> list[Check]:
    connection = connect_to(account, run)
    tokens = connection.tokens
    if isinstance(tokens, ClientCredentialsToken):
        try:
            token = tokens.get()
        except BulkEnrollError as exc:
            return [Check("token", "fail", str(exc))]
        checks = [Check("token", "ok", f"fetched from {tokens.token_url}")]
    else:
        token = tokens.get()
        checks = [Check("token", "info", "a pre-issued token (BULK_ENROLL_TOKEN) is used as is; "
                        "it expires 30 minutes after it was issued")]
    if not account.api_url:
        checks.append(Check("read call", "info", (
            "none: no REST API is configured (BULK_ENROLL_API_URL) and the SOAP API has no "
            "read method, so the token fetch is the connection test (no enrollment call was "
            "made)")))
        return checks
    # Over SOAP too: lookups, the server check and settling lost answers read the REST API,
    # and a wrong API path or a missing read permission should show tonight, not mid-run.
    reads_for = "" if account.transport == "rest" else " (lookups and the server check use it)"
    url = account.api_url + READ_PATH
    try:
        response = requests.get(url, params={"pageSize": 1}, timeout=(run.connect_timeout_s,
                                                                      run.read_timeout_s),
                                headers={"Authorization": f"Bearer {token}",
                                         "Accept": "application/json",
                                         "User-Agent": f"bulk-enroll/{__version__}"},
                                allow_redirects=False)
    except requests.RequestException as exc:
        checks.append(Check("read call", "fail", f"GET {url}: {type(exc).__name__}"))
        return checks
    if response.status_code == 200:
        checks.append(Check("read call", "ok", f"GET {url}?pageSize=1 answered 200{reads_for}"))
    else:
        checks.append(Check("read call", "fail", f"GET {url}?pageSize=1 answered HTTP "
                            f"{response.status_code}; check the API host and the account's "
                            "API permissions"))
    return checks


def send_test_notification(environ: Mapping[str, str]) -> Check:
    """Send a test summary to every configured notification channel."""
    settings = load_notify_settings(environ)
    expected = (["webhook"] if settings.webhook_url else []) + (["email"] if settings.smtp else [])
    if not expected:
        return Check("test notification", "info", "none configured")
    summary = {"run_id": run_id(), "host": socket.gethostname(), "exit_code": 0, "files": [],
               "verdict": "test notification from bulk-enroll config check"}
    delivered = notify(settings, summary, force=True)
    missed = [channel for channel in expected if channel not in delivered]
    if not missed:
        return Check("test notification", "ok", f"delivered to {', '.join(delivered)}")
    return Check("test notification", "fail",
                 f"not delivered to {', '.join(missed)} (the error is logged above)"
                 + (f"; delivered to {', '.join(delivered)}" if delivered else ""))


def _rate_limit(configured: float | None) -> str:
    return f"{configured:g} calls/s" if configured else "learned from the server"
