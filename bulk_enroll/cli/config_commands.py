"""`bulk-enroll config check`: is this configuration ready for a scheduler? Enrolls nobody."""

from __future__ import annotations

import click

from bulk_enroll.cli.context import configuration_file, configured_environ
from bulk_enroll.errors import ExitStatus
from bulk_enroll.model import count


@click.group("config")
def config_group() -> None:
    """Check the configuration (TOML file and environment) before a scheduler relies on it.

    Example: bulk-enroll --config /etc/bulk-enroll/config.toml config check
    """


@config_group.command("check")
@click.option("--offline", is_flag=True, help="Check the settings only; do not contact the LMS.")
@click.option(
    "--test-notifications",
    is_flag=True,
    help="Also send a test notification to the configured webhook and e-mail.",
)
def config_check_command(offline: bool, test_notifications: bool) -> int:
    """Validate the configuration and test the connection; enrolls nobody.

    Loads the file and the environment as a run would, fetches a token (and, with the REST
    transport, makes one cheap read call). Exit 0 when everything is usable, 2 otherwise.

    \b
    Example: bulk-enroll --config ~/.config/bulk-enroll/config.toml config check
    """
    from bulk_enroll.config_check import check_configuration, send_test_notification

    environ = configured_environ()
    checks = check_configuration(configuration_file(), environ, test_connection=not offline)
    for check in checks:
        click.echo(check.line())
    failed = sum(1 for c in checks if c.verdict == "fail")
    if test_notifications and not failed:
        check = send_test_notification(environ)
        click.echo(check.line())
        failed += check.verdict == "fail"
    if failed:
        click.echo(f"{count(failed, 'problem')}: fix them before a scheduler runs bulk-enroll.")
        return int(ExitStatus.USAGE)
    click.echo("Configuration OK (nobody was enrolled).")
    return int(ExitStatus.OK)
