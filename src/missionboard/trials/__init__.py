"""Trials: a public register, locked analysis plans and committed randomisation."""
