"""Inbox: the nightly folder import: scan, ledger, archive, safety limits, notifications."""
