"""Reconciliation: the server's word beats the journal; changed settings are said, not dropped.

Pure functions, plain data: no file, no network (a fake lister stands for the server).
"""

from __future__ import annotations

import datetime as dt

from bulk_enroll.errors import ApiError
from bulk_enroll.model import (
    Batch,
    DueDateType,
    DueSettings,
    Pair,
    PairOutcome,
    ServerEnrollment,
    Status,
)
from bulk_enroll.send.differences import journal_difference, server_difference
from bulk_enroll.send.journal import Confirmation, Journal
from bulk_enroll.send.reconcile import (
    confirmed_in_journal,
    note_removals,
    reconcile,
    split_already_enrolled,
)

JAN = DueSettings(DueDateType.DUE_DATE, due_date=dt.date(2027, 1, 15))
MAR = DueSettings(DueDateType.DUE_DATE, due_date=dt.date(2027, 3, 1))
PERIOD = DueSettings(DueDateType.DUE_PERIOD, due_period_hours=72)
EARLIER = Confirmation("2026-11-30 09:15:00", JAN)
A, B, C = Pair("l1", "c1", JAN), Pair("l2", "c1", JAN), Pair("l3", "c1", JAN)


def test_the_journal_is_trusted_without_the_server_and_the_row_says_how_to_check():
    result = reconcile([A, B], {A: EARLIER}, {})
    assert result.to_send == [B] and result.removed == {}
    assert result.settled == {A: PairOutcome(
        Status.ALREADY_ENROLLED, "enrolled by an earlier run on 2026-11-30 09:15:00 (from the "
        "journal; the LMS was not asked (--check-server asks it))")}


def test_a_pair_removed_in_the_lms_since_is_sent_again_and_its_row_says_so():
    result = reconcile([A, B], {A: EARLIER}, {}, server_checked=True)
    assert result.to_send == [A, B] and result.removed == {A: EARLIER} and result.settled == {}
    sent = {A: PairOutcome(Status.ENROLLED, "", "b-1", 1), B: PairOutcome(Status.ENROLLED)}
    noted = note_removals(sent, result.removed)
    assert noted[A] == PairOutcome(Status.ENROLLED, "enrolled again: removed in the LMS since "
                                   "the run of 2026-11-30", "b-1", 1)
    assert noted[B] == sent[B]
    failed = note_removals({A: PairOutcome(Status.FAILED, "Permission denied")}, result.removed)
    assert failed[A].message == "Permission denied; removed in the LMS since the run of 2026-11-30"


def test_respect_removals_keeps_removed_pairs_out_with_the_reason():
    result = reconcile([A, B], {A: EARLIER}, {}, server_checked=True, respect_removals=True)
    assert result.to_send == [B] and result.removed == {}
    assert result.settled == {A: PairOutcome(
        Status.NOT_SENT, "removed in the LMS since the run of 2026-11-30: not sent again "
        "(--respect-removals)")}


def test_a_row_asking_other_settings_than_the_journal_knows_says_so():
    asked = Pair("l1", "c1", MAR)
    result = reconcile([asked], {asked: EARLIER}, {})
    assert result.settled[asked].message == (
        "already enrolled with due date 2027-01-15; this row asks for 2027-03-01: not changed "
        "(enrolled by an earlier run on 2026-11-30 09:15:00; from the journal; the LMS was not "
        "asked (--check-server asks it))")


def test_a_call_whose_answer_was_lost_protects_its_pairs_whatever_settings_are_asked():
    lost = {Pair("l1", "c1", PERIOD): "2026-11-30 09:00:00"}
    result = reconcile([A], {}, lost)
    assert result.to_send == [] and result.settled[A].status is Status.UNKNOWN


