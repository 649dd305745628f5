"""Configuration of the REST transport and the lookups."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulk_enroll.connect import connect
from bulk_enroll.errors import ConfigError
from bulk_enroll.settings.config import load_account, load_run_settings, load_transport
from bulk_enroll.transport.lookup_client import RestClient
from bulk_enroll.transport.rest import RestTransport
from bulk_enroll.transport.soap import SoapTransport

P = "BULK_ENROLL_"
API = "https://api-learn.ispringlearn.eu"


def test_rest_needs_the_api_url_but_not_the_soap_url():
    account = load_account({P + "TRANSPORT": "REST", P + "API_URL": API, P + "TOKEN": "t"})
    assert (account.transport, account.soap_url, account.api_url) == ("rest", None, API)
    with pytest.raises(ConfigError, match="BULK_ENROLL_TRANSPORT=rest needs BULK_ENROLL_API_URL"):
        load_account({P + "TRANSPORT": "rest", P + "SOAP_URL": "https://x/soap", P + "TOKEN": "t"})


def test_soap_still_needs_its_url_and_unknown_transports_are_refused():
    with pytest.raises(ConfigError, match="BULK_ENROLL_SOAP_URL is not set"):
        load_account({P + "API_URL": API, P + "TOKEN": "t"})
    with pytest.raises(ConfigError, match=r"TRANSPORT='grpc' \(transport in \[account\]\) is "
                                          "not one of: soap, rest"):
        load_account({P + "TRANSPORT": "grpc", P + "API_URL": API, P + "TOKEN": "t"})
    assert load_transport({}) == "soap"


def test_the_rest_api_url_must_be_https_off_this_machine():
    with pytest.raises(ConfigError, match="plain http"):
        load_account(
            {P + "TRANSPORT": "rest", P + "API_URL": "http://api.example", P + "TOKEN": "t"}
        )


def test_connect_builds_the_chosen_transport_and_the_lookup_client():
    rest = connect(
        load_account({P + "TRANSPORT": "rest", P + "API_URL": API, P + "TOKEN": "t"}),
        load_run_settings({}),
    )
    assert isinstance(rest.transport, RestTransport)
    assert rest.endpoint == API + "/enrollment"
    assert isinstance(rest.directory, RestClient) and rest.directory.page_size == 1000
    soap_only = connect(
        load_account({P + "SOAP_URL": "https://x.example/soap", P + "TOKEN": "t"}),
        load_run_settings({}),
    )
    assert isinstance(soap_only.transport, SoapTransport)
    assert soap_only.directory is None  # no API URL: nothing can be looked up


def test_lookup_settings_have_documented_defaults_and_limits(tmp_path):
    defaults = load_run_settings({})
    assert (defaults.page_size, defaults.lookup_cache, defaults.lookup_cache_max_age_h) == (
        1000, None, 24.0
    )
    settings = load_run_settings(
        {P + "PAGE_SIZE": "200", P + "LOOKUP_CACHE": "~/c.json", P + "LOOKUP_CACHE_HOURS": "6"}
    )
    assert settings.page_size == 200 and settings.lookup_cache_max_age_h == 6
    assert settings.lookup_cache == Path("~/c.json").expanduser()
    with pytest.raises(ConfigError, match="PAGE_SIZE='5000' .* must be between 1 and 1000"):
        load_run_settings({P + "PAGE_SIZE": "5000"})
