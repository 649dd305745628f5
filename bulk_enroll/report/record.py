"""A run's report data as compact bytes, and back: what the journal keeps to write a report
again (`bulk-enroll report RUN_ID`) when it could not be written the first time.

Only what the report shows is kept: the run's facts, the headers, each row's cells, what it
asked for (as written and as IDs) and its result, the calls and the counters. Repeated settings
are stored once. The bytes are zlib-compressed JSON: no pickle, so a journal from elsewhere can
be read without running anything it holds. Cells keep their types (dates stay dates).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from bulk_enroll.model import (
    Batch,
    BatchOutcome,
    CourseKey,
    CourseRef,
    DueDateType,
    DueSettings,
    InputRow,
    LearnerKey,
    LearnerRef,
    Pair,
    Request,
    RowResult,
    SendStats,
    SourceRef,
    Status,
)
from bulk_enroll.report.data import ReportData, RunFacts

FORMAT = 1


class RecordError(ValueError):
    """The bytes are not a run record this version can read."""


def encode_report_data(data: ReportData) -> bytes:
    """`data` as compressed bytes (see the module's docstring)."""
    settings = _Interned()
    record = {
        "format": FORMAT,
        "facts": {f.name: _cell(getattr(data.facts, f.name))
                  for f in dataclasses.fields(RunFacts)},
        "headers": list(data.headers),
        "rows": [_row(row, settings) for row in data.rows],
        # Statuses and keys are StrEnums: JSON writes them as their values (and faster than
        # `.value` would read them).
        "results": [[r.status, r.message, r.batch_ids, r.attempts, _cell(r.at)]
                    for r in data.results],
        "planned": [_batch(b, settings) for b in data.planned],
        "calls": [[_batch(c.batch, settings), c.status, c.message, c.attempts,
                   c.duration_s, c.parent_id] for c in data.calls],
        "stats": dataclasses.asdict(data.stats),
        "names_looked_up": data.names_looked_up,
        "rows_covered": dict(data.rows_covered) if data.rows_covered is not None else None,
        "settings": [_settings(s) for s in settings.items],
    }
    # Cells go in as they are: JSON writes plain values itself and asks `_cell` only for the
    # others (dates), which is much faster than looking at every cell here.
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=_cell)
    return zlib.compress(text.encode("utf-8"), 6)


def decode_report_data(blob: bytes) -> ReportData:
    """The `ReportData` that `encode_report_data` stored; raises `RecordError`."""
    try:
        record = json.loads(zlib.decompress(blob).decode("utf-8"))
        if record.get("format") != FORMAT:
            raise RecordError(f"run record format {record.get('format')!r} is not {FORMAT}")
        settings = [_settings_from(s) for s in record["settings"]]
        facts = dict(record["facts"])
        known = {f.name for f in dataclasses.fields(RunFacts)}
        file_name = str(facts.get("input_file", ""))
        return ReportData(
            facts=RunFacts(**{k: _value(v) for k, v in facts.items() if k in known}),
            headers=tuple(record["headers"]),
            rows=[_row_from(row, file_name, settings) for row in record["rows"]],
            results=[RowResult(Status(status), message, tuple(batches), attempts, _value(at))
                     for status, message, batches, attempts, at in record["results"]],
            planned=[_batch_from(b, settings) for b in record["planned"]],
            calls=[BatchOutcome(_batch_from(b, settings), Status(status), message, attempts,
                                duration, parent)
                   for b, status, message, attempts, duration, parent in record["calls"]],
            stats=SendStats(**record["stats"]),
            names_looked_up=bool(record["names_looked_up"]),
            rows_covered=record["rows_covered"],
        )
    except RecordError:
        raise
    except (zlib.error, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise RecordError(f"not a readable run record ({type(exc).__name__}: {exc})") from None


# --- rows -------------------------------------------------------------------------------------


def _row(row: InputRow, settings: _Interned) -> list[Any]:
    requests = [[r.learner.key, r.learner.value, r.course.key, r.course.value,
                 settings.index(r.settings)] for r in row.requests]
    pairs = [[p.learner_id, p.course_id, settings.index(p.settings)] for p in row.pairs]
    return [row.source.row, row.source.sheet, row.values, requests, pairs]


def _row_from(row: Sequence[Any], file_name: str, settings: Sequence[DueSettings]) -> InputRow:
    number, sheet, values, requests, pairs = row
    return InputRow(
        source=SourceRef(file_name, number, sheet),
        values=tuple(_value(v) for v in values),
        requests=tuple(
            Request(LearnerRef(LearnerKey(lk), lv), CourseRef(CourseKey(ck), cv), settings[s])
            for lk, lv, ck, cv, s in requests),
        pairs=tuple(Pair(learner, course, settings[s]) for learner, course, s in pairs),
    )


def _batch(batch: Batch, settings: _Interned) -> list[Any]:
    return [batch.batch_id, settings.index(batch.settings), list(batch.learner_ids),
            list(batch.course_ids)]


def _batch_from(batch: Sequence[Any], settings: Sequence[DueSettings]) -> Batch:
    batch_id, index, learners, courses = batch
    return Batch(batch_id, settings[index], tuple(learners), tuple(courses))


# --- settings, stored once each ------------------------------------------------------------------


class _Interned:
    """Each distinct `DueSettings` once, referred to by its position."""

    def __init__(self) -> None:
        self.items: list[DueSettings] = []
        self._positions: dict[DueSettings, int] = {}

    def index(self, settings: DueSettings) -> int:
        position = self._positions.get(settings)
        if position is None:
            position = self._positions[settings] = len(self.items)
            self.items.append(settings)
        return position


def _settings(settings: DueSettings) -> list[Any]:
    return [settings.due_date_type, _cell(settings.access_date), _cell(settings.due_date),
            settings.due_period_hours, settings.lock_after_due_date]


def _settings_from(stored: Sequence[Any]) -> DueSettings:
    due_type, access, due, period, lock = stored
    return DueSettings(DueDateType(due_type), _value(access), _value(due), period, lock)


# --- one value, its type kept -------------------------------------------------------------------

# A plain JSON value stands for itself; anything else is a two-item list: [kind, text] (a cell
# is never a list, so the two cannot be confused).
_KINDS: Mapping[str, Any] = {
    "datetime": dt.datetime.fromisoformat,
    "date": dt.date.fromisoformat,
    "time": dt.time.fromisoformat,
    "timedelta": lambda seconds: dt.timedelta(seconds=float(seconds)),
}


def _cell(value: object) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime):  # before date: a datetime is a date too
        return ["datetime", value.isoformat()]
    if isinstance(value, dt.date):
        return ["date", value.isoformat()]
    if isinstance(value, dt.time):
        return ["time", value.isoformat()]
    if isinstance(value, dt.timedelta):
        return ["timedelta", value.total_seconds()]
    return str(value)  # anything else a reader may hand over is shown as its text


def _value(stored: Any) -> Any:
    if isinstance(stored, list):
        kind, text = stored
        return _KINDS[kind](text)
    return stored
