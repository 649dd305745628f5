"""A run's report data as compact bytes, and back: what the journal keeps to write a report
again (`bulk-enroll report RUN_ID`) when it could not be written the first time.

What the report shows is kept: the run's facts, the headers, each row's cells, what it asked
for (as written and as IDs) and its result, the calls and the counters. The fields of the
report data, its facts, results and rows are stored by name, so a field added to them later is
kept without a change here (plain values, maps and the dataclasses in `_KNOWN`; a row field of
another kind is left at its default: the report does not show it), and a record from a newer
version drops what this one does not know. Repeated settings are stored once. The bytes are
zlib-compressed JSON: no pickle, so a journal from elsewhere can be read without running
anything it holds. Cells keep their types (dates stay dates).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import zlib
from collections.abc import Callable, Mapping, Sequence
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
from bulk_enroll.read.feedback import ReadingOptions
from bulk_enroll.report.data import ReportData, RunFacts

FORMAT = 1
# InputRow fields stored in their own shape; the others (notes, held_back...) go by name.
# Issues and references are left out: the report shows a row's problems through its result.
_ROW_SHAPED = ("source", "values", "requests", "pairs", "issues", "references")
_ROW_FIELDS = tuple(f.name for f in dataclasses.fields(InputRow) if f.name not in _ROW_SHAPED)
_RESULT_FIELDS = tuple(f.name for f in dataclasses.fields(RowResult))
# ReportData fields stored in their own shape; the others (rows_covered, origin_rows...) by name.
_DATA_SHAPED = ("facts", "headers", "rows", "results", "planned", "calls", "stats")
# Dataclasses a field may hold, rebuilt as themselves (anything else is not stored).
_KNOWN: dict[str, type] = {cls.__name__: cls for cls in (RunFacts, ReadingOptions)}


class RecordError(ValueError):
    """The bytes are not a run record this version can read."""


def encode_report_data(data: ReportData) -> bytes:
    """`data` as compressed bytes (see the module's docstring)."""
    settings = _Interned()
    record = {
        "format": FORMAT,
        "facts": _plain(data.facts),
        "headers": data.headers,
        "row_fields": _ROW_FIELDS,
        "rows": [_row(row, settings) for row in data.rows],
        "result_fields": _RESULT_FIELDS,
        # Statuses and keys are StrEnums: JSON writes them as their values.
        "results": [[getattr(r, name) for name in _RESULT_FIELDS] for r in data.results],
        "planned": [_batch(b, settings) for b in data.planned],
        "calls": [[_batch(c.batch, settings), c.status, c.message, c.attempts,
                   c.duration_s, c.parent_id] for c in data.calls],
        "stats": dataclasses.asdict(data.stats),
        "more": {f.name: _plain(getattr(data, f.name)) for f in dataclasses.fields(ReportData)
                 if f.name not in _DATA_SHAPED},
        "settings": [_settings(s) for s in settings.items],
    }
    # Cells go in as they are: JSON writes plain values itself and asks `_tagged` only for the
    # others (dates), which is much faster than looking at every cell here.
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=_tagged)
    return zlib.compress(text.encode("utf-8"), 6)


