"""Journal: durable in-flight records, confirmed pairs per account and settings, crash shapes."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from bulk_enroll.errors import ConfigError
from bulk_enroll.model import Batch, DueDateType, DueSettings, Pair
from bulk_enroll.send.journal import (
    CallState,
    Confirmation,
    Journal,
    settings_from_key,
    settings_key,
)

DATED = DueSettings(DueDateType.DUE_DATE, access_date=dt.datetime(2027, 1, 2, 9, 30),
                    due_date=dt.date(2027, 3, 1), lock_after_due_date=True)
PERIOD = DueSettings(DueDateType.DUE_PERIOD, due_period_hours=48)
BATCH = Batch("b-1", DATED, ("l1", "l2"), ("c1",))


def test_settings_round_trip_through_the_journal_key():
    for settings in (DATED, PERIOD, DueSettings(DueDateType.UNLIMITED)):
        assert settings_from_key(settings_key(settings)) == settings


def test_a_confirmed_pair_is_found_whatever_settings_and_account_key_it_was_sent_with(tmp_path):
    path = tmp_path / "j.sqlite3"
    with Journal(path, "acct-A", now=lambda: dt.datetime(2026, 11, 30, 8, 0)) as journal:
        call = journal.begin(BATCH, "run-1")
        journal.confirm(call, BATCH.pairs())
    with Journal(path, "acct-A") as journal:
        found = journal.confirmed([Pair("l1", "c1", DATED), Pair("l1", "c1", PERIOD),
                                   Pair("l3", "c1", DATED)])
        # A learner is in a course or not: asked with other settings, it is the same
        # enrollment, found with the settings it was sent with.
        assert found == {Pair("l1", "c1", DATED): Confirmation("2026-11-30 08:00:00", DATED),
                         Pair("l1", "c1", PERIOD): Confirmation("2026-11-30 08:00:00", DATED)}
        assert found[Pair("l1", "c1", PERIOD)].day == "2026-11-30"
        assert journal.open_calls() == []
    # Another account key (an older journal's endpoint URL): IDs are UUIDs, the same enrollment.
    with Journal(path, "acct-A-over-REST") as journal:
        assert list(journal.confirmed([Pair("l1", "c1", DATED)])) == [Pair("l1", "c1", DATED)]


def test_the_latest_confirmation_of_a_pair_wins(tmp_path):
    stamps = iter([dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 1), dt.datetime(2026, 2, 1),
                   dt.datetime(2026, 2, 1)])
    with Journal(tmp_path / "j.sqlite3", "acct", now=lambda: next(stamps)) as journal:
        journal.confirm(journal.begin(BATCH, "run-1"), BATCH.pairs())
        later = Batch("b-2", PERIOD, ("l1",), ("c1",))
        journal.confirm(journal.begin(later, "run-2"), later.pairs())
        [confirmation] = journal.confirmed([Pair("l1", "c1", DATED)]).values()
        assert confirmation == Confirmation("2026-02-01 00:00:00", PERIOD)


def test_a_call_left_in_flight_by_a_crash_is_found_by_the_next_run(tmp_path):
    path = tmp_path / "j.sqlite3"
    journal = Journal(path, "acct")
    journal.begin(BATCH, "run-1")
    del journal  # no close, no finish: what a SIGKILL leaves
    with Journal(path, "acct") as journal:
        [call] = journal.open_calls()
        assert call.state is CallState.IN_FLIGHT and call.batch == BATCH
        journal.finish(call.call_id, CallState.UNKNOWN, "not settled")
        assert [c.state for c in journal.open_calls()] == [CallState.UNKNOWN]
        journal.confirm(call.call_id, BATCH.pairs(), "settled by reading the server")
        assert journal.open_calls() == []
        assert journal.integrity_check() == "ok"


def test_wal_and_full_sync_are_on(tmp_path):
    with Journal(tmp_path / "j.sqlite3", "acct") as journal:
        assert journal._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert journal._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_a_journal_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "j.sqlite3"
    Journal(path, "acct").close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    db.commit()
    db.close()
    with pytest.raises(ConfigError, match="newer bulk-enroll"):
        Journal(path, "acct")


def test_resend_unknown_releases_only_the_pairs_this_run_asks_for(tmp_path):
    from bulk_enroll.send.reconcile import settle_leftovers

    other = Batch("b-other", DATED, ("l9",), ("c9",))
    with Journal(tmp_path / "j.sqlite3", "acct") as journal:
        journal.finish(journal.begin(BATCH, "run-1"), CallState.UNKNOWN, "answer lost")
        journal.finish(journal.begin(other, "run-1"), CallState.UNKNOWN, "answer lost")
        unknown = settle_leftovers(journal, None, resend_unknown=True, wanted=BATCH.pairs())
        assert set(unknown) == set(other.pairs())  # another file's lost call stays protected
        # and a later run without the flag still holds that other call back
        assert set(settle_leftovers(journal, None, resend_unknown=False)) == set(other.pairs())


def test_what_a_call_leaves_is_in_the_database_file_not_only_in_its_write_ahead_log(tmp_path):
    # A run killed mid-send leaves its latest records in journal.sqlite3-wal. A copy or backup
    # of journal.sqlite3 alone, or that log deleted or truncated, once lost them all: the next
    # run sent every pair of the killed run again. Each record is checkpointed into the file.
    path = tmp_path / "journal.sqlite3"
    journal = Journal(path, "acct")
    journal.confirm(journal.begin(BATCH, "run-1"), BATCH.pairs())
    later = Batch("b-2", PERIOD, ("l3",), ("c1",))
    in_flight = journal.begin(later, "run-1")
    copy = tmp_path / "copy" / "journal.sqlite3"  # the file as a SIGKILL leaves it, log lost
    copy.parent.mkdir()
    copy.write_bytes(path.read_bytes())
    journal.close()
    with Journal(copy, "acct") as restored:
        assert set(restored.confirmed(BATCH.pairs())) == set(BATCH.pairs())
        assert [call.call_id for call in restored.open_calls()] == [in_flight]
