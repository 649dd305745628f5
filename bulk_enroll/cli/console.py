"""What the commands print: summaries of a job, the first problems, the one-line error.

Pure presentation of library results; nothing here decides an outcome or an exit code.
"""

from __future__ import annotations

import shlex
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

import click

from bulk_enroll.errors import ExitStatus
from bulk_enroll.jobs import JobResult, rebuild_hint
from bulk_enroll.logs import escape_controls, log_file, redact
from bulk_enroll.model import RowIssue, SourceRef, Status, count
from bulk_enroll.plan.summary import describe_plan
from bulk_enroll.resolve.rows import LMS_KINDS
from bulk_enroll.results import held_back_count, status_counts

MAX_PROBLEMS_SHOWN = 10
MAX_ROWS_LISTED = 10
Item = TypeVar("Item")
# A problem to print: where (file, sheet, row), the column as written (or None), what.
Problem = tuple[SourceRef, str | None, str]


def echo(line: str, *, err: bool = False) -> None:
    """Print one line. File names and values in it come from outside (an inbox file named
    `x<newline>Error: ...`, a cell holding a terminal escape): their control characters are
    written as `\\n`, `\\x1b`..., as in the log, so they cannot forge a line or drive the
    terminal."""
    click.echo(escape_controls(line), err=err)


def print_first(heading: str, items: Sequence[Item], describe: Callable[[Item], str]) -> None:
    """The heading, the first few items, and how many more the report holds."""
    if not items:
        return
    echo(heading)
    for item in items[:MAX_PROBLEMS_SHOWN]:
        echo(f"  {describe(item)}")
    if len(items) > MAX_PROBLEMS_SHOWN:
        echo(f"  ... and {len(items) - MAX_PROBLEMS_SHOWN} more in the report.")


def print_run(result: JobResult, *, retry: str | None = None, sandbox: bool = False,
              show_traceback: bool = False) -> None:
    """`run`: the counts by status, the calls made, the first problems and the next step
    (`retry`: the command that runs the report again, as the user can paste it; `sandbox`: a
    run whose journal is thrown away, so its run ID is not worth printing)."""
    data, stats = result.data, result.data.stats
    echo(f"{data.facts.input_file}: {count(len(data.rows), 'row')}" + (
        f": {_breakdown(result)}." if data.rows else ": the file has a header but no data rows."))
    echo(
        f"{count(len(data.planned), 'call')} planned, {count(stats.api_calls, 'API call')} "
        f"made ({count(stats.retries, 'retry')}, "
        f"{count(stats.isolation_calls, 'isolation call')})."
    )
    lookups = stats.extra.get("lookup_calls", 0)
    if lookups:
        echo(f"{count(lookups, 'lookup call')} to check people and courses.")
    if stats.learned_rate is not None or stats.rate_limited:
        learned = stats.learned_rate
        limit = f"~{learned:.3g} calls/s" if learned is not None else "not learned"
        echo(f"Server rate limit: {limit}; {stats.rate_wait_s:.1f} s waited on it, "
                   f"{count(stats.rate_limited, '429 answer')} (sent again, no retry spent).")
    dry_run = result.data.facts.dry_run
    unsettled = [] if dry_run else [  # rows the sheet hides are left out on purpose
        (row.source, None, f"{outcome.status.value}: {outcome.message}")
        for row, outcome in zip(result.data.rows, result.data.results, strict=True)
        if outcome.status in (Status.FAILED, Status.UNKNOWN, Status.NOT_SENT)
        and not outcome.held_back
    ]
    refused = [item for item in unsettled if item[2].startswith(Status.FAILED.value)]
    _print_issues(result, refused=refused)
    waiting = [item for item in unsettled if item not in refused]
    print_grouped(f"{count(len(waiting), 'row')} not enrolled:", waiting, data.origin_rows)
    if dry_run:
        _print_plan(result)
        _print_not_planned(result)
    print_reading(result)
    error = result.report_error
    if error is not None and not result.report_written:
        echo(f"Error: {error[0].upper()}{error[1:]}.", err=True)
        echo(f"Nothing is lost: {rebuild_hint(result.run_id)}.", err=True)
        print_internal_error("the report could not be written", show_traceback=show_traceback)
        return
    if result.run_id is not None and not sandbox:  # a sandbox's journal is thrown away
        echo(f"Run ID: {result.run_id} (`bulk-enroll report {result.run_id}` writes its "
                   "report again)")
    echo(f"Report: {result.report_path}")
    if error is not None:  # the report is there; the JSON summary is not
        echo(f"Error: {error[0].upper()}{error[1:]}.", err=True)
        print_internal_error("the JSON summary could not be written (the report was)",
                             show_traceback=show_traceback)
        return
    if result.exit_status is ExitStatus.INTERNAL:
        print_internal_error("the send stopped on an unexpected error (the report shows the rows "
                             "it left unknown or not sent; the next run settles them)",
                             show_traceback=show_traceback)
        return
    _print_next_step(result, retry or f"bulk-enroll run {shlex.quote(str(result.report_path))}")


