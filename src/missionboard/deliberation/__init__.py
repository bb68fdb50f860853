"""Citizen deliberation: conversations, votes, moderation and the opinion-group analysis."""
