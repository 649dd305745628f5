"""Before sending: drop what is already settled, so nothing is enrolled twice.

Two sources: the journal (pairs an earlier run confirmed; calls an earlier run left in flight,
settled by reading the server or reported unknown), and, on request, the server's own
enrollment list ("already enrolled, from the server").

The server's word beats the journal when it was asked: a pair the journal confirmed but the
server no longer lists was removed in the LMS since (an administrator, a mistake, a restore),
and is enrolled again, or left out and reported with `respect_removals`. Without the server,
the journal is trusted, and the row says so.

`reconcile`, `split_already_enrolled` and `note_removals` are pure; `settle_leftovers` and
`server_enrollments` are the steps that read the journal and the server. A pair counts as
enrolled whatever settings it was enrolled with: the question is "is this person already in
this course?", and re-sending would reset an enrollment someone may be halfway through. A row
asking for other settings says so (see `differences`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bulk_enroll.errors import ApiError, Interrupted
from bulk_enroll.model import Pair, PairOutcome, ServerEnrollment, Status
from bulk_enroll.send.differences import journal_difference, server_difference
from bulk_enroll.send.journal import CallState, Confirmation, Journal
from bulk_enroll.send.sender import EnrollmentLister

log = logging.getLogger(__name__)

UNKNOWN_HINT = ("check in the LMS, then rerun with --resend-unknown to send it again, "
                "or configure the REST API so the next run can settle it")


def settle_leftovers(journal: Journal, settler: EnrollmentLister | None, *,
                     resend_unknown: bool, wanted: Collection[Pair] = ()) -> dict[Pair, str]:
    """Settle calls of earlier runs that never got an answer; return the pairs still unknown.

    With a settler, the server's enrollment list decides: pairs found are confirmed, the rest
    were not applied and may be sent again. Without one, those pairs stay unknown (not resent)
    unless `resend_unknown`, which releases only the pairs this run asks for (`wanted`): an
    unknown call of another file keeps its protection.
    """
    wanted_keys = {_key(pair) for pair in wanted}
    unknown: dict[Pair, str] = {}
    for call in journal.open_calls():
        pairs = call.batch.pairs()
        if settler is not None:
            try:
                present = settler.list_enrollments(call.batch.learner_ids, call.batch.course_ids)
            except Interrupted:
                raise  # a stop (SIGTERM): this and the other calls stay as they are, for later
            except Exception as exc:  # the list is unreachable now: leave it for later
                log.warning("could not settle call %s of %s: %s", call.batch.batch_id,
                            call.started_at, exc)
            else:
                found = [p for p in pairs if (p.learner_id, p.course_id) in present]
                journal.confirm(call.call_id, found,
                                f"settled by a later run: {len(found)}/{len(pairs)} applied")
                continue
        released = {p for p in pairs if _key(p) in wanted_keys} if resend_unknown else set()
        if released and len(released) == len(pairs):
            journal.finish(call.call_id, CallState.NOT_APPLIED, "resent by --resend-unknown")
            continue
        if call.state is CallState.IN_FLIGHT:
            journal.finish(call.call_id, CallState.UNKNOWN, "interrupted run; not settled")
        for pair in pairs:
            if pair not in released:  # a released pair is sent; once confirmed, that wins
                unknown[pair] = call.started_at
    unknown.update(_overlapping_foreign_calls(journal, settler, wanted_keys,
                                              resend_unknown=resend_unknown))
    return unknown


def _overlapping_foreign_calls(journal: Journal, settler: EnrollmentLister | None,
                               wanted_keys: Collection[tuple[str, str]], *,
                               resend_unknown: bool) -> dict[Pair, str]:
    """Calls left open under other credentials (a client ID or token changed since a crash)
    that name pairs this run wants. Learner and course IDs are UUIDs, unique across LMS
    accounts, so such a call may well have enrolled them here. This account's server decides
    for those pairs only (found: confirmed in the journal; missing: sent); without a server
    to ask they stay unknown, as this account's own would. The call itself stays open for
    its own credentials to settle."""
    unknown: dict[Pair, str] = {}
    for call in journal.open_calls(other_accounts=True):
        overlap = [p for p in call.batch.pairs() if _key(p) in wanted_keys]
        if not overlap:
            continue
        if settler is not None:
            learners = list(dict.fromkeys(p.learner_id for p in overlap))
            courses = list(dict.fromkeys(p.course_id for p in overlap))
            try:
                present = settler.list_enrollments(learners, courses)
            except Interrupted:
                raise
            except Exception as exc:  # unreachable now: the pairs stay unknown, not resent
                log.warning("could not settle call %s of %s (other credentials): %s",
                            call.batch.batch_id, call.started_at, exc)
            else:
                found = [p for p in overlap if _key(p) in present]
                journal.confirm(None, found, "settled by a later run with other credentials")
                continue
        if not resend_unknown:
            unknown.update((pair, call.started_at) for pair in overlap)
    return unknown


TRUSTED = "from the journal; the LMS was not asked (--check-server asks it)"
REMOVED = "removed in the LMS since the run of {day}"
RESPECTED = REMOVED + ": not sent again (--respect-removals)"
ALREADY_ON_SERVER = "already enrolled on the server; not sent again"


@dataclass
class Reconciled:
    """The requested pairs split: those to send, those already settled (with why), and among
    those to send, the ones an earlier run enrolled that were removed in the LMS since."""

    to_send: list[Pair] = field(default_factory=list)
    settled: dict[Pair, PairOutcome] = field(default_factory=dict)
    removed: dict[Pair, Confirmation] = field(default_factory=dict)


def reconcile(pairs: Sequence[Pair], confirmed: Mapping[Pair, Confirmation],
              unknown: Mapping[Pair, str], *, server_checked: bool = False,
              respect_removals: bool = False) -> Reconciled:
    """Split the requested pairs by what the journal (and the server) know.

    `server_checked`: the server was asked and does not list these pairs, so the journal's
    confirmations among them are removals (sent again, or left out with `respect_removals`).
    Pairs are matched by learner and course, whatever settings they were sent with.
    """
    unknown_since = {_key(pair): when for pair, when in unknown.items()}
    result = Reconciled()
    for pair in pairs:
        earlier = confirmed.get(pair)
        if earlier is not None and server_checked:
            if respect_removals:
                result.settled[pair] = PairOutcome(Status.NOT_SENT,
                                                   RESPECTED.format(day=earlier.day))
            else:
                result.removed[pair] = earlier
                result.to_send.append(pair)
        elif earlier is not None:
            result.settled[pair] = PairOutcome(Status.ALREADY_ENROLLED,
                                               _from_journal(pair, earlier))
        elif _key(pair) in unknown_since:
            result.settled[pair] = PairOutcome(
                Status.UNKNOWN, f"sent by an earlier run on {unknown_since[_key(pair)]} whose "
                f"answer was lost; {UNKNOWN_HINT}")
        else:
            result.to_send.append(pair)
    return result


def _from_journal(pair: Pair, earlier: Confirmation) -> str:
    enrolled = f"enrolled by an earlier run on {earlier.at}"
    change = journal_difference(earlier.settings, pair.settings)
    return f"{change} ({enrolled}; {TRUSTED})" if change else f"{enrolled} ({TRUSTED})"


def note_removals(outcomes: Mapping[Pair, PairOutcome],
                  removed: Mapping[Pair, Confirmation]) -> dict[Pair, PairOutcome]:
    """The outcomes of pairs sent again after a removal, saying so: "enrolled again: removed
    in the LMS since the run of 2026-11-30"."""
    noted = dict(outcomes)
    for pair, earlier in removed.items():
        outcome = outcomes.get(pair)
        if outcome is None:
            continue
        removal = REMOVED.format(day=earlier.day)
        if outcome.status is Status.ENROLLED:
            message = "; ".join(m for m in (f"enrolled again: {removal}", outcome.message) if m)
        else:
            message = "; ".join(m for m in (outcome.message, removal) if m)
        noted[pair] = dataclasses.replace(outcome, message=message)
    return noted


