"""Ctrl-C in the first instants of `bulk-enroll`, while Python is still loading the package:
one line and exit 130, never a traceback (a real process, a real SIGINT)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_command_starts_from_the_launcher():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["bulk-enroll"] == "bulk_enroll.launch:main"


def test_ctrl_c_while_the_package_loads_prints_no_traceback(tmp_path):
    outcomes = []
    for delay in (0.15, 0.3):  # loading takes a second or more: both land in it
        process = subprocess.Popen([sys.executable, "-m", "bulk_enroll.launch", "validate",
                                    str(tmp_path / "x.csv")], cwd=ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        assert "Traceback" not in stderr, stderr
        outcomes.append((process.returncode, stderr))
    assert (130, "Interrupted while starting: nothing was read or sent.\n") in outcomes, outcomes
