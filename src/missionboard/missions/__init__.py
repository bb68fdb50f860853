"""Missions: organisations, missions, outcomes, boards and the public change record."""