class EnrollmentRecords(Protocol):
    """Reads the enrollments among these learners and courses, with the settings the server
    shows (the REST client)."""

    def enrollment_records(self, learner_ids: Collection[str], course_ids: Collection[str]
                           ) -> dict[tuple[str, str], ServerEnrollment]: ...


def server_enrollments(pairs: Sequence[Pair],
                       lister: EnrollmentRecords) -> dict[tuple[str, str], ServerEnrollment]:
    """The enrollments the server holds among the planned learners and courses, by (learner,
    course) in lower case."""
    if not pairs:
        return {}
    learners = {pair.learner_id for pair in pairs}
    courses = {pair.course_id for pair in pairs}
    return lister.enrollment_records(learners, courses)


def split_already_enrolled(
    pairs: Sequence[Pair], existing: Mapping[tuple[str, str], ServerEnrollment]
) -> tuple[list[Pair], dict[Pair, PairOutcome]]:
    """(pairs still to send, in order; `already_enrolled` outcomes for the others, saying
    when the row asks for other settings than the server lists)."""
    to_send: list[Pair] = []
    already: dict[Pair, PairOutcome] = {}
    for pair in pairs:
        record = existing.get((pair.learner_id.lower(), pair.course_id.lower()))
        if record is None:
            to_send.append(pair)
            continue
        change = server_difference(record, pair.settings)
        message = f"{change} (as the server lists it)" if change else ALREADY_ON_SERVER
        already[pair] = PairOutcome(Status.ALREADY_ENROLLED, message)
    return to_send, already


@dataclass(frozen=True)
class JournalView:
    """What the journal says of the requested pairs, checked against the server once more."""

    wanted: list[Pair]  # the requested pairs, less those the server lists after all
    confirmed: dict[Pair, Confirmation]  # confirmed by an earlier run
    on_server: dict[Pair, PairOutcome] = field(default_factory=dict)  # listed after all
    server_checked: bool = False  # the server lists none of `wanted`: confirmed = removed


def confirmed_in_journal(journal: Journal, wanted: list[Pair],
                         directory: EnrollmentRecords | None) -> JournalView:
    """The journal's confirmations of `wanted`, the pairs the server did not list.

    With the server checked (`directory`), the confirmed ones are asked about again, now that
    this run holds the send lock: a run that finished a moment ago may have enrolled them
    after the first answer, and those must not count as removed. If the server cannot answer
    now, the journal is trusted and nothing is sent again.
    """
    confirmed = journal.confirmed(wanted)
    if directory is None or not confirmed:
        return JournalView(wanted, confirmed, server_checked=directory is not None)
    try:
        listed = server_enrollments(list(confirmed), directory)
    except ApiError as exc:
        log.warning("could not ask the server again about %d pair(s) the journal confirmed "
                    "(%s): the journal is trusted, they are not sent again", len(confirmed), exc)
        return JournalView(wanted, confirmed)
    _, on_server = split_already_enrolled(list(confirmed), listed)
    still_wanted = [pair for pair in wanted if pair not in on_server]
    return JournalView(still_wanted, {p: c for p, c in confirmed.items() if p not in on_server},
                       on_server, server_checked=True)


def _key(pair: Pair) -> tuple[str, str]:
    return pair.learner_id, pair.course_id
