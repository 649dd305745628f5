"""A local emulator of the iSpring Learn API, so every command can be tried without an account.

`SandboxServer` serves the token endpoint, `enrollLearnersInCourses` and the REST endpoints
(users, contents, enrollments) on loopback over a `SandboxState` seeded from
`default_directory()`; `Faults` injects latency, 503s, 429s and dropped connections.
"""

from bulk_enroll.sandbox.directory import default_directory
from bulk_enroll.sandbox.server import Faults, SandboxServer, serve
from bulk_enroll.sandbox.state import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SandboxState

__all__ = [
    "SANDBOX_CLIENT_ID",
    "SANDBOX_CLIENT_SECRET",
    "Faults",
    "SandboxServer",
    "SandboxState",
    "default_directory",
    "serve",
]
