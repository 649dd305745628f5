"""Refuse input files that are unsafe or not what they claim, before any parser opens them.

Checks, cheapest first: the file's size; its first bytes against its extension (a workbook
renamed to .csv, a web page saved as .xls, a Word document renamed .xlsx); password
protection (an encrypted .xlsx is an OLE2 container holding an `EncryptedPackage`, an encrypted
.ods declares `encryption-data` in its manifest); for ZIP-based workbooks the declared
uncompressed size and compression ratio (zip bombs), and every XML member's prologue for a
DOCTYPE or ENTITY declaration (billion-laughs and external-entity attacks). All refusals raise
`InputRefused` (exit code 2) with a message saying what to do.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import olefile

from bulk_enroll.errors import InputFileError, InputRefused

MB = 1024 * 1024
DEFAULT_MAX_FILE_MB = 200
DEFAULT_MAX_UNCOMPRESSED_MB = 2048
MAX_FILE_ENV = "BULK_ENROLL_MAX_FILE_MB"

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"

TEXT_SUFFIXES = frozenset({".csv", ".txt", ".tsv"})
OOXML_SUFFIXES = frozenset({".xlsx", ".xlsm"})
XLS_SUFFIXES = frozenset({".xls"})
ODS_SUFFIXES = frozenset({".ods"})

_PROLOGUE_LIMIT = 64 * 1024
_COMMENT = re.compile(rb"<!--.*?-->", re.DOTALL)
_ROOT_START = re.compile(rb"<[A-Za-z_:]")
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True)
class ReadLimits:
    """How big an input may be. Defaults suit HR files; raise them by environment variable
    (`settings.config.load_read_limits`)."""

    max_file_bytes: int = DEFAULT_MAX_FILE_MB * MB
    max_uncompressed_bytes: int = DEFAULT_MAX_UNCOMPRESSED_MB * MB
    max_ratio: float = 100.0  # uncompressed / compressed, for the whole archive...
    ratio_floor_bytes: int = 50 * MB  # ...once its content exceeds this size


def check_input(path: Path, limits: ReadLimits) -> None:
    """Raise `InputRefused` unless `path` is a plausible, safe file of its extension's type."""
    name, suffix = path.name, path.suffix.lower()
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise InputRefused(
            f"{name} is {size / MB:,.1f} MB, over the {limits.max_file_bytes / MB:,.0f} MB limit; "
            f"split the file, or raise the limit with {MAX_FILE_ENV}"
        )
    with path.open("rb") as handle:
        head = handle.read(512)
    actual = describe_content(path, head)
    if actual.kind == "broken":
        raise InputFileError(f"{name} is {actual.label}; save or download it again and run again")
    if suffix in TEXT_SUFFIXES:
        if actual.kind != "text":
            raise InputRefused(_mismatch(name, actual, "a text (CSV) file"))
    elif suffix in OOXML_SUFFIXES:
        if actual.kind == "encrypted":
            raise InputRefused(_encrypted(name))
        if actual.kind != "xlsx":
            raise InputRefused(_mismatch(name, actual, "an Excel workbook (XLSX)"))
        check_zip(path, limits)
    elif suffix in ODS_SUFFIXES:
        if actual.kind != "ods":
            raise InputRefused(_mismatch(name, actual, "an OpenDocument spreadsheet (ODS)"))
        check_zip(path, limits)
        if _ods_encrypted(path):
            raise InputRefused(_encrypted(name))
    elif suffix in XLS_SUFFIXES:
        if actual.kind == "encrypted":
            raise InputRefused(_encrypted(name))
        if actual.kind != "xls":
            raise InputRefused(_mismatch(name, actual, "an Excel 97-2003 workbook (XLS)"))


@dataclass(frozen=True)
class Content:
    """What a file's bytes say it is: `kind` for decisions, `label` for messages."""

    kind: str
    label: str
    suffix: str | None = None  # the extension it should have, when we read that kind


def describe_content(path: Path, head: bytes) -> Content:
    if head.startswith(ZIP_MAGIC):
        return _describe_zip(path)
    if head.startswith(OLE2_MAGIC):
        return _describe_ole(path)
    if head.startswith(b"%PDF"):
        return Content("pdf", "a PDF document")
    text = head.lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n").lower().replace(b"\0", b"")
    if text.startswith((b"<!doctype html", b"<html", b"<table", b"<meta", b"<head")):
        return Content("html", "a web page (HTML)")
    if text.startswith(b"<?xml"):
        if b"urn:schemas-microsoft-com:office:spreadsheet" in head.replace(b"\0", b""):
            return Content("xml2003", "an Excel 2003 XML spreadsheet")
        return Content("xml", "an XML document")
    if b"\0" in head and not _utf16(head):
        return Content("binary", "a binary file")
    return Content("text", "a text file", ".csv")


