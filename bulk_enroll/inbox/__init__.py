"""Inbox: the nightly folder import: scan, ledger, archive, safety limits, notifications.

Runs the `run` job once per file; see docs/ARCHITECTURE.md.
"""
