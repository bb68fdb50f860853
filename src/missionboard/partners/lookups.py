"""Small lookups that rarely change (the published missions, the areas, the unpublished
missions, the volunteering tags), remembered for a few seconds in each server process.

Every public page of the register and of volunteering needs some of them, and each is a
round trip to the database that costs more than reading the answer from memory: at 200
requests a second (``benchmarks/mobilisation_load.py``) they were a tenth of the work.

Off unless the server process turns it on (:func:`configure`, called by
:func:`missionboard.web.server.app`), so that tests, the command line and the workers see
every change at once. When on, a change to a mission or an area shows on the public pages at
most :data:`DEFAULT_SECONDS` later. The memory is bounded: a handful of entries per database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

T = TypeVar("T")

#: How long the server process remembers a lookup.
DEFAULT_SECONDS = 5.0
#: How long lookups are remembered now (0 means off: every call asks the database).
_settings = {"seconds": 0.0}
_MAX_ENTRIES = 256
_remembered: dict[tuple[Any, ...], tuple[float, Any]] = {}
_lock = threading.Lock()


def configure(seconds: float) -> None:
    """Remember lookups for ``seconds`` (0 turns it off and forgets everything)."""
    _settings["seconds"] = seconds
    clear()


def clear() -> None:
    with _lock:
        _remembered.clear()


def remembered(session: Session, name: str, compute: Callable[[], T], *key: Any) -> T:
    """``compute()``, or its answer for the same database, ``name`` and ``key`` if it is less
    than the configured seconds old. The answer must not be changed by its users."""
    seconds = _settings["seconds"]
    if seconds <= 0:
        return compute()
    full = (session.get_bind(), name, *key)
    now = time.monotonic()
    found = _remembered.get(full)
    if found is not None and now - found[0] < seconds:
        value: T = found[1]
        return value
    value = compute()
    with _lock:
        if len(_remembered) >= _MAX_ENTRIES:
            _remembered.clear()
        _remembered[full] = (now, value)
    return value
