"""`bulk-enroll report [RUN_ID]`: write a run's report again from what the journal kept."""

from __future__ import annotations

from pathlib import Path

import click

from bulk_enroll.cli.console import echo
from bulk_enroll.cli.context import configured_environ
from bulk_enroll.cli.options import chosen_report_format
from bulk_enroll.errors import ExitStatus
from bulk_enroll.jobs import JOURNAL_NAME, report_job
from bulk_enroll.run_records import list_runs
from bulk_enroll.settings.config import load_run_settings


@click.command("report")
@click.argument("run_id", required=False)
@click.option("--report", "report_path", type=click.Path(path_type=Path),
              help="Where to write it [default: where the run meant to write it, else "
              "reports/<file>-results-<run's start>.xlsx].")
@click.option("--report-format", type=click.Choice(["xlsx", "csv"]),
              help="A workbook, or the Results rows as CSV [default: from --report's "
              "extension, else xlsx].")
@click.option("--summary-json", type=click.Path(path_type=Path),
              help="Also write the run's JSON summary here.")
@click.option("--state-dir", type=click.Path(path_type=Path),
              help="Folder of the journal the run used [default: BULK_ENROLL_STATE_DIR or "
              "~/.local/state/bulk-enroll].")
def report_command(run_id: str | None, report_path: Path | None, report_format: str | None,
                   summary_json: Path | None, state_dir: Path | None) -> int:
    """Write the report of run RUN_ID again, from the journal (nothing is sent).

    Every live run keeps its rows and their results in the journal before writing its report,
    under the run ID it prints at the end (a unique beginning of it is enough). When a report
    could not be written (a full disk), this writes it once the cause is fixed. Without
    RUN_ID, lists the latest runs the journal keeps.

    Example: bulk-enroll report 20270105T090000-a1b2c3
    """
    state = state_dir or load_run_settings(configured_environ()).state_dir
    if run_id is None:
        runs = list_runs(state / JOURNAL_NAME)
        if not runs:
            echo(f"The journal in {state} keeps no runs.")
            return int(ExitStatus.OK)
        echo(f"Runs the journal in {state} keeps (newest first):")
        for run in runs:
            echo(f"  {run.run_id}  {run.started_at}  {run.input}: {run.verdict}")
        echo("Write one's report again with: bulk-enroll report RUN_ID")
        return int(ExitStatus.OK)
    rebuilt = report_job(run_id, state, report_path=report_path,
                         report_format=chosen_report_format(report_format, report_path),
                         summary_json=summary_json)
    what = f"run {rebuilt.run.run_id} ({rebuilt.run.input}, {rebuilt.run.started_at})"
    if rebuilt.error is not None:
        echo(f"Error: {rebuilt.error}; the journal still keeps {what}.", err=True)
        return int(ExitStatus.INTERNAL)
    echo(f"Report of {what}: {rebuilt.data.verdict()}.")
    echo(f"Report: {rebuilt.report_path}")
    return int(ExitStatus.OK)
