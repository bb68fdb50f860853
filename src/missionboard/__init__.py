"""Missionboard: an open-source platform for mission-driven government."""

__version__ = "0.1.0"