def test_every_differing_setting_is_described_in_words():
    sent = DueSettings(DueDateType.DUE_DATE, access_date=dt.datetime(2027, 1, 2),
                       due_date=dt.date(2027, 1, 15), lock_after_due_date=True)
    asked = DueSettings(DueDateType.DUE_PERIOD, access_date=dt.datetime(2027, 2, 1, 9, 30),
                        due_period_hours=72)
    assert journal_difference(sent, asked) == (
        "already enrolled with due date 2027-01-15, access date 2027-01-02 and lock after the "
        "due date; this row asks for due period 72 hours, access date 2027-02-01 09:30:00 and "
        "no lock after the due date: not changed")
    assert journal_difference(DueSettings(DueDateType.UNLIMITED),
                              DueSettings(DueDateType.DEFAULT)) == (
        "already enrolled with no due date; this row asks for the course's default due date: "
        "not changed")
    assert journal_difference(JAN, JAN) is None
    # "lock: not set" and "lock: false" ask for the same thing
    assert journal_difference(JAN, DueSettings(DueDateType.DUE_DATE, due_date=dt.date(2027, 1, 15),
                                               lock_after_due_date=False)) is None


def test_the_servers_settings_are_compared_where_the_server_shows_them():
    listed = ServerEnrollment("l1", "c1", access_date=dt.date(2027, 1, 2),
                              due_date=dt.date(2027, 1, 15), lock_after_due_date=False)
    assert server_difference(listed, MAR) == (
        "already enrolled with due date 2027-01-15; this row asks for 2027-03-01: not changed")
    assert server_difference(listed, JAN) is None
    assert server_difference(listed, PERIOD) is None  # a period cannot be checked against it
    locked = DueSettings(DueDateType.DUE_DATE, access_date=dt.datetime(2027, 1, 9),
                         due_date=dt.date(2027, 1, 15), lock_after_due_date=True)
    assert server_difference(listed, locked) == (
        "already enrolled with access date 2027-01-02 and no lock after the due date; this row "
        "asks for access date 2027-01-09 and lock after the due date: not changed")
    assert server_difference(listed, DueSettings(DueDateType.UNLIMITED)) == (
        "already enrolled with due date 2027-01-15; this row asks for no due date: not changed")
    to_send, already = split_already_enrolled([Pair("l1", "c1", MAR)], {("l1", "c1"): listed})
    assert to_send == [] and already[Pair("l1", "c1", MAR)].message.endswith(
        ": not changed (as the server lists it)")


class Server:
    def __init__(self, listed: set[tuple[str, str]] | None) -> None:
        self.listed = listed

    def enrollment_records(self, learner_ids, course_ids):  # type: ignore[no-untyped-def]
        if self.listed is None:
            raise ApiError("503 Service Unavailable")
        return {pair: ServerEnrollment(*pair, due_date=JAN.due_date) for pair in self.listed}


def journal_with(tmp_path, *pairs: Pair) -> Journal:  # type: ignore[no-untyped-def]
    journal = Journal(tmp_path / "journal.sqlite3", "host|c")
    for n, pair in enumerate(pairs):
        batch = Batch(f"b-{n}", pair.settings, (pair.learner_id,), (pair.course_id,))
        journal.confirm(journal.begin(batch, "run-1"), batch.pairs())
    return journal


def test_removals_are_asked_about_again_under_the_send_lock(tmp_path):
    # The first answer (before the lock) did not list A and B; another run enrolled B since.
    with journal_with(tmp_path, A, B) as journal:
        view = confirmed_in_journal(journal, [A, B, C], Server({("l2", "c1")}))
    assert view.server_checked and view.wanted == [A, C] and list(view.confirmed) == [A]
    assert view.on_server == {B: PairOutcome(Status.ALREADY_ENROLLED,
                                             "already enrolled on the server; not sent again")}


def test_when_the_server_cannot_be_asked_again_the_journal_is_trusted(tmp_path):
    with journal_with(tmp_path, A) as journal:
        view = confirmed_in_journal(journal, [A, C], Server(None))
    assert not view.server_checked and view.wanted == [A, C] and list(view.confirmed) == [A]
    result = reconcile(view.wanted, view.confirmed, {}, server_checked=view.server_checked)
    assert result.to_send == [C] and result.settled[A].status is Status.ALREADY_ENROLLED
