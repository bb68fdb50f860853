"""National unit-level data at scale: one Parquet dataset partitioned by period.

Layout (as written by a national pipeline or :func:`write_synthetic`): ``ROOT/period=K/*.parquet``
with integer columns ``indicator`` (0 … I−1) and ``unit`` (0 … U−1), and ``numerator`` and
``denominator``; K counts periods from 0. A scan reads only the partitions it needs (the last
five, for the recent trend) with DuckDB, and scatters them into dense periods × indicators ×
units arrays, NaN where a unit has no value, for :func:`missionboard.analytics.scan.scan`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Cube:
    periods: tuple[int, ...]
    numerator: FloatArray
    denominator: FloatArray


def partitions(root: Path) -> list[int]:
    return sorted(int(p.name.split("=", 1)[1]) for p in root.glob("period=*") if p.is_dir())


def read_cube(root: Path, *, indicators: int, units: int, last: int = 5) -> Cube:
    """The last ``last`` periods as dense arrays."""
    chosen = partitions(root)[-last:]
    shape = (len(chosen), indicators, units)
    numerator = np.full(shape, np.nan)
    denominator = np.full(shape, np.nan)
    with duckdb.connect(":memory:") as con:
        for k, period in enumerate(chosen):
            files = sorted(str(f) for f in (root / f"period={period}").glob("*.parquet"))
            data = con.read_parquet(files).select(
                "indicator, unit, numerator, denominator").fetchnumpy()
            flat = (np.asarray(data["indicator"], dtype=np.int64) * units
                    + np.asarray(data["unit"], dtype=np.int64))
            numerator[k].reshape(-1)[flat] = data["numerator"]
            denominator[k].reshape(-1)[flat] = data["denominator"]
    return Cube(periods=tuple(chosen), numerator=numerator, denominator=denominator)


def write_synthetic(root: Path, *, indicators: int, units: int, periods: int,
                    seed: int = 1) -> None:
    """Generate a national dataset: proportions with unit effects (over-dispersed), a few
    persistently better units, and drift, from DuckDB's hash of (seed, indicator, unit,
    period), so the same arguments give the same files."""
    query = """
        WITH grid AS (
            SELECT i AS indicator, u AS unit, p AS period,
                   50 + hash(?, i, u) % 950 AS denominator,
                   ((hash(?, i, u, 7) % 10000) / 10000.0 - 0.5) * 0.8
                     + CASE WHEN u % 997 = 0 THEN 0.9 ELSE 0 END AS effect,
                   (hash(?, i, u, p) % 10000) / 10000.0 AS noise
            FROM range(?) a(i), range(?) b(u), range(?) c(p))
        SELECT indicator::INTEGER AS indicator, unit::INTEGER AS unit, period::INTEGER AS period,
               least(denominator, greatest(0, round(denominator
                   / (1 + exp(-(0.4 + effect + 0.01 * period + (noise - 0.5) * 0.3))))))
                   ::INTEGER AS numerator,
               denominator::INTEGER AS denominator
        FROM grid"""
    root.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(":memory:") as con:
        numbers = [int(seed)] * 3 + [int(indicators), int(units), int(periods)]
        relation = con.sql(query.replace("?", "{}").format(*numbers))
        relation.write_parquet(str(root), partition_by=["period"], compression="zstd",
                               overwrite=True)
