"""A journal created on a nearly full disk: refused whole, never left half-made in place (a
real full file system: a small tmpfs mounted as root, as for the report tests)."""

from __future__ import annotations

import os

from bulk_enroll.errors import ConfigError
from bulk_enroll.send.journal import Journal
from tests.integration.test_report_not_written import full_disk

__all__ = ["full_disk"]  # the fixture, shared


def test_a_journal_the_disk_cannot_hold_is_not_left_in_place_to_stop_later_runs(full_disk):
    filler = full_disk / "filler"
    full = filler.stat().st_size
    refused = []
    for free_kb in (40, 56, 72, 88, 104):  # around what a new journal needs
        with filler.open("r+b") as handle:
            handle.truncate(full - free_kb * 1024)
        path = full_disk / f"state-{free_kb}" / "journal.sqlite3"
        try:
            with Journal(path, "host|client") as journal:
                assert journal.integrity_check() == "ok"
        except ConfigError as exc:
            refused.append(free_kb)
            assert "cannot create the journal" in str(exc) and "disk" in str(exc), exc
            # Left in place, a half-made file stopped every later run (exit 2), room or not.
            assert not path.exists(), os.listdir(path.parent)
        with filler.open("r+b") as handle:
            handle.truncate(full)
    assert refused, "no size was tight enough to refuse: the test proves nothing"
    filler.unlink()  # room again: a first run simply creates the journal
    path = full_disk / f"state-{refused[0]}" / "journal.sqlite3"
    with Journal(path, "host|client") as journal:
        assert journal.integrity_check() == "ok"

