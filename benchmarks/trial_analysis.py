"""Trial analysis at scale: 10,000,000 units in 10,000 clusters.

    .venv/bin/python benchmarks/trial_analysis.py [--rows N] [--clusters G]

Generates a seeded cluster-randomised trial (half the clusters treated, a cluster effect,
a pre-period value correlated with the outcome), writes it to
``benchmarks/output/trial_analysis.parquet`` (git-ignored), then times reading the columns
with pyarrow, the difference in means (Welch), CUPED and the cluster-robust CR1 SE, and, for
reference, statsmodels' OLS with clustered SEs on a 1,000,000-row subsample. The goal:
reading + the three analyses in under 10 s on 2 cores.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from machine import describe
from missionboard.analytics.trials import analyse

OUTPUT = Path(__file__).parent / "output" / "trial_analysis.parquet"


def generate(rows: int, clusters: int, path: Path) -> None:
    rng = np.random.default_rng(20261128)
    cluster = rng.integers(0, clusters, size=rows).astype(np.int32)
    treated = (cluster % 2).astype(np.int8)
    effect = rng.normal(0, 0.5, size=clusters)[cluster]
    pre = effect + rng.normal(0, 1, size=rows)
    outcome = 0.7 * pre + 0.05 * treated + 0.2 * effect + rng.normal(0, 1, size=rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"outcome": outcome, "treatment": treated, "cluster": cluster,
                             "pre": pre}), path)


def timed(label: str, work: object) -> object:
    start = time.perf_counter()
    result = work() if callable(work) else None
    print(f"{label:<40} {time.perf_counter() - start:7.2f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--clusters", type=int, default=10_000)
    args = parser.parse_args()
    print(describe())
    print(f"{args.rows:,} rows, {args.clusters:,} clusters")
    start = time.perf_counter()
    generate(args.rows, args.clusters, OUTPUT)
    print(f"{'generate and write Parquet':<40} {time.perf_counter() - start:7.2f} s")

    total = time.perf_counter()
    table = timed("read Parquet (pyarrow)", lambda: pq.read_table(OUTPUT))
    assert isinstance(table, pa.Table)
    y = table["outcome"].to_numpy()
    t = table["treatment"].to_numpy()
    g = table["cluster"].to_numpy()
    pre = table["pre"].to_numpy()
    results = [
        timed("difference in means (Welch)", lambda: analyse(y, t)),
        timed("CUPED (Welch)", lambda: analyse(y, t, cuped_pre=pre)),
        timed("difference in means, CR1 by cluster", lambda: analyse(y, t, clusters=g, se="cr1")),
    ]
    elapsed = time.perf_counter() - total
    print(f"{'total: read + three analyses':<40} {elapsed:7.2f} s")
    for result in results:
        print(f"  {result}")
    timed("CUPED with CR1 by cluster", lambda: analyse(y, t, cuped_pre=pre, clusters=g,
                                                       se="cr1"))
    timed("difference in means, CR2 by cluster", lambda: analyse(y, t, clusters=g, se="cr2"))

    import statsmodels.api as sm  # type: ignore[import-untyped]

    rows = min(1_000_000, y.size)
    x = sm.add_constant(t[:rows].astype(np.float64))
    fit = timed(f"statsmodels OLS, cluster SE, {rows:,} rows",
                lambda: sm.OLS(y[:rows], x).fit(cov_type="cluster",
                                                cov_kwds={"groups": g[:rows]}))
    ours = timed(f"this module, CR1, {rows:,} rows",
                 lambda: analyse(y[:rows], t[:rows], clusters=g[:rows], se="cr1"))
    print(f"  statsmodels SE {fit.bse[1]:.6g}, ours {ours.se:.6g}")  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
