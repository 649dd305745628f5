"""Validate: a `Table` -> typed enrollment requests and every problem of every row. Pure.

The second stage of the flow; see docs/ARCHITECTURE.md.
"""
