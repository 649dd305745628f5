"""The command line: click commands and console output only."""

from bulk_enroll.cli.main import main

__all__ = ["main"]
