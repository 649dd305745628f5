"""The sandbox over real HTTP on loopback: token endpoint, SOAP method, faults, routing."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from lxml import etree

from bulk_enroll.sandbox import Faults, SandboxServer, SandboxState, default_directory, serve
from bulk_enroll.sandbox.rate_shapes import RateRule, Shape
from bulk_enroll.sandbox.state import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SUCCESS

DIRECTORY = default_directory()
LEARNERS = [u.user_id for u in DIRECTORY.users if u.is_active][:3]
COURSES = [c.content_id for c in DIRECTORY.courses][:2]
TOKEN = "integration-static-token"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SERVICE = "https://ispringlearn.com/go/services/api/soap"

# The method page's sample request, verbatim: `</soap:duePeriod>` makes it malformed XML.
VENDOR_SAMPLE = """<?xml version="1.0" encoding="utf-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="https://schemas.xmlsoap.org/soap/envelope/"
                   xmlns="https://ispringlearn.com/go/services/api/soap">
  <SOAP-ENV:Body>
      <EnrollLearnersInCoursesRequest>
        <credentials>
            <token>p-1sJDjmULL5DdpXPJTcbm4jVIaWVHvNmrjAxATRbNE</token>
         </credentials>
         <courseIds>
            <id>146ac240-d54f-11e9-9b88-0a580af40973</id>
         </courseIds>
         <learnerIds>
            <id>8363b098-e031-11e9-89cf-0a580af40b0f</id>
         </learnerIds>
         <accessDate>2019-09-24 10:30:00</accessDate>
         <dueDateType>unlimited</dueDateType>
         <dueDate>2019-09-25</dueDate>
         <duePeriod>10</soap:duePeriod>
      </EnrollLearnersInCoursesRequest>
 </SOAP-ENV:Body>
</SOAP-ENV:Envelope>
"""


def envelope(
    token: str = TOKEN,
    learners: list[str] = LEARNERS,
    courses: list[str] = COURSES,
    extra: str = "<dueDateType>due_period</dueDateType><duePeriod>720</duePeriod>",
    env_ns: str = SOAP_ENV,
    service_ns: str = SERVICE,
    doctype: str = "",
) -> bytes:
    """A hand-written request; the prefixes differ from the server's on purpose."""
    ids = "".join
    return f"""<?xml version="1.0" encoding="utf-8"?>{doctype}
<soap:Envelope xmlns:soap="{env_ns}" xmlns:svc="{service_ns}">
  <soap:Body>
    <svc:EnrollLearnersInCoursesRequest>
      <svc:credentials><svc:token>{token}</svc:token></svc:credentials>
      <svc:courseIds>{ids(f"<svc:id>{c}</svc:id>" for c in courses)}</svc:courseIds>
      <svc:learnerIds>{ids(f"<svc:id>{lr}</svc:id>" for lr in learners)}</svc:learnerIds>
      {extra}
    </svc:EnrollLearnersInCoursesRequest>
  </soap:Body>
</soap:Envelope>""".encode()


def post_soap(server: SandboxServer, body: bytes, **kwargs: object) -> requests.Response:
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    return requests.post(server.soap_url, data=body, headers=headers, timeout=5, **kwargs)


def fault_of(response: requests.Response) -> tuple[str, str]:
    root = etree.fromstring(response.content)
    fault = root.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    assert fault is not None, response.text
    return fault.findtext("faultcode"), fault.findtext("faultstring")


def make_server(faults: Faults | None = None) -> SandboxServer:
    state = SandboxState(DIRECTORY)
    state.add_static_token(TOKEN)
    return SandboxServer(state, faults=faults)


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with make_server() as running:
        yield running


# --- token endpoint --------------------------------------------------------------------------


