"""One launch of the page: its configuration, account, folders and guards, shared by the routes.

The account is the configured one, or the sandbox the launch started (`--sandbox`); the
journal is the configured state folder's, or a scratch one that lives as long as the sandbox.
The page's own memory (past runs, reports, mappings) is always in the configured state folder,
so it survives a restart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bulk_enroll.api import Setup, account_host
from bulk_enroll.web.history import History
from bulk_enroll.web.security import Guard


@dataclass
class Page:
    setup: Setup
    sandbox: bool
    journal_dir: Path  # the journal's folder (a scratch one with the sandbox)
    upload_dir: Path  # private (0700) folder of this launch's uploads and checks
    config: Path | None
    guard: Guard
    history: History
    runs_finished: int = 0  # grows with every run's end: a check made before it is stale

    @property
    def live(self) -> bool:
        """An account (or the sandbox) to send to; else every run is a dry run."""
        return self.setup.account is not None

    @property
    def account_label(self) -> str:
        account = self.setup.account
        return account_host(account) if account is not None else "no account configured"

    @property
    def target(self) -> str:
        """Where the launch enrolls, as the terminal says it when the page starts."""
        if self.sandbox:
            return "enrolling into the built-in sandbox"
        if self.live:
            return f"enrolling into {self.account_label}"
        return "no account is configured: files are checked and planned, nothing is sent"

    @property
    def check_server(self) -> bool:
        """Ask the server which enrollments exist when the account has its REST API."""
        return bool(self.setup.account and self.setup.account.api_url)

    def api_options(self) -> dict[str, Any]:
        """The keyword arguments every check and run passes to the library."""
        options: dict[str, Any] = {"state_dir": self.journal_dir, "config": self.config}
        if self.setup.account is not None:
            options.update(account=self.setup.account, check_server=self.check_server)
        return options


def private_folder(path: Path) -> Path:
    """`path` created (or tightened) readable by this user only."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path
