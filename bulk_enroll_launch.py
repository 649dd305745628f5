"""The `bulk-enroll` command's entry point, outside the package on purpose.

Loading bulk_enroll takes a second or two (more on a busy machine). A Ctrl-C in that time used
to end the process with a Python traceback, before the command's own Ctrl-C handling existed.
This module imports nothing of ours until it is ready to catch that interrupt.
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
