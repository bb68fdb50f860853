"""Time the deliberation engine on synthetic national conversations, beside red-dwarf.

    .venv/bin/python benchmarks/deliberation_scale.py
        [--sizes 10000x500,100000x2000,1000000x5000] [--votes-per-participant 60] [--seed 0]
        [--workdir benchmarks/output/deliberation] [--timeout 600] [--memory-limit-gib 16]
        [--reddwarf-python .venv-reddwarf/bin/python] [--skip-reddwarf]

For each size (participants × statements) it generates a conversation with four planted
opinion groups of unequal sizes (40%, 30%, 20%, 10%): every participant votes on
``--votes-per-participant`` statements drawn at random without repeats, agree (+1), disagree
(−1) or pass (0) with their group's probabilities; participants arrive one after another,
each vote a second after the last. 60% of the statements divide the groups (a group agrees
with probability 0.9·σ(3·cos θ), θ the angle between the statement's direction and the
group's position on a circle of opinion), 5% are common ground (85% agree in every group)
and the other 35% draw the same mix from everyone (15–75% agree). The arrays (int32 ids
and timestamps, int8 votes) are saved as ``.npy`` files in ``--workdir``.

Each engine then runs in a fresh process of its own on those files, so that its peak memory
(``ru_maxrss``, the loaded votes included) is that run's alone:

- **Missionboard**: a cold ``analytics.deliberation.analyse`` of a ``VoteTable``;
- **red-dwarf** (the PyPI package, a Python implementation of Pol.is's method):
  ``reddwarf.implementations.polis.run_pipeline`` with ``random_state=0``, in the separate
  virtualenv ``.venv-reddwarf``, pinned by ``benchmarks/requirements-reddwarf.txt``.

A run is stopped after ``--timeout`` seconds or once its resident memory passes
``--memory-limit-gib``; red-dwarf is not tried on sizes larger than one it did not finish.
For each run it prints the time of the analysis alone and of the whole process (start-up and
loading the votes too), the peak memory, the number of groups and the adjusted Rand index
between the planted and the found groups over the participants the engine grouped. The goal:
1,000,000 participants × 5,000 statements analysed cold by Missionboard in under 60 s, within
8 GiB, with ARI ≥ 0.9.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from machine import describe  # benchmarks/machine.py

ROOT = Path(__file__).resolve().parent
REPO = ROOT.parent
WORKDIR = ROOT / "output" / "deliberation"
REDDWARF_PYTHON = REPO / ".venv-reddwarf" / "bin" / "python"
REDDWARF_REQUIREMENTS = "benchmarks/requirements-reddwarf.txt"
DEFAULT_SIZES = "10000x500,100000x2000,1000000x5000"
GOAL_SIZE = (1_000_000, 5_000)
GOAL_SECONDS = 60.0
GOAL_BYTES = 8 * 2**30
GOAL_ARI = 0.9
GIB = 2**30
T = TypeVar("T")

#: Planted groups: each one's share of the participants and its position on the circle of
#: opinion (a divisive statement's lean for a group is the cosine of the angle between them).
GROUP_SHARES = (0.4, 0.3, 0.2, 0.1)
GROUP_ANGLES = (0.0, 0.5 * np.pi, np.pi, 1.5 * np.pi)
COMMON_GROUND = 0.05
DIVISIVE = 0.60
#: How sharply a divisive statement splits the groups: P(agree | not pass) = σ(STEEPNESS·lean).
STEEPNESS = 3.0
PASS = 0.1
FILES = ("voter", "statement", "vote", "timestamp")


@dataclass(frozen=True)
class Run:
    """One engine's figures on one size."""

    analyse_s: float
    process_s: float
    peak_bytes: int
    ari: float
    k: int
    grouped: int


#: A run's figures, or why it did not finish (or was not tried).
Outcome = Run | str


@dataclass(frozen=True)
class Row:
    participants: int
    statements: int
    votes: int
    missionboard: Outcome
    reddwarf: Outcome | None


# --- the synthetic conversation ------------------------------------------------------------


