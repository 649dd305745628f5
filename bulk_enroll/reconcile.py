"""Before sending: drop the pairs an earlier run already settled (journal), and settle the calls
an earlier run left in flight (by reading the server) or mark them unknown.

`reconcile` is pure; `settle_leftovers` is the one step here that reads the journal and the
server.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from bulk_enroll.journal import CallState, Journal
from bulk_enroll.model import Pair, PairOutcome, Status
from bulk_enroll.sender import Settler

log = logging.getLogger(__name__)

UNKNOWN_HINT = ("check in the LMS, then rerun with --resend-unknown to send it again, "
                "or configure the REST API so the next run can settle it")


def settle_leftovers(journal: Journal, settler: Settler | None, *,
                     resend_unknown: bool) -> dict[Pair, str]:
    """Settle calls of earlier runs that never got an answer; return the pairs still unknown.

    With a settler, the server's enrollment list decides: pairs found are confirmed, the rest
    were not applied and may be sent again. Without one, those pairs stay unknown (not resent)
    unless `resend_unknown`.
    """
    unknown: dict[Pair, str] = {}
    for call in journal.open_calls():
        pairs = call.batch.pairs()
        if settler is not None:
            try:
                present = settler.enrolled_pairs(call.batch.learner_ids, call.batch.course_ids)
            except Exception as exc:  # the list is unreachable now: leave it for later
                log.warning("could not settle call %s of %s: %s", call.batch.batch_id,
                            call.started_at, exc)
            else:
                found = [p for p in pairs if (p.learner_id, p.course_id) in present]
                journal.confirm(call.call_id, found,
                                f"settled by a later run: {len(found)}/{len(pairs)} applied")
                continue
        if resend_unknown:
            journal.finish(call.call_id, CallState.NOT_APPLIED, "resent by --resend-unknown")
            continue
        if call.state is CallState.IN_FLIGHT:
            journal.finish(call.call_id, CallState.UNKNOWN, "interrupted run; not settled")
        for pair in pairs:
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