def test_token_endpoint_issues_a_usable_token(server: SandboxServer) -> None:
    response = requests.post(
        f"{server.api_url}/api/v3/token",
        data={
            "client_id": SANDBOX_CLIENT_ID,
            "client_secret": SANDBOX_CLIENT_SECRET,
            "grant_type": "client_credentials",
        },
        timeout=5,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["expires_in"] == 1800 and body["token_type"] == "bearer"
    assert post_soap(server, envelope(token=body["access_token"])).status_code == 200


@pytest.mark.parametrize(
    ("form", "status"),
    [
        (
            {
                "client_id": SANDBOX_CLIENT_ID,
                "client_secret": "nope",
                "grant_type": "client_credentials",
            },
            401,
        ),
        (
            {
                "client_id": SANDBOX_CLIENT_ID,
                "client_secret": SANDBOX_CLIENT_SECRET,
                "grant_type": "password",
            },
            400,
        ),
        ({"client_id": SANDBOX_CLIENT_ID, "client_secret": SANDBOX_CLIENT_SECRET}, 400),
    ],
)
def test_token_endpoint_refusals(server: SandboxServer, form: dict[str, str], status: int) -> None:
    response = requests.post(f"{server.api_url}/api/v3/token", data=form, timeout=5)
    assert response.status_code == status
    body = response.json()
    assert body["code"] == status and body["message"]
    assert "access_token" not in body


# --- SOAP method -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env_ns", "service_ns"),
    [
        (SOAP_ENV, SERVICE),
        ("https://schemas.xmlsoap.org/soap/envelope/", SERVICE),  # the vendor sample's typo
        (SOAP_ENV, "http://ispringlearn.com/go/services/api/soap"),  # older vendor page
    ],
)
def test_well_formed_request_enrolls(server: SandboxServer, env_ns: str, service_ns: str) -> None:
    response = post_soap(server, envelope(env_ns=env_ns, service_ns=service_ns))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    root = etree.fromstring(response.content)
    assert root.tag == f"{{{SOAP_ENV}}}Envelope"
    assert (
        root.findtext(f"{{{SOAP_ENV}}}Body/{{{SERVICE}}}SuccessResult/{{{SERVICE}}}success")
        == "true"
    )
    records = server.state.enrollments()
    assert set(records) == {(lr, c) for lr in LEARNERS for c in COURSES}
    assert {r.settings.due_period_hours for r in records.values()} == {720}


def test_wrong_parameters_come_back_as_a_client_fault(server: SandboxServer) -> None:
    response = post_soap(server, envelope(extra="<dueDateType>asap</dueDateType>"))
    assert response.status_code == 500
    assert fault_of(response) == ("SOAP-ENV:Client", "Wrong parameters")
    assert server.state.enrollments() == {}


def test_unknown_token_is_a_client_fault(server: SandboxServer) -> None:
    response = post_soap(server, envelope(token="not-issued"))
    assert response.status_code == 500
    assert fault_of(response) == ("SOAP-ENV:Client", "Invalid token")


def test_vendor_sample_request_is_malformed_and_refused(server: SandboxServer) -> None:
    response = post_soap(server, VENDOR_SAMPLE.encode())
    assert response.status_code == 500
    assert fault_of(response) == ("SOAP-ENV:Client", "Wrong parameters")
    assert [c.outcome for c in server.state.calls()] == ["Wrong parameters"]
    # The server is still fine afterwards.
    assert post_soap(server, envelope()).status_code == 200


def test_doctype_is_refused_even_when_harmless(server: SandboxServer) -> None:
    doctype = f'<!DOCTYPE Envelope [<!ENTITY tok "{TOKEN}">]>'
    response = post_soap(server, envelope(token="&tok;", doctype=doctype))
    assert response.status_code == 500
    assert fault_of(response) == ("SOAP-ENV:Client", "Wrong parameters")
    assert "DOCTYPE" in etree.fromstring(response.content).findtext(".//detail")
    assert server.state.enrollments() == {}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml at all",
        f'<e:Envelope xmlns:e="{SOAP_ENV}"><e:Body><GetUsers/></e:Body></e:Envelope>'.encode(),
        f'<e:Envelope xmlns:e="{SOAP_ENV}"><e:Body/></e:Envelope>'.encode(),
    ],
    ids=["empty", "not-xml", "unknown-body-element", "empty-body"],
)
def test_unreadable_requests_get_client_faults(server: SandboxServer, body: bytes) -> None:
    response = post_soap(server, body)
    assert response.status_code == 500
    assert fault_of(response)[0] == "SOAP-ENV:Client"


def test_unknown_paths_are_404(server: SandboxServer) -> None:
    assert requests.get(f"{server.base_url}/", timeout=5).status_code == 404
    assert requests.post(f"{server.base_url}/users/v3", timeout=5).status_code == 404
    assert requests.post(f"{server.base_url}/soap/x", timeout=5).status_code == 404
    wrong_method = requests.get(server.soap_url, timeout=5)
    assert wrong_method.status_code == 405 and wrong_method.headers["Allow"] == "POST"


