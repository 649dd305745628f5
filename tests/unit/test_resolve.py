"""Resolution: IDs pass through; references that cannot be looked up yet make the row invalid."""

from __future__ import annotations

from bulk_enroll.model import (
    CourseKey,
    CourseRef,
    DueDateType,
    DueSettings,
    InputRow,
    LearnerKey,
    LearnerRef,
    Pair,
    Request,
    SourceRef,
)
from bulk_enroll.resolve import resolve_rows

S = DueSettings(DueDateType.UNLIMITED)


def test_ids_resolve_to_pairs_and_other_references_are_reported():
    by_id = Request(LearnerRef(LearnerKey.ID, "l1"), CourseRef(CourseKey.ID, "c1"), S)
    by_email = Request(LearnerRef(LearnerKey.EMAIL, "a@x.com"), CourseRef(CourseKey.ID, "c1"), S)
    rows = [InputRow(SourceRef("f", 2), (), requests=(by_id,)),
            InputRow(SourceRef("f", 3), (), requests=(by_id, by_email))]
    first, second = resolve_rows(rows)
    assert first.pairs == (Pair("l1", "c1", S),) and not first.issues
    assert second.pairs == ()
    assert [i.message for i in second.issues] == ["cannot look up learners by email yet"]
