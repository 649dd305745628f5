"""Account settings -> a ready `Connection` (transport + token source): the HTTP wiring."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from bulk_enroll import __version__
from bulk_enroll.config import AccountSettings, RunSettings
from bulk_enroll.journal import account_key
from bulk_enroll.sender import Settler
from bulk_enroll.transport import Transport
from bulk_enroll.transport.auth import ClientCredentialsToken, StaticToken, TokenSource
from bulk_enroll.transport.http import make_session
from bulk_enroll.transport.soap import SoapTransport


@dataclass(frozen=True)
class Connection:
    transport: Transport
    tokens: TokenSource
    endpoint: str  # scheme://host[:port]/path of the enrollment endpoint; never a secret
    account: str = ""  # how the journal names this account (endpoint and client ID)
    settler: Settler | None = None  # reads the server's enrollments after a lost answer


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
    transport = SoapTransport(
        account.soap_url,
        session=session,
        service_namespace=account.service_namespace,
        timeout=timeout,
    )
    parts = urlsplit(account.soap_url)
    endpoint = f"{parts.scheme}://{parts.netloc}{parts.path}"
    return Connection(transport, tokens, endpoint, account_key(endpoint, account.client_id))
