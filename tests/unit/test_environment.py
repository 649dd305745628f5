"""The one set of setting readers: same rules and same error shape for every setting."""

from __future__ import annotations

import pytest

from bulk_enroll.errors import ConfigError
from bulk_enroll.inbox.notify import load_notify_settings
from bulk_enroll.inbox.runner import load_inbox_settings
from bulk_enroll.settings.config import load_read_limits, load_run_settings
from bulk_enroll.settings.environment import MB, Environment
from bulk_enroll.settings.log_settings import load_log_settings
from bulk_enroll.settings.schema import SCHEMA

P = "BULK_ENROLL_"
SMTP = {P + "SMTP_HOST": "localhost", P + "SMTP_FROM": "a@example.com",
        P + "SMTP_TO": "b@example.com"}


def env(**values: str) -> Environment:
    return Environment({P + name: value for name, value in values.items()})


def error_of(reader, *args, **kwargs) -> str:
    with pytest.raises(ConfigError) as caught:
        reader(*args, **kwargs)
    return str(caught.value)


def test_unset_or_blank_means_the_default():
    blank = env(CONCURRENCY="  ", INBOX_CHECK_SERVER="")
    assert blank.whole("CONCURRENCY", 4, minimum=1) == 4
    assert blank.flag("INBOX_CHECK_SERVER", True) is True
    assert blank.text("CONCURRENCY") is None and blank.path("STATE_DIR") is None


@pytest.mark.parametrize("word,value", [
    ("true", True), ("Yes", True), ("on", True), ("1", True),
    ("FALSE", False), ("no", False), ("off", False), ("0", False),
])
def test_booleans_have_one_spelling_everywhere(word, value, tmp_path):
    assert env(SMTP_SSL=word).flag("SMTP_SSL", not value) is value
    inbox = load_inbox_settings({P + "INBOX_CHECK_SERVER": word}, inbox=tmp_path)
    assert inbox.check_server is value
    notify = load_notify_settings({**SMTP, P + "SMTP_ATTACH_REPORTS": word})
    assert notify.smtp is not None and notify.smtp.attach_reports is value


def test_a_word_that_is_not_a_boolean():
    assert error_of(env(SMTP_STARTTLS="maybe").flag, "SMTP_STARTTLS", False) == (
        "BULK_ENROLL_SMTP_STARTTLS='maybe' (starttls in [notify.email]) is not true or false "
        "(use true/false, yes/no, on/off or 1/0)")


def test_whole_numbers():
    assert env(RETRY_BUDGET="1e3").whole("RETRY_BUDGET", 200, minimum=0) == 1000
    assert error_of(env(RETRY_BUDGET="2.5").whole, "RETRY_BUDGET", 200) == (
        "BULK_ENROLL_RETRY_BUDGET='2.5' (retry_budget in [limits]) is not a whole number")
    assert error_of(env(RETRY_BUDGET="-1").whole, "RETRY_BUDGET", 200, minimum=0) == (
        "BULK_ENROLL_RETRY_BUDGET='-1' (retry_budget in [limits]) must be at least 0")
    assert error_of(env(SMTP_PORT="70000").whole, "SMTP_PORT", 25, minimum=1,
                    maximum=65535).endswith("must be between 1 and 65535")
    assert error_of(env(CONCURRENCY="1e400").whole, "CONCURRENCY", 4).endswith(
        "is not a usable number")


def test_numbers_shares_and_durations():
    assert env(INBOX_MAX_INVALID_SHARE="20%").number(
        "INBOX_MAX_INVALID_SHARE", 0.2, minimum=0, maximum=1, percent=True) == 0.2
    assert error_of(env(RATE_LIMIT="nan").number, "RATE_LIMIT", 0) == (
        "BULK_ENROLL_RATE_LIMIT='nan' (rate_limit in [limits]) is not a usable number")
    assert error_of(env(RATE_LIMIT="20%").number, "RATE_LIMIT", 0).endswith(
        "is not a number")  # percent only where a share is meant
    assert env(WEBHOOK_TIMEOUT="2.5").seconds("WEBHOOK_TIMEOUT", 10) == 2.5
    assert error_of(env(WEBHOOK_TIMEOUT="0").seconds, "WEBHOOK_TIMEOUT", 10) == (
        "BULK_ENROLL_WEBHOOK_TIMEOUT='0' (webhook_timeout in [notify]) must be more than 0")
    assert error_of(env(READ_TIMEOUT="soon").seconds, "READ_TIMEOUT", 60, minimum=0.1) == (
        "BULK_ENROLL_READ_TIMEOUT='soon' (read_timeout in [limits]) is not a number of seconds")
    assert env(INBOX_STABLE_SECONDS="0").seconds("INBOX_STABLE_SECONDS", 60, minimum=0) == 0


