"""The one exit-code policy (errors.py), every code, through the library and the command line.

0 all rows settled well; 1 rows need attention; 2 usage or configuration, nothing sent; 3 a
safety limit or lock, nothing sent; 4 an unexpected internal error; 130 interrupted (Ctrl-C);
143 stopped by SIGTERM.
"""

from __future__ import annotations

import datetime as dt
import errno
import re
from pathlib import Path

import pytest

from bulk_enroll import jobs
from bulk_enroll.cli import main
from bulk_enroll.errors import (
    ApiError,
    AuthError,
    ConfigError,
    ExitStatus,
    InputFileError,
    InputRefused,
    Interrupted,
    SafetyStop,
    exit_status_for,
    run_exit_status,
    worst_exit_status,
)
from bulk_enroll.inbox.runner import FileOutcome, InboxResult, Outcome
from bulk_enroll.logs import LogSettings, redact, register_secrets, setup_logging
from bulk_enroll.model import RowResult, Status
from bulk_enroll.results import asked_statuses
from tests.support import HEADER, forget_account, make_id

README = Path(__file__).resolve().parents[2] / "README.md"
GOOD = [make_id("l"), make_id("c"), "unlimited", "", "", "", ""]
BAD = ["bad", make_id("c"), "unlimited", "", "", "", ""]


@pytest.fixture(autouse=True)
def no_account(monkeypatch, tmp_path):
    forget_account(monkeypatch)
    monkeypatch.chdir(tmp_path)
    yield
    redact.clear()
    setup_logging(0, LogSettings())  # drop a log file handler a test's run opened


def test_the_codes_are_the_documented_ones():
    assert {status.name: int(status) for status in ExitStatus} == {
        "OK": 0, "ROWS_NEED_ATTENTION": 1, "USAGE": 2, "SAFETY_STOP": 3, "INTERNAL": 4,
        "INTERRUPTED": 130, "TERMINATED": 143,
    }


@pytest.mark.parametrize("error,status", [
    (InputFileError("x"), ExitStatus.USAGE),
    (InputRefused("x"), ExitStatus.USAGE),
    (ConfigError("x"), ExitStatus.USAGE),
    (AuthError("x"), ExitStatus.USAGE),
    (FileNotFoundError(errno.ENOENT, "No such file or directory", "in.csv"), ExitStatus.USAGE),
    (PermissionError(errno.EACCES, "Permission denied", "in.csv"), ExitStatus.USAGE),
    (SafetyStop("x"), ExitStatus.SAFETY_STOP),
    (ApiError("x"), ExitStatus.ROWS_NEED_ATTENTION),  # as when a lookup fails: nothing sent
    (OSError(errno.ENOSPC, "No space left on device"), ExitStatus.INTERNAL),
    (ZeroDivisionError("division by zero"), ExitStatus.INTERNAL),
    (KeyError("x"), ExitStatus.INTERNAL),
    (KeyboardInterrupt(), ExitStatus.INTERRUPTED),
    (Interrupted("interrupted by SIGINT"), ExitStatus.INTERRUPTED),
])
def test_an_exception_that_ended_the_run(error, status):
    assert exit_status_for(error) is status


