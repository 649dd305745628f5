"""The learned rate, remembered per account in the state folder."""

from __future__ import annotations

import datetime as dt
import json
import stat

from bulk_enroll.send.rate_memory import RememberedRate, memory_path, recall, remember

ACCOUNT = "https://lms.example.com/soap|client-1"
WHEN = dt.datetime(2027, 3, 1, 2, 0)


def test_a_remembered_rate_is_recalled_for_the_same_account_only(tmp_path):
    remember(tmp_path, ACCOUNT, RememberedRate(19.5, 1.0), WHEN)
    assert recall(tmp_path, ACCOUNT) == RememberedRate(19.5, 1.0)
    assert recall(tmp_path, "https://other.example.com/soap|client-1") is None


def test_the_file_is_private_and_names_no_secret(tmp_path):
    remember(tmp_path, ACCOUNT, RememberedRate(4.9, 60.0), WHEN)
    path = memory_path(tmp_path, ACCOUNT)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert data == {"format": 1, "account": ACCOUNT, "limit_per_s": 4.9, "window_s": 60.0,
                    "learned": "2027-03-01T02:00:00"}
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_a_damaged_or_odd_file_means_nothing_remembered(tmp_path):
    path = memory_path(tmp_path, ACCOUNT)
    for text in ("{not json", json.dumps({"account": ACCOUNT, "limit_per_s": -3}),
                 json.dumps({"account": ACCOUNT, "limit_per_s": True}), "[]"):
        path.write_text(text)
        assert recall(tmp_path, ACCOUNT) is None


def test_a_state_folder_that_cannot_be_written_only_logs(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("")
    remember(blocker, ACCOUNT, RememberedRate(10, 1), WHEN)  # a file where a folder should be
    assert "could not remember the rate limit" in caplog.text
