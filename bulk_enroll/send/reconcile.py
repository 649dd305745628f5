"""Before sending: drop what is already settled, so nothing is enrolled twice.

Two sources: the journal (pairs an earlier run confirmed; calls an earlier run left in flight,
settled by reading the server or reported unknown), and, on request, the server's own
enrollment list ("already enrolled, from the server").

`reconcile` and `split_already_enrolled` are pure; `settle_leftovers` and
`server_enrollments` are the steps that read the journal and the server. A pair counts as
enrolled on the server whatever settings it was enrolled with: the option answers "is this
person already in this course?", and re-sending would reset an enrollment someone may be
halfway through.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence, Set

from bulk_enroll.errors import Interrupted
from bulk_enroll.model import Pair, PairOutcome, Status
from bulk_enroll.send.journal import CallState, Journal
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
    wanted = set(wanted)
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
        released = set(pairs) & wanted if resend_unknown else set()
        if released and len(released) == len(pairs):
            journal.finish(call.call_id, CallState.NOT_APPLIED, "resent by --resend-unknown")
            continue
        if call.state is CallState.IN_FLIGHT:
            journal.finish(call.call_id, CallState.UNKNOWN, "interrupted run; not settled")
        for pair in pairs:
            if pair not in released:  # a released pair is sent; once confirmed, that wins
                unknown[pair] = call.started_at
    return unknown


def reconcile(pairs: Sequence[Pair], confirmed: Mapping[Pair, str],
              unknown: Mapping[Pair, str]) -> tuple[list[Pair], dict[Pair, PairOutcome]]:
    """Split the requested pairs into those to send and those already settled (with why)."""
    to_send: list[Pair] = []
    settled: dict[Pair, PairOutcome] = {}
    for pair in pairs:
        if pair in confirmed:
            settled[pair] = PairOutcome(Status.ALREADY_ENROLLED,
                                        f"enrolled by an earlier run on {confirmed[pair]}")
        elif pair in unknown:
            settled[pair] = PairOutcome(Status.UNKNOWN, f"sent by an earlier run on "
                                        f"{unknown[pair]} whose answer was lost; {UNKNOWN_HINT}")
        else:
            to_send.append(pair)
    return to_send, settled


ALREADY_ON_SERVER = "already enrolled on the server; not sent again"


def server_enrollments(pairs: Sequence[Pair], lister: EnrollmentLister) -> set[tuple[str, str]]:
    """The (learner, course) pairs among the planned learners and courses the server holds."""
    if not pairs:
        return set()
    learners = {pair.learner_id for pair in pairs}
    courses = {pair.course_id for pair in pairs}
    return lister.list_enrollments(learners, courses)


def split_already_enrolled(
    pairs: Sequence[Pair], existing: Set[tuple[str, str]]
) -> tuple[list[Pair], dict[Pair, PairOutcome]]:
    """(pairs still to send, in order; `already_enrolled` outcomes for the others)."""
    to_send: list[Pair] = []
    already: dict[Pair, PairOutcome] = {}
    for pair in pairs:
        if (pair.learner_id.lower(), pair.course_id.lower()) in existing:
            already[pair] = PairOutcome(Status.ALREADY_ENROLLED, ALREADY_ON_SERVER)
        else:
            to_send.append(pair)
    return to_send, already
