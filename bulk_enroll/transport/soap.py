"""The seed's wire format: `enrollLearnersInCourses` as a SOAP 1.1 call, written and read with lxml.

Envelopes are standard and well-formed (the vendor's samples are neither); answers are read by
local element names, so the vendor's own sample answer (undeclared `ns1:` prefix, https envelope
namespace) is understood. Documents with a DOCTYPE are never read: no entities, no DTDs.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

import requests
from lxml import etree

from bulk_enroll.model import Batch, DueDateType
from bulk_enroll.transport import CallResult, CallVerdict, TransientError
from bulk_enroll.transport.http import (
    ProtocolError,
    header,
    http_url,
    parse_retry_after,
    post_call,
    status_text,
)

__all__ = [
    "DEFAULT_SERVICE_NAMESPACE",
    "SOAP_ENV_NS",
    "SOAP_ACTION",
    "ProtocolError",
    "SoapTransport",
    "build_envelope",
    "parse_response",
]

DEFAULT_SERVICE_NAMESPACE = "https://ispringlearn.com/go/services/api/soap"
SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
METHOD_ELEMENT = "EnrollLearnersInCoursesRequest"
# SOAP 1.1 requires the header; the quoted empty string means "the request URI says it all".
# The vendor documents no action, and servers dispatch on the body element.
SOAP_ACTION = '""'
CONTENT_TYPE = "text/xml; charset=utf-8"
NOT_SOAP = "the server's answer was not a SOAP response"

_XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
# Cheap pre-check so a DTD (entity bomb, external entity) is refused before any parsing.
_DTD_MARKUP = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
# Statuses that mean "not now" even when a SOAP fault came with them (gateways, overload).
_UNAVAILABLE = frozenset({502, 503, 504})
# A fault saying the call rate is too high (not that the call is wrong): "Too many requests",
# "Rate limit exceeded", "Request limit exceeded", "Throttled".
_RATE_LIMIT_FAULT = re.compile(
    r"too many requests|rate.?limit|request limit exceeded|throttl", re.IGNORECASE)


def build_envelope(
    batch: Batch, token: str, *, service_namespace: str = DEFAULT_SERVICE_NAMESPACE
) -> bytes:
    """The UTF-8 request document for one batch.

    Only the fields that apply to the batch's due-date type are written: `dueDate` only for
    `due_date`, `duePeriod` only for `due_period`, whatever else the settings hold.
    """
    if not batch.learner_ids or not batch.course_ids:
        raise ValueError(f"batch {batch.batch_id} has no learners or no courses")
    settings = batch.settings
    envelope = etree.Element(etree.QName(SOAP_ENV_NS, "Envelope"), nsmap={"soapenv": SOAP_ENV_NS})
    body = etree.SubElement(envelope, etree.QName(SOAP_ENV_NS, "Body"))
    request = etree.SubElement(
        body, etree.QName(service_namespace, METHOD_ELEMENT), nsmap={None: service_namespace}
    )

    def add(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
        child = etree.SubElement(parent, etree.QName(service_namespace, name))
        if text is not None:
            child.text = text
        return child

    add(add(request, "credentials"), "token", token)
    courses = add(request, "courseIds")
    for course_id in batch.course_ids:
        add(courses, "id", course_id)
    learners = add(request, "learnerIds")
    for learner_id in batch.learner_ids:
        add(learners, "id", learner_id)
    if settings.access_date is not None:
        add(request, "accessDate", _format_datetime(settings.access_date))
    add(request, "dueDateType", settings.due_date_type.value)
    if settings.due_date_type is DueDateType.DUE_DATE:
        if settings.due_date is None:
            raise ValueError(f"batch {batch.batch_id}: due_date type without a due date")
        add(request, "dueDate", _format_date(settings.due_date))
    if settings.due_date_type is DueDateType.DUE_PERIOD:
        if settings.due_period_hours is None:
            raise ValueError(f"batch {batch.batch_id}: due_period type without a period")
        add(request, "duePeriod", str(int(settings.due_period_hours)))
    if settings.lock_after_due_date is not None:
        add(request, "lockAfterDueDate", "true" if settings.lock_after_due_date else "false")
    return _XML_DECLARATION + etree.tostring(envelope, encoding="UTF-8", xml_declaration=False)


def _format_datetime(value: dt.datetime) -> str:
    """`YYYY-MM-DD HH:MM:SS`, the wall-clock time as given (the API takes no time zone)."""
    return value.replace(microsecond=0, tzinfo=None).isoformat(sep=" ")


def _format_date(value: dt.date) -> str:
    if isinstance(value, dt.datetime):
        value = value.date()
    return value.isoformat()


@dataclass(frozen=True)
class _Document:
    """A response body as far as it could be read: `root` is None when it is not usable XML."""

    root: etree._Element | None
    problem: str = ""


def _response_parser() -> etree.XMLParser:
    """Lenient about the vendor's undeclared prefix, strict about everything that reaches out:
    no entity substitution, no DTD loading, no network, no huge trees. A fresh parser per call,
    because lxml parsers are not thread-safe."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=True
    )


