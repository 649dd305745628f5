"""The Python API without a network: options checked up front, DataFrames in and out.

`bulk_enroll.validate` and `bulk_enroll.enroll(dry_run=True)` need no account, so these call
the library directly (never through the CLI) and look at the result, the DataFrame it gives
back and the workbook it wrote.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import bulk_enroll
from bulk_enroll.cli import main
from bulk_enroll.model import DueDateType, DueSettings
from bulk_enroll.settings.config import NO_ACCOUNT
from tests.support import forget_account, make_id, sheet_rows, write_csv

L1, L2, C1, C2 = make_id("l1"), make_id("l2"), make_id("c1"), make_id("c2")
INDEX = [10, 20, 30, 40, 50]
RESULT_COLUMNS = ["status", "message", "resolved_learner_id", "resolved_course_id", "row"]


@pytest.fixture(autouse=True)
def no_account(monkeypatch, tmp_path):
    forget_account(monkeypatch)
    monkeypatch.chdir(tmp_path)


def hr_frame() -> pd.DataFrame:
    """Rows as a database query returns them: typed columns, NaN/NaT for missing values."""
    return pd.DataFrame({
        "Employee number": pd.Series([101, 102, 103, 104, 105], dtype="int64", index=INDEX),
        "learner_id": [L1, L2, None, L1, L2],
        "course_id": [C1, C1, C1, C1, C2],
        "due_date_type": ["due_date", "due_date", "due_date", "due_date", "due_date"],
        "due_date": [pd.Timestamp("2027-03-31"), pd.Timestamp("2027-03-31"),
                     pd.Timestamp("2027-03-31"), pd.Timestamp("2027-03-31"), pd.NaT],
        "lock_after_due_date": [True, float("nan"), True, True, False],
    }, index=INDEX)


# ---- options ------------------------------------------------------------------------------------


def test_an_unknown_option_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match=r"^enroll\(\) got an unexpected keyword argument "
                                        r"'date_ordr' \(did you mean 'date_order'\?\)$"):
        bulk_enroll.enroll("missing.xlsx", date_ordr="dmy")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"^validate\(\) got an unexpected keyword argument "
                                        r"'strict' \(enroll\(\) takes it\)$"):
        bulk_enroll.validate("missing.xlsx", strict=True)  # type: ignore[call-arg]


@pytest.mark.parametrize("options,message", [
    ({"date_order": "ymd"}, "date_order='ymd': use 'dmy' or 'mdy'"),
    ({"strict": "yes"}, "strict='yes': give True or False"),
    ({"due_date": "2027-02-30"}, "due_date: '2027-02-30' is not a date"),
    ({"due_date_type": "soon"}, "due_date_type: 'soon' is not a due date type"),
    ({"due_period": [720]}, "due_period=[720]: give text, a number, a date or a bool"),
    ({"aliases": {"E-Mail": "mail"}}, "aliases: 'mail' is not a field"),
    ({"aliases": ["E-Mail=learner_email"]}, "aliases=['E-Mail=learner_email']: give a mapping"),
    ({"sheet": 0}, "sheet=0: give a sheet name or its 1-based position"),
    ({"report_format": "pdf"}, "report_format='pdf': use 'xlsx' or 'csv'"),
    ({"progress": 5}, "progress=5: give a function"),
    ({"cancel": "stop"}, "cancel='stop': give a bulk_enroll.CancelToken"),
    ({"account": "https://example.com"}, "account='https://example.com': give an AccountSettings"),
    ({"state_dir": 7}, "state_dir=7: give a file path"),
    ({"respect_removals": "no"}, "respect_removals='no': give True or False"),
    ({"new_journal": 1}, "new_journal=1: give True or False"),
])
def test_a_bad_option_value_is_a_config_error_before_anything_is_read(options, message):
    with pytest.raises(bulk_enroll.ConfigError) as caught:
        bulk_enroll.enroll("missing.xlsx", **options)  # the file is never looked at
    assert str(caught.value).startswith(message)


def test_options_that_contradict_each_other_are_refused(tmp_path):
    with pytest.raises(bulk_enroll.ConfigError, match=r"report='out.csv' is a .csv file but "
                                                      r"report_format='xlsx'"):
        bulk_enroll.enroll("missing.xlsx", report="out.csv", report_format="xlsx")
    with pytest.raises(bulk_enroll.ConfigError, match="give sandbox=True or account=..., not"):
        bulk_enroll.enroll("missing.xlsx", sandbox=True,
                           account=bulk_enroll.AccountSettings(soap_url="https://x.example"))
    with pytest.raises(bulk_enroll.ConfigError, match="sheet= applies to workbooks"):
        bulk_enroll.validate(hr_frame(), sheet="Enrollments")


def test_a_source_that_is_neither_a_path_nor_a_dataframe_is_a_type_error():
    with pytest.raises(TypeError, match="source must be a file path or a pandas DataFrame, "
                                        "not list"):
        bulk_enroll.validate([["learner_id", "course_id"]])  # type: ignore[arg-type]


def test_a_missing_account_and_a_missing_file_are_typed_errors(tmp_path):
    path = write_csv(tmp_path / "in.csv", [["learner_id", "course_id", "due_date_type"],
                                           [L1, C1, "unlimited"]])
    with pytest.raises(bulk_enroll.ConfigError) as caught:
        bulk_enroll.enroll(path)  # a live run needs an account; nothing is read without one
    assert str(caught.value) == NO_ACCOUNT
    assert not Path("reports").exists()
    with pytest.raises(bulk_enroll.InputFileError, match="missing.xlsx: no such file"):
        bulk_enroll.validate("missing.xlsx")


# ---- a DataFrame in, a DataFrame out -------------------------------------------------------------


def test_validate_a_dataframe_rows_are_positions_and_problems_name_the_cell(tmp_path):
    frame = hr_frame()
    result = bulk_enroll.validate(frame, report=tmp_path / "check.xlsx")
    assert result.exit_status is bulk_enroll.ExitStatus.ROWS_NEED_ATTENTION
    assert result.counts == {"enrolled": 0, "already_enrolled": 0, "duplicate": 1, "invalid": 2,
                             "failed": 0, "not_sent": 2, "unknown": 0}
    assert [(p.row, p.column, p.value, p.message) for p in result.problems] == [
        (2, "learner_id", None, "learner ID is empty"),
        (4, "due_date", None, "due date is required when the due date type is due_date"),
    ]
    assert result.job.issues[0].describe() == (
        "DataFrame, row 2, column 'learner_id': learner ID is empty")

    out = result.to_frame()
    assert list(out.columns) == [*frame.columns, *RESULT_COLUMNS]
    assert out["Employee number"].dtype == "int64"  # the input's values, as given
    assert out["Employee number"].tolist() == [101, 102, 103, 104, 105]
    assert out["row"].tolist() == [0, 1, 2, 3, 4]
    assert out["status"].tolist() == ["not_sent", "not_sent", "invalid", "duplicate", "invalid"]
    assert out["message"][2] == "learner_id: learner ID is empty"
    assert out["message"][3] == "same as row 0"
    assert out["resolved_learner_id"].fillna("-").tolist() == [L1, L2, "-", L1, "-"]
    assert out["resolved_course_id"].fillna("-").tolist() == [C1, C1, "-", C1, "-"]

    report = sheet_rows(tmp_path / "check.xlsx")
    assert [r["Status"] for r in report] == out["status"].tolist()
    assert [r["Employee number"] for r in report] == [101, 102, 103, 104, 105]


def test_nan_timestamp_and_numpy_cells_validate_as_a_sheet_would(tmp_path):
    result = bulk_enroll.validate(hr_frame(), report=tmp_path / "check.xlsx")
    first, second = result.job.data.rows[:2]
    assert first.requests[0].settings == DueSettings(
        DueDateType.DUE_DATE, due_date=dt.date(2027, 3, 31), lock_after_due_date=True)
    # NaN in the lock column is an empty cell: "not given", not "false"
    assert second.requests[0].settings.lock_after_due_date is None


def test_row_defaults_take_python_values(tmp_path):
    frame = pd.DataFrame({"learner_id": [L1, L2], "course_id": [C1, C2]})
    result = bulk_enroll.validate(frame, report=tmp_path / "r.xlsx", due_date_type="due_date",
                                  due_date=dt.date(2027, 5, 1), lock_after_due_date=True)
    assert result.exit_status is bulk_enroll.ExitStatus.OK
    assert {row.requests[0].settings for row in result.job.data.rows} == {DueSettings(
        DueDateType.DUE_DATE, due_date=dt.date(2027, 5, 1), lock_after_due_date=True)}


def test_a_result_column_the_input_already_has_gets_a_prefix(tmp_path):
    frame = pd.DataFrame({"learner_id": [L1], "course_id": [C1], "due_date_type": ["unlimited"],
                          "status": ["active employee"]})
    out = bulk_enroll.validate(frame, report=tmp_path / "r.xlsx").to_frame()
    assert list(out.columns) == ["learner_id", "course_id", "due_date_type", "status",
                                 "result_status", *RESULT_COLUMNS[1:]]
    assert out.loc[0, "status"] == "active employee" and out.loc[0, "result_status"] == "not_sent"


def test_validate_a_path_gives_what_the_cli_gives(tmp_path):
    path = write_csv(tmp_path / "hr.csv", [
        ["Email", "Course", "Due date type", "Due date"],
        ["ann@example.com", "Ethics", "due_date", "03/04/2027"],
        ["bob@example.com", "Ethics", "due_date", "2027-02-30"],
        ["ann@example.com", "Ethics", "due_date", "03/04/2027"],
    ])
    result = bulk_enroll.validate(path, report=tmp_path / "api.xlsx", date_order="dmy",
                                  summary_json=tmp_path / "api.json")
    assert main(["validate", str(path), "--report", str(tmp_path / "cli.xlsx"), "--date-order",
                 "dmy", "--summary-json", str(tmp_path / "cli.json")]) == int(result.exit_status)
    cli = json.loads((tmp_path / "cli.json").read_text())
    api = json.loads((tmp_path / "api.json").read_text())
    assert api["status_counts"] == cli["status_counts"] == result.counts
    assert result.counts["invalid"] == 1 and result.counts["duplicate"] == 1
    out = result.to_frame()
    assert out["row"].tolist() == [2, 3, 4]  # as the sheet shows them
    assert out["Email"].tolist() == ["ann@example.com", "bob@example.com", "ann@example.com"]
    assert out["resolved_learner_id"].isna().all()  # nothing was looked up
    assert [(p.row, p.column, p.value) for p in result.problems] == [(3, "Due date",
                                                                      "2027-02-30")]


def test_the_configuration_file_fills_what_the_options_leave_open(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[input]\ndate_order = "mdy"\naliases = { "Mitarbeiter" = "learner_id" }\n')
    path = write_csv(tmp_path / "hr.csv", [["Mitarbeiter", "course_id", "due_date_type",
                                            "due_date"], [L1, C1, "due_date", "03/04/2027"]])
    from_config = bulk_enroll.validate(path, report=tmp_path / "a.xlsx", config=config)
    assert from_config.job.data.rows[0].requests[0].settings.due_date == dt.date(2027, 3, 4)
    option_wins = bulk_enroll.validate(path, report=tmp_path / "b.xlsx", config=config,
                                       date_order="dmy")
    assert option_wins.job.data.rows[0].requests[0].settings.due_date == dt.date(2027, 4, 3)
    no_type = write_csv(tmp_path / "no-type.csv", [["Mitarbeiter", "course_id"], [L1, C1]])
    default = bulk_enroll.validate(no_type, report=tmp_path / "c.xlsx", config=config,
                                   due_date_type="due_date", due_date="03/04/2027")
    assert default.job.data.rows[0].requests[0].settings.due_date == dt.date(2027, 3, 4)


def test_a_dry_run_needs_no_account_and_sends_nothing(tmp_path):
    frame = pd.DataFrame({"learner_id": [L1, L2], "course_id": [C1, C1],
                          "due_date_type": ["unlimited", "unlimited"]})
    events: list[bulk_enroll.ProgressEvent] = []
    result = bulk_enroll.enroll(frame, dry_run=True, progress=events.append)
    assert result.exit_status is bulk_enroll.ExitStatus.OK
    assert result.report_path.parent == Path("reports")
    assert result.report_path.name.startswith("DataFrame-results-")
    assert result.report_path.exists()
    assert result.plan is not None and (result.plan.calls, result.plan.lower_bound) == (1, 1)
    assert result.summary["dry_run"] is True and result.summary["api_calls"] == 0
    out = result.to_frame()
    assert out["status"].tolist() == ["not_sent", "not_sent"]
    assert out["message"][0].startswith("dry run: would be sent in batch b-")
    assert [e.stage for e in events] == ["read", "resolve", "plan", "report", "done"]
    assert events[-1].rows == 2


def test_the_command_line_does_not_import_pandas():
    code = ("import sys; from bulk_enroll.cli import main; main(['--help']); "
            "import bulk_enroll; print('pandas' in sys.modules)")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               check=True, timeout=60)
    assert completed.stdout.strip().endswith("False")


@pytest.mark.parametrize(
    ("account", "shown"),
    [
        (bulk_enroll.AccountSettings(None, api_url="https://user:pw@lms.example:8443/api?t=1"),
         "https://lms.example:8443"),
        (bulk_enroll.AccountSettings(soap_url="https://soap.example/service"),
         "https://soap.example"),
        (bulk_enroll.AccountSettings(None), "(unknown)"),
    ],
)
def test_account_host_shows_where_an_account_is_and_nothing_secret(account, shown):
    from bulk_enroll.api import account_host

    assert account_host(account) == shown
