"""The TOML configuration file: names, precedence, typos and secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulk_enroll.cli import main
from bulk_enroll.errors import ConfigError
from bulk_enroll.inbox.runner import load_inbox_settings
from bulk_enroll.settings.config import load_account, load_run_settings
from bulk_enroll.settings.config_file import (
    SCHEMA,
    effective_environ,
    find_config_file,
    known_names,
    load_config_file,
    read_configuration,
)
from tests.support import open_report

FULL = """
state_dir = "state"

[account]
soap_url = "https://acme.ispringlearn.com/soap"
api_url = "https://api-learn.ispringlearn.com"
client_id = "client-1"
client_secret_file = "~/secret"

[limits]
max_learners_per_call = 200
rate_limit = 2.5

[inbox]
archive_dir = "/srv/archive"
max_invalid_share = 0.1
max_new_enrollments_per_file = 300

[notify]
when = "always"
webhook_url = "https://hooks.example.com/T1/B2/xyz"

[notify.email]
host = "smtp.example.com"
port = 587
from = "bulk@example.com"
to = ["a@example.com", "b@example.com"]
starttls = true

[log]
format = "json"
"""


def write(tmp_path: Path, text: str, mode: int = 0o644) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_file_values_become_the_environment_names(tmp_path):
    loaded = load_config_file(write(tmp_path, FULL))
    assert loaded.values == {
        "BULK_ENROLL_STATE_DIR": str(tmp_path / "state"),  # relative to the file's folder
        "BULK_ENROLL_SOAP_URL": "https://acme.ispringlearn.com/soap",
        "BULK_ENROLL_API_URL": "https://api-learn.ispringlearn.com",
        "BULK_ENROLL_CLIENT_ID": "client-1",
        "BULK_ENROLL_CLIENT_SECRET_FILE": str(Path.home() / "secret"),
        "BULK_ENROLL_MAX_LEARNERS_PER_CALL": "200",
        "BULK_ENROLL_RATE_LIMIT": "2.5",
        "BULK_ENROLL_INBOX_ARCHIVE_DIR": "/srv/archive",
        "BULK_ENROLL_INBOX_MAX_INVALID_SHARE": "0.1",
        "BULK_ENROLL_INBOX_MAX_NEW_PER_FILE": "300",
        "BULK_ENROLL_NOTIFY_WHEN": "always",
        "BULK_ENROLL_WEBHOOK_URL": "https://hooks.example.com/T1/B2/xyz",
        "BULK_ENROLL_SMTP_HOST": "smtp.example.com",
        "BULK_ENROLL_SMTP_PORT": "587",
        "BULK_ENROLL_SMTP_FROM": "bulk@example.com",
        "BULK_ENROLL_SMTP_TO": "a@example.com, b@example.com",
        "BULK_ENROLL_SMTP_STARTTLS": "true",
        "BULK_ENROLL_LOG_FORMAT": "json",
    }
    assert loaded.secrets == ("https://hooks.example.com/T1/B2/xyz",)


def test_environment_overrides_the_file_and_existing_loaders_read_the_result(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cret-value")
    secret.chmod(0o600)
    loaded = load_config_file(write(tmp_path, FULL.replace("~/secret", "secret")))
    env = effective_environ(loaded, {"BULK_ENROLL_MAX_LEARNERS_PER_CALL": "100",
                                     "BULK_ENROLL_CLIENT_ID": "", "HOME": "/x"})
    run = load_run_settings(env)
    assert run.limits.max_learners == 100  # the environment wins
    assert run.rate_limit == 2.5 and run.state_dir == tmp_path / "state"
    account = load_account(env)
    assert account.client_id == "client-1"  # an empty variable does not blank the file
    assert account.client_secret == "s3cret-value"
    inbox = load_inbox_settings(env, inbox=tmp_path / "drop")
    assert inbox.archive == Path("/srv/archive") and inbox.reports == tmp_path / "drop/reports"
    assert inbox.limits.max_invalid_share == 0.1 and inbox.limits.max_new_per_file == 300


@pytest.mark.parametrize("text,message", [
    ("[account]\nsoap_ulr = 'x'\n", "unknown key 'soap_ulr' in [account] (did you mean "
                                    "'soap_url'?)"),
    ("stat_dir = 'x'\n", "unknown key 'stat_dir' (top level) (did you mean 'state_dir'?)"),
    ("[limit]\nconcurrency = 2\n", "unknown section [limit] (did you mean 'limits'?)"),
    ("[notify.mail]\nhost = 'x'\n", "unknown section [notify.mail] (did you mean "
                                    "'notify.email'?)"),
    ("[limits]\nconcurrency = '4'\n", "'concurrency' in [limits] must be a whole number, "
                                      "not '4'"),
    ("[notify.email]\nstarttls = 'yes'\n", "'starttls' in [notify.email] must be true or "
                                           "false, not 'yes'"),
    ("[account]\nclient_id = 12\n", "'client_id' in [account] must be text in quotes, not 12"),
])
def test_mistakes_are_errors_naming_the_file_and_the_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config_file(path)
    assert str(caught.value) == f"{path}: {message}"


def test_invalid_toml_says_where(tmp_path):
    path = write(tmp_path, "[account]\nsoap_url = \n")
    with pytest.raises(ConfigError, match=r"is not valid TOML: .*line 2"):
        load_config_file(path)


def test_a_literal_secret_needs_a_private_file(tmp_path):
    text = "[account]\nclient_secret = 'literal-secret'\n"
    with pytest.raises(ConfigError) as caught:
        load_config_file(write(tmp_path, text, 0o644))
    assert "is a secret in a file other users can read" in str(caught.value)
    assert "client_secret_file" in str(caught.value) and "literal-secret" not in str(
        caught.value)
    loaded = load_config_file(write(tmp_path, text, 0o600))
    assert loaded.values["BULK_ENROLL_CLIENT_SECRET"] == "literal-secret"
    assert loaded.secrets == ("literal-secret",)


def test_where_the_file_is_found(tmp_path):
    xdg = tmp_path / "xdg"
    assert find_config_file(None, {"XDG_CONFIG_HOME": str(xdg)}) is None  # optional default
    default = xdg / "bulk-enroll" / "config.toml"
    default.parent.mkdir(parents=True)
    default.write_text("")
    assert find_config_file(None, {"XDG_CONFIG_HOME": str(xdg)}) == default
    other = write(tmp_path, "")
    env = {"XDG_CONFIG_HOME": str(xdg), "BULK_ENROLL_CONFIG": str(other)}
    assert find_config_file(None, env) == other
    assert find_config_file(default, env) == default  # --config first
    with pytest.raises(ConfigError, match=r"nope.toml \(--config\) does not exist"):
        find_config_file(tmp_path / "nope.toml", env)
    with pytest.raises(ConfigError, match=r"gone.toml \(BULK_ENROLL_CONFIG\) does not exist"):
        find_config_file(None, {"BULK_ENROLL_CONFIG": str(tmp_path / "gone.toml")})


def test_every_file_setting_is_documented_in_the_readme():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for section, table in SCHEMA.items():
        for key in table:
            assert f"`{key}`" in readme, (section, key)
    assert len(known_names()) == len(set(known_names()))


def test_cli_reports_a_bad_file_with_exit_2_but_help_still_works(tmp_path, capsys):
    path = write(tmp_path, "[account]\nsoap_ulr = 'x'\n")
    assert main(["--config", str(path), "run", "--help"]) == 0
    capsys.readouterr()
    assert main(["--config", str(path), "run", "--dry-run", "x.csv"]) == 2
    assert capsys.readouterr().err == (
        f"Error: {path}: unknown key 'soap_ulr' in [account] (did you mean 'soap_url'?)\n")


def test_a_bad_log_setting_in_the_file_is_not_ignored(tmp_path, capsys):
    path = write(tmp_path, "[log]\nformat = 'jsn'\n")
    assert main(["--config", str(path), "run", "--dry-run", "x.csv"]) == 2
    assert capsys.readouterr().err == (
        "Error: BULK_ENROLL_LOG_FORMAT='jsn' (format in [log]) is not one of: human, json\n")


def test_input_section_gives_aliases_and_date_order_to_every_command(tmp_path, monkeypatch,
                                                                     capsys):
    config = tmp_path / "config.toml"
    config.write_text(
        '[input]\ndate_order = "dmy"\naliases = { "Mitarbeiter E-Mail" = "learner_email", '
        '"Schulung" = "course_title" }\n'
    )
    source = tmp_path / "de.csv"
    source.write_text(
        "Mitarbeiter E-Mail;Schulung;due_date_type;due_date\n"
        "anna@example.com;Brandschutz;due_date;03/04/2027\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    assert main(["--config", str(config), "validate", str(source), "--report", "v.xlsx"]) == 0
    assert "No problems found." in capsys.readouterr().out
    # without the file, the same input has an unknown header layout and an ambiguous date
    assert main(["validate", str(source), "--report", "w.xlsx"]) == 2


def test_defaults_section_gives_row_defaults_that_options_override(tmp_path, monkeypatch,
                                                                    capsys):
    config = tmp_path / "config.toml"
    config.write_text('[defaults]\ndue_date_type = "due_period"\ndue_period = 720\n'
                      "lock_after_due_date = true\n")
    source = tmp_path / "hr.csv"
    source.write_text("learner_id,course_id\n"
                      "8363b098-e031-11e9-89cf-0a580af40b0f,8363b098-e031-11e9-89cf-0a580af40b0a\n")
    monkeypatch.chdir(tmp_path)

    def batch_settings(*options: str) -> str:
        assert main(["--config", str(config), "validate", str(source), "--report", "v.xlsx",
                     *options]) == 0
        capsys.readouterr()
        return str(open_report(tmp_path / "v.xlsx")["Batches"]["C2"].value)

    assert batch_settings() == "due_period, 720 h, lock"
    assert batch_settings("--due-date-type", "unlimited") == "unlimited, lock"
    assert batch_settings("--due-period", "2 weeks") == "due_period, 336 h, lock"
    config.write_text('[defaults]\ndue_period = "30 days"\n')
    assert batch_settings() == "due_period, 720 h"


@pytest.mark.parametrize("env,message", [
    ({"BULK_ENROLL_DEFAULT_DUE_DATE_TYPE": "asap"},
     r"^BULK_ENROLL_DEFAULT_DUE_DATE_TYPE='asap' \(due_date_type in \[defaults\]\) is not one "
     r"of: unlimited, default, due_date, due_period$"),
    ({"BULK_ENROLL_DEFAULT_DUE_PERIOD": "1 month"},
     r"^BULK_ENROLL_DEFAULT_DUE_PERIOD='1 month' \(due_period in \[defaults\]\) is not a due "
     r"period \(whole hours like 720, or a number with a unit: 30 days, 2 weeks\)$"),
    ({"BULK_ENROLL_DEFAULT_LOCK_AFTER_DUE_DATE": "perhaps"},
     r"^BULK_ENROLL_DEFAULT_LOCK_AFTER_DUE_DATE='perhaps' \(lock_after_due_date in "
     r"\[defaults\]\) is not true or false"),
    ({"BULK_ENROLL_DATE_ORDER": "ymd"},
     r"^BULK_ENROLL_DATE_ORDER='ymd' \(date_order in \[input\]\) is not one of: dmy, mdy$"),
    ({"BULK_ENROLL_ALIASES": '{"Mail": "nonsense"}'}, "BULK_ENROLL_ALIASES"),
    ({"BULK_ENROLL_ALIASES": "[1, 2]"}, "BULK_ENROLL_ALIASES"),
])
def test_bad_input_settings_are_config_errors(env, message):
    from bulk_enroll.settings.config import load_input_settings

    with pytest.raises(ConfigError, match=message):
        load_input_settings(env)


def test_the_inbox_checks_the_server_by_default_when_the_rest_api_is_configured(tmp_path):
    base = {"BULK_ENROLL_INBOX_DIR": str(tmp_path)}
    assert load_inbox_settings(base).check_server is False
    with_api = {**base, "BULK_ENROLL_API_URL": "https://api-learn.ispringlearn.eu"}
    assert load_inbox_settings(with_api).check_server is True
    assert load_inbox_settings({**with_api, "BULK_ENROLL_INBOX_CHECK_SERVER": "false"}
                               ).check_server is False


def test_read_configuration_merges_once_and_masks_the_secrets(tmp_path):
    from bulk_enroll.logs import redact

    path = write(tmp_path, "[account]\nclient_secret = 'literal-secret'\nclient_id = 'c1'\n"
                           "[limits]\nconcurrency = 3\n", 0o600)
    env = {"BULK_ENROLL_CONCURRENCY": "5", "BULK_ENROLL_TOKEN": "token-from-env"}
    try:
        configuration = read_configuration(path, env)
        assert configuration.file is not None and configuration.file.path == path
        assert configuration.environ["BULK_ENROLL_CONCURRENCY"] == "5"  # the environment wins
        assert configuration.environ["BULK_ENROLL_CLIENT_ID"] == "c1"
        assert redact("sent literal-secret and token-from-env") == "sent *** and ***"
        assert read_configuration(None, {"XDG_CONFIG_HOME": str(tmp_path / "none")}).file is None
    finally:
        redact.clear()
