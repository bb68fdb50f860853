"""Period parsing."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from missionboard.analytics.periods import PeriodError, parse_period


@pytest.mark.parametrize(("text", "start", "end", "label"), [
    ("2024", dt.date(2024, 1, 1), dt.date(2024, 12, 31), "2024"),
    ("2024-Q1", dt.date(2024, 1, 1), dt.date(2024, 3, 31), "2024-Q1"),
    ("2024-q4", dt.date(2024, 10, 1), dt.date(2024, 12, 31), "2024-Q4"),
    ("2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29), "2024-02"),
    ("2023-02", dt.date(2023, 2, 1), dt.date(2023, 2, 28), "2023-02"),
    ("2025-03-31", dt.date(2025, 3, 31), dt.date(2025, 3, 31), "2025-03-31"),
    ("2024-25", dt.date(2024, 4, 1), dt.date(2025, 3, 31), "2024-25"),
    ("2023/24", dt.date(2023, 4, 1), dt.date(2024, 3, 31), "2023-24"),
    ("FY2011-12", dt.date(2011, 4, 1), dt.date(2012, 3, 31), "FY2011-12"),
    ("2011-12", dt.date(2011, 12, 1), dt.date(2011, 12, 31), "2011-12"),
    ("AY2023-24", dt.date(2023, 9, 1), dt.date(2024, 8, 31), "AY2023-24"),
    ("1999-00", dt.date(1999, 4, 1), dt.date(2000, 3, 31), "FY1999-00"),
    (" 2024-01-01/2024-06-30 ", dt.date(2024, 1, 1), dt.date(2024, 6, 30),
     "2024-01-01/2024-06-30"),
])
def test_accepted_forms(text: str, start: dt.date, end: dt.date, label: str) -> None:
    period = parse_period(text)
    assert (period.start, period.end, period.label) == (start, end, label)


@pytest.mark.parametrize("text", ["", "24", "2024-13-01", "2024-02-30", "2024-Q5", "2024-27",
                                  "2024-06-30/2024-01-01", "July 2024", "2024-1"])
def test_rejected_forms_say_what_is_accepted(text: str) -> None:
    with pytest.raises(PeriodError):
        parse_period(text)


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2999, 12, 31)))
def test_every_form_contains_the_day_it_was_built_from(day: dt.date) -> None:
    fy = day.year if day.month >= 4 else day.year - 1
    texts = [str(day.year), f"{day.year}-Q{(day.month - 1) // 3 + 1}",
             f"{day.year}-{day.month:02d}", day.isoformat(), f"FY{fy}-{(fy + 1) % 100:02d}"]
    for text in texts:
        period = parse_period(text)
        assert period.start <= day <= period.end, text
        # The label parses back to the same period.
        again = parse_period(period.label)
        assert (again.start, again.end) == (period.start, period.end)
