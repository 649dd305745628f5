"""A sandbox in its own process for benchmarks, so the client's CPU time is measured alone."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import requests


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_sandbox(port: int, *options: str) -> subprocess.Popen[bytes]:
    """`bulk-enroll sandbox --port PORT OPTIONS...`, once it answers."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bulk_enroll.cli", "sandbox", "--port", str(port), *options],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/_sandbox/stats", timeout=1)
            return process
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("sandbox did not start")
