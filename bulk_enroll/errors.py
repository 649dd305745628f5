"""Typed exceptions of the library; `cli.py` alone turns them into messages and exit codes.

Row problems are never exceptions (they are `RowIssue` data); these are for the run as a whole.
"""

from __future__ import annotations


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


class ApiError(BulkEnrollError):
    """The API answered a lookup (users, courses, enrollments) with an error, or not at all.

    Lookups come before any enrollment, so when one fails nothing has been sent.
    """
