"""bulk_enroll: an HR spreadsheet in, exact batched iSpring Learn enrollments out.

    import bulk_enroll
    result = bulk_enroll.enroll("hr_export.xlsx", report="reports/today.xlsx")
    result = bulk_enroll.validate(dataframe)
    result = bulk_enroll.preview("hr_export.xlsx")  # what enroll would send now

See `bulk_enroll.api` (and the README's "Python API" section).
"""

import importlib
import sys
from types import ModuleType
from typing import TYPE_CHECKING

from bulk_enroll._version import __version__

if TYPE_CHECKING:
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

# Loaded on first use (PEP 562), so that `import bulk_enroll.launch` (the command's entry point,
# which must be ready to catch a Ctrl-C before anything heavy loads) stays cheap.
_HOMES = {
    **dict.fromkeys(("CancelToken", "EnrollOptions", "EnrollResult", "ProgressEvent",
                     "RowOutcome", "RowProblem", "SendPreview", "ValidateOptions", "enroll",
                     "preview", "validate"), "bulk_enroll.api"),
    **dict.fromkeys(("AuthError", "BulkEnrollError", "ConfigError", "ExitStatus",
                     "InputFileError", "InputRefused", "SafetyStop"), "bulk_enroll.errors"),
    "AccountSettings": "bulk_enroll.settings.config",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'bulk_enroll' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


class _Package(ModuleType):
    """`bulk_enroll.validate` is the API's function, as it always was, not the `validate/`
    stage package the import system would otherwise set there when that package loads."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _HOMES and isinstance(value, ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __dir__() -> list[str]:
    return sorted(__all__)


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
