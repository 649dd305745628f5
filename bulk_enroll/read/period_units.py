"""The words for a due period's unit (hours, days, weeks) as HR writes them, in a cell ("10
Tage") or in the column's header ("Due period (days)").

Shared by the reader, which recognises a due period column whose header names its unit, and
the cell parser (`validate.values.parse_due_period`), which converts what the cell says.
"""

from __future__ import annotations

import re
import unicodedata


def fold_word(text: str) -> str:
    """A word as compared with the word lists below: no case, no accents, no final dot ("Días"
    -> "dias", "Std." -> "std", "NÃO" -> "nao")."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return bare[:-1].rstrip() if bare.endswith(".") else bare


# Hours per unit of a due period, in the words HR writes in English, German, French, Spanish,
# Italian, Dutch and Portuguese: singular, plural and the usual abbreviations, compared folded
# (`fold_word`). Only a due period cell (or header) is read with this table, so "ore"
# (Italian: hours) or "j" (French: jours) mean nothing in any other column.
_UNIT_WORDS: dict[int, tuple[str, ...]] = {
    1: ("h", "hr", "hrs", "hour", "hours",  # English
        "std", "stdn", "stunde", "stunden",  # German
        "heure", "heures",  # French
        "hora", "horas",  # Spanish, Portuguese
        "ora", "ore",  # Italian
        "u", "uur", "uren"),  # Dutch
    24: ("d", "day", "days",
         "t", "tg", "tag", "tage", "tagen",
         "j", "jour", "jours",
         "dia", "dias",  # "días" and "dias" fold alike
         "g", "gg", "giorno", "giorni",
         "dag", "dagen"),
    168: ("w", "wk", "wks", "week", "weeks",
          "wo", "woche", "wochen",
          "sem", "semaine", "semaines",
          "semana", "semanas",
          "sett", "settimana", "settimane",
          "weken"),
}
UNIT_HOURS = {word: hours for hours, words in _UNIT_WORDS.items() for word in words}

# A header that ends in its unit: "Due period (days)", "Due in weeks", "Due [h]".
_HEADER_UNIT = re.compile(
    r"^(?P<stem>.*?)\s*(?:[(\[]\s*(?:in\s+)?(?P<bracketed>[^()\[\]]+?)\s*[)\]]"
    r"|\s(?:in\s+)?(?P<word>[^\s()\[\]]{2,}))\s*$",
    re.IGNORECASE,
)


def header_unit(header: str) -> tuple[str, str, int] | None:
    """(the header without its unit, the unit as written, hours per unit) when the header ends
    in a due period unit; else None."""
    match = _HEADER_UNIT.match(header.strip())
    if match is None:
        return None
    unit = match.group("bracketed") or match.group("word")
    hours = UNIT_HOURS.get(fold_word(unit))
    return None if hours is None else (match.group("stem"), unit, hours)
