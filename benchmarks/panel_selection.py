"""Citizens' panel selection: Missionboard's LEXIMIN against sortition-algorithms.

Usage:
    python benchmarks/panel_selection.py [--sizes 500x30,2000x100,10000x150] [--timeout 600]
        [--workdir benchmarks/output/panel] [--sortition-python .venv-sortition/bin/python]

For each pool size and panel size the script writes a seeded pool of volunteers
(``people.csv``: an id and 5–7 features) and its quotas (``features.csv``: feature, value,
min, max — the files both tools read). Population shares are realistic; the pool is drawn
with self-selection bias as in real recruitment, so some groups (graduates, the over-60s,
the politically interested) answer up to five times as often as others. Quotas are the
population share of the panel rounded down and up.

Each engine runs in its own process on the same files, one after the other, and is stopped
after ``--timeout`` seconds:

* Missionboard: ``missionboard.analytics.sortition.maximin`` (LEXIMIN's first stage: the best
  minimum probability) and ``leximin`` (every stage), each in its own process, in this
  virtualenv.
* sortition-algorithms (pinned by ``benchmarks/requirements-sortition.txt``, in the separate
  virtualenv ``.venv-sortition``) with the HiGHS backend (``solver_backend="highspy"``).
  Its LEXIMIN needs Gurobi; without it, ``find_random_sample`` switches to maximin, which
  has the same minimum probability, so that is what is run when Gurobi is missing.

The time is the engine's own (reading the files and solving), measured inside its process.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from machine import describe

REPO = Path(__file__).resolve().parent.parent
SORTITION_PYTHON = REPO / ".venv-sortition" / "bin" / "python"
DEFAULT_SIZES = "500x30,2000x100,10000x150"
TOLERANCE = 0.001
SPEED_UP = 5.0
TARGET = (2000, 100, 30.0)

#: feature → (value, population share, response rate relative to the least keen group).
FEATURES: dict[str, list[tuple[str, float, float]]] = {
    "gender": [("woman", 0.51, 1.2), ("man", 0.48, 1.0), ("other", 0.01, 1.5)],
    "age": [("16-24", 0.14, 1.0), ("25-34", 0.17, 1.4), ("35-44", 0.16, 1.8),
            ("45-59", 0.25, 2.5), ("60-74", 0.19, 4.0), ("75+", 0.09, 2.0)],
    "education": [("none", 0.18, 1.0), ("school", 0.38, 1.8), ("vocational", 0.14, 2.2),
                  ("degree", 0.30, 5.0)],
    "region": [("north", 0.23, 1.0), ("midlands", 0.16, 1.2), ("east", 0.10, 1.1),
               ("london", 0.13, 1.6), ("south", 0.22, 1.5), ("west", 0.09, 1.8),
               ("wales", 0.07, 1.3)],
    "ethnicity": [("white", 0.82, 1.0), ("asian", 0.09, 0.6), ("black", 0.04, 0.5),
                  ("mixed", 0.03, 0.9), ("other", 0.02, 0.7)],
    "area": [("urban", 0.63, 1.0), ("suburban", 0.20, 1.3), ("rural", 0.17, 1.6)],
    "interest": [("none", 0.22, 1.0), ("a little", 0.38, 2.0), ("fair", 0.28, 3.5),
                 ("great", 0.12, 5.0)],
}


def features_for(pool: int) -> list[str]:
    """5 features for the smallest pools, 6 from 2,000, 7 from 10,000."""
    count = 5 if pool < 2000 else 6 if pool < 10_000 else 7
    return list(FEATURES)[:count]


def write_inputs(directory: Path, *, pool: int, panel: int, seed: int) -> tuple[int, int]:
    """Write people.csv and features.csv; return the number of features and of types."""
    rng = np.random.default_rng(seed)
    names = features_for(pool)
    columns = {}
    for name in names:
        values = FEATURES[name]
        weights = np.array([share * bias for _, share, bias in values])
        picks = rng.choice(len(values), size=pool, p=weights / weights.sum())
        columns[name] = [values[int(i)][0] for i in picks]
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "people.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", *names])
        for i in range(pool):
            writer.writerow([f"p{i:05d}", *(columns[n][i] for n in names)])
    with (directory / "features.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["feature", "value", "min", "max"])
        for name in names:
            for value, share, _ in FEATURES[name]:
                target = share * panel
                writer.writerow([name, value, int(np.floor(target)), int(np.ceil(target))])
    types = len(set(zip(*(columns[n] for n in names), strict=True)))
    return len(names), types


# ---------------------------------------------------------------------------------------------
# The engines, each run in a child process that prints one JSON line


def child_missionboard(directory: Path, panel: int, *, method: str = "leximin"
                       ) -> dict[str, object]:
    from missionboard.analytics.sortition import leximin, maximin
    from missionboard.panels.published import allowed_values, read_features, read_people

    start = time.perf_counter()
    quotas = read_features(directory / "features.csv")
    pool, _ = read_people(directory / "people.csv", features=allowed_values(quotas),
                          id_column="id", address_columns=[])
    solve = maximin if method == "maximin" else leximin
    selection = solve(pool, quotas, panel, seed=0)
    return {"seconds": time.perf_counter() - start, "min_probability": selection.min_probability,
            "method": method}


def child_missionboard_maximin(directory: Path, panel: int) -> dict[str, object]:
    return child_missionboard(directory, panel, method="maximin")


def child_sortition(directory: Path, panel: int) -> dict[str, object]:
    from sortition_algorithms.committee_generation import leximin as sa_leximin
    from sortition_algorithms.committee_generation.maximin import find_distribution_maximin
    from sortition_algorithms.features import read_in_features
    from sortition_algorithms.people import read_in_people
    from sortition_algorithms.settings import Settings

    start = time.perf_counter()
    with (directory / "features.csv").open(newline="") as handle:
        reader = csv.DictReader(handle)
        features, _, _ = read_in_features(list(reader.fieldnames or []), list(reader), panel)
    settings = Settings(id_column="id", columns_to_keep=[], solver_backend="highspy")
    with (directory / "people.csv").open(newline="") as handle:
        reader = csv.DictReader(handle)
        people, _ = read_in_people(list(reader.fieldnames or []), list(reader), features,
                                   settings)
    if sa_leximin.GUROBI_AVAILABLE:
        method = "leximin"
        committees, weights, _ = sa_leximin.find_distribution_leximin(
            features, people, panel, [], "highspy")
    else:
        method = "maximin"
        committees, weights, _ = find_distribution_maximin(features, people, panel, [],
                                                           "highspy")
    probability = dict.fromkeys(people, 0.0)
    for committee, weight in zip(committees, weights, strict=True):
        for person in committee:
            probability[person] += weight
    return {"seconds": time.perf_counter() - start,
            "min_probability": min(probability.values()), "method": method}


CHILDREN = {"missionboard": child_missionboard, "missionboard-maximin": child_missionboard_maximin,
            "sortition": child_sortition}


def run_child(python: Path, engine: str, directory: Path, panel: int,
              timeout: float) -> dict[str, object] | None:
    """One engine in a fresh process; None when it did not finish in time or failed."""
    command = [str(python), str(Path(__file__).resolve()), "--child", engine,
               "--workdir", str(directory), "--panel", str(panel)]
    log = directory / f"{engine}.log"
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              cwd=REPO, check=False)
    except subprocess.TimeoutExpired:
        log.write_text(f"stopped after {timeout:.0f} s\n")
        return None
    log.write_text(done.stdout + done.stderr)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        print(f"  {engine} failed (exit {done.returncode}); see {log}", file=sys.stderr)
        return None
    result: dict[str, object] = json.loads(lines[-1])
    return result


# ---------------------------------------------------------------------------------------------
# The table


def parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for part in text.split(","):
        pool, panel = part.lower().split("x")
        sizes.append((int(pool), int(panel)))
    return sizes


def cell(result: dict[str, object] | None) -> tuple[str, str]:
    if result is None:
        return "did not finish", "-"
    return f"{float(str(result['seconds'])):.2f} s", f"{float(str(result['min_probability'])):.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES,
                        help="Comma-separated POOLxPANEL, e.g. 500x30,2000x100.")
    parser.add_argument("--timeout", type=float, default=600.0, help="Seconds per run.")
    parser.add_argument("--workdir", type=Path, default=REPO / "benchmarks/output/panel")
    parser.add_argument("--sortition-python", type=Path, default=SORTITION_PYTHON)
    parser.add_argument("--seed", type=int, default=20260)
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--panel", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](args.workdir, args.panel)))
        return

    print(describe())
    version = subprocess.run(
        [str(args.sortition_python), "-c",
         "import importlib.metadata as m; print(m.version('sortition-algorithms'))"],
        capture_output=True, text=True, check=True).stdout.strip()
    print(f"sortition-algorithms {version}, HiGHS backend; timeout {args.timeout:.0f} s per run")
    header = (f"{'pool':>6} {'panel':>5} {'feat':>4} {'types':>6} | {'MB maximin':>14} "
              f"{'MB LEXIMIN':>14} {'min p':>7} | {'sortition-alg.':>14} {'min p':>7} "
              f"{'method':>8} | {'diff':>7} {'like-for-like':>13} {'LEXIMIN':>8}")
    print(header)
    print("-" * len(header))
    verdicts = []
    for pool, panel in parse_sizes(args.sizes):
        directory = args.workdir / f"{pool}x{panel}"
        n_features, types = write_inputs(directory, pool=pool, panel=panel,
                                         seed=args.seed + pool + panel)
        quick = run_child(Path(sys.executable), "missionboard-maximin", directory, panel,
                          args.timeout)
        ours = run_child(Path(sys.executable), "missionboard", directory, panel, args.timeout)
        theirs = run_child(args.sortition_python, "sortition", directory, panel, args.timeout)
        method = str(theirs["method"]) if theirs else "-"
        # Like for like: our maximin against theirs, or our LEXIMIN against their LEXIMIN.
        same = quick if method == "maximin" else ours
        diff = speed = full = "-"
        found = ours or quick
        if found and theirs:
            gap = abs(float(str(found["min_probability"]))
                      - float(str(theirs["min_probability"])))
            diff = f"{gap:.4f}"
            verdicts.append((f"{pool}x{panel}: same minimum probability (within {TOLERANCE})",
                             gap <= TOLERANCE))
        if same and theirs:
            ratio = float(str(theirs["seconds"])) / float(str(same["seconds"]))
            speed = f"{ratio:.1f}x"
            verdicts.append((f"{pool}x{panel}: at least {SPEED_UP:.0f}x faster, {method} "
                             f"against {method} ({ratio:.1f}x)", ratio >= SPEED_UP))
        if ours and theirs:
            ratio = float(str(theirs["seconds"])) / float(str(ours["seconds"]))
            full = f"{ratio:.1f}x"
            verdicts.append((f"{pool}x{panel}: at least {SPEED_UP:.0f}x faster, Missionboard's "
                             f"full LEXIMIN against sortition-algorithms' {method} "
                             f"({ratio:.1f}x)", ratio >= SPEED_UP))
        if found and not theirs:
            verdicts.append((f"{pool}x{panel}: compared with sortition-algorithms "
                             "(it did not finish)", False))
        if not ours:
            verdicts.append((f"{pool}x{panel}: Missionboard's full LEXIMIN finished", False))
        if (pool, panel) == TARGET[:2]:
            seconds = float(str(ours["seconds"])) if ours else float("inf")
            verdicts.append((f"{pool}x{panel}: full LEXIMIN in under {TARGET[2]:.0f} s "
                             f"({seconds:.1f} s)", seconds < TARGET[2]))
        print(f"{pool:>6} {panel:>5} {n_features:>4} {types:>6} | {cell(quick)[0]:>14} "
              f"{cell(ours)[0]:>14} {cell(found)[1]:>7} | {cell(theirs)[0]:>14} "
              f"{cell(theirs)[1]:>7} {method:>8} | {diff:>7} {speed:>13} {full:>8}", flush=True)
    for text, passed in verdicts:
        print(f"{'PASS' if passed else 'FAIL'}: {text}")


if __name__ == "__main__":
    main()
