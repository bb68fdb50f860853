"""The machine a benchmark ran on, as one line for its printout and docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def describe(extra: str = "") -> str:
    """CPUs available to this process, the CPU model, memory, OS and Python (and ``extra``)."""
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kb = int(line.split()[1])
    cpus = len(os.sched_getaffinity(0))
    return (f"{cpus} CPUs (nproc), {model}, {memory_kb / 1024 / 1024:.1f} GiB RAM; "
            f"{platform.system()} {platform.release()}; Python {platform.python_version()}"
            + (f", {extra}" if extra else ""))
