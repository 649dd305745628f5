"""A spreadsheet upload, streamed to the launch's private folder with the size limit enforced
as the bytes arrive.

Starlette's own form parser spools files to the system's temporary folder and checks sizes
after the fact; a page that may be reached by others must stop a 10 GB body at the limit and
keep uploads where only this user can read them (a 0700 folder per launch). python-multipart
parses the stream; nothing here is served back raw.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

FIELD = "file"
SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls", ".ods")
HEADER_SLACK = 64 * 1024  # the multipart envelope around the file's bytes
_UNSAFE = re.compile(r"[^\w.\- ()]+", re.UNICODE)


class UploadRefused(Exception):
    """The upload cannot be taken; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Upload:
    name: str  # the file's own name, made safe (shown, and used for the report's name)
    path: Path


def safe_name(filename: str) -> str:
    """The last part of a browser-given file name, without anything a path could abuse."""
    base = re.split(r"[\\/]", filename)[-1].strip().lstrip(".")
    base = _UNSAFE.sub("_", base)[-120:]
    return base or "upload"


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    field_name: bytes = b""
    header_name: bytes = b""
    header_value: bytes = b""


async def receive_upload(request: Request, folder: Path, max_bytes: int) -> Upload:
    """Stream the request's "file" part into a new file under `folder`; refuse (413) as soon as
    the file grows beyond `max_bytes`, deleting what was written."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise UploadRefused("send the spreadsheet as a file upload (multipart/form-data)")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + HEADER_SLACK:
        raise UploadRefused(_too_large(max_bytes), 413)
    target_dir = folder / secrets.token_hex(8)
    target_dir.mkdir(mode=0o700)
    state = _Part()
    found: dict[str, object] = {}
    written = 0
    handle = None

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state.header_name += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state.header_value += data[start:end]

    def on_header_end() -> None:
        state.headers[state.header_name.lower()] = state.header_value
        state.header_name = state.header_value = b""

    def on_headers_finished() -> None:
        nonlocal handle
        _, disposition = parse_options_header(state.headers.get(b"content-disposition", b""))
        state.field_name = disposition.get(b"name", b"")
        filename = disposition.get(b"filename")
        if state.field_name == FIELD.encode() and filename is not None and "path" not in found:
            name = safe_name(filename.decode("utf-8", "replace"))
            path = target_dir / name
            found.update(name=name, path=path)
            handle = path.open("xb")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        nonlocal written
        if handle is None:
            return
        written += end - start
        if written > max_bytes:
            raise UploadRefused(_too_large(max_bytes), 413)
        handle.write(data[start:end])

    def on_part_end() -> None:
        nonlocal handle
        if handle is not None:
            handle.close()
            handle = None
        state.headers.clear()

    parser = MultipartParser(boundary, {  # type: ignore[arg-type]
        "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_headers_finished": on_headers_finished,
        "on_part_data": on_part_data, "on_part_end": on_part_end,
    })
    try:
        try:
            async for chunk in request.stream():
                parser.write(chunk)
            parser.finalize()
        except MultipartParseError:
            raise UploadRefused("the upload was cut off or garbled on its way; drop the file "
                                "again") from None
    except BaseException:
        if handle is not None:
            handle.close()
        _remove(target_dir)
        raise
    if "path" not in found or not written:
        _remove(target_dir)
        raise UploadRefused("choose a spreadsheet file (CSV, XLSX, XLS or ODS): the upload "
                            "held no file, or an empty one")
    name, path = str(found["name"]), Path(str(found["path"]))
    if not name.lower().endswith(SUFFIXES):
        _remove(target_dir)
        raise UploadRefused(f"{name}: not a spreadsheet the tool reads; use CSV, XLSX, XLS "
                            "or ODS")
    return Upload(name, path)


def _too_large(max_bytes: int) -> str:
    return (f"the file is larger than the {max_bytes / (1024 * 1024):,.0f} MB limit; split it, "
            "or raise the limit (BULK_ENROLL_MAX_FILE_MB, or max_file_mb in [input])")


def _remove(folder: Path) -> None:
    for child in folder.iterdir():
        child.unlink(missing_ok=True)
    folder.rmdir()
