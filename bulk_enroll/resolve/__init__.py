"""Resolve: emails, logins and course titles -> IDs, through the account's list calls."""
