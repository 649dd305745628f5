"""`bulk-enroll template OUT.xlsx`: the Excel template HR fills in."""

from __future__ import annotations

from pathlib import Path

import click

from bulk_enroll.errors import ExitStatus


@click.command("template")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace OUT if it exists.")
def template_command(out: Path, force: bool) -> int:
    """Write an Excel template (OUT.xlsx) for HR to fill in.

    It has the canonical headers, dropdowns for the due date type and the lock flag, date and
    text formats, and an Instructions sheet; `run` and `validate` read it back as it is.

    Example: bulk-enroll template enrollments.xlsx
    """
    from bulk_enroll.read.template import write_template

    if out.suffix.lower() not in (".xlsx", ".xlsm"):
        raise click.BadParameter(f"{out.name}: the template is an Excel workbook; name it .xlsx")
    if out.exists() and not force:
        raise click.BadParameter(f"{out} exists; pass --force to replace it")
    write_template(out)
    click.echo(f"Template written: {out}")
    click.echo(f"Fill in the Enrollments sheet, then check it: bulk-enroll validate {out}")
    return int(ExitStatus.OK)
