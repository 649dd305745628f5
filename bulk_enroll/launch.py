"""The `bulk-enroll` command's entry point.

Loading the command takes a second or two (more on a busy machine). A Ctrl-C in that time used
to end the process with a Python traceback, before the command's own Ctrl-C handling existed.
This module imports nothing heavy until it is ready to catch that interrupt (the package's
`__init__` loads the public API lazily, so importing this module costs next to nothing).
"""

from __future__ import annotations

import sys

INTERRUPTED = 130  # errors.ExitStatus.INTERRUPTED, which is not loaded yet at that point


def main() -> int:
    try:
        from bulk_enroll.cli import main as run_command
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted while starting: nothing was read or sent.\n")
        return INTERRUPTED
    return run_command()


if __name__ == "__main__":
    sys.exit(main())
