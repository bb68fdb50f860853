"""Reporting periods written as text, parsed to a first and last day.

Accepted forms (the last day is inclusive):

============================  =====================================  ========================
form                          meaning                                example
============================  =====================================  ========================
``YYYY``                      calendar year                          ``2024``
``YYYY-Qn``                   calendar quarter                       ``2024-Q3``
``YYYY-MM``                   calendar month                         ``2024-07``
``YYYY-MM-DD``                one day (a snapshot, e.g. 31 March)    ``2025-03-31``
``YYYY-YY`` or ``YYYY/YY``    UK financial year, 1 April to 31 March ``2024-25``
                              (``2011-12`` reads as a month: write
                              ``FY2011-12`` or ``2011/12``)
``FYYYYY-YY``                 the same, explicitly                   ``FY2024-25``
``AYYYYY-YY``                 academic year, 1 September to 31 Aug   ``AY2023-24``
``YYYY-MM-DD/YYYY-MM-DD``     an explicit interval (ISO 8601)        ``2024-01-01/2024-06-30``
============================  =====================================  ========================
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Period:
    start: dt.date
    end: dt.date
    label: str


class PeriodError(ValueError):
    """The text is not a period in any accepted form."""


_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_SPLIT_YEAR = re.compile(r"^(FY|AY)?(\d{4})[-/](\d{2})$", re.IGNORECASE)
_INTERVAL = re.compile(r"^(\d{4}-\d{2}-\d{2})/(\d{4}-\d{2}-\d{2})$")


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _split_year(prefix: str, first: int, second: int, text: str) -> Period:
    if (first + 1) % 100 != second:
        raise PeriodError(f"{text!r}: the second year must follow the first (e.g. 2024-25)")
    if prefix.upper() == "AY":
        return Period(dt.date(first, 9, 1), dt.date(first + 1, 8, 31), f"AY{first}-{second:02d}")
    label = f"{first}-{second:02d}" if second > 12 else f"FY{first}-{second:02d}"
    return Period(dt.date(first, 4, 1), dt.date(first + 1, 3, 31), label)


def parse_period(text: str) -> Period:
    """Parse one period; raise :class:`PeriodError` with the accepted forms if it is not one."""
    raw = text.strip()
    try:
        if m := _YEAR.match(raw):
            year = int(m.group(1))
            return Period(dt.date(year, 1, 1), dt.date(year, 12, 31), raw)
        if m := _QUARTER.match(raw):
            year, q = int(m.group(1)), int(m.group(2))
            return Period(dt.date(year, 3 * q - 2, 1), _month_end(year, 3 * q),
                          f"{year}-Q{q}")
        if (m := _MONTH.match(raw)) and 1 <= int(m.group(2)) <= 12:
            year, month = int(m.group(1)), int(m.group(2))
            return Period(dt.date(year, month, 1), _month_end(year, month), raw)
        if m := _DAY.match(raw):
            day = dt.date.fromisoformat(raw)
            return Period(day, day, raw)
        if m := _SPLIT_YEAR.match(raw):
            return _split_year(m.group(1) or "", int(m.group(2)), int(m.group(3)), raw)
        if m := _INTERVAL.match(raw):
            start, end = dt.date.fromisoformat(m.group(1)), dt.date.fromisoformat(m.group(2))
            if end < start:
                raise PeriodError(f"{raw!r}: the interval ends before it starts")
            return Period(start, end, raw)
    except ValueError as exc:
        if isinstance(exc, PeriodError):
            raise
        raise PeriodError(f"{raw!r} is not a real date: {exc}") from None
    raise PeriodError(
        f"{raw!r} is not a period: use 2024, 2024-Q3, 2024-07, 2025-03-31, 2024-25 "
        "(financial year), AY2023-24 (academic year) or 2024-01-01/2024-06-30"
    )