@pytest.mark.parametrize("statuses,options,status", [
    ([Status.ENROLLED, Status.ALREADY_ENROLLED, Status.DUPLICATE], {}, ExitStatus.OK),
    ([], {}, ExitStatus.OK),
    ([Status.ENROLLED, Status.INVALID], {}, ExitStatus.ROWS_NEED_ATTENTION),
    ([Status.ENROLLED, Status.FAILED], {}, ExitStatus.ROWS_NEED_ATTENTION),
    ([Status.ENROLLED, Status.UNKNOWN], {}, ExitStatus.ROWS_NEED_ATTENTION),
    # --strict with an invalid row: the valid rows are held back, not sent
    ([Status.NOT_SENT, Status.INVALID], {}, ExitStatus.ROWS_NEED_ATTENTION),
    ([Status.NOT_SENT], {}, ExitStatus.ROWS_NEED_ATTENTION),  # the run stopped early
    # a dry run judges the file: rows that would be sent are fine, invalid ones are not
    ([Status.NOT_SENT, Status.DUPLICATE], {"dry_run": True}, ExitStatus.OK),
    ([Status.NOT_SENT, Status.INVALID], {"dry_run": True}, ExitStatus.ROWS_NEED_ATTENTION),
    ([Status.NOT_SENT], {"dry_run": True, "lookup_failed": True},
     ExitStatus.ROWS_NEED_ATTENTION),
    ([Status.NOT_SENT], {"stopped_by_limit": True}, ExitStatus.SAFETY_STOP),
    # an unexpected error stopped the send; the report was still written
    ([Status.UNKNOWN, Status.NOT_SENT], {"internal_error": True}, ExitStatus.INTERNAL),
    # a signal left rows unsent (during the lookups or the send): stopped, not "bad rows"
    ([Status.ENROLLED, Status.NOT_SENT], {"stopped_by_signal": "SIGTERM"},
     ExitStatus.TERMINATED),
    ([Status.NOT_SENT, Status.INVALID], {"stopped_by_signal": "SIGINT"},
     ExitStatus.INTERRUPTED),
    ([Status.NOT_SENT], {"stopped_by_signal": "SIGTERM", "dry_run": True},
     ExitStatus.TERMINATED),
    # ...one that came when everything was done changes nothing
    ([Status.ENROLLED, Status.DUPLICATE], {"stopped_by_signal": "SIGTERM"}, ExitStatus.OK),
    ([Status.ENROLLED, Status.FAILED], {"stopped_by_signal": "SIGTERM"},
     ExitStatus.ROWS_NEED_ATTENTION),
    ([Status.NOT_SENT], {"stopped_by_signal": "SIGTERM", "internal_error": True},
     ExitStatus.INTERNAL),
    # a header without data rows: an export gone wrong, in a run and in a dry run alike
    ([], {"no_rows": True}, ExitStatus.ROWS_NEED_ATTENTION),
    ([], {"no_rows": True, "dry_run": True}, ExitStatus.ROWS_NEED_ATTENTION),
])
def test_a_finished_file(statuses, options, status):
    assert run_exit_status(statuses, **options) is status


def test_rows_the_sheet_hides_do_not_count():
    """A hidden row is `not_sent` on purpose: the statuses judged are those of the rows the
    file asks for."""
    results = [RowResult(Status.ENROLLED), RowResult(Status.NOT_SENT, held_back=True)]
    assert asked_statuses(results) == [Status.ENROLLED]
    assert run_exit_status(asked_statuses(results)) is ExitStatus.OK
    assert run_exit_status(r.status for r in results) is ExitStatus.ROWS_NEED_ATTENTION


def test_several_outcomes_exit_with_the_worst():
    assert worst_exit_status([]) is ExitStatus.OK
    assert worst_exit_status([0, 1, 3, 2]) is ExitStatus.SAFETY_STOP
    assert worst_exit_status([ExitStatus.SAFETY_STOP, ExitStatus.INTERNAL]) is ExitStatus.INTERNAL


def test_inbox_files_and_their_folders():
    assert {o: (o.exit_code, o.archive_kind) for o in Outcome} == {
        Outcome.PROCESSED: (0, "processed"),
        Outcome.DUPLICATE: (0, "duplicates"),
        Outcome.NEEDS_ATTENTION: (1, "failed"),
        Outcome.UNREADABLE: (1, "failed"),
        Outcome.INTERRUPTED: (1, None),
        Outcome.STOPPED: (3, "failed"),
    }


@pytest.mark.parametrize("outcomes,error,status", [
    ([], None, ExitStatus.OK),
    ([Outcome.PROCESSED, Outcome.DUPLICATE], None, ExitStatus.OK),
    ([Outcome.PROCESSED, Outcome.UNREADABLE], None, ExitStatus.ROWS_NEED_ATTENTION),
    ([Outcome.NEEDS_ATTENTION, Outcome.STOPPED, Outcome.PROCESSED], None,
     ExitStatus.SAFETY_STOP),
    ([Outcome.PROCESSED], ExitStatus.USAGE, ExitStatus.USAGE),  # credentials refused
    ([Outcome.STOPPED], ExitStatus.USAGE, ExitStatus.SAFETY_STOP),
    ([], ExitStatus.SAFETY_STOP, ExitStatus.SAFETY_STOP),  # a manual run held the journal
    ([Outcome.PROCESSED], ExitStatus.ROWS_NEED_ATTENTION, ExitStatus.ROWS_NEED_ATTENTION),
    ([Outcome.PROCESSED, "internal"], None, ExitStatus.INTERNAL),  # a send stopped by a bug
])
def test_the_inbox_run_exits_with_the_worst_of_its_files(outcomes, error, status):
    result = InboxResult(Path("inbox"), dt.datetime(2027, 1, 5))
    result.files = [FileOutcome(f"{n}.csv", Outcome.INTERRUPTED, internal_error=True)
                    if outcome == "internal" else FileOutcome(f"{n}.csv", outcome)
                    for n, outcome in enumerate(outcomes)]
    if error is not None:
        result.error, result.error_exit = "stopped", error
    assert result.exit_code is status
    assert result.as_dict()["exit_code"] == int(status)


