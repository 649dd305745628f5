"""Read: a spreadsheet file or a DataFrame -> a `Table` of raw cells with row numbers, safely.

The first stage of the flow; see docs/ARCHITECTURE.md for the stages and their contracts.
"""
