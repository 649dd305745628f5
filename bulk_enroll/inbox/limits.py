"""Safety limits of unattended imports: stop a file before a bad export does damage.

A nightly export that suddenly asks for 40,000 enrollments, or whose rows are mostly invalid
(a changed column, a truncated file), is more likely a broken export than a real request. These
pure checks run on the plan of a file before any call (`jobs.JobOptions.guard`); a reason
returned stops the file, and a person decides (then `--force`).
"""

from __future__ import annotations

from dataclasses import dataclass

from bulk_enroll.jobs import PlanPreview

DEFAULT_MAX_NEW_PER_FILE = 10_000
DEFAULT_MAX_NEW_PER_RUN = 50_000
DEFAULT_MAX_INVALID_SHARE = 0.2
FORCE_HINT = "check the file, then run again with --force to send it anyway"


@dataclass(frozen=True)
class SafetyLimits:
    max_new_per_file: int = DEFAULT_MAX_NEW_PER_FILE
    max_new_per_run: int = DEFAULT_MAX_NEW_PER_RUN
    max_invalid_share: float = DEFAULT_MAX_INVALID_SHARE  # of data rows, 0..1


def check_limits(preview: PlanPreview, limits: SafetyLimits, sent_this_run: int) -> str | None:
    """Why this file must not be sent, or None. `sent_this_run`: new enrollments already
    sent by earlier files of the same run."""
    if preview.rows and preview.invalid_rows / preview.rows > limits.max_invalid_share:
        return (
            f"safety limit: {preview.invalid_rows / preview.rows:.0%} of the rows are invalid "
            f"({preview.invalid_rows:,} of {preview.rows:,}), more than max_invalid_share "
            f"({limits.max_invalid_share:.0%}); {FORCE_HINT}"
        )
    if preview.new_pairs > limits.max_new_per_file:
        return (
            f"safety limit: {preview.new_pairs:,} new enrollments in this file, more than "
            f"max_new_enrollments_per_file ({limits.max_new_per_file:,}); {FORCE_HINT}"
        )
    if sent_this_run + preview.new_pairs > limits.max_new_per_run:
        return (
            f"safety limit: this file's {preview.new_pairs:,} new enrollments would bring this "
            f"run to {sent_this_run + preview.new_pairs:,}, more than "
            f"max_new_enrollments_per_run ({limits.max_new_per_run:,}); {FORCE_HINT}"
        )
    return None