def _read_document(body: bytes) -> _Document:
    if not body or not body.strip():
        return _Document(None, "it was empty")
    if _DTD_MARKUP.search(body):
        return _Document(None, "it declares a DOCTYPE, which is never read")
    try:
        root = etree.fromstring(body, _response_parser())
    except (etree.XMLSyntaxError, ValueError):
        return _Document(None, "it is not XML")
    if root is None:
        return _Document(None, "it is not XML")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:  # e.g. UTF-16, missed by the regex
        return _Document(None, "it declares a DOCTYPE, which is never read")
    return _Document(root)


def _local(element: etree._Element) -> str:
    """`{ns}name` or an unresolved `prefix:name` (recovered from the vendor's sample) -> name."""
    tag = element.tag
    if not isinstance(tag, str):  # comments and processing instructions
        return ""
    return tag.rpartition("}")[2].rpartition(":")[2]


def _find(root: etree._Element, name: str) -> etree._Element | None:
    return next((el for el in root.iter() if _local(el) == name), None)


def _text(root: etree._Element | None, *path: str) -> str:
    """Text of the first descendant matching `path` by local names, trimmed; "" if absent."""
    element = root
    for name in path:
        if element is None:
            return ""
        element = _find(element, name)
    return "".join(element.itertext()).strip() if element is not None else ""


def _soap_body(doc: _Document) -> etree._Element | None:
    """The Body of a SOAP envelope (any envelope namespace), or None if this is not one."""
    if doc.root is None or _local(doc.root) != "Envelope":
        return None
    return next((el for el in doc.root if _local(el) == "Body"), None)


def _fault(body: etree._Element) -> tuple[str, str] | None:
    """(faultcode, faultstring) of a SOAP 1.1 fault, or its SOAP 1.2 equivalent."""
    fault = next((el for el in body if _local(el) == "Fault"), None)
    if fault is None:
        return None
    code = _text(fault, "faultcode") or " ".join(
        "".join(el.itertext()).strip() for el in fault.iter() if _local(el) == "Value"
    )
    reason = _text(fault, "faultstring") or _text(fault, "Reason", "Text")
    return code, reason


def _fault_result(code: str, reason: str, status: int) -> CallResult:
    if "token" in reason.lower() or "auth" in code.lower():
        return CallResult(CallVerdict.AUTH, reason or f"SOAP fault {code}", status)
    if not reason:
        reason = f"the server answered a SOAP fault without a message (faultcode {code or '?'})"
    return CallResult(CallVerdict.REJECTED, reason, status)


