"""Resolve: emails, logins and course titles -> IDs, through the account's list calls.

The third stage of the flow; see docs/ARCHITECTURE.md.
"""
