"""Requests as written (IDs, later emails, logins, titles) -> `Pair`s of IDs.

Pure given a `Directory` of lookups; the lookups themselves (API list endpoints, cached) are
filled in by the resolver issue. Today only IDs resolve; any other reference makes the row
invalid with a message saying so, rather than guessing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from bulk_enroll.model import CourseKey, InputRow, LearnerKey, Pair, Request, RowIssue


def resolve_rows(rows: Sequence[InputRow]) -> list[InputRow]:
    """Fill in `pairs` for every valid row; unresolvable requests become the row's issues."""
    return [_resolve_row(row) for row in rows]


def _resolve_row(row: InputRow) -> InputRow:
    if row.issues:
        return row
    pairs: list[Pair] = []
    issues: list[RowIssue] = []
    for request in row.requests:
        pair, problem = _resolve(request)
        if pair is not None:
            pairs.append(pair)
        else:
            issues.append(RowIssue(row.source, None, problem))
    if issues:
        return dataclasses.replace(row, pairs=(), issues=tuple(issues))
    return dataclasses.replace(row, pairs=tuple(pairs))


def _resolve(request: Request) -> tuple[Pair | None, str]:
    if request.learner.key is not LearnerKey.ID:
        return None, f"cannot look up learners by {request.learner.key.value} yet"
    if request.course.key is not CourseKey.ID:
        return None, f"cannot look up courses by {request.course.key.value} yet"
    return Pair(request.learner.value, request.course.value, request.settings), ""
