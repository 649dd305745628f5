"""Already enrolled, from the server: planned pairs the account already holds are not sent.

`split_already_enrolled` is pure (pairs + what the server holds -> what to send, and an outcome
for the rest); `server_enrollments` is the one I/O step, through the enrollment-list client.
A pair counts as enrolled whatever settings it was enrolled with: the option answers "is this
person already in this course?", and re-sending would reset an enrollment someone may be
halfway through.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence, Set
from typing import Protocol

from bulk_enroll.model import Pair, PairOutcome, Status

ALREADY_ON_SERVER = "already enrolled on the server; not sent again"


class EnrollmentLister(Protocol):
    def list_enrollments(
        self, learner_ids: Iterable[str], course_ids: Iterable[str]
    ) -> set[tuple[str, str]]: ...


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