def parse_response(
    status_code: int, body: bytes, headers: Mapping[str, str] | None = None
) -> CallResult:
    """What the server's answer to one call means; pure, so every case is testable offline.

    Raises `TransientError` for 429, 408 and 5xx without a fault (502/503/504 even with one),
    and `ProtocolError` for a 2xx answer that is not a SOAP result.
    """
    doc = _read_document(body)
    soap_body = _soap_body(doc)
    fault = _fault(soap_body) if soap_body is not None else None
    retry_after = parse_retry_after(header(headers, "Retry-After"))

    if status_code == 401:
        reason = fault[1] if fault and fault[1] else status_text(status_code)
        return CallResult(CallVerdict.AUTH, reason, status_code)
    if status_code == 429:
        raise TransientError(
            f"{status_text(status_code)}, the server asks to slow down",
            maybe_applied=False,
            retry_after=retry_after,
            http_status=status_code,
        )
    if status_code == 408:
        raise TransientError(
            f"{status_text(status_code)}, the server did not get the request",
            maybe_applied=False,
            retry_after=retry_after,
            http_status=status_code,
        )
    if status_code >= 500 and (fault is None or status_code in _UNAVAILABLE):
        detail = f" ({fault[1]})" if fault and fault[1] else ""
        # 503 says the server would not take the request (RFC 9110, 15.6.4): safe to resend.
        # Any other 5xx may come after the call was applied: the sender settles it by reading.
        raise TransientError(
            f"{status_text(status_code)}{detail}",
            maybe_applied=status_code != 503,
            retry_after=retry_after,
            http_status=status_code,
        )
    if fault is not None and _RATE_LIMIT_FAULT.search(" ".join(fault)):
        # The SOAP way to say 429: a fault about the call rate, not about the call. Splitting
        # the batch would only multiply the calls; it is sent again once the limiter allows.
        raise TransientError(
            f"SOAP fault: {fault[1] or fault[0]}, the server asks to slow down",
            maybe_applied=False,
            retry_after=retry_after,
            http_status=429,
        )
    if fault is not None:
        return _fault_result(*fault, status_code)
    if status_code in _CONTENT_REFUSED:  # about this call's content: halving can isolate it
        return CallResult(CallVerdict.REJECTED, _non_soap_status(status_code, headers), status_code)
    if not 200 <= status_code < 300:  # a wrong URL or a proxy: every call would get the same
        raise ProtocolError(_non_soap_status(status_code, headers), http_status=status_code,
                            maybe_applied=False)

    if soap_body is None:
        problem = doc.problem or "it is not a SOAP envelope"
        raise ProtocolError(f"{NOT_SOAP} (HTTP {status_code}: {problem})", http_status=status_code)
    success = _find(soap_body, "success")
    if success is None:
        raise ProtocolError(
            f"{NOT_SOAP} (HTTP {status_code}: it has no success element)", http_status=status_code
        )
    flag = "".join(success.itertext()).strip().lower()
    if flag == "true":
        return CallResult(CallVerdict.SUCCESS, "", status_code)
    if flag == "false":
        return CallResult(CallVerdict.REJECTED, "the server answered success=false", status_code)
    raise ProtocolError(
        f"{NOT_SOAP} (HTTP {status_code}: success is neither true nor false)",
        http_status=status_code,
    )


_CONTENT_REFUSED = frozenset({400, 403, 413, 422})


def _non_soap_status(status: int, headers: Mapping[str, str] | None) -> str:
    text = status_text(status)
    location = header(headers, "Location")
    if 300 <= status < 400 and location:
        text += f" (the endpoint redirects to {location}; configure that URL instead)"
    elif status in (404, 405):
        text += " (is BULK_ENROLL_SOAP_URL the account's SOAP endpoint?)"
    return text


class SoapTransport:
    """Sends each batch as one `enrollLearnersInCourses` POST; one exchange, no retries here."""

    name = "soap"

    def __init__(
        self,
        url: str,
        *,
        session: requests.Session,
        service_namespace: str = DEFAULT_SERVICE_NAMESPACE,
        timeout: tuple[float, float] = (10, 60),
    ) -> None:
        self.url = http_url(url, "the SOAP endpoint")
        self.service_namespace = service_namespace
        self.timeout = timeout
        self._session = session

    def __repr__(self) -> str:
        return f"SoapTransport(url={self.url!r})"

    def enroll(self, batch: Batch, token: str) -> CallResult:
        """POST one envelope and read the answer; messages never echo the token or the body.

        Redirects are not followed: requests would resend the body (and its token) to the new
        host on 307/308 and turn the POST into a GET on 301/302.
        """
        envelope = build_envelope(batch, token, service_namespace=self.service_namespace)
        return post_call(
            self._session,
            self.url,
            envelope,
            headers={"Content-Type": CONTENT_TYPE, "SOAPAction": SOAP_ACTION},
            timeout=self.timeout,
            token=token,
            parse=parse_response,
        )


