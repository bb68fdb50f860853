"""Required paths to targets and the on-track status of the latest actual.

The required path passes through the baseline, each interim milestone and the target.
Between two points it is linear (``shape="linear"``), or holds the earlier point's value until
the later point's date (``shape="step"``: each milestone must be met by its date, no sooner).
Before the baseline it is the baseline; after the deadline it is the target.

Status of an actual value *y* at date *t* with confidence limits [*l*, *u*] against the required
value *r(t)*, where *d* = +1 if the target is above the baseline and -1 if below:

- **too early to tell** when there is no actual dated after the baseline;
- **on track** when d·(y − r(t)) ≥ 0;
- **too early to tell** when the actual misses but the confidence interval still reaches the
  path (d·(l − r) ≥ 0 or d·(u − r) ≥ 0): the shortfall is within sampling error;
- **off track** otherwise.

Dates are converted to proleptic Gregorian ordinals (days) for interpolation.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


class PathShape(enum.StrEnum):
    LINEAR = "linear"
    STEP = "step"


class TrackStatus(enum.StrEnum):
    ON_TRACK = "on_track"
    OFF_TRACK = "off_track"
    TOO_EARLY = "too_early"

    @property
    def label(self) -> str:
        return {"on_track": "On track", "off_track": "Off track",
                "too_early": "Too early to tell"}[self.value]


@dataclass(frozen=True)
class RequiredPath:
    dates: tuple[dt.date, ...]
    values: tuple[float, ...]
    shape: PathShape

    @property
    def direction(self) -> int:
        """+1 when the target is above the baseline, -1 below, 0 to hold steady."""
        return int(np.sign(self.values[-1] - self.values[0]))

    def values_at(self, dates: Sequence[dt.date]) -> np.ndarray:
        """The required value at each date (vectorised)."""
        xs = np.array([d.toordinal() for d in self.dates], dtype=float)
        ys = np.array(self.values, dtype=float)
        ts = np.array([d.toordinal() for d in dates], dtype=float)
        if self.shape == PathShape.LINEAR:
            return np.asarray(np.interp(ts, xs, ys), dtype=float)
        # Step: the value of the last point reached; each milestone applies from its date.
        idx = np.searchsorted(xs, ts, side="right") - 1
        return np.asarray(ys[np.clip(idx, 0, len(ys) - 1)], dtype=float)

    def value_at(self, when: dt.date) -> float:
        return float(self.values_at([when])[0])


def required_path(
    *, baseline_date: dt.date, baseline_value: float,
    target_date: dt.date, target_value: float,
    milestones: Sequence[tuple[dt.date, float]] = (),
    shape: PathShape | str = PathShape.LINEAR,
) -> RequiredPath:
    """Build the path; milestones must fall strictly between the baseline and the deadline."""
    if target_date <= baseline_date:
        raise ValueError("the deadline must come after the baseline")
    points = sorted(milestones)
    for due, _ in points:
        if not baseline_date < due < target_date:
            raise ValueError(f"milestone {due} is not between the baseline and the deadline")
    if len({due for due, _ in points}) != len(points):
        raise ValueError("two milestones fall on the same date")
    dates = (baseline_date, *(d for d, _ in points), target_date)
    values = (float(baseline_value), *(float(v) for _, v in points), float(target_value))
    return RequiredPath(dates=dates, values=values, shape=PathShape(shape))


@dataclass(frozen=True)
class Assessment:
    status: TrackStatus
    reason: str
    required_value: float | None = None
    actual_value: float | None = None
    actual_date: dt.date | None = None
    #: Actual minus required, signed so that positive is better than the path.
    margin: float | None = None


def assess(
    path: RequiredPath, *, actual_date: dt.date | None, actual_value: float | None,
    lower: float | None = None, upper: float | None = None, polarity_sign: int = 1,
) -> Assessment:
    """Judge the latest actual against the path (see the module docstring for the rule).

    ``polarity_sign`` (+1 higher is better, -1 lower is better) is used only when the target
    holds the baseline steady.
    """
    if actual_date is None or actual_value is None or actual_date <= path.dates[0]:
        return Assessment(TrackStatus.TOO_EARLY, "No data since the baseline yet.")
    direction = path.direction or (polarity_sign if polarity_sign else 1)
    required = path.value_at(actual_date)
    margin = direction * (actual_value - required)
    common = {"required_value": required, "actual_value": actual_value,
              "actual_date": actual_date, "margin": margin}
    if margin >= 0:
        return Assessment(TrackStatus.ON_TRACK, "The latest value meets the required path.",
                          **common)  # type: ignore[arg-type]
    limits = [x for x in (lower, upper) if x is not None]
    if any(direction * (x - required) >= 0 for x in limits):
        return Assessment(
            TrackStatus.TOO_EARLY,
            "The latest value is behind the path, but within its confidence interval.",
            **common,  # type: ignore[arg-type]
        )
    return Assessment(TrackStatus.OFF_TRACK, "The latest value is behind the required path.",
                      **common)  # type: ignore[arg-type]
