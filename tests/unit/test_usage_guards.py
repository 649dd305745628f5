"""Mistakes a user can make with paths and settings: exit 2 with a clear message, nothing
sent, nothing overwritten, no traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bulk_enroll.cli import main
from bulk_enroll.errors import ConfigError
from bulk_enroll.settings.config import load_run_settings
from tests.support import HEADER, make_id

ROW = [make_id("l"), make_id("c"), "unlimited", "", "", "", ""]


@pytest.fixture(autouse=True)
def in_tmp(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)


def test_a_report_path_that_is_a_folder_is_refused_before_anything_is_read(csv_file, capsys):
    path = csv_file([HEADER, ROW])
    Path("out.xlsx").mkdir()
    assert main(["validate", str(path), "--report", "out.xlsx"]) == 2
    message = "Error: --report out.xlsx is a folder; give a file name in it\n"
    assert capsys.readouterr().err == message


def test_the_report_never_overwrites_the_input(xlsx_file, capsys):
    path = xlsx_file([HEADER, ROW])
    before = path.read_bytes()
    assert main(["run", "--dry-run", str(path), "--report", str(path)]) == 2
    assert "is the input file; it would be overwritten" in capsys.readouterr().err
    assert path.read_bytes() == before


def test_a_summary_path_that_is_a_folder_is_refused(csv_file, capsys):
    path = csv_file([HEADER, ROW])
    Path("s.json").mkdir()
    assert main(["validate", str(path), "--summary-json", "s.json"]) == 2
    assert "--summary-json s.json is a folder" in capsys.readouterr().err


def test_a_report_name_must_match_its_format(csv_file, capsys):
    path = csv_file([HEADER, ROW])
    assert main(["validate", str(path), "--report", "out.pdf"]) == 2
    assert "give a name ending in .xlsx" in capsys.readouterr().err


def test_default_reports_never_overwrite_each_other(csv_file):
    path = csv_file([HEADER, ROW])
    for _ in range(3):  # three runs within the same second
        assert main(["validate", str(path)]) == 0
    assert len(list(Path("reports").glob("input-results-*.xlsx"))) == 3


def test_a_folder_given_as_input_says_so(tmp_path, capsys):
    assert main(["validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.endswith("is a folder, not a file: give the spreadsheet's name\n")


def test_a_pipe_given_as_input_is_not_called_missing(tmp_path, capsys):
    pipe = tmp_path / "hr.csv"
    os.mkfifo(pipe)
    assert main(["validate", str(pipe)]) == 2
    err = capsys.readouterr().err
    assert "is not a regular file" in err and "no such file" not in err


@pytest.mark.parametrize("value", ["nan", "inf", "1e400", "-inf"])
def test_numbers_that_are_not_usable_are_configuration_errors(value):
    with pytest.raises(ConfigError, match="is not a usable number|at least"):
        load_run_settings({"BULK_ENROLL_CONCURRENCY": value})


def test_a_config_file_that_is_not_utf8_is_a_configuration_error(csv_file, tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_bytes("[limits]\nconcurrency = 2\n".encode("utf-16"))
    assert main(["--config", str(config), "validate", str(csv_file([HEADER, ROW]))]) == 2
    assert "is not UTF-8 text" in capsys.readouterr().err


def test_a_secret_file_that_is_not_utf8_is_a_configuration_error(tmp_path):
    from bulk_enroll.settings.config import load_account

    secret = tmp_path / "secret"
    secret.write_bytes("s3cr3t".encode("utf-16"))
    secret.chmod(0o600)
    env = {"BULK_ENROLL_SOAP_URL": "https://x.example/soap", "BULK_ENROLL_API_URL":
           "https://x.example", "BULK_ENROLL_CLIENT_ID": "id",
           "BULK_ENROLL_CLIENT_SECRET_FILE": str(secret)}
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load_account(env)


def test_a_missing_setting_names_no_imaginary_column(csv_file):
    from bulk_enroll.read.reader import read_table
    from bulk_enroll.validate.rows import RowDefaults, validate_table

    path = csv_file([["learner_id", "course_id"], [make_id("l"), make_id("c")]])
    rows = validate_table(read_table(path), RowDefaults(due_date_type="due_date")).rows
    [issue] = rows[0].issues
    assert issue.column is None
    assert issue.message.endswith("(the file has no due_date column: add one, or pass --due-date)")


def test_an_unusable_state_folder_is_a_configuration_error(csv_file, tmp_path, capsys,
                                                          monkeypatch):
    from bulk_enroll.sandbox import (
        SANDBOX_CLIENT_ID,
        SANDBOX_CLIENT_SECRET,
        SandboxServer,
        default_directory,
    )

    directory = default_directory()
    real = [directory.users[0].user_id, directory.courses[0].content_id, "unlimited", "", "", "",
            ""]
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with SandboxServer().start() as server:
        monkeypatch.setenv("BULK_ENROLL_SOAP_URL", server.soap_url)
        monkeypatch.setenv("BULK_ENROLL_API_URL", server.api_url)
        monkeypatch.setenv("BULK_ENROLL_CLIENT_ID", SANDBOX_CLIENT_ID)
        monkeypatch.setenv("BULK_ENROLL_CLIENT_SECRET", SANDBOX_CLIENT_SECRET)
        code = main(["run", str(csv_file([HEADER, real])), "--state-dir", str(blocker / "x")])
        assert code == 2 and server.state.calls() == []
    assert "cannot create the lock file" in capsys.readouterr().err
