"""Rows that ask for the same enrollment with different settings. Pure.

Runs on resolved rows (their `pairs`), so an email in one row and an ID in another that name
the same person are seen as one learner. The same pair with the same settings twice is not a
conflict (the later row is a `duplicate`, see `results.py`). With different settings the file
contradicts itself: by default every row involved becomes invalid, naming the other row;
with `last_row_wins` the last such row's settings are used and earlier rows give the pair up
(a row left with nothing to ask is reported as a duplicate of the row that superseded it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from bulk_enroll.model import DueSettings, InputRow, RowIssue

KIND_CONFLICT = "conflicting settings"
SUPERSEDED = "superseded by row {row} (--last-row-wins)"
_SUPERSEDED_PREFIX = SUPERSEDED.split("{", 1)[0]

_PairKey = tuple[str, str]


def mark_conflicts(rows: Sequence[InputRow], *, last_row_wins: bool = False) -> list[InputRow]:
    """Rows with conflicting settings marked invalid (or superseded with `last_row_wins`)."""
    seen: dict[_PairKey, dict[DueSettings, list[int]]] = {}
    for index, row in enumerate(rows):
        if row.issues:
            continue
        for pair in row.pairs:
            by_settings = seen.setdefault((pair.learner_id, pair.course_id), {})
            where = by_settings.setdefault(pair.settings, [])
            if not where or where[-1] != index:
                where.append(index)
    conflicted = {key: by for key, by in seen.items() if len(by) > 1}
    if not conflicted:
        return list(rows)
    if last_row_wins:
        return _supersede(rows, conflicted)
    return _invalidate(rows, conflicted)


def _invalidate(
    rows: Sequence[InputRow], conflicted: dict[_PairKey, dict[DueSettings, list[int]]]
) -> list[InputRow]:
    """Every row asking for a conflicted pair gets an issue naming the first row that
    asks for it differently."""
    others: dict[int, dict[int, DueSettings]] = {}
    for by_settings in conflicted.values():
        for settings, indexes in by_settings.items():
            for index in indexes:
                for other_settings, other_indexes in by_settings.items():
                    if other_settings != settings:
                        mine = others.setdefault(index, {})
                        mine.setdefault(other_indexes[0], other_settings)
    out = list(rows)
    for index, other in others.items():
        row = rows[index]
        issues = tuple(
            RowIssue(
                row.source,
                None,
                f"conflicting settings with row {rows[o].source.row} "
                f"(there: {settings.describe()}; here: {row.pairs[0].settings.describe()})",
                KIND_CONFLICT,
            )
            for o, settings in sorted(other.items())
        )
        out[index] = dataclasses.replace(row, pairs=(), issues=issues)
    return out


def _supersede(
    rows: Sequence[InputRow], conflicted: dict[_PairKey, dict[DueSettings, list[int]]]
) -> list[InputRow]:
    """Keep each conflicted pair only with the settings of the last row asking for it."""
    dropped: dict[int, dict[_PairKey, int]] = {}  # row index -> pair -> winning row index
    for key, by_settings in conflicted.items():
        winner = max(i for indexes in by_settings.values() for i in indexes)
        winning_settings = next(s for s, idx in by_settings.items() if winner in idx)
        for settings, indexes in by_settings.items():
            if settings != winning_settings:
                for index in indexes:
                    dropped.setdefault(index, {})[key] = winner
    out = list(rows)
    for index, lost in dropped.items():
        row = rows[index]
        kept = tuple(p for p in row.pairs if (p.learner_id, p.course_id) not in lost)
        winners = sorted({rows[w].source.row for w in lost.values()})
        note = SUPERSEDED.format(row=", ".join(map(str, winners)))
        out[index] = dataclasses.replace(row, pairs=kept, notes=(*row.notes, note))
    return out


def is_superseded(row: InputRow) -> bool:
    """Did `--last-row-wins` give (some of) this row's pairs to a later row?"""
    return any(note.startswith(_SUPERSEDED_PREFIX) for note in row.notes)
