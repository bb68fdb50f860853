"""Time the Monte Carlo projection at full size: 500 interventions × 100,000 draws × 120 months.

    .venv/bin/python benchmarks/projection.py [--interventions 500] [--draws 100000]
                                              [--periods 120] [--repeats 5]

Prints the machine (CPUs, CPU model, numpy and its BLAS, the OpenBLAS variables in force) and
the best and median wall-clock seconds of ``project`` (quantiles and sensitivity included).
The target on the 2-core development machine is under 2 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from missionboard.analytics.projection import (
    Distribution,
    InterventionEffect,
    LogNormal,
    Normal,
    Persistence,
    Ramp,
    Triangular,
    Uniform,
    fit_counterfactual,
    project,
)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def blas() -> str:
    try:
        from threadpoolctl import threadpool_info  # type: ignore[import-untyped]
    except ImportError:
        config = np.show_config(mode="dicts")
        return str(config["Build Dependencies"]["blas"])
    return "; ".join(
        f"{info.get('internal_api')} {info.get('version')} kernel={info.get('architecture')} "
        f"threads={info.get('num_threads')}"
        for info in threadpool_info() if info.get("user_api") == "blas"
    )


def interventions(count: int, rng: np.random.Generator) -> list[InterventionEffect]:
    """Mixed distributions, starts, lags, ramps, persistence and overlaps."""
    out = []
    ramps: tuple[Ramp, ...] = ("step", "linear", "s_curve")
    for i in range(count):
        central = float(rng.uniform(0.01, 0.5))
        effect: Distribution
        match i % 4:
            case 0:
                effect = Normal.from_interval(central=central, low=central * 0.3,
                                              high=central * 1.7, level=0.8)
            case 1:
                effect = LogNormal.from_interval(central=central, low=central / 2,
                                                 high=central * 2, level=0.9)
            case 2:
                effect = Triangular(low=0.0, mode=central, high=central * 2.5)
            case _:
                effect = Uniform(low=-central / 2, high=central * 2)
        persistence: Persistence = "decay" if i % 3 == 0 else "permanent"
        out.append(InterventionEffect(
            effect=effect, start=int(rng.integers(0, 60)), lag=int(rng.integers(0, 12)),
            ramp=ramps[i % 3], ramp_periods=int(rng.integers(1, 25)), persistence=persistence,
            half_life=float(rng.uniform(6, 48)) if persistence == "decay" else None,
            overlap=float(rng.uniform(0.5, 1.0)), optimism=float(rng.uniform(0.4, 1.0)),
        ))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interventions", type=int, default=500)
    parser.add_argument("--draws", type=int, default=100_000)
    parser.add_argument("--periods", type=int, default=120)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--target", type=float, default=117.6,
                        help="target at the last period (the default gives about even odds)")
    args = parser.parse_args()

    rng = np.random.default_rng(2024)
    months = np.arange(72)
    history = 60 + 0.05 * months + 3 * np.sin(2 * np.pi * months / 12) + rng.normal(0, 1, 72)
    started = time.perf_counter()
    counterfactual = fit_counterfactual(history, kind="seasonal", season_length=12)
    fit_seconds = time.perf_counter() - started
    effects = interventions(args.interventions, rng)

    print(f"machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), "
          f"{cpu_model()}, {platform.system()} {platform.release()}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, BLAS: {blas()}")
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS"):
        print(f"  {name}={os.environ.get(name, '(unset)')}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"fit_counterfactual(seasonal, 72 months): {fit_seconds:.3f} s "
          "(first call: includes importing statsmodels)")
    print(f"project: {args.interventions} interventions × {args.draws:,} draws × "
          f"{args.periods} periods, {args.repeats} runs")

    seconds = []
    result = None
    for _ in range(args.repeats):
        started = time.perf_counter()
        result = project(counterfactual=counterfactual, effects=effects, periods=args.periods,
                         target_value=args.target, target_period=args.periods - 1,
                         higher_is_better=True, seed=7, draws=args.draws)
        seconds.append(time.perf_counter() - started)
    assert result is not None
    print("runs (s): " + ", ".join(f"{s:.3f}" for s in seconds))
    print(f"best {min(seconds):.3f} s, median {statistics.median(seconds):.3f} s")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"(probability {result.probability:.4f}, mean at target {result.mean_at_target:.3f}, "
          f"additional effect for 80% {result.additional_effect_needed:.3f})")


if __name__ == "__main__":
    main()