def profiles(statements: int, rng: np.random.Generator
             ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """P(agree) and P(disagree) per group and statement (groups × statements)."""
    kind = rng.random(statements)
    common = kind < COMMON_GROUND
    divisive = kind >= 1.0 - DIVISIVE
    groups = len(GROUP_SHARES)
    # Statements that do not divide: the same mix from everyone.
    agree = np.broadcast_to(rng.uniform(0.15, 0.75, statements), (groups, statements)).copy()
    # Divisive statements: a direction on the circle; each group leans by its cosine.
    direction = rng.uniform(0.0, 2 * np.pi, statements)
    lean = np.cos(direction[None, :] - np.asarray(GROUP_ANGLES)[:, None])
    yes = 1.0 / (1.0 + np.exp(-STEEPNESS * lean))
    agree[:, divisive] = (1.0 - PASS) * yes[:, divisive]
    agree[:, common] = 0.85
    disagree = 1.0 - PASS - agree
    disagree[:, common] = 0.05
    return agree.astype(np.float32), disagree.astype(np.float32)


def distinct_picks(participants: int, statements: int, per: int,
                   rng: np.random.Generator) -> npt.NDArray[np.int32]:
    """``per`` distinct statements for each participant, uniformly (participants × per).

    Draws with replacement and redraws the repeats until there are none: the set chosen is
    uniform because the procedure treats every statement alike.
    """
    picks = rng.integers(0, statements, size=(participants, per), dtype=np.int32)
    rows = np.arange(participants)
    while rows.size:
        block = np.sort(picks[rows], axis=1)
        repeat = np.zeros(block.shape, dtype=np.bool_)
        np.equal(block[:, 1:], block[:, :-1], out=repeat[:, 1:])
        block[repeat] = rng.integers(0, statements, size=int(repeat.sum()), dtype=np.int32)
        picks[rows] = block
        rows = rows[repeat.any(axis=1)]
    return picks


def generate(directory: Path, participants: int, statements: int, per: int,
             seed: int) -> int:
    """Write the votes and the planted group of every voter id; returns the number of votes."""
    if per > statements:
        raise SystemExit(f"--votes-per-participant {per} exceeds {statements} statements")
    rng = np.random.default_rng([seed, participants, statements])
    planted = rng.choice(len(GROUP_SHARES), size=participants, p=GROUP_SHARES).astype(np.int8)
    agree, disagree = profiles(statements, rng)
    statement = distinct_picks(participants, statements, per, rng).reshape(-1)
    cell = np.repeat(planted.astype(np.int64) * statements, per)
    cell += statement
    draw = rng.random(cell.size, dtype=np.float32)
    p_agree = agree.reshape(-1)[cell]
    p_either = p_agree + disagree.reshape(-1)[cell]
    del cell
    vote = np.zeros(draw.size, dtype=np.int8)
    vote[draw < p_either] = -1
    vote[draw < p_agree] = 1
    del draw, p_agree, p_either
    # Voter ids in random order of arrival; participants arrive one after another.
    ids = rng.permutation(participants).astype(np.int32)
    planted_by_id = np.empty(participants, dtype=np.int8)
    planted_by_id[ids] = planted
    directory.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, npt.NDArray[Any]] = {
        "voter": np.repeat(ids, per), "statement": statement, "vote": vote,
        "timestamp": np.arange(statement.size, dtype=np.int32), "planted": planted_by_id}
    for name, array in arrays.items():
        np.save(directory / f"{name}.npy", array)
    return int(statement.size)


def load(directory: Path) -> dict[str, npt.NDArray[Any]]:
    return {name: np.load(directory / f"{name}.npy") for name in FILES}


# --- the engines, each in its own process ---------------------------------------------------


