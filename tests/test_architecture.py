"""Rules of the layout that a reviewer would otherwise have to remember."""

from __future__ import annotations

import ast
from pathlib import Path

import missionboard

PACKAGE = Path(missionboard.__file__).parent
ALLOWED_IN_ANALYTICS = {"numpy", "scipy", "polars", "duckdb", "highspy", "statsmodels",
                        "sklearn", "pyarrow", "missionboard"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_analytics_imports_only_numerical_libraries() -> None:
    import sys

    for path in (PACKAGE / "analytics").rglob("*.py"):
        for name in _imports(path):
            top = name.split(".")[0]
            if top in sys.stdlib_module_names:
                continue
            assert top in ALLOWED_IN_ANALYTICS, f"{path.name} imports {name}"
            if top == "missionboard":
                assert name.startswith("missionboard.analytics"), f"{path.name} imports {name}"


def test_services_never_commit() -> None:
    """Only views, the CLI, demo loaders and background jobs end transactions."""
    checked = 0
    for path in PACKAGE.rglob("*.py"):
        if path.name.endswith(("views.py", "demo.py")) or path.name in (
                "api.py", "app.py", "deps.py", "server.py", "worker.py"):
            continue
        if "cli" in path.parts or "db" in path.parts:
            continue
        if ".commit(" in path.read_text():
            raise AssertionError(f"{path} commits")
        checked += 1
    assert checked > 50


def test_every_domain_has_the_same_shape() -> None:
    for domain in ("accounts", "missions", "metrics", "delivery", "stocktakes", "benchmarking",
                   "deliberation", "panels", "trials", "councils", "volunteering",
                   "partners"):
        for part in ("models.py", "service.py", "views.py", "templates"):
            assert (PACKAGE / domain / part).exists(), f"{domain}/{part} is missing"