# The same codes from the command line, with what the user sees.

def test_exit_0_for_a_clean_file(csv_file):
    assert main(["validate", str(csv_file([HEADER, GOOD]))]) == 0


def test_exit_1_when_rows_need_attention(csv_file):
    assert main(["run", "--dry-run", str(csv_file([HEADER, GOOD, BAD]))]) == 1


def test_exit_2_for_usage_and_configuration_errors(csv_file, capsys):
    assert main(["run", "--frobnicate", "x.csv"]) == 2
    assert "No such option '--frobnicate'" in capsys.readouterr().err
    assert main(["run", str(csv_file([HEADER, GOOD]))]) == 2  # no account configured
    assert capsys.readouterr().err.startswith("Error: No LMS account is configured.")


@pytest.mark.parametrize("command", [["run", "--dry-run"], ["plan"]])
def test_a_dry_run_says_when_the_configured_account_cannot_be_used(
        csv_file, monkeypatch, capsys, command):
    """No account at all: a dry run does without one. An account set up halfway (here a client
    ID without its secret) is said, with what to set, never taken quietly for no account (the
    live run stops on it with exit 2); the dry run goes on without the lookups."""
    monkeypatch.setenv("BULK_ENROLL_SOAP_URL", "https://lms.example/soap")
    monkeypatch.setenv("BULK_ENROLL_API_URL", "https://lms.example")
    monkeypatch.setenv("BULK_ENROLL_CLIENT_ID", "client")
    path = csv_file([HEADER, GOOD])
    assert main([*command, str(path)]) == 0
    warned = ("WARNING the configured account cannot be used, so names are not looked up: No "
              "credentials: set BULK_ENROLL_TOKEN, or BULK_ENROLL_CLIENT_ID and")
    assert warned in capsys.readouterr().err
    assert main(["run", str(path)]) == 2
    assert "Error: No credentials: set BULK_ENROLL_TOKEN" in capsys.readouterr().err


def test_exit_2_for_a_file_that_cannot_be_opened(csv_file, monkeypatch, capsys):
    def refuse(options):
        raise PermissionError(errno.EACCES, "Permission denied", str(options.input_path))

    monkeypatch.setattr(jobs, "read_and_validate", refuse)
    path = csv_file([HEADER, GOOD])
    assert main(["validate", str(path)]) == 2
    assert capsys.readouterr().err == f"Error: Permission denied: {path}\n"


def test_exit_3_for_a_safety_stop(csv_file, monkeypatch, capsys):
    def locked(options):
        raise SafetyStop("another run is using this journal (pid 42)")

    monkeypatch.setattr(jobs, "read_and_validate", locked)
    assert main(["validate", str(csv_file([HEADER, GOOD]))]) == 3
    assert capsys.readouterr().err == "Error: another run is using this journal (pid 42)\n"


def test_exit_4_for_a_bug_with_one_line_and_no_traceback(csv_file, monkeypatch, capsys):
    def bug(options):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(jobs, "read_and_validate", bug)
    assert main(["validate", str(csv_file([HEADER, GOOD]))]) == 4
    err = capsys.readouterr().err
    assert err == (
        "Internal error: ZeroDivisionError: division by zero. This is a bug in bulk-enroll or a "
        "problem of this machine (such as a full disk), not of your file; run again with "
        "--traceback (or --log-file FILE) to see the details.\n")


