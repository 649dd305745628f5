"""Notification settings and delivery rules (webhook over requests-mock; e-mail built only)."""

from __future__ import annotations

import json

import pytest
import requests

from bulk_enroll.errors import ConfigError
from bulk_enroll.inbox.notify import (
    NotifySettings,
    SmtpSettings,
    build_email,
    load_notify_settings,
    notify,
    should_notify,
)

URL = "https://hooks.example.com/services/T0/B0/secret-token"
SUMMARY = {"run_id": "r1", "exit_code": 1, "verdict": "2 files: 1 processed, 1 needs attention",
           "files": [{"file": "a.csv", "outcome": "needs_attention", "exit_code": 1,
                      "status_counts": {"enrolled": 3, "invalid": 1}, "reason": "1 row(s)"}]}


def test_webhook_gets_the_summary_and_a_text_line(requests_mock):
    hook = requests_mock.post(URL, status_code=200)
    assert notify(NotifySettings(webhook_url=URL), SUMMARY) == ["webhook"]
    body = json.loads(hook.last_request.body)
    assert body["text"] == "bulk-enroll: 2 files: 1 processed, 1 needs attention (exit 1)"
    assert body["files"] == SUMMARY["files"] and body["run_id"] == "r1"
    assert hook.last_request.headers["Content-Type"] == "application/json; charset=utf-8"


def test_webhook_retries_transient_failures_then_gives_up_without_raising(requests_mock,
                                                                          caplog):
    hook = requests_mock.post(URL, [{"status_code": 503}, {"exc": requests.ConnectionError},
                                    {"status_code": 502}])
    waits: list[float] = []
    assert notify(NotifySettings(webhook_url=URL), SUMMARY, sleep=waits.append) == []
    assert hook.call_count == 3 and waits == [1, 2]
    assert "notification to webhook https://hooks.example.com/... failed: HTTP 502" in (
        caplog.text)
    assert "secret-token" not in caplog.text


def test_webhook_client_errors_are_not_retried(requests_mock):
    hook = requests_mock.post(URL, status_code=404)
    assert notify(NotifySettings(webhook_url=URL), SUMMARY, sleep=lambda s: None) == []
    assert hook.call_count == 1


def test_when_failure_only_a_clean_run_sends_nothing(requests_mock):
    hook = requests_mock.post(URL)
    settings = NotifySettings(webhook_url=URL)
    assert notify(settings, {**SUMMARY, "exit_code": 0}) == []
    assert hook.call_count == 0
    assert should_notify(NotifySettings(when="always", webhook_url=URL), 0)
    assert not should_notify(NotifySettings(when="never", webhook_url=URL), 3)
    assert not should_notify(NotifySettings(), 3)  # nothing configured


@pytest.mark.parametrize("env,message", [
    ({"BULK_ENROLL_NOTIFY_WHEN": "sometimes"},
     "NOTIFY_WHEN='sometimes' (when in [notify]) is not one of: failure, always, never"),
    ({"BULK_ENROLL_WEBHOOK_URL": "http://hooks.example.com/T/secret"},
     "uses plain http:// to hooks.example.com; use https://"),
    ({"BULK_ENROLL_WEBHOOK_URL": "ftp://hooks.example.com/T/secret"},
     "BULK_ENROLL_WEBHOOK_URL='ftp://hooks.example.com/...' (webhook_url in [notify]) is not "
     "an http(s) URL"),
    ({"BULK_ENROLL_SMTP_TO": "a@example.com"}, "SMTP_TO is set but BULK_ENROLL_SMTP_HOST"),
    ({"BULK_ENROLL_SMTP_HOST": "mail", "BULK_ENROLL_SMTP_FROM": "x@example.com"},
     "SMTP_TO (to in [notify.email]) must list e-mail addresses"),
    ({"BULK_ENROLL_SMTP_HOST": "mail.example.com", "BULK_ENROLL_SMTP_FROM": "x@example.com",
      "BULK_ENROLL_SMTP_TO": "y@example.com", "BULK_ENROLL_SMTP_USERNAME": "x",
      "BULK_ENROLL_SMTP_PASSWORD": "pw"},
     "refusing to send the SMTP password to mail.example.com unencrypted"),
])
def test_bad_notification_settings(env, message):
    with pytest.raises(ConfigError) as caught:
        load_notify_settings(env)
    assert message in str(caught.value) and "secret" not in str(caught.value)


def test_smtp_settings_and_password_file(tmp_path):
    password = tmp_path / "smtp-password"
    password.write_text("pw-from-file\n")
    password.chmod(0o600)
    settings = load_notify_settings({
        "BULK_ENROLL_SMTP_HOST": "mail.example.com", "BULK_ENROLL_SMTP_STARTTLS": "true",
        "BULK_ENROLL_SMTP_FROM": "bulk@example.com",
        "BULK_ENROLL_SMTP_TO": "a@example.com, B <b@example.com>",
        "BULK_ENROLL_SMTP_USERNAME": "bulk", "BULK_ENROLL_SMTP_PASSWORD_FILE": str(password),
    })
    assert settings.smtp == SmtpSettings("mail.example.com", 587, "bulk@example.com",
                                         ("a@example.com", "b@example.com"), starttls=True,
                                         username="bulk", password="pw-from-file")
    assert "pw-from-file" not in repr(settings)
    assert settings.describe() == ("e-mail to a@example.com, b@example.com via "
                                   "mail.example.com:587 (STARTTLS), on failure")
    password.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by other users"):
        load_notify_settings({"BULK_ENROLL_SMTP_HOST": "h", "BULK_ENROLL_SMTP_FROM": "a@b",
                              "BULK_ENROLL_SMTP_TO": "c@d", "BULK_ENROLL_SMTP_STARTTLS": "1",
                              "BULK_ENROLL_SMTP_USERNAME": "u",
                              "BULK_ENROLL_SMTP_PASSWORD_FILE": str(password)})


def test_email_lists_files_and_skips_attachments_over_the_budget(tmp_path, monkeypatch):
    monkeypatch.setattr("bulk_enroll.inbox.notify.MAX_ATTACHMENT_BYTES", 10)
    small, large = tmp_path / "a-results.json", tmp_path / "b-results.xlsx"
    small.write_text("{}")
    large.write_bytes(b"x" * 100)
    smtp = SmtpSettings("h", 25, "bulk@example.com", ("hr@example.com",))
    message = build_email(smtp, SUMMARY, [small, large])
    assert message["Subject"] == "bulk-enroll: 2 files: 1 processed, 1 needs attention (exit 1)"
    body = message.get_body(("plain",)).get_content()
    assert "- a.csv: needs attention (exit 1)" in body and "rows: 3 enrolled, 1 invalid" in body
    assert f"Not attached (too large): {large}" in body
    assert [part.get_filename() for part in message.iter_attachments()] == ["a-results.json"]
