"""Cell hygiene: any cell a spreadsheet library hands us -> clean text. Pure.

Reading needs it to find the header; validation and the report need it to compare and show
values, so it lives with the reader, the first stage that meets a cell.
"""

from __future__ import annotations

import re
import unicodedata

# Invisible and typographic characters that spreadsheets and web copy-paste bring in.
_HYGIENE = str.maketrans(
    {
        "\u00a0": " ",  # no-break space
        "\u2007": " ",  # figure space
        "\u202f": " ",  # narrow no-break space
        "\u200b": None,  # zero-width space
        "\u200c": None,  # zero-width non-joiner
        "\u200d": None,  # zero-width joiner
        "\u2060": None,  # word joiner
        "\ufeff": None,  # BOM / zero-width no-break space
        "\u00ad": None,  # soft hyphen
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        **{chr(c): None for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)},
    }
)
_EXCEL_TEXT_FORMULA = re.compile(r'^="(.*)"$', re.DOTALL)  # ="00123", Excel's keep-as-text trick

# What identifiers look like; the reader judges columns by them, validation parses cells.
UUID_PATTERN = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE
)
# The WHATWG (HTML form) definition of an email address, with a dot required in the domain.
EMAIL_PATTERN = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
VALUE_SEPARATORS = re.compile(r"[;,\r\n]+")  # several values in one cell
_LIST_SEPARATORS = re.compile(r"[;\r\n]+")  # Outlook separates recipients with ';'
_ANGLE = re.compile(r"<([^<>]*)>")
_MAILTO = re.compile(r"^mailto:", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


class AddressError(ValueError):
    """A cell in an email column whose addresses cannot be told apart for certain."""


def email_addresses(text: str) -> tuple[list[str], bool]:
    """The addresses an email cell holds, not yet checked, and whether any was unwrapped.

    Plain addresses are separated by ';', ',' or line breaks. Outlook's forms give their
    address: '"Jane Doe" <jane@x.com>', 'Jane Doe <jane@x.com>', 'Doe, Jane <jane@x.com>'
    (names may hold commas: the brackets delimit), '<jane@x.com>', and 'mailto:jane@x.com';
    several are separated by ';' (Outlook) or ','. A name that is itself another address
    ('a@x.com <b@x.com>') or text after the last bracket raises `AddressError`: which address is
    meant is not clear.
    """
    if "<" not in text and "mailto:" not in text.lower():
        return [p for p in (part.strip() for part in VALUE_SEPARATORS.split(text)) if p], False
    found: list[str] = []
    for chunk in (c.strip() for c in _LIST_SEPARATORS.split(text)):
        if "<" not in chunk:
            found += [_MAILTO.sub("", p.strip()).strip() for p in VALUE_SEPARATORS.split(chunk)]
            continue
        named, rest = _bracketed(chunk)
        for name, address in named:
            if "@" in name and name.casefold() != address.casefold():
                raise AddressError(
                    f"{chunk!r} names two addresses ({name} and {address}); keep one, or "
                    "separate addresses with ';'"
                )
            found.append(address)
        if rest:
            raise AddressError(
                f"{chunk!r} has text after the address ({rest!r}); write one address per "
                "name, separated by ';'"
            )
    return [a for a in found if a], True


def display_names(text: str) -> tuple[tuple[str, str], ...]:
    """(address, the person's name before it) of each Outlook form with a name in the cell:
    '"Jane Doe" <jane@x.com>' gives ('jane@x.com', 'Jane Doe')."""
    if "<" not in text:
        return ()
    return tuple((address, name) for chunk in _LIST_SEPARATORS.split(text) if "<" in chunk
                 for name, address in _bracketed(chunk.strip())[0]
                 if name and "@" not in name and address)


def _bracketed(chunk: str) -> tuple[list[tuple[str, str]], str]:
    """The (name, address) pairs of a chunk of Outlook forms, and any text after the last."""
    pairs: list[tuple[str, str]] = []
    end = 0
    for match in _ANGLE.finditer(chunk):
        address = _MAILTO.sub("", match.group(1).strip()).strip()
        pairs.append((chunk[end:match.start()].strip(" \t,").strip("\"'").strip(), address))
        end = match.end()
    return pairs, chunk[end:].strip(" \t,")


def is_addresses(text: str) -> bool:
    """Whether every value of a cell is an email address (plain or in an Outlook form)."""
    try:
        found, _ = email_addresses(text)
    except AddressError:
        return False
    return bool(found) and all(EMAIL_PATTERN.fullmatch(a) for a in found)


def fold_title(value: str) -> str:
    """The comparison form of a course title: letter case, runs of spaces and Unicode forms
    ignored (NFKC, so an "é" typed as e + accent, a no-break space or a ligature match)."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", value)).strip().casefold()


def looks_like_id(text: str) -> bool:
    """An LMS ID: a UUID, braces allowed ({...} is how some systems export GUIDs)."""
    return bool(UUID_PATTERN.fullmatch(text.strip("{}")))


def clean_text(text: str) -> str:
    """Trimmed text without invisible spaces, with straight quotes."""
    if not (text.isascii() and text.isprintable()):
        text = text.translate(_HYGIENE)
    text = text.strip()
    if text.startswith('="'):
        match = _EXCEL_TEXT_FORMULA.match(text)
        if match:
            text = match.group(1).strip()
    return text


def cell_text(cell: object) -> str:
    """The cell as clean text; whole floats lose their '.0' (Excel stores numbers as floats)."""
    if cell is None:
        return ""
    if isinstance(cell, str):
        return clean_text(cell)
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if hasattr(cell, "isoformat"):
        text = cell.isoformat()  # type: ignore[attr-defined]
        return text.replace("T", " ")
    return str(cell).strip()


def is_blank(cell: object) -> bool:
    return cell is None or cell == "" or cell_text(cell) == ""


def is_number(cell: object) -> bool:
    """A numeric cell (Excel stores every number as a float; booleans are not numbers)."""
    return isinstance(cell, int | float) and not isinstance(cell, bool)
