"""The command line: click commands and console output only (`app` holds the group and
`main`, the one error boundary; one module per command)."""

from bulk_enroll.cli.app import main

__all__ = ["main"]
