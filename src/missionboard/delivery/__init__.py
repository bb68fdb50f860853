"""Delivery: interventions and their estimated effects, trajectories, plans and stocktakes."""
