"""Account settings -> a ready `Connection` (transport + token source): the HTTP wiring."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from bulk_enroll._version import __version__
from bulk_enroll.send.journal import account_keys
from bulk_enroll.settings.config import AccountSettings, RunSettings
from bulk_enroll.transport import Transport
from bulk_enroll.transport.auth import ClientCredentialsToken, StaticToken, TokenSource
from bulk_enroll.transport.http import make_session
from bulk_enroll.transport.lookup_client import RestClient
from bulk_enroll.transport.rest import RestTransport
from bulk_enroll.transport.soap import SoapTransport


@dataclass(frozen=True)
class Connection:
    transport: Transport
    tokens: TokenSource
    endpoint: str  # scheme://host[:port]/path of the enrollment endpoint; never a secret
    #: The REST list calls (lookups, server reconciliation, settling lost answers); None
    #: without an API URL.
    directory: RestClient | None = None
    account: str = ""  # how the journal names this account (host and client ID)
    #: The account's other names in the journal (its SOAP host, when that is not the API's).
    account_aliases: tuple[str, ...] = ()


def connect(account: AccountSettings, run: RunSettings) -> Connection:
    """Build the transport and the token source for `account`; makes no request yet."""
    session = make_session(f"bulk-enroll/{__version__}")
    timeout = (run.connect_timeout_s, run.read_timeout_s)
    tokens: TokenSource
    if account.token:
        tokens = StaticToken(account.token)
    else:
        assert account.api_url and account.client_id and account.client_secret  # config checked
        tokens = ClientCredentialsToken(
            account.api_url, account.client_id, account.client_secret, session=session
        )
    directory = None
    if account.api_url:
        directory = RestClient(
            account.api_url,
            session=session,
            tokens=tokens,
            timeout=timeout,
            page_size=run.page_size,
            max_attempts=run.max_attempts,
            no_progress_s=run.no_progress_timeout_s,
        )
    transport: Transport
    if account.transport == "rest":
        assert account.api_url  # config checked
        rest = RestTransport(account.api_url, session=session, timeout=timeout)
        transport, url = rest, rest.url
    else:
        assert account.soap_url  # config checked
        transport = SoapTransport(
            account.soap_url,
            session=session,
            service_namespace=account.service_namespace,
            timeout=timeout,
        )
        url = account.soap_url
    parts = urlsplit(url)
    endpoint = f"{parts.scheme}://{parts.netloc}{parts.path}"
    # The account, not the transport: SOAP and REST runs share their calls in the journal.
    main, *aliases = account_keys((account.api_url, account.soap_url), account.client_id)
    return Connection(transport, tokens, endpoint, directory, main, tuple(aliases))
