"""Log lines: redaction of secrets, JSON lines, rotation, where lines go."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bulk_enroll import logs
from bulk_enroll.errors import ConfigError
from bulk_enroll.logs import LogSettings, redact, setup_logging
from bulk_enroll.settings.log_settings import load_log_settings


@pytest.fixture(autouse=True)
def fresh_redactor():
    redact.clear()
    yield
    redact.clear()
    setup_logging(0, LogSettings())  # leave the standard stderr handler behind


@pytest.mark.parametrize("text,expected", [
    ("Authorization: Bearer eyJhbGciOi.abc-def_1", "Authorization: Bearer ***"),
    ("POST client_id=x&client_secret=hunter22&grant_type=y",
     "POST client_id=x&client_secret=***&grant_type=y"),
    ('{"access_token": "abc123", "expires_in": 1800}',
     '{"access_token": "***", "expires_in": 1800}'),
    ("BULK_ENROLL_TOKEN=abcdef used", "BULK_ENROLL_TOKEN=*** used"),
    ("<soap:token>tok-123</soap:token>", "<soap:token>***</soap:token>"),
    ("password: p@ss", "password: ***"),
    ("3 token renewals, 2 retries", "3 token renewals, 2 retries"),
])
def test_secret_looking_values_are_masked(text, expected):
    assert redact(text) == expected


def test_known_secrets_are_masked_in_messages_arguments_and_tracebacks():
    logs.register_secrets(["the-client-secret", None, "abc"])  # too short to mask words
    stream = io.StringIO()
    setup_logging(1, LogSettings(), stream=stream)
    log = logging.getLogger("bulk_enroll.test")
    log.warning("secret is %s", "the-client-secret")
    try:
        raise RuntimeError("boom with the-client-secret inside")
    except RuntimeError:
        log.exception("failed")
    log.warning("abc stays readable")
    text = stream.getvalue()
    assert "the-client-secret" not in text
    assert "WARNING secret is ***" in text and "RuntimeError: boom with *** inside" in text
    assert "abc stays readable" in text  # values this short are not treated as secrets


FORGING_NAMES = [
    "hires.csv\nERROR inbox /srv/hr-inbox: 0 files; exit 0",
    "hires.csv\r\nINFO forged",
    "hires\x1b[2K\x1b[1Gcsv",  # terminal control: erase the line
    "hires\u2028INFO forged.csv",  # a line break to str.splitlines and some viewers
    "hires\x85INFO forged.csv",  # NEL, a C1 control
]


@pytest.mark.parametrize("name", FORGING_NAMES)
def test_a_file_name_cannot_forge_a_human_log_line(name, tmp_path):
    stream = io.StringIO()
    setup_logging(0, LogSettings(file=tmp_path / "run.log"), stream=stream)
    logging.getLogger("bulk_enroll.inbox.runner").warning("%s: ignored", name)
    for text in (stream.getvalue(), (tmp_path / "run.log").read_text(encoding="utf-8")):
        [line] = text.splitlines()  # one record, one line, for every reader
        assert "\x1b" not in line and line.endswith(": ignored")
    assert stream.getvalue() == f"WARNING {logs.escape_controls(name)}: ignored\n"
    assert logs.escape_controls("a\nb\tc\x1bd\u2028e") == "a\\nb\\tc\\x1bd\\u2028e"


@pytest.mark.parametrize("name", FORGING_NAMES)
def test_a_file_name_cannot_forge_a_json_log_line_and_reads_back_exactly(name):
    stream = io.StringIO()
    setup_logging(0, LogSettings(format="json"), stream=stream)
    logging.getLogger("bulk_enroll.inbox.runner").warning(
        "%s: ignored", name, extra={"fields": {"event": "ignored", "file": name}})
    [line] = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["file"] == name and entry["message"] == f"{name}: ignored"


def test_json_lines_carry_run_id_and_fields():
    stream = io.StringIO()
    setup_logging(0, LogSettings(format="json"), stream=stream)
    logging.getLogger("bulk_enroll.inbox.runner").info(
        "a.csv: processed", extra={"fields": {"event": "file", "file": "a.csv", "rows": 3,
                                              "note": "Bearer xyz"}})
    entry = json.loads(stream.getvalue())
    assert entry["run_id"] == logs.run_id() and entry["level"] == "info"
    assert entry["message"] == "a.csv: processed" and entry["logger"] == "bulk_enroll.inbox.runner"
    assert (entry["event"], entry["file"], entry["rows"]) == ("file", "a.csv", 3)
    assert entry["note"] == "Bearer ***"


def test_with_a_log_file_stderr_gets_only_warnings_and_the_file_rotates(tmp_path):
    stream = io.StringIO()
    path = tmp_path / "logs" / "run.log"
    setup_logging(0, LogSettings(file=path, max_bytes=2048, backups=2), stream=stream)
    log = logging.getLogger("bulk_enroll.inbox.runner")
    for number in range(100):
        log.info("line %03d %s", number, "x" * 40)
    log.warning("look at this")
    assert stream.getvalue() == "WARNING look at this\n"
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["run.log", "run.log.1", "run.log.2"]  # rotated, two backups kept
    assert f"[{logs.run_id()}] look at this" in path.read_text()


def test_log_settings_from_options_and_environment(tmp_path):
    env = {"BULK_ENROLL_LOG_FORMAT": "json", "BULK_ENROLL_LOG_FILE": str(tmp_path / "a.log"),
           "BULK_ENROLL_LOG_LEVEL": "debug", "BULK_ENROLL_LOG_BACKUPS": "3"}
    settings = load_log_settings(env)
    assert (settings.format, settings.file, settings.level, settings.backups) == (
        "json", tmp_path / "a.log", logging.DEBUG, 3)
    assert load_log_settings(env, log_format="human").format == "human"
    with pytest.raises(ConfigError, match="LOG_FORMAT='xml' .* is not one of: human, json"):
        load_log_settings({"BULK_ENROLL_LOG_FORMAT": "xml"})
    with pytest.raises(ConfigError, match="BULK_ENROLL_LOG_MAX_BYTES='10' .* at least 1024"):
        load_log_settings({"BULK_ENROLL_LOG_MAX_BYTES": "10"})


def test_a_run_leaves_its_one_line_summary_in_the_log_file(tmp_path, monkeypatch):
    import json as _json

    from bulk_enroll.cli import main
    from tests.support import HEADER, make_id, write_csv

    monkeypatch.chdir(tmp_path)
    source = write_csv(tmp_path / "in.csv", [HEADER, [make_id("l"), make_id("c"), "unlimited",
                                                      "", "", "", ""]])
    log_file = tmp_path / "logs" / "run.log"
    assert main(["--log-file", str(log_file), "--log-format", "json", "run", "--dry-run",
                 str(source)]) == 0
    lines = [_json.loads(line) for line in log_file.read_text().splitlines()]
    [summary] = [entry for entry in lines if entry.get("event") == "file_summary"]
    assert summary["input"] == "in.csv" and summary["exit_code"] == 0
    assert summary["status_counts"]["not_sent"] == 1
