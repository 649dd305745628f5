"""Account configuration from the environment: what is required, URL safety, secret files."""

from __future__ import annotations

import pytest

from bulk_enroll.errors import ConfigError
from bulk_enroll.settings.config import NO_ACCOUNT, load_account, load_run_settings
from bulk_enroll.settings.environment import Environment

P = "BULK_ENROLL_"


def test_nothing_configured_says_what_to_set_and_mentions_the_sandbox():
    with pytest.raises(ConfigError) as error:
        load_account({})
    assert str(error.value) == NO_ACCOUNT
    assert "--sandbox" in NO_ACCOUNT and "BULK_ENROLL_SOAP_URL" in NO_ACCOUNT


def test_static_token_account():
    account = load_account(
        {P + "SOAP_URL": "https://learn.example.com/soap", P + "TOKEN": "tok-SECRET-123"}
    )
    assert account.token == "tok-SECRET-123" and account.client_id is None
    assert "tok-SECRET-123" not in repr(account)


def test_client_credentials_need_the_api_url():
    env = {
        P + "SOAP_URL": "https://x.example/soap",
        P + "CLIENT_ID": "id",
        P + "CLIENT_SECRET": "s3cr3t",
    }
    with pytest.raises(ConfigError, match="BULK_ENROLL_API_URL is not set"):
        load_account(env)
    account = load_account({**env, P + "API_URL": "https://api-learn.ispringlearn.com/"})
    assert account.api_url == "https://api-learn.ispringlearn.com"
    assert "s3cr3t" not in repr(account)


def test_credentials_missing():
    with pytest.raises(ConfigError, match="No credentials"):
        load_account({P + "SOAP_URL": "https://x.example/soap"})


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/soap",
        "http://localhost/soap",
        "http://[::1]:80/soap",
        "http://127.5.0.1/x",
        "https://api-learn.ispringlearn.eu/soap",
    ],
)
def test_allowed_urls(url):
    assert Environment({P + "SOAP_URL": url}).url("SOAP_URL") == url


@pytest.mark.parametrize(
    "url,message",
    [
        ("http://api-learn.ispringlearn.com/soap", "uses plain http://"),
        ("http://10.0.0.5/soap", "uses plain http://"),
        ("ftp://x/soap", "is not an http"),
        ("https://user:pw@x.example/soap", "must not contain credentials"),
    ],
)
def test_refused_urls(url, message):
    with pytest.raises(ConfigError, match=message) as caught:
        Environment({P + "SOAP_URL": url}).url("SOAP_URL")
    assert str(caught.value).startswith("BULK_ENROLL_SOAP_URL")
    assert "pw@" not in str(caught.value)


def test_secret_file_must_be_private(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t\n")
    env = {
        P + "SOAP_URL": "https://x.example/soap",
        P + "API_URL": "https://x.example",
        P + "CLIENT_ID": "id",
        P + "CLIENT_SECRET_FILE": str(secret),
    }
    secret.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by other users; run: chmod 600"):
        load_account(env)
    secret.chmod(0o600)
    assert load_account(env).client_secret == "s3cr3t"


def test_run_settings_parse_and_refuse_nonsense():
    settings = load_run_settings({P + "MAX_LEARNERS_PER_CALL": "100", P + "CONCURRENCY": "2"})
    assert settings.limits.max_learners == 100 and settings.concurrency == 2
    with pytest.raises(ConfigError) as caught:
        load_run_settings({P + "MAX_ATTEMPTS": "lots"})
    assert str(caught.value) == (
        "BULK_ENROLL_MAX_ATTEMPTS='lots' (max_attempts in [limits]) is not a whole number")
    with pytest.raises(ConfigError, match=r"^BULK_ENROLL_CONCURRENCY='2.5' \(concurrency in "
                                          r"\[limits\]\) is not a whole number$"):
        load_run_settings({P + "CONCURRENCY": "2.5"})  # was silently read as 2
    with pytest.raises(ConfigError, match=r"COURSES_PER_CALL='0' \(.*\) must be at least 1$"):
        load_run_settings({P + "MAX_COURSES_PER_CALL": "0"})


def test_pairs_per_call_limit_is_off_unless_set():
    assert load_run_settings({}).limits.max_pairs is None
    assert load_run_settings({P + "MAX_PAIRS_PER_CALL": "5000"}).limits.max_pairs == 5000
    with pytest.raises(ConfigError, match="MAX_PAIRS_PER_CALL='0' .* must be at least 1"):
        load_run_settings({P + "MAX_PAIRS_PER_CALL": "0"})
