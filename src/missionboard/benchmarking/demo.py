"""The demo's frontline units and their unit-level data: SYNTHETIC and labelled illustrative.

Two metrics get unit-level data, made from a fixed seed so the demo is the same every time:

- waiting times (referral to treatment within 18 weeks) for 120 illustrative NHS trusts,
  monthly for two years;
- a good level of development at the end of reception for 300 illustrative schools, for five
  academic years.

Each unit's true rate is the national rate plus a unit effect (on the logit scale, so the
data are over-dispersed as real ones are) and a small trend; a few units are genuinely and
persistently better, and a few worse, so that the pages have something true to find. The
units' names and codes are invented ("Illustrative trust 001"); they are not real bodies.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from missionboard.benchmarking import service
from missionboard.benchmarking.models import PeerKind, Statistic, UnitKind
from missionboard.benchmarking.schemas import PeerGroupIn, UnitMetricIn
from missionboard.metrics.models import Metric

SEED = 20261127
REGIONS = tuple(f"E1200000{i}" for i in range(1, 10))


@dataclass(frozen=True)
class _Spec:
    metric_slug: str
    prefix: str
    kind: UnitKind
    count: int
    periods: tuple[str, ...]
    base_logit: float
    trend_per_period: float
    size: tuple[int, int]
    labels: tuple[str, str]


def _months(first_year: int, first_month: int, count: int) -> tuple[str, ...]:
    out = []
    for i in range(count):
        year, month = divmod(first_month - 1 + i, 12)
        out.append(f"{first_year + year}-{month + 1:02d}")
    return tuple(out)


SPECS = (
    _Spec("referral-to-treatment-percent-of-incomplete-pathways-waiting-under-18-weeks",
          "RX", UnitKind.TRUST, 120, _months(2023, 11, 24), 0.45, 0.01, (8_000, 60_000),
          ("patients waiting under 18 weeks", "patients waiting")),
    _Spec("children-achieving-a-good-level-of-development-at-the-end-of-reception-eyfs-profile",
          "SC", UnitKind.SCHOOL, 300,
          tuple(f"AY{y}-{(y + 1) % 100:02d}" for y in range(2019, 2024)),
          1.05, 0.03, (20, 120), ("children with a good level of development",
                                  "children at the end of reception")),
)


def _units(spec: _Spec, rng: np.random.Generator) -> list[dict[str, object]]:
    deprivation = rng.uniform(0, 1, spec.count)
    size = rng.integers(spec.size[0], spec.size[1], spec.count)
    noun = "trust" if spec.kind == UnitKind.TRUST else "school"
    return [{"code": f"{spec.prefix}{i + 1:03d}", "name": f"Illustrative {noun} {i + 1:03d}",
             "kind": spec.kind.value, "area_code": REGIONS[i % len(REGIONS)],
             "deprivation": round(float(deprivation[i]), 3), "size": int(size[i])}
            for i in range(spec.count)]


def _rows(spec: _Spec, units: Sequence[Mapping[str, object]], rng: np.random.Generator
          ) -> list[tuple[str, str, int, int]]:
    effect = rng.normal(0, 0.25, spec.count)
    effect[:3] += 0.7   # persistently better
    effect[3:5] -= 0.7  # persistently worse
    deprivation = np.array([float(u["deprivation"]) for u in units])  # type: ignore[arg-type]
    rows = []
    for t, period in enumerate(spec.periods):
        logit = spec.base_logit + effect - 0.3 * deprivation + spec.trend_per_period * t
        p = 1 / (1 + np.exp(-logit))
        size = np.array([int(u["size"]) for u in units])  # type: ignore[call-overload]
        n = np.maximum(1, rng.poisson(size)).astype(int)
        r = rng.binomial(n, p)
        rows += [(str(u["code"]), period, int(r[i]), int(n[i])) for i, u in enumerate(units)]
    return rows


def load_unit_data(session: Session, *, metrics: Mapping[str, Metric], data_dir: Path) -> int:
    """Create the demo units, their peer groups and the unit-level data; return the rows."""
    rng = np.random.default_rng(SEED)
    total = 0
    for spec in SPECS:
        units = _units(spec, rng)
        service.import_units(session, rows=units, illustrative=True)
        with tempfile.TemporaryDirectory() as folder:
            source = Path(folder) / "data.csv"
            with source.open("w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["unit", "period", "numerator", "denominator"])
                writer.writerows(_rows(spec, units, rng))
            loaded = service.load_unit_data(
                session, metric=metrics[spec.metric_slug], source=source, data_dir=data_dir,
                illustrative=True, data=UnitMetricIn(
                    statistic=Statistic.PROPORTION, multiplier=100,
                    numerator_label=spec.labels[0], denominator_label=spec.labels[1]))
        total += loaded.rows
        noun = "trusts" if spec.kind == UnitKind.TRUST else "schools"
        service.save_peer_group(session, data=PeerGroupIn(
            slug=f"all-{noun}", name=f"All {noun}", kind=PeerKind.SAME_KIND,
            unit_kind=spec.kind, description=f"Every {noun[:-1]} with data."))
        service.save_peer_group(session, data=PeerGroupIn(
            slug=f"similar-{noun}", name=f"The 15 most similar {noun}", kind=PeerKind.NEAREST,
            unit_kind=spec.kind, attributes=["deprivation", "size"], neighbours=15,
            description=f"The {noun} closest in deprivation and size (each standardised)."))
    return total
