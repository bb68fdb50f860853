"""Column helpers shared by the domain models."""

from __future__ import annotations

import enum

from sqlalchemy import Enum


def str_enum(enum_cls: type[enum.StrEnum], *, name: str) -> Enum:
    """A portable string enum column (a CHECK constraint, no native type)."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        length=40,
        create_constraint=True,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )
