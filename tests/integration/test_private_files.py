"""A real `bulk-enroll` process started with umask 000 (the loosest there is) leaves nothing
that others can read: state folder, journal, ledger, locks, log and lookup cache private
(folders 0700, files 0600), reports, summaries and archive folders at most 0640/0750."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from bulk_enroll.sandbox import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SandboxServer
from bulk_enroll.sandbox.directory import default_directory
from tests.support import write_csv

DIRECTORY = default_directory()
ACTIVE = [u for u in DIRECTORY.users if u.is_active]
COURSE = DIRECTORY.courses[0]


def modes(root: Path) -> dict[str, int]:
    """Every folder and file under `root` (root included) -> its permission bits."""
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.stat().st_mode)
    return found


def test_a_process_with_umask_000_leaves_nothing_readable_by_others(tmp_path):
    state, logs, cache = tmp_path / "state", tmp_path / "logs", tmp_path / "cache"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    header = ["Email", "Course", "Due date type"]
    rows = [header, *([u.email, COURSE.title, "unlimited"] for u in ACTIVE[:3])]
    hand = write_csv(tmp_path / "hand.csv", rows)
    write_csv(inbox / "night.csv", [header, [ACTIVE[5].email, COURSE.title, "unlimited"]])
    with SandboxServer().start() as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BULK_ENROLL_")}
        env.update({
            "BULK_ENROLL_SOAP_URL": server.soap_url, "BULK_ENROLL_API_URL": server.api_url,
            "BULK_ENROLL_CLIENT_ID": SANDBOX_CLIENT_ID,
            "BULK_ENROLL_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
            "BULK_ENROLL_STATE_DIR": str(state),
            "BULK_ENROLL_LOOKUP_CACHE": str(cache / "lookups.json"),
            "BULK_ENROLL_INBOX_STABLE_SECONDS": "0",
        })
        base = [sys.executable, "-m", "bulk_enroll.cli", "--log-file", str(logs / "be.log")]
        for args in (["run", str(hand), "--report", str(tmp_path / "reports" / "hand.xlsx"),
                      "--summary-json", str(tmp_path / "reports" / "hand.json")],
                     ["inbox", str(inbox)]):
            done = subprocess.run([*base, *args], env=env, cwd=tmp_path, capture_output=True,
                                  text=True, timeout=120, preexec_fn=lambda: os.umask(0))
            assert done.returncode == 0, done.stderr

    assert modes(state) == {
        ".": 0o700, "journal.sqlite3": 0o600, "send.lock": 0o600, "inbox.lock": 0o600,
        "inbox.sqlite3": 0o600, "inbox-taken": 0o700,  # where the inbox copies a file it takes
    }
    assert modes(logs) == {".": 0o700, "be.log": 0o600}
    assert modes(cache) == {".": 0o700, "lookups.json": 0o600}
    reports = modes(tmp_path / "reports")
    assert reports == {".": 0o750, "hand.xlsx": 0o640, "hand.json": 0o640}
    inbox_reports = modes(inbox / "reports")
    assert inbox_reports.pop(".") == 0o750 and len(inbox_reports) == 2  # workbook and summary
    assert set(inbox_reports.values()) == {0o640}
    archive = modes(inbox / "archive")
    assert {mode for name, mode in archive.items() if (inbox / "archive" / name).is_dir()} == {
        0o750}
