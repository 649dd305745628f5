"""`python -m bulk_enroll.cli.main` runs the command line."""

from bulk_enroll.cli.main import main

main()
