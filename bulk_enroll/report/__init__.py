"""Report: what happened to every row -> the result workbook, CSV and JSON summary."""
