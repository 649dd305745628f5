"""The web page's tests need the `web` extra (and the browser tests Chromium): without it they
skip with the reason, except in CI (CI=true), where a missing install step must fail."""

from __future__ import annotations

import importlib.util
import os

import pytest

WEB_MODULES = ("starlette", "jinja2", "uvicorn", "python_multipart", "sse_starlette", "httpx2")


def require(available: bool, reason: str) -> None:
    """Skip the calling module without `available`, but fail in CI, where everything the
    tests need must be installed by .ci/run."""
    if available:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: .ci/run must install it)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def require_web() -> None:
    missing = [name for name in WEB_MODULES if importlib.util.find_spec(name) is None]
    require(not missing, f"the web extra is not installed ({', '.join(missing)}): "
                         "pip install -e '.[web,test]'")
