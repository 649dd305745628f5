"""`python -m bulk_enroll.cli` runs the command line, with its exit code."""

import sys

from bulk_enroll.cli import main

sys.exit(main())