def test_sizes_in_megabytes():
    assert env(MAX_FILE_MB="1.5").megabytes("MAX_FILE_MB", 200) == int(1.5 * MB)
    assert env().megabytes("MAX_FILE_MB", 200) == 200 * MB
    assert error_of(env(MAX_FILE_MB="-1").megabytes, "MAX_FILE_MB", 200) == (
        "BULK_ENROLL_MAX_FILE_MB='-1' (max_file_mb in [input]) must be more than 0")


def test_choices_urls_paths_and_addresses(tmp_path):
    assert env(TRANSPORT="REST").choice("TRANSPORT", ("soap", "rest"), "soap") == "rest"
    assert env(STATE_DIR="~/state").path("STATE_DIR").is_absolute()
    assert str(env().error("STATE_DIR", "is odd", value="x")) == (
        "BULK_ENROLL_STATE_DIR='x' (state_dir at the top level) is odd")
    assert str(env().error("TOKEN", "is refused")) == "BULK_ENROLL_TOKEN is refused"  # no key
    assert env(SMTP_TO="a@example.com, B <b@example.com>").addresses("SMTP_TO") == (
        "a@example.com", "b@example.com")
    assert error_of(env(SMTP_TO="nobody").addresses, "SMTP_TO") == (
        "BULK_ENROLL_SMTP_TO='nobody' (to in [notify.email]) must list e-mail addresses")
    hidden = error_of(env(WEBHOOK_URL="http://hooks.example.com/T/tok").url, "WEBHOOK_URL",
                      secret=True)
    assert hidden == ("BULK_ENROLL_WEBHOOK_URL='http://hooks.example.com/...' (webhook_url in "
                      "[notify]) uses plain http:// to hooks.example.com; use https:// (plain "
                      "http is allowed only for 127.0.0.1, localhost and ::1)")
    assert error_of(env(API_URL="https://u:pw@x.example").url, "API_URL") == (
        "BULK_ENROLL_API_URL (api_url in [account]) must not contain credentials")


def test_secret_files_must_be_private(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("s3cr3t\n")
    secret.chmod(0o600)
    assert env(SMTP_PASSWORD_FILE=str(secret)).secret_file("SMTP_PASSWORD_FILE") == "s3cr3t"
    secret.chmod(0o640)
    assert error_of(env(SMTP_PASSWORD_FILE=str(secret)).secret_file, "SMTP_PASSWORD_FILE") == (
        f"BULK_ENROLL_SMTP_PASSWORD_FILE='{secret}' (password_file in [notify.email]) is "
        f"readable by other users; run: chmod 600 {secret}")
    missing = tmp_path / "gone"
    assert error_of(env(CLIENT_SECRET_FILE=str(missing)).secret_file, "CLIENT_SECRET_FILE") == (
        f"BULK_ENROLL_CLIENT_SECRET_FILE='{missing}' (client_secret_file in [account]) cannot "
        "be read: No such file or directory")


NUMERIC = [(section, key, name) for section, table in SCHEMA.items()
           for key, (name, kind) in table.items() if kind in ("int", "number")]


@pytest.mark.parametrize("section,key,name", NUMERIC, ids=[n for _, _, n in NUMERIC])
def test_every_numeric_setting_is_read_by_the_shared_readers(section, key, name, tmp_path):
    """Whichever loader reads it, a number setting that is not a number fails the same way."""
    environ = {**SMTP, P + name: "abc"}
    with pytest.raises(ConfigError) as caught:
        load_run_settings(environ)
        load_read_limits(environ)
        load_inbox_settings(environ, inbox=tmp_path)
        load_notify_settings(environ)
        load_log_settings(environ)
    where = f"{key} in [{section}]" if section else f"{key} at the top level"
    assert str(caught.value).startswith(f"{P}{name}='abc' ({where}) is not a ")
