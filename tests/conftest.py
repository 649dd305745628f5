"""Shared fixtures: real input files built in a temp dir."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from tests.support import write_csv, write_xlsx


@pytest.fixture
def csv_file(tmp_path: Path) -> Callable[..., Path]:
    def build(rows: Sequence[Sequence[object]], name: str = "input.csv", **kwargs: object) -> Path:
        return write_csv(tmp_path / name, rows, **kwargs)  # type: ignore[arg-type]

    return build


@pytest.fixture
def xlsx_file(tmp_path: Path) -> Callable[..., Path]:
    def build(rows: Sequence[Sequence[object]], name: str = "input.xlsx", **kwargs: object) -> Path:
        return write_xlsx(tmp_path / name, rows, **kwargs)  # type: ignore[arg-type]

    return build


@pytest.fixture(autouse=True)
def isolated_state_dir(tmp_path_factory: pytest.TempPathFactory,
                       monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own journal folder: no test sees another's confirmed pairs."""
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("BULK_ENROLL_STATE_DIR", str(state))
    return state


@pytest.fixture(autouse=True)
def no_user_config(tmp_path_factory: pytest.TempPathFactory,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's own ~/.config/bulk-enroll/config.toml."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))
    monkeypatch.delenv("BULK_ENROLL_CONFIG", raising=False)
