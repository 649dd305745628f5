"""Reading the server's answers, sending over HTTP, and classifying network failures."""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import http.client
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import requests
import requests_mock
import urllib3.exceptions
from lxml import etree

from bulk_enroll.errors import ConfigError
from bulk_enroll.model import Batch, DueDateType, DueSettings
from bulk_enroll.transport import CallResult, CallVerdict, TransientError, soap
from bulk_enroll.transport.http import (
    ProtocolError,
    classify_network_error,
    make_session,
    parse_retry_after,
)
from bulk_enroll.transport.soap import SoapTransport, build_envelope, parse_response

TOKEN = "tok-SECRET-1234567890"
URL = "https://api-learn.example.test/soap"

# The vendor's sample response, verbatim from the method page (undeclared `ns1:` prefix and the
# https envelope namespace included).
VENDOR_SAMPLE_RESPONSE = """<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="https://schemas.xmlsoap.org/soap/envelope/"
                   xmlns="https://ispringlearn.com/go/services/api/soap">
  <SOAP-ENV:Body>
    <ns1:SuccessResult>
      <ns1:success>true</ns1:success>
    </ns1:SuccessResult>
  </SOAP-ENV:Body>
</SOAP-ENV:Envelope>"""

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">
  <SOAP-ENV:Body><SuccessResult><success>&lol9;</success></SuccessResult></SOAP-ENV:Body>
