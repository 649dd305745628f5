"""The sandbox every integration test talks to, over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bulk_enroll.sandbox import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SandboxServer


def point_at(server: SandboxServer, monkeypatch: pytest.MonkeyPatch, *,
             client: tuple[str, str] = (SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET)) -> None:
    """Configure the account (environment variables) to be `server`, as a user would."""
    monkeypatch.setenv("BULK_ENROLL_SOAP_URL", server.soap_url)
    monkeypatch.setenv("BULK_ENROLL_API_URL", server.api_url)
    monkeypatch.setenv("BULK_ENROLL_CLIENT_ID", client[0])
    monkeypatch.setenv("BULK_ENROLL_CLIENT_SECRET", client[1])
    monkeypatch.delenv("BULK_ENROLL_TOKEN", raising=False)


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[SandboxServer]:
    """A fresh sandbox, the account pointed at it, and the test's temp dir as working dir."""
    with SandboxServer().start() as server:
        point_at(server, monkeypatch)
        monkeypatch.chdir(tmp_path)
        yield server


@pytest.fixture
def soap_only_sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[SandboxServer]:
    """A fresh sandbox reached by SOAP with a pre-issued token and no REST API (no
    BULK_ENROLL_API_URL): nothing can be looked up. The test's temp dir is the working dir."""
    monkeypatch.chdir(tmp_path)
    with SandboxServer().start() as server:
        for name in ("API_URL", "CLIENT_ID", "CLIENT_SECRET", "TRANSPORT"):
            monkeypatch.delenv(f"BULK_ENROLL_{name}", raising=False)
        monkeypatch.setenv("BULK_ENROLL_SOAP_URL", server.soap_url)
        monkeypatch.setenv("BULK_ENROLL_TOKEN", "t")
        server.state.add_static_token("t")
        yield server
