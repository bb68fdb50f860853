"""Accounts: users, roles, API tokens, sign-in throttling and the audit log."""
