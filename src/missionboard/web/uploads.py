"""CSV in and out for the pages: uploaded files read into rows (or a form error), an import's
errors shown against the file input, and rows written as a UTF-8 download."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile

from missionboard.errors import FieldError, ValidationFailed


def csv_bytes(rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def rows_of(upload: UploadFile | str | None, field: str) -> list[dict[str, str]]:
    """An uploaded CSV file's rows, or a form error on ``field``."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ValidationFailed([FieldError(field, "Select a CSV file")])
    try:
        text = upload.file.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed([FieldError(field, "The file must be a CSV file in UTF-8")]
                               ) from None
    if "\x00" in text:
        raise ValidationFailed([FieldError(field, "The file contains a NUL character")])
    return [{(k or "").strip(): (v or "") for k, v in row.items()}
            for row in csv.DictReader(io.StringIO(text, newline=""))]


def on_file(exc: ValidationFailed, field: str) -> ValidationFailed:
    """An import's errors, each naming its row and column, shown against the file input."""
    return ValidationFailed([FieldError(field, (f"Row {e.row}, column {e.field}: "
                                                if e.row is not None else "") + e.message)
                             for e in exc.errors])


def base_url(request: Request) -> str:
    """The site's address as the request reached it, without a trailing slash."""
    return str(request.base_url).rstrip("/")