def print_plan(result: JobResult) -> None:
    """`plan`: the rows, the calls per settings group and the first problems."""
    invalid = sum(1 for row in result.data.rows if row.issues)
    echo(
        f"{result.summary['input']}: {count(len(result.data.rows), 'row')}"
        + (f", {invalid:,} invalid (not planned)." if invalid else ".")
    )
    _print_plan(result)
    _print_not_planned(result)
    _print_issues(result)
    print_reading(result)
    echo(f"Report: {result.report_path}")


def print_validation(result: JobResult) -> None:
    """`validate`: rows, valid pairs, calls, warnings and the problems by kind."""
    data = result.data
    valid_rows = [row for row in data.rows if not row.issues]
    pairs = sum(len(row.pairs) for row in valid_rows)
    unique = len({pair for row in valid_rows for pair in row.pairs})
    echo(f"{data.facts.input_file}: {count(len(data.rows), 'row')} "
         f"({_breakdown(result) or 'none'}).")
    echo(
        f"{count(pairs, 'valid pair')} ({unique:,} distinct), "
        f"{count(len(data.planned), 'call')} would be needed."
    )
    for note in result.notes:
        echo(f"Note: {note}")
    warned = [row for row in data.rows if row.notes]
    if warned:
        first = warned[0]
        echo(
            f"{count(len(warned), 'row')} with warnings (see the report's Message column), e.g. "
            f"{first.source.describe()}: {first.notes[0]}"
        )
    if result.issues:
        kinds = Counter(issue.kind or "other" for issue in result.issues)
        listed = ", ".join(f"{n} {kind}" for kind, n in kinds.most_common())
        print_grouped(f"{count(len(result.issues), 'problem')}: {listed}.",
                      _problems(result.issues), data.origin_rows)
    else:
        echo("No problems found.")
    print_reading(result)
    echo(f"Report: {result.report_path}")


def print_reading(result: JobResult) -> None:
    """How the file was read: the columns used, the rows its sheet hides."""
    facts = result.data.facts
    if facts.columns:
        echo(f"Columns used: {facts.columns}.")
    hidden = held_back_count(result.data.results)
    if hidden:
        echo(f"{count(hidden, 'row')} hidden in the sheet (by hand or by a filter) "
                   f"{'was' if hidden == 1 else 'were'} not sent; --include-hidden-rows sends "
                   "them.")


def print_error(error: BaseException, status: ExitStatus, *, show_traceback: bool) -> None:
    """The one line a failed command leaves on stderr (secrets masked), after the traceback
    when asked for. An internal error's traceback was logged (`logs.log_internal_error`)."""
    if status is ExitStatus.INTERNAL:
        print_internal_error(f"{type(error).__name__}: {error}", show_traceback=show_traceback)
        return
    if show_traceback:
        click.echo(redact("".join(traceback.format_exception(error))), err=True, nl=False)
    echo(f"Error: {redact(_describe(error))}", err=True)


def print_internal_error(what: str, *, show_traceback: bool) -> None:
    """Says an unexpected error happened, that it is not the user's file, and where to look."""
    where = log_file()
    if show_traceback:
        details = "the traceback is above"
    elif where is not None:
        details = f"the details are in {where}"
    else:
        details = "run again with --traceback (or --log-file FILE) to see the details"
    echo(redact(f"Internal error: {what}. This is a bug in bulk-enroll or a problem of "
                      f"this machine (such as a full disk), not of your file; {details}."),
               err=True)


