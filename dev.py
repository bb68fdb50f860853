#!/usr/bin/env python3
"""Install everything and run Missionboard: the README's two commands.

    python3 dev.py demo [--port 8000]   install, load the demo into ./missionboard.db, serve it
    python3 dev.py test [PYTEST ARGS]   install the test tools too; ruff, mypy and the whole suite

Needs only Python 3.11+ and Node 20+ (npm). Creates ./.venv and ./node_modules; installs the
pinned versions in requirements/ and package-lock.json, skipping what is already installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def run(*args: str | Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], cwd=ROOT, check=True, env=env)


def _stamp(name: str, *files: Path) -> tuple[Path, str]:
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()
    return VENV / f".installed-{name}", digest


def install_python(requirements: str) -> None:
    if not (BIN / "python").exists():
        run(sys.executable, "-m", "venv", VENV)
    req = ROOT / "requirements" / f"{requirements}.txt"
    stamp, digest = _stamp(requirements, req, ROOT / "pyproject.toml")
    if stamp.exists() and stamp.read_text() == digest:
        return
    run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(BIN / "python", "-m", "pip", "install", "--quiet", "-r", req)
    run(BIN / "python", "-m", "pip", "install", "--quiet", "--no-deps", "-e", ROOT)
    stamp.write_text(digest)


def install_node() -> None:
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("Missionboard needs Node.js 20+ with npm for its front-end packages.")
    lock = ROOT / "package-lock.json"
    marker = ROOT / "node_modules" / ".missionboard-lock"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if marker.exists() and marker.read_text() == digest:
        return
    run(npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
    marker.write_text(digest)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in {"demo", "test", "install"}:
        sys.exit(__doc__)
    command, rest = sys.argv[1], sys.argv[2:]
    install_node()
    if command == "demo":
        install_python("app")
        os.execv(BIN / "missionboard", [str(BIN / "missionboard"), "demo", *rest])  # noqa: S606
    install_python("test")
    if command == "install":
        return
    run(BIN / "ruff", "check", "src", "tests", "benchmarks", "dev.py")
    run(BIN / "mypy")
    # The whole suite in parallel (one worker per core) unless pytest options are given.
    run(BIN / "python", "-m", "pytest", *(rest or ["-n", "auto"]))


if __name__ == "__main__":
    main()
