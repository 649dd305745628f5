"""Read: spreadsheet files -> a table of raw cells, safely (see docs/ARCHITECTURE.md)."""