</SOAP-ENV:Envelope>"""

# A DOCTYPE whose entity would turn the answer into a success if entities were ever expanded.
ENTITY_SUCCESS = """<?xml version="1.0"?>
<!DOCTYPE e [<!ENTITY t "true">]>
<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body>
<SuccessResult><success>&t;</success></SuccessResult></Body></Envelope>"""

HTML_503 = b"""<!DOCTYPE html><html><head><title>503 Service Temporarily Unavailable</title>
</head><body><center><h1>503 Service Temporarily Unavailable</h1></center><hr>nginx</body>
</html>"""


def envelope(inner: str, env_ns: str = "http://schemas.xmlsoap.org/soap/envelope/") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<SOAP-ENV:Envelope xmlns:SOAP-ENV="{env_ns}">'
        f"<SOAP-ENV:Body>{inner}</SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()


def fault(faultstring: str, faultcode: str = "SOAP-ENV:Client") -> bytes:
    return envelope(
        f"<SOAP-ENV:Fault><faultcode>{faultcode}</faultcode>"
        f"<faultstring>{faultstring}</faultstring></SOAP-ENV:Fault>"
    )


def success(flag: str) -> bytes:
    return envelope(
        f'<ns1:SuccessResult xmlns:ns1="urn:x"><ns1:success>{flag}</ns1:success>'
        "</ns1:SuccessResult>"
    )


BATCH = Batch(
    "b-7",
    DueSettings(DueDateType.DUE_PERIOD, due_period_hours=10),
    ("learner-1", "learner-2"),
    ("course-1",),
)


# --- parse_response: successes ------------------------------------------------------------------


def test_vendor_sample_response_verbatim_is_success():
    with pytest.raises(etree.XMLSyntaxError):  # proves the sample is broken XML...
        etree.fromstring(VENDOR_SAMPLE_RESPONSE.encode())
    result = parse_response(200, VENDOR_SAMPLE_RESPONSE.encode(), {})  # ...and we still read it

    assert result == CallResult(CallVerdict.SUCCESS, "", 200)


@pytest.mark.parametrize("flag", ["true", " TRUE ", "True"])
def test_success_true_is_trimmed_and_case_insensitive(flag):
    assert parse_response(200, success(flag), {}).verdict is CallVerdict.SUCCESS


def test_success_in_standard_namespaces_is_read_by_local_name():
    body = envelope(
        '<r:SuccessResult xmlns:r="https://ispringlearn.com/go/services/api/soap">'
        "<r:success>true</r:success></r:SuccessResult>"
    )

    assert parse_response(200, body, {}).verdict is CallVerdict.SUCCESS


def test_success_false_is_rejected():
    result = parse_response(200, success("false"), {})

    assert result == CallResult(CallVerdict.REJECTED, "the server answered success=false", 200)


# --- parse_response: faults -----------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 500])
@pytest.mark.parametrize(
    "message", ["Permission denied", "Wrong parameters", "Course 146ac240 is archived & locked"]
)
def test_faults_are_rejected_with_the_server_text_verbatim(status, message):
    xml_text = message.replace("&", "&amp;")
    result = parse_response(status, fault(xml_text), {})

    assert result == CallResult(CallVerdict.REJECTED, message, status)


@pytest.mark.parametrize(
    ("faultstring", "faultcode"),
    [
        ("Invalid TOKEN", "SOAP-ENV:Client"),
        ("Access token expired", "SOAP-ENV:Server"),
        ("Access denied", "SOAP-ENV:Client.Unauthorized"),
        ("Not allowed", "ns:AuthenticationFailed"),
    ],
)
def test_token_faults_are_auth(faultstring, faultcode):
    result = parse_response(500, fault(faultstring, faultcode), {})

    assert result.verdict is CallVerdict.AUTH
    assert result.message == faultstring


def test_soap12_style_fault_is_understood():
    body = envelope(
        "<env:Fault xmlns:env='http://www.w3.org/2003/05/soap-envelope'>"
        "<env:Code><env:Value>env:Sender</env:Value></env:Code>"
        "<env:Reason><env:Text xml:lang='en'>Permission denied</env:Text></env:Reason>"
        "</env:Fault>"
    )

    assert parse_response(500, body, {}) == CallResult(
        CallVerdict.REJECTED, "Permission denied", 500
    )


def test_fault_without_message_says_so():
    result = parse_response(500, fault(""), {})

    assert result.verdict is CallVerdict.REJECTED
    assert "without a message" in result.message and "SOAP-ENV:Client" in result.message


def test_fault_beats_success_element():
    body = envelope(
        "<SOAP-ENV:Fault><faultstring>Wrong parameters</faultstring>"
        "</SOAP-ENV:Fault><success>true</success>"
    )

    assert parse_response(200, body, {}).verdict is CallVerdict.REJECTED


# --- parse_response: HTTP statuses --------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"Unauthorized", fault("Permission denied")])
def test_http_401_is_auth(body):
    assert parse_response(401, body, {}).verdict is CallVerdict.AUTH


def test_429_with_retry_after_seconds():
    with pytest.raises(TransientError) as info:
        parse_response(429, b"slow down", {"retry-after": "7"})

    assert info.value.maybe_applied is False
    assert info.value.retry_after == 7.0
    assert info.value.http_status == 429


def test_429_with_retry_after_http_date():
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120)
    headers = {"Retry-After": email.utils.format_datetime(later, usegmt=True)}
    with pytest.raises(TransientError) as info:
        parse_response(429, b"", headers)

    assert info.value.maybe_applied is False
    assert 100 <= info.value.retry_after <= 121


def test_429_without_retry_after():
    with pytest.raises(TransientError) as info:
        parse_response(429, fault("Permission denied"), {})

    assert info.value.retry_after is None and info.value.maybe_applied is False


@pytest.mark.parametrize("status,maybe_applied", [(500, True), (502, True), (503, False),
                                                   (504, True)])
def test_5xx_html_is_transient_and_maybe_applied_unless_503(status, maybe_applied):
    with pytest.raises(TransientError) as info:
        parse_response(status, HTML_503, {"Retry-After": "30"})

    assert info.value.maybe_applied is maybe_applied
    assert info.value.http_status == status
    assert info.value.retry_after == 30.0
    assert str(info.value).startswith(f"HTTP {status}: ")


def test_503_is_transient_even_with_a_fault():
    with pytest.raises(TransientError) as info:
        parse_response(503, fault("Service is busy", "SOAP-ENV:Server"), {})

    assert info.value.maybe_applied is False
    assert "Service is busy" in str(info.value)


def test_408_is_transient_and_not_applied():
    with pytest.raises(TransientError) as info:
        parse_response(408, b"", {})

    assert info.value.maybe_applied is False


@pytest.mark.parametrize(
    ("status", "message"),
    [(400, "HTTP 400: Bad Request"), (403, "HTTP 403: Forbidden")],
)
def test_a_refusal_of_the_content_without_fault_is_rejected_with_status(status, message):
    # Rejected: the sender halves the call to find the rows at fault.
    assert parse_response(status, HTML_503, {}) == CallResult(CallVerdict.REJECTED, message, status)


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (404, "HTTP 404: Not Found (is BULK_ENROLL_SOAP_URL the account's SOAP endpoint?)"),
        (499, "HTTP 499: unexpected status"),
    ],
)
def test_an_answer_that_is_not_the_api_is_a_protocol_error_not_a_rejection(status, message):
    # Not rejected: halving would only repeat the same answer for every half.
    with pytest.raises(ProtocolError) as info:
        parse_response(status, HTML_503, {})
    assert str(info.value) == message and info.value.maybe_applied is False


def test_redirect_is_a_protocol_error_naming_the_target():
    with pytest.raises(ProtocolError) as info:
        parse_response(301, b"", {"Location": "https://elsewhere.test/soap"})

    assert str(info.value).startswith("HTTP 301: Moved Permanently")
    assert "https://elsewhere.test/soap" in str(info.value)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"", "it was empty"),
        (b"OK", "it is not XML"),
        (b"<html><body>Welcome</body></html>", "it is not a SOAP envelope"),
        (envelope("<SuccessResult/>"), "it has no success element"),
        (success("yes"), "success is neither true nor false"),
    ],
)
def test_2xx_that_is_not_a_soap_result_is_a_protocol_error(body, detail):
    with pytest.raises(ProtocolError) as info:
        parse_response(200, body, {})

    assert str(info.value) == f"the server's answer was not a SOAP response (HTTP 200: {detail})"
    assert info.value.http_status == 200


# --- parse_response: hostile documents -----------------------------------------------------------


def test_billion_laughs_is_refused_without_expansion():
    started = time.perf_counter()
    with pytest.raises(ProtocolError, match="DOCTYPE") as info:
        parse_response(200, BILLION_LAUGHS.encode(), {})

    assert time.perf_counter() - started < 1.0
    assert "lol" not in str(info.value)


def test_utf16_billion_laughs_slips_past_the_byte_check_but_not_the_parser():
    body = BILLION_LAUGHS.replace('version="1.0"', 'version="1.0" encoding="UTF-16"')
    data = body.encode("utf-16")
    assert b"<!DOCTYPE" not in data  # the cheap regex cannot see it

    root = etree.fromstring(data, soap._response_parser())
    assert len(etree.tostring(root)) < len(data)  # entities were not expanded
    with pytest.raises(ProtocolError, match="DOCTYPE"):
        parse_response(200, data, {})


def test_response_parser_does_not_substitute_entities():
    data = ENTITY_SUCCESS.replace('version="1.0"', 'version="1.0" encoding="utf-16"')

    root = etree.fromstring(data.encode("utf-16"), soap._response_parser())

    assert "true" not in "".join(root.itertext())


def test_utf8_doctype_is_refused_before_parsing(monkeypatch):
    def no_parsing():
        raise AssertionError("a document with a DTD reached the XML parser")

    monkeypatch.setattr(soap, "_response_parser", no_parsing)
    with pytest.raises(ProtocolError, match="DOCTYPE"):
        parse_response(200, BILLION_LAUGHS.encode(), {})
    with pytest.raises(TransientError):
        parse_response(503, HTML_503, {})


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_declared_entities_are_never_used(encoding):
    """If the entity were expanded, `success` would read `true`."""
    data = ENTITY_SUCCESS.replace('version="1.0"', f'version="1.0" encoding="{encoding}"')
    with pytest.raises(ProtocolError, match="DOCTYPE"):
        parse_response(200, data.encode(encoding), {})


def test_external_entity_is_not_read(tmp_path):
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("TOP-SECRET-CONTENT")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "{secret_file.as_uri()}">]>'
        f"<Envelope><Body><Fault><faultstring>&x;</faultstring></Fault></Body></Envelope>"
    )
    with pytest.raises(TransientError) as info:
        parse_response(500, body.encode(), {})

    assert "TOP-SECRET-CONTENT" not in str(info.value)


def test_5xx_bomb_is_transient_not_read():
    with pytest.raises(TransientError) as info:
        parse_response(500, BILLION_LAUGHS.encode(), {})

    assert info.value.maybe_applied is True


# --- http helpers ----------------------------------------------------------------------------

NOW = dt.datetime(2024, 3, 1, 12, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("1.5", 1.5),
        ("-5", 0.0),
        ("Fri, 01 Mar 2024 12:01:30 GMT", 90.0),
        ("Fri, 01 Mar 2024 11:00:00 GMT", 0.0),
        ("Fri, 01 Mar 2024 12:00:10 -0000", 10.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
        ("inf", None),
    ],
)
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, now=NOW) == expected


def test_make_session_sets_user_agent_and_keeps_verification():
    session = make_session("bulk-enroll/0.1")

    assert session.headers["User-Agent"] == "bulk-enroll/0.1"
    assert session.verify is True
    assert session.get_adapter("https://x.test").max_retries.total == 0


def _refused() -> requests.exceptions.ConnectionError:
    conn = object()
    reason = urllib3.exceptions.NewConnectionError(conn, "Failed to establish a new connection")
    return requests.exceptions.ConnectionError(
        urllib3.exceptions.MaxRetryError(None, "/soap", reason=reason)
    )


def _dns_failure() -> requests.exceptions.ConnectionError:
    reason = urllib3.exceptions.NameResolutionError(
        "nohost.invalid", object(), socket.gaierror(-2, "Name unknown")
    )
    return requests.exceptions.ConnectionError(
        urllib3.exceptions.MaxRetryError(None, "/soap", reason=reason)
    )


def _aborted(cause: BaseException) -> requests.exceptions.ConnectionError:
    return requests.exceptions.ConnectionError(
        urllib3.exceptions.ProtocolError("Connection aborted.", cause)
    )


@pytest.mark.parametrize(
    ("exc", "maybe_applied"),
    [
        (requests.exceptions.ConnectTimeout("connect timed out"), False),
        (requests.exceptions.SSLError("certificate verify failed"), False),
        (requests.exceptions.ProxyError("proxy refused"), False),
        (_refused(), False),
        (_dns_failure(), False),
        (requests.exceptions.ReadTimeout("read timed out"), True),
        (requests.exceptions.ChunkedEncodingError("broken chunk"), True),
        (_aborted(http.client.RemoteDisconnected("Remote end closed connection")), True),
        (_aborted(ConnectionResetError(104, "Connection reset by peer")), True),
        (requests.exceptions.ConnectionError("something unknown"), True),
    ],
    ids=[
        "connect-timeout",
        "ssl",
        "proxy",
        "refused",
        "dns",
        "read-timeout",
        "chunked",
        "remote-disconnected",
        "reset",
        "unknown",
    ],
)
def test_classify_network_error(exc, maybe_applied):
    error = classify_network_error(exc)

    assert isinstance(error, TransientError)
    assert error.maybe_applied is maybe_applied
    assert error.retry_after is None


def test_classified_message_redacts_secrets():
    error = classify_network_error(
        requests.exceptions.ConnectionError(f"boom {TOKEN}"), redact=[TOKEN]
    )

    assert TOKEN not in str(error)
    assert "boom ***" in str(error)


# --- SoapTransport with requests-mock ------------------------------------------------------------


@pytest.fixture
def mock() -> requests_mock.Adapter:
    return requests_mock.Adapter()


@pytest.fixture
def transport(mock: requests_mock.Adapter) -> SoapTransport:
    session = make_session("bulk-enroll-test")
    session.mount("https://", mock)
    return SoapTransport(URL, session=session, timeout=(3.0, 45.0))


def test_enroll_posts_the_envelope_with_headers_and_timeout(mock, transport):
    mock.register_uri("POST", URL, content=VENDOR_SAMPLE_RESPONSE.encode())

    result = transport.enroll(BATCH, TOKEN)

    assert result.verdict is CallVerdict.SUCCESS
    sent = mock.last_request
    assert mock.call_count == 1
    assert sent.body == build_envelope(BATCH, TOKEN)
    assert sent.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert sent.headers["SOAPAction"] == '""'
    assert sent.headers["User-Agent"] == "bulk-enroll-test"
    assert sent.timeout == (3.0, 45.0)


def test_enroll_uses_the_configured_service_namespace(mock):
    session = requests.Session()
    session.mount("https://", mock)
    ns = "http://ispringlearn.com/go/services/api/soap"
    mock.register_uri("POST", URL, content=success("true"))

    SoapTransport(URL, session=session, service_namespace=ns).enroll(BATCH, TOKEN)

    assert mock.last_request.body == build_envelope(BATCH, TOKEN, service_namespace=ns)
    assert mock.last_request.timeout == (10, 60)


def test_enroll_maps_a_permission_fault(mock, transport):
    mock.register_uri("POST", URL, status_code=500, content=fault("Permission denied"))

    assert transport.enroll(BATCH, TOKEN) == CallResult(
        CallVerdict.REJECTED, "Permission denied", 500
    )


def test_enroll_does_not_follow_redirects(mock, transport):
    mock.register_uri("POST", URL, status_code=307, headers={"Location": "https://evil.test/x"})
    mock.register_uri("POST", "https://evil.test/x", content=success("true"))

    with pytest.raises(ProtocolError):
        transport.enroll(BATCH, TOKEN)
    assert mock.call_count == 1


def test_enroll_redacts_a_token_echoed_by_the_server(mock, transport):
    mock.register_uri("POST", URL, status_code=500, content=fault(f"Token {TOKEN} is invalid"))

    result = transport.enroll(BATCH, TOKEN)

    assert result.verdict is CallVerdict.AUTH
    assert TOKEN not in result.message
    assert result.message == "Token *** is invalid"


def test_enroll_redacts_the_token_from_transient_errors(mock, transport):
    mock.register_uri(
        "POST", URL, status_code=503, content=fault(f"busy, retry with {TOKEN}", "SOAP-ENV:Server")
    )

    with pytest.raises(TransientError) as info:
        transport.enroll(BATCH, TOKEN)

    assert TOKEN not in str(info.value)
    assert info.value.http_status == 503


def test_enroll_raises_protocol_error_for_a_html_200(mock, transport):
    mock.register_uri("POST", URL, text="<!DOCTYPE html><html><body>Login</body></html>")

    with pytest.raises(ProtocolError, match="not a SOAP response"):
        transport.enroll(BATCH, TOKEN)


@pytest.mark.parametrize(
    ("exc", "maybe_applied"),
    [
        (requests.exceptions.ConnectTimeout, False),
        (requests.exceptions.ReadTimeout, True),
        (_refused(), False),
        (_aborted(http.client.RemoteDisconnected("Remote end closed connection")), True),
    ],
    ids=["connect-timeout", "read-timeout", "refused", "remote-disconnected"],
)
def test_enroll_network_errors(mock, transport, exc, maybe_applied):
    mock.register_uri("POST", URL, exc=exc)

    with pytest.raises(TransientError) as info:
        transport.enroll(BATCH, TOKEN)

    assert info.value.maybe_applied is maybe_applied
    assert TOKEN not in str(info.value)


@pytest.mark.parametrize("url", ["", "api-learn.example.test/soap", "ftp://x.test/soap"])
def test_transport_refuses_an_unusable_url(url):
    with pytest.raises(ConfigError, match="not an http"):
        SoapTransport(url, session=requests.Session())


def test_repr_shows_no_session_or_token():
    assert repr(SoapTransport(URL, session=requests.Session())) == f"SoapTransport(url='{URL}')"


# --- SoapTransport against real loopback sockets (real requests/urllib3 exception chains) --------


@contextlib.contextmanager
def loopback_server(handle: Callable[[socket.socket], None]) -> Iterator[int]:
    """A one-connection TCP server on 127.0.0.1 running `handle`; yields its port."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = server.accept()
            with conn:
                handle(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        server.close()
        thread.join(timeout=2)


def _read_request(conn: socket.socket) -> None:
    conn.settimeout(2)
    with contextlib.suppress(OSError):
        conn.recv(65536)


def _enroll_against(port: int, scheme: str = "http") -> TransientError:
    transport = SoapTransport(
        f"{scheme}://127.0.0.1:{port}/soap", session=make_session("t"), timeout=(1.0, 0.3)
    )
    with pytest.raises(TransientError) as info:
        transport.enroll(BATCH, TOKEN)
    assert TOKEN not in str(info.value)
    return info.value


def test_real_connection_refused_is_not_applied():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now

    error = _enroll_against(port)

    assert error.maybe_applied is False
    assert "could not be sent" in str(error)


def test_real_close_after_request_is_maybe_applied():
    with loopback_server(_read_request) as port:
        error = _enroll_against(port)

    assert error.maybe_applied is True
    # The close shows up as a clean disconnect or, if unread bytes remain, as a reset.
    assert re.search(r"RemoteDisconnected|reset|aborted|Broken pipe", str(error)), str(error)


def test_real_read_timeout_is_maybe_applied():
    release = threading.Event()

    def stall(conn: socket.socket) -> None:
        _read_request(conn)
        release.wait(2)

    with loopback_server(stall) as port:
        error = _enroll_against(port)
        release.set()

    assert error.maybe_applied is True


def test_real_tls_handshake_failure_is_not_applied():
    def plain_http(conn: socket.socket) -> None:
        _read_request(conn)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    with loopback_server(plain_http) as port:
        error = _enroll_against(port, scheme="https")

    assert error.maybe_applied is False


def test_plain_http_to_this_machine_never_goes_through_a_proxy(monkeypatch):
    monkeypatch.setenv("http_proxy", "http://proxy.example:3128")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    session = make_session("t")
    plain = session.merge_environment_settings("http://localhost:8089/soap", {}, None, None, None)
    tls = session.merge_environment_settings("https://api.example/soap", {}, None, None, None)
    assert plain["proxies"] == {}
    assert tls["proxies"].get("https") == "http://proxy.example:3128"  # HTTPS keeps its proxy
