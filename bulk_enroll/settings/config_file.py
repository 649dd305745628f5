"""The TOML configuration file -> the same flat `BULK_ENROLL_*` names the environment uses.

One file holds the account, limits, journal folder, inbox, notification and logging settings of
a nightly import. It is translated into environment-style names so the existing loaders
(`config.load_account`, `config.load_run_settings`, ...) read both sources the same way, and
the environment wins: `effective_environ` merges the file under `os.environ`.

A key the tool does not know is an error naming the key and the file: a typo in a limit must
not silently fall back to the default. Secrets belong in files of their own
(`client_secret_file`, `password_file`) or in the environment; a literal secret is accepted
only when the configuration file itself is readable by its owner alone.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bulk_enroll.errors import ConfigError
from bulk_enroll.logs import register_secrets
from bulk_enroll.settings.environment import PREFIX
from bulk_enroll.settings.schema import SCHEMA, SECRET_NAMES, Kind

CONFIG_ENV = PREFIX + "CONFIG"


@dataclass(frozen=True)
class ConfigFile:
    """A parsed configuration file: its values under their `BULK_ENROLL_*` names."""

    path: Path
    values: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = field(default=(), repr=False)  # literal secrets, for redaction


def default_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """`$XDG_CONFIG_HOME/bulk-enroll/config.toml` (usually ~/.config/bulk-enroll/config.toml)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "bulk-enroll" / "config.toml"


def find_config_file(explicit: Path | None,
                     environ: Mapping[str, str] | None = None) -> Path | None:
    """--config, else BULK_ENROLL_CONFIG, else the default path if that file exists.

    A file named explicitly (option or variable) must exist; the default is optional.
    """
    env = os.environ if environ is None else environ
    named = explicit or (Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV, "").strip() else None)
    if named is not None:
        named = named.expanduser()
        if not named.is_file():
            source = "--config" if explicit else CONFIG_ENV
            raise ConfigError(f"the configuration file {named} ({source}) does not exist")
        return named
    default = default_config_path(env)
    return default if default.is_file() else None


def load_config_file(path: Path) -> ConfigFile:
    """Parse and check `path`; raise `ConfigError` naming the file and the key at fault."""
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the configuration file {path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"the configuration file {path} is not UTF-8 text (TOML files "
                          "must be); save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"cannot read the configuration file {path}: {exc.strerror}") from None
    values: dict[str, str] = {}
    secrets: list[str] = []
    for section, table in _sections(document, path).items():
        known = SCHEMA[section]
        for key, value in table.items():
            where = f"{key!r} in [{section}]" if section else f"{key!r} (top level)"
            if key not in known:
                raise ConfigError(f"{path}: unknown key {where}{_did_you_mean(key, known)}")
            name, kind = known[key]
            text = _as_text(value, kind, path, where)
            if kind == "path":
                text = str(_resolve_path(text, path))
            elif kind in ("secret", "secret-url"):
                if kind == "secret":
                    _check_private(path, where, name)
                secrets.append(text)
            values[PREFIX + name] = text
    return ConfigFile(path, values, tuple(secrets))


def effective_environ(file: ConfigFile | None,
                      environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The file's values overridden by the environment (an empty variable counts as unset)."""
    env = os.environ if environ is None else environ
    merged = dict(file.values) if file else {}
    merged.update({name: value for name, value in env.items() if value.strip()})
    return merged


@dataclass(frozen=True)
class Configuration:
    """The settings of one process or job: the configuration file (if any) under the
    environment. Read once with `read_configuration`, then handed to every loader."""

    file: ConfigFile | None
    environ: Mapping[str, str]


def read_configuration(explicit: Path | None = None,
                       environ: Mapping[str, str] | None = None) -> Configuration:
    """Find and read the configuration file (`explicit`, else BULK_ENROLL_CONFIG, else the
    default path), merge it under the environment, and mask its secrets (and those of the
    environment) in every log line from now on."""
    path = find_config_file(explicit, environ)
    file = load_config_file(path) if path else None
    merged = effective_environ(file, environ)
    register_secrets([*(file.secrets if file else ()),
                      *(merged.get(PREFIX + name) for name in SECRET_NAMES)])
    return Configuration(file, merged)


def known_names() -> list[str]:
    """Every `BULK_ENROLL_*` name a configuration file can set (for docs and tests)."""
    return [PREFIX + name for table in SCHEMA.values() for name, _ in table.values()]


def _sections(document: dict[str, object], path: Path) -> dict[str, dict[str, object]]:
    """Flatten [a] and [a.b] tables by dotted name; top-level values form the "" section."""
    found: dict[str, dict[str, object]] = {"": {}}

    def walk(prefix: str, table: Mapping[str, object]) -> None:
        for key, value in table.items():
            dotted = f"{prefix}.{key}" if prefix else key
            kind = SCHEMA.get(prefix, {}).get(key, ("", "text"))[1]
            if not isinstance(value, dict) or kind == "table":
                found[prefix][key] = value
            elif dotted in SCHEMA:
                found[dotted] = {}
                walk(dotted, value)
            else:
                raise ConfigError(
                    f"{path}: unknown section [{dotted}]{_did_you_mean(dotted, SCHEMA)}"
                )

    walk("", document)
    return found


def _as_text(value: object, kind: Kind, path: Path, where: str) -> str:
    """A TOML value as the text an environment variable would hold, checking its type."""
    expected = {"int": "a whole number", "number": "a number", "bool": "true or false",
                "list": "a list of text values (or one text value)"}.get(kind, "text in quotes")
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if (kind == "number" and isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value)):
        return str(value)
    if kind == "bool" and isinstance(value, bool):
        return "true" if value else "false"
    if kind == "list":
        items = [value] if isinstance(value, str) else value
        if isinstance(items, list) and all(isinstance(item, str) for item in items):
            return ", ".join(str(item).strip() for item in items)
    if kind == "table":
        expected = 'a table of text values ({"Header" = "field"})'
        if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
            return json.dumps({str(k): v.strip() for k, v in value.items()})
    if kind == "text-or-number":
        expected = "a number or text in quotes"
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
    if kind in ("text", "path", "secret", "secret-url", "text-or-number") and isinstance(
            value, str):
        return value.strip()
    raise ConfigError(f"{path}: {where} must be {expected}, not {value!r}")


def _resolve_path(text: str, config: Path) -> Path:
    """`~` expands; a relative path is relative to the configuration file's folder, so the
    file means the same thing whatever folder cron or systemd starts the tool in."""
    expanded = Path(text).expanduser()
    return expanded if expanded.is_absolute() else (config.parent / expanded).resolve()


def _check_private(path: Path, where: str, name: str) -> None:
    if os.name == "nt":  # no POSIX modes; NTFS permissions are the user's business
        return
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        own_file = {"CLIENT_SECRET": "a file of its own (client_secret_file)",
                    "SMTP_PASSWORD": "a file of its own (password_file)"}.get(name)
        elsewhere = f"{own_file} or the environment" if own_file else "the environment"
        raise ConfigError(
            f"{path}: {where} is a secret in a file other users can read; move it to "
            f"{elsewhere} ({PREFIX}{name}), or run: chmod 600 {path}"
        )


def _did_you_mean(key: str, known: Mapping[str, object]) -> str:
    close = difflib.get_close_matches(key, [k for k in known if k], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