def peak_rss() -> int:
    """This process's peak resident memory in bytes (Linux reports kibibytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child_missionboard(directory: Path) -> dict[str, object]:
    from missionboard.analytics.deliberation import VoteTable, analyse

    start = time.perf_counter()
    data = load(directory)
    votes = VoteTable(voter=data["voter"], statement=data["statement"], vote=data["vote"],
                      timestamp=data["timestamp"])
    del data
    loaded = time.perf_counter()
    result = analyse(votes, seed=0)
    analysed = time.perf_counter()
    membership = np.full(int(result.voters.max()) + 1, -1, dtype=np.int64)
    membership[result.voters] = result.membership
    np.save(directory / "missionboard-groups.npy", membership)
    return {"load_s": loaded - start, "analyse_s": analysed - loaded, "k": result.k,
            "peak_bytes": peak_rss()}


def child_reddwarf(directory: Path) -> dict[str, object]:
    import importlib

    polis = importlib.import_module("reddwarf.implementations.polis")
    start = time.perf_counter()
    data = load(directory)
    # A dict of columns: red-dwarf builds its vote table with pd.DataFrame.from_dict, which
    # takes these as they are (far smaller than the list of one dict per vote it documents).
    votes = {"participant_id": data["voter"], "statement_id": data["statement"],
             "vote": data["vote"], "modified": data["timestamp"]}
    del data
    loaded = time.perf_counter()
    result = polis.run_pipeline(votes=votes, random_state=0)
    analysed = time.perf_counter()
    frame = result.participants_df
    labels = frame["cluster_id"].fillna(-1).to_numpy(dtype=np.int64)
    ids = frame.index.to_numpy(dtype=np.int64)
    membership = np.full(int(ids.max()) + 1, -1, dtype=np.int64)
    membership[ids] = labels
    np.save(directory / "reddwarf-groups.npy", membership)
    k = 0 if result.clusterer is None else int(result.clusterer.n_clusters)
    return {"load_s": loaded - start, "analyse_s": analysed - loaded, "k": k,
            "peak_bytes": peak_rss()}


CHILDREN = {"missionboard": child_missionboard, "reddwarf": child_reddwarf}


def resident(pid: int) -> int:
    """The resident memory of a running process, in bytes (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_child(python: Path, engine: str, directory: Path, *, timeout: float,
              memory_limit: int) -> Outcome:
    """Run one engine in a fresh process, stopping it at the timeout or the memory limit."""
    log = directory / f"{engine}.log"
    output = directory / f"{engine}.json"
    output.unlink(missing_ok=True)
    command = [str(python), str(Path(__file__).resolve()), "--child", engine,
               "--workdir", str(directory)]
    start = time.perf_counter()
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, cwd=REPO)
        stopped = None
        while process.poll() is None:
            if time.perf_counter() - start > timeout:
                stopped = f"timed out after {timeout:.0f} s"
            elif resident(process.pid) > memory_limit:
                stopped = f"memory above {memory_limit / GIB:.0f} GiB"
            if stopped:
                process.kill()
                process.wait()
                break
            time.sleep(0.2)
    elapsed = time.perf_counter() - start
    if stopped:
        return stopped
    if process.returncode != 0 or not output.exists():
        lines = log.read_text(errors="replace").strip().splitlines()
        if not lines:
            return f"exit status {process.returncode}"
        # The exception's last line, without its module path.
        return re.sub(r"^[\w.]*\.(\w+: )", r"\1", lines[-1])[:160]
    figures = json.loads(output.read_text())
    found = np.load(directory / f"{engine}-groups.npy")
    planted = np.load(directory / "planted.npy")
    grouped = found[: planted.size] >= 0
    return Run(analyse_s=float(figures["analyse_s"]), process_s=elapsed,
               peak_bytes=int(figures["peak_bytes"]), k=int(figures["k"]),
               ari=adjusted_rand_index(planted[grouped], found[: planted.size][grouped]),
               grouped=int(grouped.sum()))


def adjusted_rand_index(truth: npt.NDArray[Any], found: npt.NDArray[Any]) -> float:
    """Hubert and Arabie's adjusted Rand index (``sklearn.metrics.adjusted_rand_score``)."""
    if truth.size < 2:
        return 1.0
    _, rows = np.unique(truth, return_inverse=True)
    _, columns = np.unique(found, return_inverse=True)
    height, width = int(rows.max()) + 1, int(columns.max()) + 1
    table = np.bincount(rows.astype(np.int64) * width + columns,
                        minlength=height * width).astype(np.float64).reshape(height, width)

    def pairs(counts: npt.NDArray[np.float64]) -> float:
        return float((counts * (counts - 1.0) / 2.0).sum())

    together = pairs(table)
    by_truth = pairs(table.sum(axis=1))
    by_found = pairs(table.sum(axis=0))
    expected = by_truth * by_found / pairs(np.array([float(truth.size)]))
    largest = (by_truth + by_found) / 2.0
    if largest == expected:
        return 1.0
    return (together - expected) / (largest - expected)


# --- the report -----------------------------------------------------------------------------


def parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for item in text.split(","):
        participants, _, statements = item.strip().lower().partition("x")
        sizes.append((int(participants.replace("_", "")), int(statements.replace("_", ""))))
    return sizes


def figures(outcome: Outcome | None) -> list[str]:
    """Time, memory, ARI and k as table cells."""
    if outcome is None:
        return ["not run", "", "", ""]
    if isinstance(outcome, str):
        return [f"did not finish ({outcome})", "", "", ""]
    return [f"{outcome.analyse_s:.1f} s ({outcome.process_s:.1f} s)",
            f"{outcome.peak_bytes / GIB:.2f} GiB", f"{outcome.ari:.3f}", str(outcome.k)]


def summary(outcome: Outcome) -> str:
    """One run's figures on one line."""
    if isinstance(outcome, str):
        return f"did not finish ({outcome})"
    return (f"analysis {outcome.analyse_s:.2f} s, process {outcome.process_s:.2f} s, peak "
            f"{outcome.peak_bytes / GIB:.2f} GiB, k {outcome.k}, ARI {outcome.ari:.4f} over "
            f"{outcome.grouped:,} participants grouped")


def print_table(rows: list[Row]) -> None:
    header = ["participants", "statements", "votes",
              "Missionboard time (process)", "peak memory", "ARI", "k",
              "red-dwarf time (process)", "peak memory", "ARI", "k"]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---:" if i < 3 else "---" for i in range(len(header))) + "|")
    for row in rows:
        cells = [f"{row.participants:,}", f"{row.statements:,}", f"{row.votes:,}",
                 *figures(row.missionboard), *figures(row.reddwarf)]
        print("| " + " | ".join(cells) + " |")


