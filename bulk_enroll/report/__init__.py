"""Report: what happened to every row -> the result workbook, CSV and JSON summary.

The last stage of the flow; see docs/ARCHITECTURE.md.
"""
