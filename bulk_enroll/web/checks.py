"""The "Check" step: an uploaded file, what the person chose for it, and its latest preview.

Every change (a cell edited, a sheet, a date order, a column mapping) checks the whole file
again with the library's `preview` (the same reading and validation as `validate`, the
lookups when there is an account, the journal and the server for "already enrolled"), so the
page never judges a row by rules of its own.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bulk_enroll.api import EnrollResult, Outline, RowOutcome, outline, preview, recognise
from bulk_enroll.errors import ApiError, AuthError, BulkEnrollError, InputFileError, InputRefused
from bulk_enroll.logs import log_internal_error, redact
from bulk_enroll.web.page import Page, private_folder

log = logging.getLogger(__name__)
AMBIGUOUS_DATE = "ambiguous date"  # the problem kind a date order settles
NEEDS_ATTENTION = ("invalid", "failed", "not_sent", "unknown")
TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
INTERNAL_ERROR = ("An unexpected error stopped the check (details in the log). This is not "
                  "a problem of your file; nothing was sent.")


@dataclass(frozen=True)
class Choices:
    """What the person chose for a file on the page."""

    sheet: str | None = None
    date_order: str | None = None
    due_date_type: str | None = None  # for rows without one (as --due-date-type)
    aliases: dict[str, str] = field(default_factory=dict)  # header -> field, the mapping
    edits: dict[tuple[int, str], str] = field(default_factory=dict)  # (row, header) -> text
    rows: frozenset[int] | None = None  # only these rows (fixing a run's rows)


@dataclass
class Check:
    id: str
    name: str  # the uploaded file's name
    source: Path
    folder: Path  # private: this check's workbooks
    choices: Choices = field(default_factory=Choices)
    parent_run: str | None = None  # fixing the rows of this run
    result: EnrollResult | None = None
    error: str | None = None  # why the file could not be checked (refused, no header...)
    refused: bool = False  # refused outright (a bomb, a disguised file): nothing to map
    # Whose the error is: "file" (its shape: the page asks), "account" (the lookups could not
    # be made: try again), "other" (the settings, or a bug: details in the log).
    error_source: str | None = None
    outline: Outline | None = None  # the file's first rows, when a mapping is needed
    originals: dict[tuple[int, str], object] = field(default_factory=dict)  # before edits
    sheets: tuple[str, ...] = ()  # a workbook's visible sheets (a choice when several)
    recognised: dict[str, str | None] = field(default_factory=dict)  # outline cell -> field
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    counter: int = 0
    runs_seen: int = -1  # the page's finished runs when this check was last made

    def run(self, page: Page) -> None:
        """Check the file again with the current choices (blocking: call it off the loop)."""
        with self.lock:
            self.counter += 1
            self.runs_seen = page.runs_finished
            choices = self.choices
            # The page shows the check itself; its report is written as CSV, which costs a
            # fraction of a workbook on a large file (the problems workbook is made on demand).
            report = self.folder / f"{Path(self.name).stem}-check-{self.counter}.csv"
            aliases = {**page.history.aliases(), **choices.aliases}
            try:
                result = preview(
                    self.source, report=report, report_format="csv", sheet=choices.sheet,
                    date_order=choices.date_order, due_date_type=choices.due_date_type,
                    aliases=aliases, edits=choices.edits, rows=choices.rows,
                    **page.api_options())
            except InputRefused as exc:
                self._failed(exc, refused=True)
                return
            except (ApiError, AuthError) as exc:  # the account, not the file: nothing to map
                self._failed(exc, refused=False, source="account")
                return
            except InputFileError as exc:
                self._failed(exc, refused=False)
                try:
                    self.outline = outline(self.source, sheet=choices.sheet, aliases=aliases,
                                           config=page.config)
                except BulkEnrollError:
                    self.outline = None
                else:
                    self.sheets = self.outline.sheets
                    texts = {text for _, row in self.outline.rows for text in row if text}
                    self.recognised = recognise(texts, aliases=aliases, config=page.config)
                return
            except BulkEnrollError as exc:  # the settings (a safety limit, the configuration)
                self._failed(exc, refused=False, source="other")
                return
            except Exception as exc:  # a bug or the machine: the page says so, the log has it
                log_internal_error(exc)
                self.result, self.error, self.refused = None, INTERNAL_ERROR, False
                self.error_source, self.outline = "other", None
                return
            self.result, self.error, self.refused, self.outline = result, None, False, None
            self.error_source = None
            if not self.sheets and self.source.suffix.lower() not in TEXT_SUFFIXES:
                try:
                    self.sheets = outline(self.source, config=page.config, max_rows=1).sheets
                except BulkEnrollError:
                    self.sheets = ()
            self._remember_originals(result)

    def stale(self, page: Page) -> bool:
        """A run ended since this check was made: what is already enrolled has changed (the
        page opened again with Back would offer to send what was just sent)."""
        return self.result is not None and self.runs_seen != page.runs_finished

    def problems_workbook(self, page: Page) -> Path | None:
        """A workbook of the rows with problems only (its Needs attention sheet is the list
        to fix in Excel and upload again): the same check, on those rows."""
        if self.result is None or not self.result.problems:
            return None
        with self.lock:
            choices = self.choices
            rows = {problem.row for problem in self.result.problems}
            report = self.folder / f"{Path(self.name).stem}-problems-{self.counter}.xlsx"
            if not report.is_file():
                preview(self.source, report=report, sheet=choices.sheet,
                        date_order=choices.date_order, due_date_type=choices.due_date_type,
                        aliases={**page.history.aliases(), **choices.aliases},
                        edits=choices.edits, rows=rows, **page.api_options())
        return report

    def _failed(self, error: BulkEnrollError, *, refused: bool, source: str = "file") -> None:
        self.result, self.error, self.refused = None, redact(str(error)), refused
        self.error_source, self.outline = source, None

    def _remember_originals(self, result: EnrollResult) -> None:
        """The first value seen of every cell the person edits ("was ...")."""
        if not self.choices.edits:
            return
        by_row = {outcome.row: outcome for outcome in result.outcomes()}
        for key in self.choices.edits:
            if key not in self.originals and key[0] in by_row:
                self.originals[key] = by_row[key[0]].values.get(key[1])

    def edit(self, row: int, column: str, value: str) -> None:
        """Record a corrected cell (the next `run` checks it)."""
        if self.result is not None and (row, column) not in self.originals:
            for outcome in self.result.outcomes():
                if outcome.row == row:
                    self.originals[(row, column)] = outcome.values.get(column)
        edits = {**self.choices.edits, (row, column): value}
        self.choices = dataclasses.replace(self.choices, edits=edits)

    def choose(self, **changes: object) -> None:
        """Another sheet or mapping changes which cells exist: edits are dropped with it."""
        drops_edits = any(name in changes for name in ("sheet", "aliases"))
        self.choices = dataclasses.replace(
            self.choices, **changes, **({"edits": {}} if drops_edits else {}))  # type: ignore[arg-type]
        if drops_edits:
            self.originals.clear()

    # ---- what the page shows ---------------------------------------------------------------

    def problem_rows(self) -> list[RowOutcome]:
        """Rows with problems, in file order (the editable view)."""
        if self.result is None:
            return []
        problem_rows = {problem.row for problem in self.result.problems}
        return [o for o in self.result.outcomes() if o.row in problem_rows]

    def problem_columns(self) -> list[str]:
        """The columns any problem is about, in the file's order (the editable columns)."""
        if self.result is None:
            return []
        named = {problem.column for problem in self.result.problems if problem.column}
        return [header for header in self.result.headers if header in named]

    def problems_by_cell(self) -> dict[tuple[int, str | None], list[str]]:
        cells: dict[tuple[int, str | None], list[str]] = {}
        for problem in self.result.problems if self.result else ():
            cells.setdefault((problem.row, problem.column), []).append(problem.message)
        return cells

    def problem_kinds(self) -> list[tuple[str, int]]:
        kinds = Counter(problem.kind or "lookup problem" for problem in
                        (self.result.problems if self.result else ()))
        return kinds.most_common()

    def needs_date_order(self) -> bool:
        return any(problem.kind == AMBIGUOUS_DATE
                   for problem in (self.result.problems if self.result else ()))

    def edited_rows(self) -> list[tuple[int, str, object, str, str]]:
        """(row, column, was, now, the row's status now) for every edited cell."""
        if self.result is None:
            return []
        status = {outcome.row: outcome.status for outcome in self.result.outcomes()}
        return [(row, column, self.originals.get((row, column)), value, status[row])
                for (row, column), value in sorted(self.choices.edits.items()) if row in status]


class Checks:
    """The checks of this launch, by ID (in memory: a check is about a file just uploaded)."""

    def __init__(self) -> None:
        self._checks: dict[str, Check] = {}
        self._lock = threading.Lock()

    def new(self, page: Page, name: str, source: Path, *, choices: Choices | None = None,
            parent_run: str | None = None) -> Check:
        check_id = secrets.token_urlsafe(9)
        folder = private_folder(page.upload_dir / "checks" / check_id)
        check = Check(check_id, name, source, folder, choices or Choices(), parent_run)
        with self._lock:
            self._checks[check_id] = check
        return check

    def get(self, check_id: str) -> Check | None:
        with self._lock:
            return self._checks.get(check_id)
