"""Missionboard: an open-source platform for mission-driven government."""

__version__ = "0.2.0"
