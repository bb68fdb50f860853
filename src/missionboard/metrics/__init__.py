"""Metrics: areas, metric definitions, observations with revisions, targets and imports."""