def verdict(rows: list[Row]) -> str:
    label = (f"goal ({GOAL_SIZE[0]:,} × {GOAL_SIZE[1]:,}: analysis < {GOAL_SECONDS:.0f} s, "
             f"peak < {GOAL_BYTES / GIB:.0f} GiB, ARI ≥ {GOAL_ARI})")
    goal = next((row.missionboard for row in rows
                 if (row.participants, row.statements) == GOAL_SIZE), None)
    if goal is None:
        return f"{label}: NOT MEASURED (size not in --sizes)"
    if isinstance(goal, str):
        return f"{label}: FAIL (did not finish: {goal})"
    checks = [("time", goal.analyse_s < GOAL_SECONDS), ("memory", goal.peak_bytes < GOAL_BYTES),
              ("ARI", goal.ari >= GOAL_ARI)]
    failed = [name for name, ok in checks if not ok]
    return f"{label}: " + ("PASS" if not failed else f"FAIL ({', '.join(failed)})")


def measure(args: argparse.Namespace, sizes: list[tuple[int, int]], *, reddwarf: bool
            ) -> list[Row]:
    """Generate each size, then run each engine on it, with a progress display."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    limit = int(args.memory_limit_gib * GIB)
    rows: list[Row] = []
    reddwarf_stopped: str | None = None
    with Progress(SpinnerColumn(), TextColumn("{task.description}"),
                  TimeElapsedColumn()) as progress:

        def step(description: str, work: Callable[[], T]) -> T:
            task = progress.add_task(description, total=1)
            result = work()
            progress.update(task, completed=1)
            return result

        for participants, statements in sizes:
            directory = args.workdir / f"{participants}x{statements}"
            size = f"{participants:,} × {statements:,}"
            start = time.perf_counter()
            votes = step(f"generate {size}", partial(
                generate, directory, participants, statements, args.votes_per_participant,
                args.seed))
            progress.console.print(f"{size}: generated {votes:,} votes in "
                                   f"{time.perf_counter() - start:.1f} s", soft_wrap=True)
            ours = step(f"Missionboard {size}", partial(
                run_child, Path(sys.executable), "missionboard", directory,
                timeout=args.timeout, memory_limit=limit))
            progress.console.print(f"{size}: Missionboard {summary(ours)}", soft_wrap=True)
            theirs: Outcome | None = None
            if reddwarf and reddwarf_stopped:
                theirs = f"not tried: {reddwarf_stopped}"
            elif reddwarf:
                theirs = step(f"red-dwarf {size}", partial(
                    run_child, args.reddwarf_python, "reddwarf", directory,
                    timeout=args.timeout, memory_limit=limit))
                progress.console.print(f"{size}: red-dwarf {summary(theirs)}", soft_wrap=True)
                if isinstance(theirs, str):
                    reddwarf_stopped = f"did not finish {size}"
            rows.append(Row(participants, statements, votes, ours, theirs))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES,
                        help="participants x statements, comma-separated")
    parser.add_argument("--votes-per-participant", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=WORKDIR)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    parser.add_argument("--memory-limit-gib", type=float, default=16.0,
                        help="stop a run whose resident memory passes this")
    parser.add_argument("--reddwarf-python", type=Path, default=REDDWARF_PYTHON)
    parser.add_argument("--skip-reddwarf", action="store_true")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = CHILDREN[args.child](args.workdir)
        (args.workdir / f"{args.child}.json").write_text(json.dumps(result))
        return

    reddwarf = not args.skip_reddwarf
    if reddwarf and not args.reddwarf_python.exists():
        sys.exit(f"red-dwarf's virtualenv is missing ({args.reddwarf_python}). Create it with\n"
                 f"    python3 -m venv .venv-reddwarf && "
                 f".venv-reddwarf/bin/pip install -r {REDDWARF_REQUIREMENTS}\n"
                 "or run with --skip-reddwarf.")
    sizes = parse_sizes(args.sizes)
    print(f"machine: {describe(f'numpy {np.__version__}')}")
    if reddwarf:
        version = subprocess.run(
            [str(args.reddwarf_python), "-m", "pip", "show", "red-dwarf"], check=False,
            capture_output=True, text=True).stdout
        print("red-dwarf " + next((line.split(":", 1)[1].strip() for line in
                                   version.splitlines() if line.startswith("Version:")), "?")
              + f" ({args.reddwarf_python})")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    rows = measure(args, sizes, reddwarf=reddwarf)
    print()
    print("time: the analysis alone (in brackets: the whole process, start-up and loading the "
          "votes too); peak memory: the process's ru_maxrss; ARI over the participants grouped")
    print_table(rows)
    print(verdict(rows))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
