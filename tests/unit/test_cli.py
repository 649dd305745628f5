"""CLI error boundary: exit codes and exact messages, no tracebacks for user mistakes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import openpyxl
import pytest

from bulk_enroll.cli import main
from bulk_enroll.cli.app import cli
from bulk_enroll.settings.config import NO_ACCOUNT
from tests.support import HEADER, forget_account, make_id

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(autouse=True)
def no_account(monkeypatch, tmp_path):
    forget_account(monkeypatch)
    monkeypatch.chdir(tmp_path)


def test_run_without_account_exits_2_and_says_what_to_set(csv_file, capsys):
    path = csv_file([HEADER, [make_id("l"), make_id("c"), "unlimited", "", "", "", ""]])
    assert main(["run", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"Error: {NO_ACCOUNT}\n"
    assert "Traceback" not in captured.err and not list(Path("reports").glob("*"))


def test_missing_file_is_a_usage_error_without_traceback(capsys):
    assert main(["run", "--dry-run", "nope.csv"]) == 2
    assert capsys.readouterr().err == "Error: nope.csv: no such file\n"


def test_unknown_option_is_a_usage_error(capsys):
    assert main(["run", "--frobnicate", "x.csv"]) == 2
    assert "No such option '--frobnicate'" in capsys.readouterr().err


def test_dry_run_needs_no_account_and_writes_report_and_json(csv_file, capsys, tmp_path):
    path = csv_file(
        [
            HEADER,
            [make_id("l"), make_id("c"), "unlimited", "", "", "", ""],
            ["bad", make_id("c"), "unlimited", "", "", "", ""],
        ]
    )
    code = main(["run", "--dry-run", str(path), "--report", "out.xlsx", "--summary-json", "s.json"])
    assert code == 1  # one invalid row
    out = capsys.readouterr().out
    assert "input.csv, row 3, column 'learner_id': 'bad' is not an ID" in out
    summary = json.loads(Path("s.json").read_text())
    assert summary["api_calls"] == 0 and summary["rows"] == 2
    assert summary["status_counts"]["not_sent"] == 1 and summary["status_counts"]["invalid"] == 1
    results = list(openpyxl.load_workbook("out.xlsx")["Results"].iter_rows(values_only=True))
    assert results[1][8].startswith("dry run: would be sent in batch b-")


def test_default_report_path_is_under_reports_with_a_timestamp(csv_file):
    path = csv_file([HEADER, [make_id("l"), make_id("c"), "unlimited", "", "", "", ""]])
    assert main(["run", "--dry-run", str(path)]) == 0
    [report] = Path("reports").iterdir()
    assert re.fullmatch(r"input-results-\d{8}-\d{6}\.xlsx", report.name)


def test_every_command_has_help_with_an_example_and_is_in_the_readme():
    readme = README.read_text(encoding="utf-8")
    assert cli.help and "Example:" in cli.help
    for name, command in cli.commands.items():
        assert command.help and "Example:" in command.help, name
        assert f"bulk-enroll {name}" in readme, name


def test_only_the_first_problems_are_printed(csv_file, capsys):
    bad = [[f"bad-{n}", make_id("c"), "unlimited", "", "", "", ""] for n in range(12)]
    path = csv_file([HEADER, *bad])
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    listed = [line for line in out if line.startswith("  input.csv, row ")]
    assert len(listed) == 10 and listed[0].startswith("  input.csv, row 2, column 'learner_id'")
    assert "  ... and 2 more in the report." in out
    assert main(["run", "--dry-run", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert "12 problems in the file:" in out and "  ... and 2 more in the report." in out
    assert sum(1 for line in out if line.startswith("  input.csv, row ")) == 10


def test_sandbox_rate_options_build_the_shape_the_user_asked_for(monkeypatch, capsys):
    import bulk_enroll.sandbox as sandbox_package
    from bulk_enroll.sandbox.rate_shapes import RateRule, Shape

    served = {}
    monkeypatch.setattr(sandbox_package, "serve",
                        lambda host, port, **kwargs: served.update(kwargs))
    code = main(["sandbox", "--rate-limit", "20", "--rate-window", "1", "--rate-shape", "bucket",
                 "--rate-burst", "40", "--no-retry-after", "--rate-headers"])
    assert code == 0
    faults = served["faults"]
    assert faults.rule() == RateRule(20, 1.0, Shape.BUCKET, burst=40)
    assert faults.retry_after is False and faults.rate_headers is True
    assert main(["sandbox"]) == 0 and served["faults"].rule() is None


def test_a_file_name_with_a_newline_or_terminal_escape_prints_as_one_line(tmp_path, capsys):
    # A file name comes from outside (an HR system's drop): printed raw, a newline in it
    # forged a console line and an escape recoloured (or retitled) the terminal.
    name = "hires.csv\nReport: forged.xlsx\x1b[31m.csv"
    path = tmp_path / name
    path.write_text("learner_id,course_id\nnot-an-id,also-not\n", encoding="utf-8")
    assert main(["validate", str(path), "--report", str(tmp_path / "r.xlsx")]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert not any(line.startswith("Report: forged") for line in out.splitlines()), out
    assert "hires.csv\\nReport: forged.xlsx\\x1b[31m.csv: 1 row" in out