def test_exit_4_when_only_the_summary_cannot_be_written_says_so_and_where_the_report_is(
        csv_file, monkeypatch, capsys, tmp_path):
    """The report was written, the JSON summary was not: the console must not say the report
    is missing (nor tell how to write it again), and must still say where it is."""
    def disk_full(path, summary):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(jobs, "write_summary_json", disk_full)
    source = csv_file([HEADER, GOOD])
    assert main(["run", "--dry-run", str(source), "--report", "r.xlsx",
                 "--summary-json", "s.json"]) == 4
    captured = capsys.readouterr()
    assert "Report: r.xlsx\n" in captured.out and (tmp_path / "r.xlsx").is_file()
    assert ("exit 4; the summary could not be written to s.json: No space left on device; "
            "report r.xlsx\n") in captured.err  # the log line
    assert ("Error: The summary could not be written to s.json: No space left on device.\n"
            "Internal error: the JSON summary could not be written (the report was).") in (
        captured.err)
    assert "the report could not be written" not in captured.err
    assert "bulk-enroll report" not in captured.err


def test_exit_4_keeps_the_traceback_in_the_log_file(csv_file, monkeypatch, capsys, tmp_path):
    register_secrets(["the-client-secret"])

    def disk_full(path, data, report_format="xlsx"):
        raise OSError(errno.ENOSPC, "No space left on device (the-client-secret)", str(path))

    monkeypatch.setattr(jobs, "write_report", disk_full)
    log_file = tmp_path / "logs" / "run.log"
    source = csv_file([HEADER, GOOD])
    assert main(["--log-file", str(log_file), "validate", str(source), "--report", "r.xlsx"]) == 4
    err = capsys.readouterr().err
    assert err.startswith("Internal error: OSError: [Errno 28] No space left on device (***): ")
    assert err.endswith(f"not of your file; the details are in {log_file}.\n")
    assert "Traceback" not in err and "the-client-secret" not in err
    logged = log_file.read_text(encoding="utf-8")
    assert re.search(r"ERROR \[[^]]+\] internal error: OSError: \[Errno 28\]", logged)
    assert "Traceback (most recent call last)" in logged
    assert "in disk_full" in logged and "the-client-secret" not in logged


def test_traceback_option_shows_it_and_keeps_the_code(csv_file, monkeypatch, capsys):
    def bug(options):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(jobs, "read_and_validate", bug)
    assert main(["--traceback", "validate", str(csv_file([HEADER, GOOD]))]) == 4
    err = capsys.readouterr().err
    assert err.startswith("ERROR internal error: ZeroDivisionError: division by zero\n"
                          "Traceback (most recent call last):")
    assert err.endswith("not of your file; the traceback is above.\n")
    assert main(["--traceback", "run", str(csv_file([HEADER, GOOD]))]) == 2  # not a bug
    err = capsys.readouterr().err
    assert "Traceback (most recent call last):" in err
    assert err.splitlines()[-1].startswith("Error: No LMS account is configured.")


def test_exit_130_when_interrupted(csv_file, monkeypatch, capsys):
    def interrupted(options):
        raise KeyboardInterrupt

    monkeypatch.setattr(jobs, "read_and_validate", interrupted)
    assert main(["validate", str(csv_file([HEADER, GOOD]))]) == 130
    assert capsys.readouterr().err == "\nAborted.\n"  # click's words for Ctrl-C


def test_help_and_readme_list_every_code(capsys):
    assert main(["--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    table = README.read_text(encoding="utf-8").split("\n## Exit codes\n", 1)[1].split("\n## ")[0]
    documented = [int(code) for code in re.findall(r"^\| (\d+) \|", table, flags=re.MULTILINE)]
    assert documented == [int(status) for status in ExitStatus]
    for status in ExitStatus:
        assert f"{int(status)} {status.meaning}" in help_text


def test_click_usage_errors_exit_2(capsys):
    assert main(["validate"]) == 2  # missing argument
    assert "Missing argument 'FILE'" in capsys.readouterr().err
    assert main(["template", "out.txt"]) == 2  # a click.BadParameter raised by a command
    assert "the template is an Excel workbook" in capsys.readouterr().err


def test_python_dash_m_exits_with_the_code():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "bulk_enroll.cli", "run", "--frobnicate"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "No such option '--frobnicate'" in done.stderr
