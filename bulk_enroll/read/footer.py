"""Footer lines HR exports end with ("Total: 3", "Anzahl: 3", "Total rows 3"). Pure.

A footer is a label and a count, alone on a line at the end of the data: in one cell
("Total: 3") or in two ("Total" | 3), every other cell empty. It is not a request, so it is
reported as skipped instead of as an invalid row (which would make a clean export exit 1).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bulk_enroll.read.cells import cell_text
from bulk_enroll.read.table import Cell

# Labels in the languages of the exports seen: English, German, French, Dutch, Spanish,
# Italian, Portuguese.
_LABEL = (
    r"(?:grand\s+)?totals?|sum|count|row\s+count|record\s+count|number\s+of\s+\w+"
    r"|anzahl|summe|gesamt|gesamtanzahl|gesamtsumme|insgesamt"
    r"|total\s+g[ée]n[ée]ral|nombre(?:\s+total)?|somme"
    r"|totaal|aantal|som|suma|recuento|totale|conteggio|numero|n[úu]mero|soma|contagem"
)
_UNIT = (
    r"rows?|records?|entries|lines|employees|learners|enrollments|zeilen|eintr[äa]ge"
    r"|datens[äa]tze|mitarbeiter|lignes|enregistrements|employ[ée]s|rijen|regels|filas"
    r"|registros|righe|record|linhas"
)
_COUNT = r"\d{1,3}(?:[ .,'\u00a0\u202f]\d{3})+|\d+"
_OF = r"(?:of|de|der|an|van|di|des)\s+"
_FOOTER = re.compile(
    rf"(?:(?:{_LABEL})(?:\s+(?:{_OF})?(?:{_UNIT}))?\s*[:=]?\s*(?:{_COUNT})(?:\s+(?:{_UNIT}))?"
    rf"|(?:{_COUNT})\s+(?:{_UNIT}))\.?",
    re.IGNORECASE,
)


def footer_text(cells: Sequence[Cell]) -> str | None:
    """The footer's text when the row is a footer line, else None."""
    filled = [text for text in map(cell_text, cells) if text]
    if not 1 <= len(filled) <= 2:
        return None
    text = " ".join(filled)
    return text if _FOOTER.fullmatch(text) else None
