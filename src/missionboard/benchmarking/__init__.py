"""Frontline units, their peers and unit-level data, and what better performers do."""
