"""Domain exceptions. Services raise these; one handler in ``web`` maps them to HTTP."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

_M = TypeVar("_M", bound=BaseModel)


class DomainError(Exception):
    status_code = 400
    title = "Bad request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    status_code = 404
    title = "Not found"


class PermissionDenied(DomainError):
    status_code = 403
    title = "Forbidden"


class NotAuthenticated(DomainError):
    status_code = 401
    title = "Sign in required"


class Conflict(DomainError):
    status_code = 409
    title = "Conflict"


class UnsupportedMediaType(DomainError):
    status_code = 415
    title = "Unsupported media type"


class TooLarge(DomainError):
    status_code = 413
    title = "Request too large"


class TooManyAttempts(DomainError):
    status_code = 429
    title = "Too many attempts"


@dataclass(frozen=True)
class FieldError:
    """One problem with the input: the field (or column), the row where there is one."""

    field: str
    message: str
    row: int | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"field": self.field, "message": self.message}
        if self.row is not None:
            out["row"] = self.row
        return out


@dataclass(eq=False)
class ValidationFailed(DomainError):
    errors: list[FieldError] = field(default_factory=list)

    status_code = 422
    title = "The input has errors"

    def __post_init__(self) -> None:
        first = self.errors[0].message if self.errors else "invalid input"
        super().__init__(f"{len(self.errors)} error(s); first: {first}")


class ReasonRequired(ValidationFailed):
    """A change to something published needs a public reason."""

    def __init__(self, fields: list[str]) -> None:
        super().__init__([FieldError("reason", "Give a reason for this change: it is shown "
                                                 "publicly with the change (" +
                                                 ", ".join(fields) + ")")])


def validate(schema: type[_M], data: Mapping[str, Any]) -> _M:
    """Validate ``data`` into ``schema``; raise :class:`ValidationFailed` with readable errors."""
    try:
        return schema.model_validate(data)
    except PydanticValidationError as exc:
        raise ValidationFailed(from_pydantic(exc)) from None


def from_pydantic(exc: PydanticValidationError) -> list[FieldError]:
    errors = []
    for err in exc.errors():
        loc = [str(part) for part in err["loc"] if not isinstance(part, int)]
        field_name = loc[0] if loc else "form"
        message = err["msg"].removeprefix("Value error, ")
        label = field_name.replace("_", " ")
        if err["type"] == "missing":
            message = f"Enter {label}"
        elif err["type"] == "string_pattern_mismatch":
            message = f"The {label} can use only lower-case letters, numbers and hyphens"
        elif err["type"] == "string_too_short":
            message = f"Enter {label}"
        elif not loc:
            message = message[:1].upper() + message[1:]
        else:
            message = f"The {label}: {message[:1].lower() + message[1:]}"
        errors.append(FieldError(field_name, message))
    return errors


def validate_rows(
    schema: type[_M], rows: Sequence[Mapping[str, Any]], *, first_row: int = 2
) -> list[_M]:
    """Validate every row, collecting every error with its row number (CSV: header is 1)."""
    parsed: list[_M] = []
    errors: list[FieldError] = []
    for number, row in enumerate(rows, start=first_row):
        cleaned = {k: (v if v not in ("", None) else None) for k, v in row.items()}
        try:
            parsed.append(schema.model_validate({k: v for k, v in cleaned.items()
                                                 if v is not None}))
        except PydanticValidationError as exc:
            errors += [FieldError(e.field, e.message, row=number) for e in from_pydantic(exc)]
    if errors:
        raise ValidationFailed(errors)
    return parsed
