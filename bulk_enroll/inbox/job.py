"""The nightly inbox as one call: settings from the configuration, the run, the notifications.

`bulk-enroll inbox` calls `inbox_job`; so can a scheduler written in Python (Airflow, cron
scripts), and it gets the same webhook and e-mail notifications. A run that cannot start (no
account, another run holds the lock) or that stops on an unexpected error is notified too, and
the error is raised again for the caller to report.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path

from bulk_enroll.connect import Connection, connect
from bulk_enroll.errors import exit_status_for
from bulk_enroll.inbox.notify import load_notify_settings, notify
from bulk_enroll.inbox.runner import InboxResult, failed_run_summary, load_inbox_settings, run_inbox
from bulk_enroll.settings.config import (
    AccountSettings,
    RunSettings,
    load_account,
    load_run_settings,
)
from bulk_enroll.settings.config_file import read_configuration


def inbox_job(environ: Mapping[str, str] | None = None, *, inbox: Path | None = None,
              archive: Path | None = None, reports: Path | None = None,
              state_dir: Path | None = None, force: bool = False, interactive: bool = False,
              new_journal: bool = False, respect_removals: bool | None = None,
              connect_to: Callable[[AccountSettings, RunSettings], Connection] = connect,
              ) -> InboxResult:
    """Process the inbox once and notify as configured; return the run's result.

    `environ` holds the settings (the configuration file merged under the environment, as
    `read_configuration` returns them); None reads them now. The folders and the state folder
    given here win over the configured ones, and so does `respect_removals` (None: the
    configuration's). `new_journal` moves a journal or ledger that cannot be read aside and
    starts new ones. Raises what stopped the run before any file was
    processed (`ConfigError`, `SafetyStop` for the lock), after notifying it.
    """
    if environ is None:
        environ = read_configuration().environ
    notify_settings = load_notify_settings(environ)
    settings = load_inbox_settings(environ, inbox=inbox, archive=archive, reports=reports)
    run_settings = load_run_settings(environ)
    if state_dir is not None:
        run_settings = dataclasses.replace(run_settings, state_dir=state_dir)
    if respect_removals is not None:
        run_settings = dataclasses.replace(run_settings, respect_removals=respect_removals)
    try:
        account = load_account(environ)
        result = run_inbox(settings, run_settings, lambda: connect_to(account, run_settings),
                           force=force, interactive=interactive, new_journal=new_journal)
    except Exception as exc:  # nothing processed, or a crash: whoever watches must hear of it
        notify(notify_settings, failed_run_summary(settings.inbox, exc,
                                                   int(exit_status_for(exc))))
        raise
    notify(notify_settings, result.as_dict(), result.reports())
    return result
