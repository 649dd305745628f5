"""Typed exceptions of the library and the one exit-code policy every command and the inbox use.

Row problems are never exceptions (they are `RowIssue` data); these are for the run as a whole.
`exit_status_for` maps an exception that ended a run to its code, `run_exit_status` maps a
finished file, and `worst_exit_status` combines several (the inbox's files); the CLI only prints.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

from bulk_enroll.model import SETTLED_WELL, Status


class ExitStatus(IntEnum):
    """Process exit codes, as documented for schedulers and monitoring (README: Exit codes)."""

    OK = 0  # every row settled well (enrolled, already enrolled, duplicate)
    ROWS_NEED_ATTENTION = 1  # some rows invalid, failed, unknown or not sent
    USAGE = 2  # usage or configuration error; nothing sent
    SAFETY_STOP = 3  # stopped by a safety limit or a lock; nothing sent
    INTERNAL = 4  # an unexpected error (a bug, a full disk); details in the log
    INTERRUPTED = 130  # Ctrl-C (SIGINT): stopped; the report says what was done
    TERMINATED = 143  # SIGTERM (a scheduler, a shutdown): stopped; the report says what was done

    @property
    def meaning(self) -> str:
        """One line for people (help text, notifications); the README's table says more."""
        return _MEANINGS[self]


def exit_codes_legend() -> str:
    """Every code and its meaning in one line, for help texts and notifications."""
    return "Exit codes: " + "; ".join(f"{int(s)} {s.meaning}" for s in ExitStatus) + "."


_MEANINGS = {
    ExitStatus.OK: "all rows settled well",
    ExitStatus.ROWS_NEED_ATTENTION: "some rows need attention (see the report)",
    ExitStatus.USAGE: "usage or configuration error, nothing sent",
    ExitStatus.SAFETY_STOP: "stopped by a safety limit or a lock, nothing sent",
    ExitStatus.INTERNAL: "internal error (a bug, a full disk; see the log)",
    ExitStatus.INTERRUPTED: "interrupted (Ctrl-C)",
    ExitStatus.TERMINATED: "stopped by SIGTERM (a scheduler or a shutdown)",
}


class BulkEnrollError(Exception):
    """Base of every error a user can cause or fix; the CLI shows its message, no traceback."""


class InputFileError(BulkEnrollError):
    """The input file cannot be read at all (missing, wrong format, no usable header)."""


class InputRefused(InputFileError):
    """The input file was refused before parsing: too large, a zip bomb, XML entities, encrypted,
    or not what its extension says. Exit code 2 like any unreadable file."""


class ConfigError(BulkEnrollError):
    """The configuration is missing or contradictory; nothing was sent."""


class AuthError(BulkEnrollError):
    """The account refused the credentials (bad client ID/secret or token)."""


class SafetyStop(BulkEnrollError):
    """A safety limit or a lock stopped the run before anything was sent."""


class Interrupted(BulkEnrollError):
    """A stop was asked (Ctrl-C, SIGTERM, a cancel) while the run was reading from the account
    (looking names up, settling an earlier run's calls); nothing was sent. The message is the
    reason, e.g. "interrupted by SIGTERM"."""


class ApiError(BulkEnrollError):
    """The API answered a lookup (users, courses, enrollments) with an error, or not at all.

    Lookups come before any enrollment, so when one fails nothing has been sent.
    """


# A path the user named that cannot be opened is the user's to fix; other OS errors (a full
# disk, an I/O error) are the machine's.
_USER_OS_ERRORS = FileNotFoundError | PermissionError | IsADirectoryError | NotADirectoryError


def exit_status_for(error: BaseException) -> ExitStatus:
    """The exit code of a run that ended with `error` instead of a report."""
    if isinstance(error, KeyboardInterrupt | Interrupted):
        return ExitStatus.INTERRUPTED
    if isinstance(error, SafetyStop):
        return ExitStatus.SAFETY_STOP
    if isinstance(error, InputFileError | ConfigError | AuthError | _USER_OS_ERRORS):
        return ExitStatus.USAGE
    if isinstance(error, ApiError):  # the account's API failed a lookup: nothing was sent
        return ExitStatus.ROWS_NEED_ATTENTION
    return ExitStatus.INTERNAL  # a bug, or the machine (a full disk): never "rows need attention"


def signal_exit_status(signal_name: str) -> ExitStatus:
    """The code of a run that a signal stopped (after writing its report): 130 for Ctrl-C
    (SIGINT), 143 (128 + 15, as a shell reports it) for SIGTERM and any other."""
    return ExitStatus.INTERRUPTED if signal_name == "SIGINT" else ExitStatus.TERMINATED


def run_exit_status(statuses: Iterable[Status], *, dry_run: bool = False,
                    lookup_failed: bool = False, stopped_by_limit: bool = False,
                    internal_error: bool = False, no_rows: bool = False,
                    stopped_by_signal: str | None = None) -> ExitStatus:
    """The exit code of one file that was read and reported; `statuses` are those of the rows
    the file asks for (rows hidden in the sheet are left out on purpose and not counted).

    An unexpected error that stopped its send (the report is still written): 4. A signal
    (`stopped_by_signal`, e.g. "SIGTERM") that left rows unsent: 130 or 143 (see
    `signal_exit_status`), so a scheduler can tell "stopped" from "rows need attention"; one
    that came when nothing was left to do changes nothing. A safety limit that stopped it: 3.
    A header without data rows (an export gone wrong): 1. A dry run (and `validate`) judges the
    file: 0 when no row is invalid and the names could be looked up. A live run judges the
    outcome: 0 when every row settled well; with --strict and invalid rows nothing is sent, so
    the valid rows are `not_sent` and the run exits 1 like any run that leaves rows to deal with.
    """
    statuses = tuple(statuses)
    if internal_error:
        return ExitStatus.INTERNAL
    if stopped_by_signal is not None and Status.NOT_SENT in statuses:
        return signal_exit_status(stopped_by_signal)
    if stopped_by_limit:
        return ExitStatus.SAFETY_STOP
    if no_rows:
        return ExitStatus.ROWS_NEED_ATTENTION
    if dry_run:
        clean = not lookup_failed and all(status is not Status.INVALID for status in statuses)
    else:
        clean = all(status in SETTLED_WELL for status in statuses)
    return ExitStatus.OK if clean else ExitStatus.ROWS_NEED_ATTENTION


def worst_exit_status(statuses: Iterable[int]) -> ExitStatus:
    """The code of several outcomes (the inbox's files): the most serious, 0 when none."""
    return ExitStatus(max(statuses, default=ExitStatus.OK))
