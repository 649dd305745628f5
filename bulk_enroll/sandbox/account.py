"""The built-in sandbox as an account for one run: `run --sandbox` and `enroll(sandbox=True)`.

The emulator starts on a free loopback port, serves the run, and stops with it. Its state starts
empty every time, so a run against it also gets a scratch journal folder that goes with it: a
journal that outlived its sandbox would hold pairs the next sandbox never saw.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bulk_enroll.errors import ConfigError
from bulk_enroll.sandbox.server import Faults, SandboxServer
from bulk_enroll.sandbox.state import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from bulk_enroll.settings.config import TRANSPORTS, AccountSettings

log = logging.getLogger(__name__)


@contextmanager
def sandbox_account(
    *, transport: str = "soap", faults: Faults | None = None
) -> Iterator[AccountSettings]:
    """Start a sandbox for the block and yield the account that reaches it; `transport` is how
    enrollments are sent to it (soap or rest), `faults` misbehaviour to inject (latency...)."""
    if transport not in TRANSPORTS:
        raise ConfigError(f"transport {transport!r} is not a transport; use soap or rest")
    with SandboxServer(faults=faults).start() as server:
        log.info("using the built-in sandbox at %s (no real account is touched)",
                 server.base_url)
        yield AccountSettings(
            soap_url=server.soap_url,
            api_url=server.api_url,
            client_id=SANDBOX_CLIENT_ID,
            client_secret=SANDBOX_CLIENT_SECRET,
            transport=transport,
        )


@contextmanager
def scratch_state_dir() -> Iterator[Path]:
    """A journal folder for one sandbox run, deleted after it."""
    with tempfile.TemporaryDirectory(prefix="bulk-enroll-sandbox-") as scratch:
        yield Path(scratch)
