"""What a plan amounts to, for people: calls per settings group, the lower bound, the largest
call, and how many input rows each batch serves. Pure; `plan` and `run --dry-run` print it and
the report's Batches sheet shows the rows covered.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bulk_enroll.model import Batch, DueSettings, InputRow, Pair, count
from bulk_enroll.plan.planner import PlanLimits, lower_bounds


@dataclass(frozen=True)
class GroupPlan:
    """One settings group of a plan."""

    settings: DueSettings
    calls: int
    pairs: int
    lower_bound: int


@dataclass(frozen=True)
class PlanSummary:
    groups: tuple[GroupPlan, ...]
    largest: Batch | None

    @property
    def calls(self) -> int:
        return sum(group.calls for group in self.groups)

    @property
    def pairs(self) -> int:
        return sum(group.pairs for group in self.groups)

    @property
    def lower_bound(self) -> int:
        return sum(group.lower_bound for group in self.groups)

    def as_dict(self) -> dict[str, object]:
        """For the JSON summary."""
        return {
            "calls": self.calls,
            "pairs": self.pairs,
            "calls_lower_bound": self.lower_bound,
            "largest_call_pairs": self.largest.size if self.largest else 0,
            "groups": [
                {
                    "settings": group.settings.describe(),
                    "calls": group.calls,
                    "pairs": group.pairs,
                    "calls_lower_bound": group.lower_bound,
                }
                for group in self.groups
            ],
        }


def summarize_plan(
    batches: Sequence[Batch], pairs: Sequence[Pair], limits: PlanLimits
) -> PlanSummary:
    """The summary of `batches`, planned under `limits` for `pairs` (with their lower bound)."""
    bounds = lower_bounds(pairs, limits)
    calls: Counter[DueSettings] = Counter()
    sizes: Counter[DueSettings] = Counter()
    for batch in batches:
        calls[batch.settings] += 1
        sizes[batch.settings] += batch.size
    groups = tuple(
        GroupPlan(settings, calls[settings], sizes[settings], bounds.get(settings, 0))
        for settings in sorted(calls.keys() | bounds.keys(), key=DueSettings.sort_key)
    )
    # Largest by pairs; ties go to the first in plan order, so the answer is stable.
    largest = max(batches, key=lambda batch: batch.size, default=None)
    return PlanSummary(groups, largest)


def describe_plan(summary: PlanSummary) -> list[str]:
    """The lines `plan` and `run --dry-run` print."""
    if not summary.groups:
        return ["Plan: nothing to enroll."]
    optimal = " (optimal)" if summary.calls == summary.lower_bound else ""
    lines = [
        f"Plan: {count(summary.calls, 'call')} for {count(summary.pairs, 'enrollment')}"
        f" (learner-course pairs) in {count(len(summary.groups), 'settings group')};"
        f" lower bound {count(summary.lower_bound, 'call')}{optimal}."
    ]
    if summary.largest is not None:
        largest = summary.largest
        lines.append(
            f"Largest call: {count(len(largest.learner_ids), 'learner')} x"
            f" {count(len(largest.course_ids), 'course')}"
            f" = {count(largest.size, 'enrollment')} ({largest.batch_id})."
        )
    for group in summary.groups:
        lines.append(
            f"  {group.settings.describe()}: {count(group.calls, 'call')},"
            f" {count(group.pairs, 'enrollment')}, lower bound {group.lower_bound:,}"
        )
    return lines


def rows_covered(rows: Sequence[InputRow], batches: Iterable[Batch]) -> dict[str, int]:
    """Per batch ID, the input rows with at least one requested pair in that batch (a row
    repeating an earlier row counts too: the same call serves it)."""
    batch_list = list(batches)
    holders: dict[DueSettings, dict[tuple[str, str], list[str]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for batch in batch_list:
        cells = holders[batch.settings]
        for learner in batch.learner_ids:
            for course in batch.course_ids:
                cells[(learner, course)].append(batch.batch_id)
    counts: Counter[str] = Counter()
    for row in rows:
        served: set[str] = set()
        for pair in row.pairs:
            held = holders.get(pair.settings)
            if held is not None:
                served.update(held.get((pair.learner_id, pair.course_id), ()))
        counts.update(served)
    return {batch.batch_id: counts[batch.batch_id] for batch in batch_list}
