"""Which text encoding a CSV file is in, without reading it all into memory.

In order: a byte-order mark (UTF-8, UTF-16 LE/BE as Excel's "Unicode Text" writes, UTF-32)
decides; else a file that is valid UTF-8 throughout is UTF-8; else UTF-16 without a BOM is
recognised by its zero bytes; else a file whose lines end in a lone CR (classic Mac line ends,
which only Excel for Mac's "CSV (Macintosh)" still writes) is Mac Roman; else the encoding is
guessed by charset-normalizer from the lines that contain non-ASCII bytes. A guess is reported
as one, so the user can check the names.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

_CHUNK = 1 << 20
_SAMPLE_LIMIT = 256 * 1024  # bytes of non-ASCII lines given to the detector
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# When the detector finds several encodings equally plausible (common with short files), prefer
# the ones HR files are really written in: Windows code pages before ISO, ISO before the rest.
_PREFERENCE = (
    "cp1252",
    "cp1250",
    "cp1251",
    "cp1257",
    "cp1253",
    "cp1254",
    "cp1255",
    "cp1256",
    "cp1258",
    "iso8859_15",
    "iso8859_1",
    "iso8859_2",
    "iso8859_5",
    "koi8_r",
    "shift_jis",
    "cp932",
    "gb18030",
    "big5",
    "euc_kr",
)
_CHAOS_TOLERANCE = 0.1
_NAMES = {
    "cp1252": "Windows-1252 (Western European)",
    "cp1250": "Windows-1250 (Central European)",
    "cp1251": "Windows-1251 (Cyrillic)",
    "iso8859_1": "ISO-8859-1 (Latin-1)",
    "iso8859_15": "ISO-8859-15 (Latin-9)",
    "mac_roman": "Mac Roman (Excel for Mac's 'CSV (Macintosh)')",
}


@dataclass(frozen=True)
class Detected:
    """The encoding to read with, how many BOM bytes to skip, and whether it is a guess."""

    encoding: str
    bom_length: int = 0
    guessed: bool = False

    def describe(self) -> str:
        return _NAMES.get(self.encoding, self.encoding)


class NotText(Exception):
    """The bytes are not text in any encoding we can recognise (binary data)."""


def detect_encoding(path: Path) -> Detected:
    with path.open("rb") as handle:
        head = handle.read(4096)
        for bom, encoding in _BOMS:
            if head.startswith(bom):
                return Detected(encoding, len(bom))
        if _utf16_without_bom(head):
            return Detected("utf-16-le" if head[1:2] == b"\0" else "utf-16-be", guessed=True)
        if b"\0" in head:
            raise NotText("it contains binary data (zero bytes), not text")
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := handle.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return Detected("utf-8")
        except UnicodeDecodeError:
            pass
        handle.seek(0)
        if _mac_line_ends(handle.read(_CHUNK)):
            return Detected("mac_roman", guessed=True)
        handle.seek(0)
        sample = bytearray()
        while len(sample) < _SAMPLE_LIMIT and (chunk := handle.read(_CHUNK)):
            sample += b"\n".join(line for line in chunk.splitlines() if not line.isascii())
    return Detected(_guess(bytes(sample[:_SAMPLE_LIMIT])), guessed=True)


def _mac_line_ends(head: bytes) -> bool:
    """Lines ending in CR alone (no LF anywhere): a classic Mac text file."""
    return b"\r" in head and b"\n" not in head


def _utf16_without_bom(head: bytes) -> bool:
    """ASCII text in UTF-16 has a zero byte in every other position."""
    if len(head) < 8:
        return False
    even, odd = head[0::2], head[1::2]
    return (odd.count(0) > 0.4 * len(odd) and even.count(0) == 0) or (
        even.count(0) > 0.4 * len(even) and odd.count(0) == 0
    )


def _guess(sample: bytes) -> str:
    matches = list(from_bytes(sample))
    if not matches:
        return "cp1252"  # nothing decodes cleanly: Excel's default on Western Windows
    best = min(m.chaos for m in matches)
    plausible = [
        codecs.lookup(m.encoding).name.replace("-", "_")
        for m in matches
        if m.chaos <= best + _CHAOS_TOLERANCE
    ]
    ranked = sorted(
        plausible,
        key=lambda name: _PREFERENCE.index(name) if name in _PREFERENCE else len(_PREFERENCE),
    )
    return _commonest_equivalent(sample, ranked[0])


def _commonest_equivalent(sample: bytes, chosen: str) -> str:
    """The detector reports one of several encodings that decode the sample identically (é is
    the same byte in Windows-1250 and -1252); name the commonest of them."""
    text = sample.decode(chosen, errors="replace")
    for name in _PREFERENCE:
        if name == chosen:
            break
        try:
            if sample.decode(name) == text:
                return name
        except UnicodeDecodeError:
            continue
    return chosen
