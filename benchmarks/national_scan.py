"""Time a national scan of frontline units against DuckDB's bare grouped aggregate.

    .venv/bin/python benchmarks/national_scan.py [--indicators 200] [--units 25000]
        [--periods 20] [--root benchmarks/output/national] [--regenerate] [--repeats 3]

Generates (once; ``--regenerate`` to redo) a synthetic national dataset of proportions,
indicators × units × periods rows (default 100 million), as Parquet partitioned by period.
Then, in the same run, it times:

- **the floor**: DuckDB's bare grouped aggregate over every file
  (``SELECT indicator, period, sum(numerator), sum(denominator) … GROUP BY ALL``);
- **the scan**: read the last five periods into arrays, then flag every unit on every
  indicator for the latest period (over-dispersion-adjusted funnel, 95% and 99.8% bands),
  sustained positive deviance (beyond the better 99.8% limit in the last two periods) and the
  recent trend (Fingertips markers over five periods).

It prints the best of ``--repeats`` runs of each, and their ratio. Targets: the scan under
60 s on the 2-core machine, and within 3× the floor.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np

from missionboard.analytics import scan, trends
from missionboard.benchmarking import national

ROOT = Path(__file__).resolve().parent / "output" / "national"


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def best_of(repeats: int, run: Callable[[], object]) -> tuple[float, list[float], object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), times, result


def floor(root: Path) -> int:
    with duckdb.connect(":memory:") as con:
        rows = con.read_parquet(str(root / "*" / "*.parquet"), hive_partitioning=True).aggregate(
            "indicator, period, sum(numerator), sum(denominator)", "indicator, period"
        ).fetchall()
    return len(rows)


def national_scan(root: Path, indicators: int, units: int) -> tuple[scan.Scan, float]:
    start = time.perf_counter()
    cube = national.read_cube(root, indicators=indicators, units=units, last=trends.POINTS)
    read = time.perf_counter() - start
    higher = np.arange(indicators) % 4 != 3  # every fourth indicator: lower is better
    return scan.scan(cube.numerator, cube.denominator, higher_is_better=higher), read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--indicators", type=int, default=200)
    parser.add_argument("--units", type=int, default=25_000)
    parser.add_argument("--periods", type=int, default=20)
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = args.indicators * args.units * args.periods
    print(f"machine: {os.cpu_count()} CPUs, {cpu_model()}; Python {platform.python_version()}, "
          f"numpy {np.__version__}, DuckDB {duckdb.__version__}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.regenerate or national.partitions(args.root) != list(range(args.periods)):
        start = time.perf_counter()
        national.write_synthetic(args.root, indicators=args.indicators, units=args.units,
                                 periods=args.periods)
        print(f"generated {rows:,} rows in {time.perf_counter() - start:.1f} s "
              f"at {args.root}")
    size = sum(f.stat().st_size for f in args.root.rglob("*.parquet"))
    print(f"data: {args.indicators} indicators × {args.units:,} units × {args.periods} "
          f"periods = {rows:,} rows, {size / 1e6:,.0f} MB of Parquet")

    floor_best, floor_times, groups = best_of(args.repeats, lambda: floor(args.root))
    print(f"floor (DuckDB grouped aggregate, {groups:,} groups): runs "
          f"{', '.join(f'{t:.3f}' for t in floor_times)} s; best {floor_best:.3f} s")
    scan_best, scan_times, outcome = best_of(
        args.repeats, lambda: national_scan(args.root, args.indicators, args.units))
    assert isinstance(outcome, tuple)
    result, read = outcome
    print(f"scan (read 5 periods + flag, sustain, trend): runs "
          f"{', '.join(f'{t:.3f}' for t in scan_times)} s; best {scan_best:.3f} s "
          f"(last run: reading {read:.3f} s)")
    print(f"ratio scan / floor: {scan_best / floor_best:.2f}")
    bands = np.bincount(result.better.reshape(-1) + 2, minlength=5)
    names = ("worse 99.8%", "worse 95%", "as expected", "better 95%", "better 99.8%")
    print("latest period, units × indicators: " + ", ".join(
        f"{n} {c:,}" for n, c in zip(names, bands.tolist(), strict=True)))
    print(f"sustained positive deviance: {int(result.sustained.sum()):,}")
    codes = np.bincount(result.trend.reshape(-1), minlength=len(trends.TRENDS))
    print("recent trends: " + ", ".join(
        f"{t} {c:,}" for t, c in zip(trends.TRENDS, codes.tolist(), strict=True)))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