def _describe(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}: {error.filename or ''}".rstrip(": ")
    return str(error) or type(error).__name__


def _breakdown(result: JobResult) -> str:
    counts = status_counts(result.data.results)
    return ", ".join(f"{n:,} {status}" for status, n in counts.items() if n)


def _print_issues(result: JobResult, refused: Sequence[Problem] = ()) -> None:
    """The problems to fix in the file, then those to fix in the LMS (people who cannot be
    enrolled, rows the API refused): the file is right there, somebody must act in the LMS."""
    in_lms = [issue for issue in result.issues if issue.kind in LMS_KINDS]
    in_file = [issue for issue in result.issues if issue.kind not in LMS_KINDS]
    origin = result.data.origin_rows
    print_grouped(f"{count(len(in_file), 'problem')} in the file:", _problems(in_file), origin)
    lms = [*_problems(in_lms), *refused]
    print_grouped(f"{count(len(lms), 'row')} to fix in the LMS (the file is right; the account "
                  "is not):", lms, origin)


def _problems(issues: Iterable[RowIssue]) -> list[Problem]:
    return [(issue.source, issue.column, issue.message) for issue in issues]


def print_grouped(heading: str, problems: Sequence[Problem],
                  origin: Mapping[int, int] | None = None) -> None:
    """The heading and the first few problems, the same problem on several rows once:
    "hr.csv, column 'Email': the user ... is inactive ...: 4 rows (3, 7, 8, 12)". `origin`: a
    report fed back, whose rows say their number in the file first run too."""
    groups: dict[tuple[str, str | None, str | None, str], list[int]] = {}
    for source, column, message in problems:
        groups.setdefault((source.file, source.sheet, column, message), []).append(source.row)

    def row(number: int) -> str:
        first = (origin or {}).get(number)
        return f"{number} (input row {first})" if first is not None else str(number)

    lines = []
    for (file, sheet, column, message), rows in groups.items():
        where = f"{file}{f', sheet {sheet!r}' if sheet else ''}"
        col = f", column {column!r}" if column else ""
        if len(rows) == 1:
            lines.append(f"{where}, row {row(rows[0])}{col}: {message}")
            continue
        shown = ", ".join(map(row, rows[:MAX_ROWS_LISTED]))
        more = f" and {len(rows) - MAX_ROWS_LISTED:,} more" if len(rows) > MAX_ROWS_LISTED else ""
        lines.append(f"{where}{col}: {message}: {len(rows):,} rows ({shown}{more})")
    print_first(heading, lines, str)


def _print_plan(result: JobResult) -> None:
    if result.plan is not None:
        for line in describe_plan(result.plan):
            echo(line)


def _print_not_planned(result: JobResult) -> None:
    """Valid rows a dry run could not plan, and why: their names were not looked up (no
    account) or the lookup failed. Without this, "Plan: nothing to enroll." would be all."""
    left_out = [
        (row.source, None, outcome.message)
        for row, outcome in zip(result.data.rows, result.data.results, strict=True)
        if outcome.status is Status.NOT_SENT and not outcome.batch_ids and not row.issues
        and not outcome.held_back
    ]
    print_grouped(f"{count(len(left_out), 'row')} not planned:", left_out,
                  result.data.origin_rows)


def _print_next_step(result: JobResult, again: str) -> None:
    """What to do with the report's Needs attention sheet, when there is something to do."""
    counts = status_counts(result.data.results)
    to_fix = counts[Status.INVALID.value] + counts[Status.FAILED.value]
    to_send = (counts[Status.NOT_SENT.value] + counts[Status.UNKNOWN.value]
               - held_back_count(result.data.results))
    if result.data.facts.dry_run or result.report_path.suffix.lower() != ".xlsx":
        return
    if to_fix:
        echo(f"To retry: fix the {count(to_fix, 'row')} marked invalid or failed on its "
                   f"'Needs attention' sheet, save it, and run: {again}")
    elif to_send:
        echo(f"{count(to_send, 'row')} {'was' if to_send == 1 else 'were'} not confirmed "
                   f"(see the report); when the cause is dealt with, run: {again}")
