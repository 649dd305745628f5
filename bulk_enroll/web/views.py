"""Words and numbers for the templates: pure functions, no request, no I/O."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from bulk_enroll.api import FIELDS, ProgressEvent, SendPreview

STATUS_WORDS = {
    "enrolled": "enrolled",
    "already_enrolled": "already enrolled",
    "duplicate": "duplicate (sent once)",
    "invalid": "has problems",
    "failed": "refused by the server",
    "not_sent": "not sent",
    "unknown": "answer lost",
}
STATUS_MEANINGS = {
    "enrolled": "enrolled by this run",
    "already_enrolled": "enrolled before (journal or server); not sent again",
    "duplicate": "the same enrollment as an earlier row; sent once",
    "invalid": "fix the cell, then send again",
    "failed": "the server refused it; the message says why",
    "not_sent": "not sent (dry run, cancelled or stopped); send again to finish",
    "unknown": "sent, but the answer was lost; check in the LMS first",
}
DRY_RUN_MEANINGS = {"not_sent": "ready: a live run would send it (this dry run sent nothing)"}
GOOD = frozenset({"enrolled", "already_enrolled", "duplicate"})
STAGES = {
    "read": "Reading the file",
    "resolve": "Looking up people and courses",
    "plan": "Planning the calls",
    "send": "Sending",
    "report": "Writing the report",
    "done": "Finished",
}
NOT_USED = "ignore"  # the alias target that drops a column (as --alias 'HEADER=ignore')
FIELD_CHOICES = ((NOT_USED, "not used"), *((name, name) for name in FIELDS))
# The library's messages name the CLI's options; where the page has the control, it says so.
PAGE_WORDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"pass --date-order dmy or --date-order mdy,"), "choose the date order above,"),
    (re.compile(r"not sent; --include-hidden-rows to send"),
     "not sent; unhide it in the file and upload it again to send it"),
    (re.compile(r"pass --sheet ('[^']*')"), r"choose \1 under Sheet above"),
    (re.compile(r", or drop one with --alias 'HEADER=ignore'"),
     ", or choose 'not used' for one in the mapping"),
    (re.compile(r"pass --alias '([^'=]+)=([a-z_]+)'"),
     r"rename the header '\1' to '\2' in the file and upload it again"),
    (re.compile(r"--due-date-type or \[defaults\] due_date_type chooses another"),
     "a due_date_type column in the file chooses another"),
)


def plural(number: int, noun: str, many: str | None = None) -> str:
    """1 person, 2 people; 1 course, 3 courses (thousands separated)."""
    if number == 1:
        return f"1 {noun}"
    return f"{number:,} {many or noun + 's'}"


def start_label(preview: SendPreview | None, *, live: bool) -> str:
    """What the Start button does, in its own words."""
    if preview is None or preview.new_pairs == 0:
        return "Start enrolling: nothing new to send"
    label = (f"Start enrolling {plural(preview.learners, 'person', 'people')} in "
             f"{plural(preview.courses, 'course')}")
    return label if live else f"{label} (dry run: nothing is sent)"


def progress_facts(event: ProgressEvent | None) -> dict[str, Any]:
    """The sending screen's numbers."""
    if event is None:
        return {"stage": "Starting", "settled": 0, "total": 0, "percent": 0, "calls": 0,
                "planned": 0, "retries": 0, "waited": "0", "enrolled": 0, "not_enrolled": 0,
                "eta": "working it out"}
    total = event.pairs_total
    percent = int(100 * event.pairs_settled / total) if total else 0
    return {
        "stage": STAGES.get(event.stage, event.stage),
        "settled": event.pairs_settled,
        "total": total,
        "percent": percent,
        "calls": event.calls_made,
        "planned": event.calls_planned,
        "retries": event.retries,
        "waited": f"{event.rate_limit_wait_s:.1f}",
        # settled counts the pairs a cancel or a stop left unsent too: say how many went well
        "enrolled": event.pairs_settled - event.not_enrolled,
        "not_enrolled": event.not_enrolled,
        "eta": eta_words(event.eta_s),
    }


def stage_sentence(event: ProgressEvent | None, *, cancelled: bool, finished: bool) -> str:
    """What the run is doing, in one sentence (the panel's first line, and what a screen
    reader is told when it changes)."""
    if finished:
        return "Finished: the report is written"
    stage = progress_facts(event)["stage"]
    if cancelled and stage != STAGES["done"]:
        return f"{stage}: cancelling (the calls in flight finish, no new ones start)"
    if cancelled:
        return "Cancelled: writing the report"
    return str(stage)


def eta_words(seconds: float | None) -> str:
    if seconds is None:
        return "working it out"
    if seconds < 1:
        return "less than a second"
    if seconds < 90:
        return f"about {seconds:.0f} s"
    return f"about {seconds / 60:.0f} min"


def cell(value: object) -> str:
    """A cell as the page shows (and edits) it."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        text = value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
        return text[:-9] if text.endswith(" 00:00:00") else text
    return str(value)


def likely_header_row(rows: Sequence[tuple[int, Sequence[str]]]) -> int:
    """The row to offer as the header when none was recognised: the first of the widest rows
    (a title above the table fills one cell; the header fills them all)."""
    if not rows:
        return 0
    width = max(sum(1 for text in texts if text) for _, texts in rows)
    return next(number for number, texts in rows if sum(1 for text in texts if text) == width)


def page_words(message: str) -> str:
    """A library message as the page says it: the page's control instead of a CLI option."""
    for cli, page in PAGE_WORDS:
        message = cli.sub(page, message)
    return message


def status_word(status: str) -> str:
    return STATUS_WORDS.get(status, status)


def status_class(status: str) -> str:
    return "good" if status in GOOD else ("bad" if status in ("invalid", "failed") else "warn")


FILTERS: dict[str, Callable[..., Any]] = {
    "cell": cell,
    "page_words": page_words,
    "status_word": status_word,
    "status_class": status_class,
}