def test_keep_alive_reuses_one_connection_and_stop_ends_it() -> None:
    server = make_server().start()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    sockets = []
    for _ in range(3):
        connection.request("POST", "/soap", body=envelope())
        response = connection.getresponse()
        response.read()
        assert response.status == 200 and not response.will_close
        sockets.append(connection.sock)
    assert sockets[0] is not None and all(s is sockets[0] for s in sockets)
    started = time.monotonic()
    server.stop()  # must not wait for the idle keep-alive connection...
    assert time.monotonic() - started < 1
    with pytest.raises(ConnectionError):  # ...and must end it rather than keep serving it
        connection.request("POST", "/soap", body=envelope())
        connection.getresponse()
    connection.close()
    assert server.state.enrollments()  # (the three calls before the stop were applied)


def test_serve_runs_in_the_foreground_until_stopped() -> None:
    ready: list[SandboxServer] = []
    started = threading.Event()

    def on_ready(server: SandboxServer) -> None:
        server.state.add_static_token(TOKEN)
        ready.append(server)
        started.set()

    thread = threading.Thread(target=serve, kwargs={"on_ready": on_ready}, daemon=True)
    thread.start()
    assert started.wait(5)
    server = ready[0]
    assert post_soap(server, envelope()).status_code == 200
    server.stop()
    thread.join(5)
    assert not thread.is_alive()
    with pytest.raises(requests.ConnectionError):
        post_soap(server, envelope())


# --- injected faults ---------------------------------------------------------------------------


def test_faults_reject_impossible_rates() -> None:
    with pytest.raises(ValueError):
        Faults(error_rate=0.6, drop_after_rate=0.6)


def test_latency_delays_api_calls() -> None:
    with make_server(Faults(latency_s=0.2)) as server:
        started = time.monotonic()
        assert post_soap(server, envelope()).status_code == 200
        assert time.monotonic() - started >= 0.2
        assert server.state.fault_counts() == {"latency": 1}


def test_error_rate_answers_503_before_applying_and_spares_the_token_endpoint() -> None:
    with make_server(Faults(error_rate=1.0)) as server:
        assert post_soap(server, envelope()).status_code == 503
        assert server.state.enrollments() == {} and server.state.calls() == []
        token = requests.post(
            f"{server.api_url}/api/v3/token",
            data={
                "client_id": SANDBOX_CLIENT_ID,
                "client_secret": SANDBOX_CLIENT_SECRET,
                "grant_type": "client_credentials",
            },
            timeout=5,
        )
        assert token.status_code == 200
        assert server.state.fault_counts() == {"error": 1}


def test_seeded_faults_repeat_exactly() -> None:
    faults = Faults(error_rate=0.5, seed=7)
    runs = []
    for _ in range(2):
        with make_server(faults) as server:
            statuses = [post_soap(server, envelope()).status_code for _ in range(10)]
            runs.append(statuses)
            assert sum(c.outcome == SUCCESS for c in server.state.calls()) == statuses.count(200)
            assert server.state.fault_counts()["error"] == statuses.count(503)
    assert runs[0] == runs[1]
    assert set(runs[0]) == {200, 503}


def test_rate_limit_answers_429_with_retry_after() -> None:
    with make_server(Faults(rate_limit_per_s=2, retry_after_s=3)) as server:
        statuses = [post_soap(server, envelope()) for _ in range(3)]
        assert [r.status_code for r in statuses] == [200, 200, 429]
        assert statuses[2].headers["Retry-After"] == "3"
        assert len(server.state.calls()) == 2
        time.sleep(0.55)  # the bucket refills at 2 per second
        assert post_soap(server, envelope()).status_code == 200
        assert server.state.fault_counts() == {"rate_limit": 1}


def test_a_fixed_window_tells_its_limit_in_headers_and_waits_in_whole_seconds() -> None:
    faults = Faults(rate_rule=RateRule(2, 5.0, Shape.FIXED), rate_headers=True)
    with make_server(faults) as server:
        answers = [post_soap(server, envelope()) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].headers["RateLimit-Limit"] == "2"
    assert answers[0].headers["RateLimit-Remaining"] == "1"
    assert answers[0].headers["RateLimit-Policy"] == "2;w=5"
    assert answers[2].headers["RateLimit-Remaining"] == "0"
    assert 1 <= int(answers[2].headers["Retry-After"]) <= 5  # until the window's end, rounded up


