"""Required paths and on-track status, against hand-computed values and as properties."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from missionboard.analytics.paths import TrackStatus, assess, required_path

BASE = dt.date(2024, 7, 31)
END = dt.date(2029, 3, 31)


def test_linear_path_by_hand() -> None:
    # RTT: 58.8% (July 2024) to 92% by 31 March 2029. 1,704 days; 2025-10-31 is day 457.
    path = required_path(baseline_date=BASE, baseline_value=58.8, target_date=END,
                         target_value=92.0)
    assert (END - BASE).days == 1704
    assert path.value_at(dt.date(2025, 10, 31)) == pytest.approx(58.8 + 33.2 * 457 / 1704)
    assert path.value_at(BASE) == 58.8
    assert path.value_at(END) == 92.0
    assert path.value_at(dt.date(2020, 1, 1)) == 58.8  # before the baseline: the baseline
    assert path.value_at(dt.date(2031, 1, 1)) == 92.0  # after the deadline: the target


def test_path_through_a_milestone() -> None:
    mid = dt.date(2026, 7, 31)
    path = required_path(baseline_date=BASE, baseline_value=0, target_date=END,
                         target_value=100, milestones=[(mid, 20)])
    assert path.value_at(mid) == 20
    halfway = BASE + (mid - BASE) / 2
    assert path.value_at(halfway) == pytest.approx(10, abs=0.02)
    assert path.dates == (BASE, mid, END)


def test_step_path_holds_until_each_date() -> None:
    mid = dt.date(2026, 7, 31)
    path = required_path(baseline_date=BASE, baseline_value=0, target_date=END,
                         target_value=100, milestones=[(mid, 20)], shape="step")
    assert path.value_at(mid - dt.timedelta(days=1)) == 0
    assert path.value_at(mid) == 20
    assert path.value_at(END - dt.timedelta(days=1)) == 20
    assert path.value_at(END) == 100


def test_path_rejects_bad_points() -> None:
    with pytest.raises(ValueError, match="deadline"):
        required_path(baseline_date=END, baseline_value=0, target_date=BASE, target_value=1)
    with pytest.raises(ValueError, match="not between"):
        required_path(baseline_date=BASE, baseline_value=0, target_date=END, target_value=1,
                      milestones=[(dt.date(2030, 1, 1), 1)])


def _rtt():  # type: ignore[no-untyped-def]
    return required_path(baseline_date=BASE, baseline_value=58.8, target_date=END,
                         target_value=92.0)


def test_status_rules() -> None:
    path = _rtt()
    when = dt.date(2025, 10, 31)
    need = path.value_at(when)  # about 67.7
    assert assess(path, actual_date=None, actual_value=None).status == TrackStatus.TOO_EARLY
    assert assess(path, actual_date=BASE, actual_value=58.8).status == TrackStatus.TOO_EARLY
    assert assess(path, actual_date=when, actual_value=need + 0.1).status == TrackStatus.ON_TRACK
    assert assess(path, actual_date=when, actual_value=61.7).status == TrackStatus.OFF_TRACK
    within = assess(path, actual_date=when, actual_value=need - 1, lower=need - 3,
                    upper=need + 1)
    assert within.status == TrackStatus.TOO_EARLY
    assert within.margin == pytest.approx(-1)
    beyond = assess(path, actual_date=when, actual_value=need - 2, lower=need - 3,
                    upper=need - 1)
    assert beyond.status == TrackStatus.OFF_TRACK


def test_status_for_a_falling_target() -> None:
    path = required_path(baseline_date=BASE, baseline_value=100, target_date=END,
                         target_value=50)
    when = dt.date(2026, 1, 1)
    need = path.value_at(when)
    assert assess(path, actual_date=when, actual_value=need - 1).status == TrackStatus.ON_TRACK
    assert assess(path, actual_date=when, actual_value=need + 1).status == TrackStatus.OFF_TRACK


dates = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1))
values = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(base=values, target=values, days=st.integers(1, 20_000),
       probes=st.lists(st.integers(-1000, 21_000), min_size=1, max_size=30))
def test_linear_path_stays_between_its_ends_and_is_monotone(
    base: float, target: float, days: int, probes: list[int]
) -> None:
    start = dt.date(2020, 1, 1)
    path = required_path(baseline_date=start, baseline_value=base,
                         target_date=start + dt.timedelta(days=days), target_value=target)
    probe_dates = [start + dt.timedelta(days=p) for p in sorted(probes)]
    got = path.values_at(probe_dates)
    lo, hi = min(base, target), max(base, target)
    assert np.all(got >= lo - 1e-6)
    assert np.all(got <= hi + 1e-6)
    steps = np.diff(got) * np.sign(target - base)
    assert np.all(steps >= -1e-6)


@given(value=values, shift=st.floats(min_value=0, max_value=1e3, allow_nan=False),
       when=st.integers(1, 1700))
def test_a_better_actual_never_worsens_the_status(value: float, shift: float, when: int) -> None:
    order = {TrackStatus.OFF_TRACK: 0, TrackStatus.TOO_EARLY: 1, TrackStatus.ON_TRACK: 2}
    path = _rtt()
    day = BASE + dt.timedelta(days=when)
    worse = assess(path, actual_date=day, actual_value=value)
    better = assess(path, actual_date=day, actual_value=value + shift)
    assert order[better.status] >= order[worse.status]


@given(value=values, when=st.integers(1, 1700), offset=st.floats(0, 100, allow_nan=False))
def test_mirroring_the_target_mirrors_the_status(value: float, when: int, offset: float) -> None:
    up = required_path(baseline_date=BASE, baseline_value=10, target_date=END, target_value=90)
    down = required_path(baseline_date=BASE, baseline_value=-10, target_date=END,
                         target_value=-90)
    day = BASE + dt.timedelta(days=when)
    a = assess(up, actual_date=day, actual_value=value, lower=value - offset,
               upper=value + offset)
    b = assess(down, actual_date=day, actual_value=-value, lower=-value - offset,
               upper=-value + offset)
    assert a.status == b.status