def _utf16(head: bytes) -> bool:
    return head.startswith((b"\xff\xfe", b"\xfe\xff")) or head[1::2].count(0) > len(head) // 3


def _describe_zip(path: Path) -> Content:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                mimetype = archive.read("mimetype")[:100].strip()
                if mimetype == ODS_MIMETYPE:
                    return Content("ods", "an OpenDocument spreadsheet (ODS)", ".ods")
                if mimetype.startswith(b"application/vnd.oasis.opendocument.text"):
                    return Content("odt", "an OpenDocument text document")
    except (zipfile.BadZipFile, OSError, KeyError):
        return Content("broken", "a damaged or incomplete ZIP file")
    if "xl/workbook.xml" in names or any(n.startswith("xl/") for n in names):
        return Content("xlsx", "an Excel workbook (XLSX)", ".xlsx")
    if any(n.startswith("word/") for n in names):
        return Content("docx", "a Word document")
    if any(n.startswith("ppt/") for n in names):
        return Content("pptx", "a PowerPoint presentation")
    return Content("zip", "a ZIP archive")


def _describe_ole(path: Path) -> Content:
    try:
        with olefile.OleFileIO(str(path)) as ole:
            if ole.exists("EncryptedPackage") or ole.exists("EncryptionInfo"):
                return Content("encrypted", "a password-protected Office file")
            if ole.exists("Workbook") or ole.exists("Book"):
                return Content("xls", "an Excel 97-2003 workbook (XLS)", ".xls")
            if ole.exists("WordDocument"):
                return Content("doc", "a Word 97-2003 document")
            if ole.exists("PowerPoint Document"):
                return Content("ppt", "a PowerPoint 97-2003 presentation")
    except (OSError, ValueError):  # olefile raises OSError subclasses for damaged files
        return Content("broken", "a damaged Office (OLE2) file")
    return Content("ole2", "an Office compound file of an unknown kind")


def _mismatch(name: str, actual: Content, expected: str) -> str:
    message = f"{name} is {actual.label}, not {expected} as its extension says"
    if actual.suffix:
        return f"{message}; rename it to {Path(name).stem}{actual.suffix} and run again"
    if actual.kind in ("html", "xml2003"):
        return f"{message}; open it in Excel and save it as an Excel Workbook (.xlsx)"
    return message


def _encrypted(name: str) -> str:
    return (
        f"{name} is password-protected (encrypted); open it, remove the password "
        "(File > Info > Protect Workbook > Encrypt with Password), save, and run again"
    )


def check_zip(path: Path, limits: ReadLimits) -> None:
    """Refuse zip bombs and XML that declares a DOCTYPE or entities, before a parser runs."""
    try:
        _check_zip(path, limits)
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as exc:
        raise InputFileError(
            f"{path.name} is damaged or incomplete ({exc}); save or download it again"
        ) from None


def _check_zip(path: Path, limits: ReadLimits) -> None:
    name = path.name
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        if len(members) > 10_000:
            raise InputRefused(f"{name} has {len(members):,} parts; a workbook has a few dozen")
        total = sum(m.file_size for m in members)
        packed = max(1, sum(m.compress_size for m in members))
        if total > limits.max_uncompressed_bytes or (
            total > limits.ratio_floor_bytes and total / packed > limits.max_ratio
        ):
            raise InputRefused(
                f"{name} unpacks to {total / MB:,.0f} MB from {packed / MB:,.1f} MB "
                f"(ratio {total / packed:,.0f}:1): refused as a possible zip bomb"
            )
        for member in members:
            if member.filename.lower().endswith((".xml", ".rels", ".vml")):
                _check_prologue(archive, member, name)


def _check_prologue(archive: zipfile.ZipFile, member: zipfile.ZipInfo, name: str) -> None:
    with archive.open(member) as stream:
        data = stream.read(_PROLOGUE_LIMIT)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        data = data.decode("utf-16", errors="replace").encode("utf-8")
    data = _COMMENT.sub(b"", data)
    root = _ROOT_START.search(data)
    prologue = data if root is None else data[: root.start()]
    if _DECLARATION.search(prologue):
        raise InputRefused(
            f"{name}: part {member.filename} declares a DOCTYPE or XML entities, which Excel "
            "never writes; refused as a possible XML entity bomb"
        )
    if root is None and len(data) >= _PROLOGUE_LIMIT - 1 and b"<!--" in data:
        raise InputRefused(f"{name}: part {member.filename} has an unusually long XML prologue")


def _ods_encrypted(path: Path) -> bool:
    with zipfile.ZipFile(path) as archive:
        try:
            manifest = archive.read("META-INF/manifest.xml")
        except KeyError:
            return False
    return b"encryption-data" in manifest