def test_a_429_can_come_without_retry_after() -> None:
    faults = Faults(rate_rule=RateRule(1, 60.0, Shape.SLIDING), retry_after=False)
    with make_server(faults) as server:
        answers = [post_soap(server, envelope()) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 429]
    assert "Retry-After" not in answers[1].headers and "RateLimit-Limit" not in answers[1].headers


def test_drop_before_closes_without_answer_and_applies_nothing() -> None:
    with make_server(Faults(drop_before_rate=1.0)) as server:
        with pytest.raises(requests.ConnectionError):
            post_soap(server, envelope())
        assert server.state.enrollments() == {} and server.state.calls() == []
        assert server.state.fault_counts() == {"drop_before": 1}


def test_drop_after_applies_then_closes_without_answer() -> None:
    with make_server(Faults(drop_after_rate=1.0)) as server:
        with pytest.raises(requests.ConnectionError):
            post_soap(server, envelope())
        assert len(server.state.enrollments()) == len(LEARNERS) * len(COURSES)
        assert [c.outcome for c in server.state.calls()] == [SUCCESS]
        assert server.state.fault_counts() == {"drop_after": 1}


def post_rest(server: SandboxServer, path: str, body: dict[str, object]) -> requests.Response:
    return requests.post(server.api_url + path, json=body, timeout=5,
                         headers={"Authorization": f"Bearer {TOKEN}"})


def test_chosen_enrollment_calls_are_applied_and_their_answers_dropped_on_both_transports():
    # Calls 2 and 3 lose their answer, whichever transport carries them; lists never do.
    with make_server(Faults(drop_answers=frozenset({2, 3}))) as server:
        rest_body = {"learnerIds": LEARNERS[2:], "courseIds": COURSES, "dueDateType": "unlimited"}
        assert post_soap(server, envelope(learners=LEARNERS[:1])).status_code == 200
        with pytest.raises(requests.ConnectionError):
            post_soap(server, envelope(learners=LEARNERS[1:2]))
        with pytest.raises(requests.ConnectionError):
            post_rest(server, "/enrollment", rest_body)
        listed = post_rest(server, "/enrollments", {"learnerIds": LEARNERS})
        assert listed.status_code == 200 and len(listed.json()["enrollments"]) == 6
        assert post_rest(server, "/enrollment", rest_body).status_code == 201  # call 4
        records = server.state.enrollments()
        assert len(records) == 6  # every call was applied, answered or not
        assert [r.times_enrolled for (lr, _), r in sorted(records.items())
                if lr == LEARNERS[2]] == [2, 2]  # the fourth call enrolled them again
        assert server.state.fault_counts() == {"drop_answer": 2}


def test_an_administrator_can_remove_enrollments_and_they_count_anew():
    with make_server() as server:
        assert post_soap(server, envelope(learners=LEARNERS[:1])).status_code == 200
        [item, other] = post_rest(server, "/enrollments", {}).json()["enrollments"]
        removed = post_rest(server, "/enrollment/delete", {"enrollmentIds": [item["enrollmentId"]]})
        assert removed.status_code == 204
        assert set(server.state.enrollments()) == {(other["learnerId"], other["courseId"])}
        refused = post_rest(server, "/enrollment/delete", {"enrollmentIds": [item["enrollmentId"]]})
        assert refused.status_code == 400 and "no such enrollment" in refused.json()["message"]
        assert post_soap(server, envelope(learners=LEARNERS[:1])).status_code == 200
        times = {pair: r.times_enrolled for pair, r in server.state.enrollments().items()}
        assert times == {(item["learnerId"], item["courseId"]): 1,
                         (other["learnerId"], other["courseId"]): 2}


def test_a_client_that_goes_away_before_its_answer_prints_no_traceback(capfd):
    # A run killed mid-call (what the chaos tests do all day): the sandbox's console stays
    # clean; socketserver used to print "Exception occurred during processing" and a trace.
    with SandboxServer(faults=Faults(latency_s=0.3)).start() as server:
        for _ in range(3):
            client = socket.create_connection((server.host, server.port))
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            client.sendall(b"POST /soap HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n<a")
            client.close()  # reset: the answer will meet a closed connection
        time.sleep(0.8)
    assert "Traceback" not in capfd.readouterr().err
