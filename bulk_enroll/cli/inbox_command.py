"""`bulk-enroll inbox [DIR]`: the nightly import of every file dropped into a folder."""

from __future__ import annotations

from pathlib import Path

import click

from bulk_enroll.cli.context import configured_environ
from bulk_enroll.inbox.job import inbox_job


@click.command("inbox")
@click.argument("directory", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--archive",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where processed files go, under processed/, failed/ and duplicates/ by date "
    "[default: [inbox] archive_dir, else DIRECTORY/archive].",
)
@click.option(
    "--reports",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where each file's report goes [default: [inbox] reports_dir, else DIRECTORY/reports].",
)
@click.option(
    "--force",
    is_flag=True,
    help="Send files even when they exceed a safety limit (after you have checked them).",
)
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    help="Folder of the journal, the processed-files ledger and the lock "
    "[default: BULK_ENROLL_STATE_DIR or ~/.local/state/bulk-enroll].",
)
@click.option(
    "--respect-removals/--resend-removals",
    default=None,
    help="Leave out (not_sent) enrollments an earlier run made that were removed in the LMS "
    "since, instead of enrolling them again [default: respect_removals in the "
    "configuration, else resend].",
)
@click.option(
    "--new-journal",
    is_flag=True,
    help="If the journal or the processed-files ledger exists but cannot be read, move it "
    "aside and start a new one; readable ones are kept.",
)
def inbox_command(directory: Path | None, archive: Path | None, reports: Path | None,
                  force: bool, state_dir: Path | None, respect_removals: bool | None,
                  new_journal: bool) -> int:
    """Process every spreadsheet dropped into DIRECTORY once, oldest first (for schedulers).

    Files still being written are left for the next run; each processed file is moved to the
    archive and gets a report; a file with the same content as one processed before is not
    applied again. Only one inbox run at a time (exit 3 otherwise). Safety limits stop a file
    before anything is sent (exit 3) unless --force. Exit code: the worst over the files (0 ok,
    1 rows need attention, 2 configuration, 3 safety limit or lock, 4 internal error).

    \b
    Example: bulk-enroll --config /etc/bulk-enroll/config.toml inbox /srv/hr-drop
    """
    result = inbox_job(configured_environ(), inbox=directory, archive=archive, reports=reports,
                       state_dir=state_dir, force=force, interactive=True,
                       new_journal=new_journal, respect_removals=respect_removals)
    return int(result.exit_code)
