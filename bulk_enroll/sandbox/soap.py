"""SOAP 1.1 on the sandbox side: read an `enrollLearnersInCourses` request, write the answers.

Requests are read by local element names, like the real service tolerates any prefix, so the
client's configurable namespaces all work. The parser is locked down (no DTDs, no entities, no
network) because the sandbox listens on a socket, and every unreadable request becomes a Client
fault instead of an exception in the server.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from bulk_enroll.sandbox.state import FAULT_CLIENT, WRONG_PARAMETERS, SoapFault

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SERVICE_NS = "https://ispringlearn.com/go/services/api/soap"
CONTENT_TYPE = "text/xml; charset=utf-8"

ENROLL_REQUEST = "EnrollLearnersInCoursesRequest"

_ENV = f"{{{SOAP_ENV_NS}}}"
_SVC = f"{{{SERVICE_NS}}}"


@dataclass(frozen=True)
class EnrollRequest:
    """The content of one `EnrollLearnersInCoursesRequest`, still as text."""

    token: str | None
    learner_ids: tuple[str, ...]
    course_ids: tuple[str, ...]
    fields: dict[str, str] = field(default_factory=dict)


def _parser() -> etree.XMLParser:
    # A parser per call: lxml parsers are not safe to share between server threads.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _wrong(detail: str) -> SoapFault:
    return SoapFault(WRONG_PARAMETERS, faultcode=FAULT_CLIENT, detail=detail)


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _children(element: etree._Element) -> list[etree._Element]:
    """Element children only: comments and processing instructions are not content."""
    return list(element.iterchildren(tag=etree.Element))


def _only_child(parent: etree._Element, name: str) -> etree._Element | None:
    found = [child for child in _children(parent) if _local(child) == name]
    if len(found) > 1:
        raise _wrong(f"{name} appears {len(found)} times")
    return found[0] if found else None


def _text(element: etree._Element) -> str:
    if _children(element):
        raise _wrong(f"{_local(element)} must contain text, not elements")
    return (element.text or "").strip()


def _ids(parent: etree._Element, name: str) -> tuple[str, ...]:
    container = _only_child(parent, name)
    if container is None:
        return ()
    ids = []
    for child in _children(container):
        if _local(child) != "id":
            raise _wrong(f"{name} may only contain id elements, found {_local(child)}")
        ids.append(_text(child))
    return tuple(ids)


def parse_enroll_request(body: bytes) -> EnrollRequest:
    """Read a request envelope; raise a Client `SoapFault` for anything that is not one."""
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as exc:
        raise _wrong(f"malformed XML: {exc}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise _wrong("DOCTYPE is not allowed")
    if _local(root) != "Envelope":
        raise _wrong(f"root element is {_local(root)}, expected Envelope")
    soap_body = _only_child(root, "Body")
    if soap_body is None or not _children(soap_body):
        raise _wrong("the envelope has no Body content")
    request = _children(soap_body)[0]
    if _local(request) != ENROLL_REQUEST:
        raise _wrong(f"unknown request element {_local(request)}")

    credentials = _only_child(request, "credentials")
    token_element = _only_child(credentials, "token") if credentials is not None else None
    fields: dict[str, str] = {}
    for child in _children(request):
        name = _local(child)
        if name in ("credentials", "courseIds", "learnerIds"):
            continue
        if name in fields:
            raise _wrong(f"{name} appears more than once")
        fields[name] = _text(child)  # unknown names are refused by the state's rules
    return EnrollRequest(
        token=_text(token_element) if token_element is not None else None,
        learner_ids=_ids(request, "learnerIds"),
        course_ids=_ids(request, "courseIds"),
        fields=fields,
    )


def _envelope() -> tuple[etree._Element, etree._Element]:
    envelope = etree.Element(f"{_ENV}Envelope", nsmap={"SOAP-ENV": SOAP_ENV_NS})
    return envelope, etree.SubElement(envelope, f"{_ENV}Body")


def _serialize(envelope: etree._Element) -> bytes:
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def success_response() -> bytes:
    """The method's answer when the enrollments were created (the sample's, made well-formed)."""
    envelope, body = _envelope()
    result = etree.SubElement(body, f"{_SVC}SuccessResult", nsmap={"ns1": SERVICE_NS})
    etree.SubElement(result, f"{_SVC}success").text = "true"
    return _serialize(envelope)


def fault_response(fault: SoapFault) -> bytes:
    """A SOAP 1.1 Fault; `faultcode` and `faultstring` are unqualified, as the standard says."""
    envelope, body = _envelope()
    element = etree.SubElement(body, f"{_ENV}Fault")
    etree.SubElement(element, "faultcode").text = fault.faultcode
    etree.SubElement(element, "faultstring").text = fault.faultstring
    if fault.detail:
        etree.SubElement(element, "detail").text = fault.detail
    return _serialize(envelope)