def decode_report_data(blob: bytes) -> ReportData:
    """The `ReportData` that `encode_report_data` stored; raises `RecordError`."""
    try:
        record = json.loads(zlib.decompress(blob).decode("utf-8"), object_hook=_untagged)
        if record.get("format") != FORMAT:
            raise RecordError(f"run record format {record.get('format')!r} is not {FORMAT}")
        settings = [_settings_from(s) for s in record["settings"]]
        facts = record["facts"]
        if not isinstance(facts, RunFacts):
            raise RecordError("the run record has no facts")
        file_name = facts.input_file
        row_fields, result_fields = record["row_fields"], record["result_fields"]
        return ReportData(
            facts=facts,
            headers=tuple(record["headers"]),
            rows=[_row_from(row, row_fields, file_name, settings) for row in record["rows"]],
            results=[_result_from(dict(zip(result_fields, r, strict=True)))
                     for r in record["results"]],
            planned=[_batch_from(b, settings) for b in record["planned"]],
            calls=[BatchOutcome(_batch_from(b, settings), Status(status), message, attempts,
                                duration, parent)
                   for b, status, message, attempts, duration, parent in record["calls"]],
            stats=SendStats(**_known(SendStats, record["stats"])),
            **_known(ReportData, {name: _tuples(value)
                                  for name, value in record["more"].items()}),
        )
    except RecordError:
        raise
    except (zlib.error, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise RecordError(f"not a readable run record ({type(exc).__name__}: {exc})") from None


# --- rows and results ---------------------------------------------------------------------------


def _row(row: InputRow, settings: _Interned) -> list[Any]:
    requests = [[r.learner.key, r.learner.value, r.course.key, r.course.value,
                 settings.index(r.settings)] for r in row.requests]
    pairs = [[p.learner_id, p.course_id, settings.index(p.settings)] for p in row.pairs]
    return [row.source.row, row.source.sheet, row.values, requests, pairs,
            *(_row_field(getattr(row, name)) for name in _ROW_FIELDS)]


def _row_field(value: Any) -> Any:
    """A row field as stored: plain values and tuples of them (quickly: one per row and
    field), else None (its default is used again: the report does not show it)."""
    if type(value) in _SCALARS or value == ():
        return value
    if type(value) is tuple and all(type(item) in _SCALARS for item in value):
        return value
    return None


def _row_from(row: Sequence[Any], fields: Sequence[str], file_name: str,
              settings: Sequence[DueSettings]) -> InputRow:
    number, sheet, values, requests, pairs, *rest = row
    return InputRow(
        source=SourceRef(file_name, number, sheet),
        values=tuple(values),
        requests=tuple(
            Request(LearnerRef(LearnerKey(lk), lv), CourseRef(CourseKey(ck), cv), settings[s])
            for lk, lv, ck, cv, s in requests),
        pairs=tuple(Pair(learner, course, settings[s]) for learner, course, s in pairs),
        **_known(InputRow, {name: _tuples(v) for name, v in zip(fields, rest, strict=True)
                            if v is not None or name not in _DEFAULTED}),
    )


def _result_from(stored: dict[str, Any]) -> RowResult:
    stored["status"] = Status(stored["status"])
    stored["batch_ids"] = tuple(stored.get("batch_ids", ()))
    return RowResult(**_known(RowResult, stored))


def _batch(batch: Batch, settings: _Interned) -> list[Any]:
    return [batch.batch_id, settings.index(batch.settings), batch.learner_ids, batch.course_ids]


def _batch_from(batch: Sequence[Any], settings: Sequence[DueSettings]) -> Batch:
    batch_id, index, learners, courses = batch
    return Batch(batch_id, settings[index], tuple(learners), tuple(courses))


_DEFAULTED = frozenset(f.name for f in dataclasses.fields(InputRow)
                      if f.default is not dataclasses.MISSING
                      or f.default_factory is not dataclasses.MISSING)


def _known(cls: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values `cls` has fields for (a newer version's extra fields are dropped)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {name: value for name, value in values.items() if name in names}


def _tuples(value: Any) -> Any:
    """JSON gives lists; the model's sequences are tuples (hashable, as it built them)."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    """A field's value as JSON can hold it: maps as {"$map": [[key, value]...]} (their keys
    may be numbers), the dataclasses of `_KNOWN` as {"$dataclass": name, "fields": {...}}, the
    rest as it is (dates are tagged by `_tagged`; another object becomes its text)."""
    if isinstance(value, Mapping):
        return {"$map": [[_plain(k), _plain(v)] for k, v in value.items()]}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if type(value).__name__ not in _KNOWN:
            return str(value)
        return {"$dataclass": type(value).__name__,
                "fields": {f.name: _plain(getattr(value, f.name))
                           for f in dataclasses.fields(value)}}
    return value


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
    return [settings.due_date_type, settings.access_date, settings.due_date,
            settings.due_period_hours, settings.lock_after_due_date]


def _settings_from(stored: Sequence[Any]) -> DueSettings:
    due_type, access, due, period, lock = stored
    return DueSettings(DueDateType(due_type), access, due, period, lock)


# --- values JSON has no type for ----------------------------------------------------------------

# Written as {"$kind": text}: a cell is never a JSON object, so the two cannot be confused.
_FROM_TEXT: Mapping[str, Callable[[Any], object]] = {
    "$datetime": dt.datetime.fromisoformat,
    "$date": dt.date.fromisoformat,
    "$time": dt.time.fromisoformat,
    "$timedelta": lambda seconds: dt.timedelta(seconds=float(seconds)),
}


def _tagged(value: object) -> object:
    """JSON's `default`: a date, time or duration as a tagged object; anything else a reader
    may hand over is shown as its text."""
    if isinstance(value, dt.datetime):  # before date: a datetime is a date too
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, dt.time):
        return {"$time": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"$timedelta": value.total_seconds()}
    return str(value)


def _untagged(stored: dict[str, Any]) -> object:
    """JSON's `object_hook`: a tagged object back to its value (see `_tagged`, `_plain`);
    other objects as they are."""
    if "$dataclass" in stored and stored.get("$dataclass") in _KNOWN:
        cls = _KNOWN[stored["$dataclass"]]
        return cls(**_known(cls, {name: _tuples(value)
                                  for name, value in stored.get("fields", {}).items()}))
    if len(stored) == 1:
        [(kind, value)] = stored.items()
        if kind == "$map":
            return {_tuples(key): _tuples(item) for key, item in value}
        convert = _FROM_TEXT.get(kind)
        if convert is not None:
            return convert(value)
    return stored
