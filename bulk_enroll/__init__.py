"""bulk_enroll: an HR spreadsheet in, exact batched iSpring Learn enrollments out.

    import bulk_enroll
    result = bulk_enroll.enroll("hr_export.xlsx", report="reports/today.xlsx")
    result = bulk_enroll.validate(dataframe)
    result = bulk_enroll.preview("hr_export.xlsx")  # what enroll would send now

See `bulk_enroll.api` (and the README's "Python API" section).
"""

from bulk_enroll._version import __version__
from bulk_enroll.api import (
    CancelToken,
    EnrollOptions,
    EnrollResult,
    ProgressEvent,
    RowOutcome,
    RowProblem,
    SendPreview,
    ValidateOptions,
    enroll,
    preview,
    validate,
)
from bulk_enroll.errors import (
    AuthError,
    BulkEnrollError,
    ConfigError,
    ExitStatus,
    InputFileError,
    InputRefused,
    SafetyStop,
)
from bulk_enroll.settings.config import AccountSettings

__all__ = [
    "AccountSettings",
    "AuthError",
    "BulkEnrollError",
    "CancelToken",
    "ConfigError",
    "EnrollOptions",
    "EnrollResult",
    "ExitStatus",
    "InputFileError",
    "InputRefused",
    "ProgressEvent",
    "RowOutcome",
    "RowProblem",
    "SafetyStop",
    "SendPreview",
    "ValidateOptions",
    "__version__",
    "enroll",
    "preview",
    "validate",
]
