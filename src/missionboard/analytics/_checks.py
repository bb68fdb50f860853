"""Argument checks shared by the analytics' result and input dataclasses."""

from __future__ import annotations

import math


def finite_floats(instance: object, *names: str) -> None:
    """Store the named fields of a frozen dataclass as finite Python floats."""
    for name in names:
        value = float(getattr(instance, name))
        check_finite(**{name: value})
        object.__setattr__(instance, name, value)


def check_finite(**values: float) -> None:
    for name, value in values.items():
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, not {value}")
