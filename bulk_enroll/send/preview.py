"""What a live run would send now: the pairs the journal already settled left out, the calls
for the rest, and whether another run holds the journal. For a review before "Start".

Reads the journal only: nothing is settled, marked or sent. Pairs an earlier run confirmed are
`already_enrolled`; pairs of a call whose answer was lost are `unknown` (the live run settles
them first, through the server when it can).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bulk_enroll.model import Pair, PairOutcome, Status
from bulk_enroll.send.journal import Journal
from bulk_enroll.send.lock import lock_holder
from bulk_enroll.send.reconcile import reconcile


@dataclass(frozen=True)
class SendPreview:
    """The review of a send, in numbers a person reads before pressing Start."""

    new_pairs: int  # enrollments (learner-course pairs) that would be sent
    learners: int  # distinct people among them
    courses: int  # distinct courses among them
    calls: int  # API calls planned for them
    in_journal: int = 0  # pairs an earlier run on this journal confirmed: not sent again
    on_server: int = 0  # pairs the account already holds (server check): not sent
    unknown: int = 0  # pairs of an earlier call whose answer was lost: settled first
    locked_by: str | None = None  # another run is sending with this journal: why Start fails


@dataclass(frozen=True)
class JournalSplit:
    to_send: list[Pair]
    settled: dict[Pair, PairOutcome]
    locked_by: str | None


def journal_view(journal_path: Path, lock_path: Path, account: str,
                 pairs: Sequence[Pair], *, aliases: Sequence[str] = ()) -> JournalSplit:
    """Split `pairs` as a live run on this journal would, without writing to it."""
    locked_by = lock_holder(lock_path, "run using this journal")
    if not journal_path.is_file():
        return JournalSplit(list(pairs), {}, locked_by)
    with Journal(journal_path, account, aliases=aliases) as journal:
        unknown = {pair: call.started_at for call in journal.open_calls()
                   for pair in call.batch.pairs()}
        reconciled = reconcile(pairs, journal.confirmed(pairs), unknown)
    return JournalSplit(reconciled.to_send, reconciled.settled, locked_by)


def send_preview(to_send: Sequence[Pair], calls: int, settled: dict[Pair, PairOutcome],
                 *, on_server: int = 0, locked_by: str | None = None) -> SendPreview:
    statuses = [outcome.status for outcome in settled.values()]
    return SendPreview(
        new_pairs=len(to_send),
        learners=len({pair.learner_id for pair in to_send}),
        courses=len({pair.course_id for pair in to_send}),
        calls=calls,
        in_journal=statuses.count(Status.ALREADY_ENROLLED),
        on_server=on_server,
        unknown=statuses.count(Status.UNKNOWN),
        locked_by=locked_by,
    )
