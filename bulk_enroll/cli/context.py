"""What the group leaves for its commands: the configuration, read once per invocation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from bulk_enroll.settings.config_file import ConfigFile, Configuration, read_configuration


def remember_configuration(ctx: click.Context, config_path: Path | None) -> Configuration:
    """Read the configuration (file and environment) once, for every command of this
    invocation; raises `ConfigError` for a broken file (see `defer_error`)."""
    obj = _state(ctx)
    obj["config_path"] = config_path
    obj["configuration"] = read_configuration(config_path)
    configuration: Configuration = obj["configuration"]
    return configuration


def defer_error(ctx: click.Context, error: Exception) -> None:
    """Keep a configuration error for the first command that reads the settings, so that a
    broken file does not break --help or `sandbox`."""
    _state(ctx)["config_error"] = error


def configured_environ() -> dict[str, str]:
    """The configuration file's settings overridden by the environment."""
    return dict(_configuration().environ)


def config_option() -> list[str]:
    """`--config PATH` when the command line named the configuration file (to repeat it in a
    command printed for later), else nothing."""
    path = _state(click.get_current_context()).get("config_path")
    return ["--config", str(path)] if path is not None else []


def configuration_file() -> ConfigFile | None:
    return _configuration().file


def traceback_wanted() -> bool:
    """--traceback was given (before the command)."""
    return bool(click.get_current_context().find_root().params.get("traceback"))


def _configuration() -> Configuration:
    obj = _state(click.get_current_context())
    if obj.get("config_error") is not None:
        raise obj["config_error"]
    if "configuration" not in obj:  # a command invoked without the group's callback
        obj["configuration"] = read_configuration(obj.get("config_path"))
    configuration: Configuration = obj["configuration"]
    return configuration


def _state(ctx: click.Context) -> dict[str, Any]:
    root = ctx.find_root()
    if root.obj is None:
        root.obj = {}
    state: dict[str, Any] = root.obj
    return state
