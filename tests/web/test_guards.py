"""The page's guards on their own: the upload stream stopped at the limit as it arrives, the
password for serving a team, the command's refusals (no extra, a host beyond loopback without
a password), and secrets of a configured account never on a page."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from pathlib import Path

import pytest

from tests.web.conftest import require_web

require_web()

from starlette.requests import Request  # noqa: E402

from bulk_enroll.cli import main  # noqa: E402
from bulk_enroll.sandbox import SandboxServer  # noqa: E402
from bulk_enroll.web.app import create_app  # noqa: E402
from bulk_enroll.web.security import Guard  # noqa: E402
from bulk_enroll.web.server import WebOptions, launch  # noqa: E402
from bulk_enroll.web.upload import UploadRefused, receive_upload, safe_name  # noqa: E402
from tests.integration.conftest import point_at  # noqa: E402
from tests.support import forget_account  # noqa: E402
from tests.web.site import HTMX, site  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "new_hires_onboarding.xlsx"
BOUNDARY = "b0undary"
CHUNK = 64 * 1024


def upload_request(chunks: int, consumed: list[int], *, length: bool = False) -> Request:
    """A multipart request whose file part is `chunks` chunks of 64 KB, counting how many
    chunks the server pulled."""
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"../../big.csv\"\r\nContent-Type: text/csv\r\n\r\n").encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    parts = [head, *([b"x" * CHUNK] * chunks), tail]

    async def receive() -> dict[str, object]:
        index = len(consumed)
        consumed.append(index)
        return {"type": "http.request", "body": parts[index],
                "more_body": index < len(parts) - 1}

    headers = [(b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode())]
    if length:
        headers.append((b"content-length", str(sum(map(len, parts))).encode()))
    return Request({"type": "http", "method": "POST", "path": "/upload", "headers": headers},
                   receive)


@pytest.mark.anyio
async def test_an_upload_stops_at_the_limit_as_it_streams(tmp_path: Path) -> None:
    consumed: list[int] = []
    with pytest.raises(UploadRefused) as refused:
        await receive_upload(upload_request(1000, consumed), tmp_path, 4 * CHUNK)
    assert refused.value.status == 413
    assert len(consumed) <= 6  # the head, four chunks, the one over the limit: not 1,002
    assert list(tmp_path.iterdir()) == []  # the partial file is gone


@pytest.mark.anyio
async def test_a_declared_length_over_the_limit_is_refused_before_reading(
        tmp_path: Path) -> None:
    consumed: list[int] = []
    with pytest.raises(UploadRefused):
        await receive_upload(upload_request(100, consumed, length=True), tmp_path, 4 * CHUNK)
    assert consumed == []


@pytest.mark.anyio
async def test_an_upload_within_the_limit_lands_in_a_private_folder(tmp_path: Path) -> None:
    received = await receive_upload(upload_request(3, []), tmp_path, 4 * CHUNK)
    assert received.name == "big.csv"  # the browser's path parts are dropped
    assert received.path.parent.parent == tmp_path
    assert received.path.parent.stat().st_mode & 0o777 == 0o700
    assert received.path.stat().st_size == 3 * CHUNK


def test_safe_names() -> None:
    assert safe_name("C:\\Users\\hr\\..\\new hires (2).xlsx") == "new hires (2).xlsx"
    assert safe_name("../../.bashrc") == "bashrc"
    assert safe_name("a<b>|c.csv") == "a_b_c.csv"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_serving_a_team_needs_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    with site() as web:
        guard = Guard.for_server("127.0.0.1", int(web.base.rsplit(":", 1)[1]),
                                 password="correct horse")
        app = create_app(dataclasses.replace(web.page, guard=guard))
        from starlette.testclient import TestClient

        with TestClient(app, base_url=web.base, headers={"Origin": web.base}) as client:
            first = client.get("/", follow_redirects=False)
            assert first.status_code == 303 and first.headers["location"] == "/login"
            assert 'type="password"' in client.get("/login").text
            assert client.get("/static/app.css").status_code == 200  # the login page's style
            monkeypatch.setattr("bulk_enroll.web.routes.FAILED_LOGIN_DELAY_S", 0)
            wrong = client.post("/login", headers=HTMX, data={"password": "wrong"})
            assert wrong.status_code == 403 and "not right" in wrong.text
            # the form comes back with the keyboard in the field, which says it was wrong
            assert re.search(r'<input id="password"[^>]* autofocus aria-invalid="true" '
                             r'aria-describedby="password-wrong">', wrong.text)
            assert client.get("/", follow_redirects=False).status_code == 303
            right = client.post("/login", headers=HTMX, data={"password": "correct horse"})
            assert right.headers["HX-Redirect"] == "/"
            assert "HttpOnly" in right.headers["set-cookie"]
            assert client.get("/").status_code == 200
    assert guard.password_hash is not None and b"correct horse" not in guard.password_hash


def test_the_public_url_of_a_tls_proxy_is_accepted() -> None:
    guard = Guard.for_server("10.0.0.5", 8080, password="pw",
                             public_url="https://enroll.example.com")
    assert "enroll.example.com" in guard.allowed_hosts
    assert "https://enroll.example.com" in guard.allowed_origins
    assert "127.0.0.1:8080" not in guard.allowed_hosts  # beyond loopback: only its own names
    assert guard.secure_cookie


def test_web_without_the_extra_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "sse_starlette" else real(name, *a))
    assert main(["web", "--no-browser"]) == 2
    error = capsys.readouterr().err
    assert "pip install 'bulk-enroll[web]'" in error and "sse_starlette" in error
    assert "Traceback" not in error


def test_web_beyond_loopback_without_a_password_refuses_to_start(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("BULK_ENROLL_WEB_PASSWORD", raising=False)
    assert main(["web", "--no-browser", "--host", "192.0.2.10"]) == 2
    error = capsys.readouterr().err
    assert "set a password first" in error and "BULK_ENROLL_WEB_PASSWORD" in error


def test_the_password_in_a_readable_configuration_file_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[web]\npassword = "hunter22"\n')
    config.chmod(0o644)
    assert main(["--config", str(config), "web", "--no-browser"]) == 2
    error = capsys.readouterr().err
    assert "is a secret in a file other users can read" in error
    assert "hunter22" not in error


def test_a_configured_accounts_secret_never_reaches_a_page(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    with SandboxServer().start() as server:
        point_at(server, monkeypatch)
        with launch(WebOptions(open_browser=False)) as (page, listener):
            app = create_app(page)
            base = f"http://127.0.0.1:{listener.getsockname()[1]}"
            from starlette.testclient import TestClient

            with TestClient(app, base_url=base, headers={"Origin": base}) as client:
                client.get(f"/?token={page.guard.token}")
                pages = [client.get("/")]
                check = client.post("/upload", headers=HTMX,
                                    files={"file": (SAMPLE.name, SAMPLE.read_bytes())})
                pages.append(client.get(check.headers["HX-Redirect"]))
            app.state.runs.shutdown()
        for response in pages:
            assert response.status_code == 200
            assert "sandbox-secret" not in response.text
            assert all("sandbox-secret" not in value for value in response.headers.values())
            assert server.api_url in response.text  # the host is shown, never the secret


def test_the_command_says_where_it_enrolls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Without an account it said 'enrolling into the configured account'."""
    import uvicorn

    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: None)
    monkeypatch.setenv("BULK_ENROLL_STATE_DIR", str(tmp_path))
    forget_account(monkeypatch)
    assert main(["web", "--no-browser"]) == 0
    printed = capsys.readouterr().out
    assert "no account is configured: files are checked and planned, nothing is sent" in printed
    assert "configured account" not in printed
    with SandboxServer().start() as server:
        point_at(server, monkeypatch)
        assert main(["web", "--no-browser"]) == 0
    assert f"enrolling into {server.api_url}" in capsys.readouterr().out
