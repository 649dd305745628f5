"""The README's configuration example, cron line and systemd units work as written."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bulk_enroll.cli import main
from bulk_enroll.inbox.notify import load_notify_settings
from bulk_enroll.inbox.runner import load_inbox_settings
from bulk_enroll.logs import LogSettings, setup_logging
from bulk_enroll.settings.config_file import load_config_file

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
UNITS = ROOT / "contrib" / "systemd"
EXECUTABLE = "/opt/bulk-enroll/.venv/bin/bulk-enroll"


def fenced(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


@pytest.fixture(autouse=True)
def restore_logging():
    yield
    setup_logging(0, LogSettings())


def test_the_example_configuration_is_valid(tmp_path):
    [example] = fenced("toml")
    path = tmp_path / "config.toml"
    path.write_text(example, encoding="utf-8")
    values = load_config_file(path).values
    assert values["BULK_ENROLL_INBOX_DIR"] == "/srv/hr-inbox"
    inbox = load_inbox_settings(values)
    assert inbox.limits.max_new_per_file == 10_000 and inbox.stable_s == 60
    values = {k: v for k, v in values.items() if "PASSWORD" not in k}
    notify = load_notify_settings({**values, "BULK_ENROLL_SMTP_USERNAME": ""})
    assert notify.describe().startswith("webhook https://hooks.example.com/... and e-mail")


def test_the_readme_shows_the_unit_files_as_shipped():
    blocks = fenced("ini")
    assert blocks == [(UNITS / name).read_text() for name in
                      ("bulk-enroll-inbox.service", "bulk-enroll-inbox.timer")]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_the_unit_files_pass_systemd_analyze_verify(tmp_path):
    executable = Path(sys.executable).parent / "bulk-enroll"
    assert executable.exists()
    for unit in UNITS.iterdir():
        text = unit.read_text().replace(EXECUTABLE, str(executable))
        (tmp_path / unit.name).write_text(text)
    result = subprocess.run(["systemd-analyze", "verify", *sorted(map(str, tmp_path.iterdir()))],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_the_cron_line_and_the_service_command_run(tmp_path, monkeypatch):
    inbox, logs = tmp_path / "hr-inbox", tmp_path / "log" / "inbox.log"
    inbox.mkdir()
    config = tmp_path / "config.toml"
    config.write_text(f'[account]\nsoap_url = "https://acme.example.com/soap"\n\n'
                      f'[inbox]\ndir = "{inbox}"\n')
    monkeypatch.setenv("BULK_ENROLL_TOKEN", "pre-issued-token")
    paths = {"/etc/bulk-enroll/config.toml": str(config), "/srv/hr-inbox": str(inbox),
             "/var/log/bulk-enroll/inbox.log": str(logs)}

    [cron] = [line for line in README.splitlines() if line.startswith("30 2 * * * ")]
    prefix, command = shlex.split(cron)[5:8], shlex.split(cron)[8:]
    assert prefix == ["umask", "077", "&&"]  # reports and archived files: the job's user only
    assert "\nUMask=0077\n" in (UNITS / "bulk-enroll-inbox.service").read_text()
    service = (UNITS / "bulk-enroll-inbox.service").read_text()
    [exec_start] = re.findall(r"^ExecStart=(.*)$", service, flags=re.MULTILINE)
    for line in (command, shlex.split(exec_start)):
        assert line[0] == EXECUTABLE
        args = [paths.get(arg, arg) for arg in line[1:]]
        assert main(args) == 0, args
    assert "inbox " + str(inbox) + ": 0 files; exit 0" in logs.read_text()
