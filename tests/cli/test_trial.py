"""``missionboard trial``: the JSON contract on the NSW experiment, CSV and Parquet alike,
input errors as one line with exit code 2, power, and reproducible randomisation."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from missionboard.cli import app

runner = CliRunner()
NSW = Path(__file__).parent.parent / "fixtures" / "trials" / "nsw_dw.csv"
KEYS = ["method", "effect", "se", "ci_low", "ci_high", "p_value", "n_treated", "n_control",
        "n_clusters"]


def _json(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["trial", *args, "--json"])
    assert result.exit_code == 0, result.output
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def _error(*args: str) -> str:
    result = runner.invoke(app, ["trial", *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_analyse_prints_the_contract_with_the_published_nsw_estimate() -> None:
    out = _json("analyse", str(NSW), "--outcome", "re78", "--treatment", "treat")
    assert list(out)[: len(KEYS)] == KEYS
    assert round(out["effect"], 2) == 1794.34
    assert (out["n_treated"], out["n_control"], out["n_clusters"]) == (185, 260, None)
    assert out["ci_low"] < out["effect"] < out["ci_high"]
    pooled = _json("analyse", str(NSW), "--outcome", "re78", "--treatment", "treat",
                   "--se", "pooled")
    assert round(pooled["se"]) == 633


def test_analyse_reads_parquet_and_clusters(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    clusters = np.repeat(np.arange(20), 10)
    treated = clusters % 2
    y = 0.5 * treated + np.repeat(rng.normal(size=20), 10) + rng.normal(size=200)
    pre = y + rng.normal(size=200)
    table = pa.table({"y": y, "t": treated, "school": clusters, "pre": pre})
    pq.write_table(table, tmp_path / "trial.parquet")
    with (tmp_path / "trial.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["y", "t", "school", "pre"])
        writer.writerows(zip(y.tolist(), treated.tolist(), clusters.tolist(), pre.tolist(),
                             strict=True))
    args = ["--outcome", "y", "--treatment", "t", "--cluster", "school", "--se", "cr1"]
    from_parquet = _json("analyse", str(tmp_path / "trial.parquet"), *args)
    from_csv = _json("analyse", str(tmp_path / "trial.csv"), *args)
    assert from_parquet["n_clusters"] == from_csv["n_clusters"] == 20
    assert from_parquet["se"] == pytest.approx(from_csv["se"], rel=1e-12)
    assert from_parquet["df"] == 19
    cuped = _json("analyse", str(tmp_path / "trial.parquet"), *args, "--cuped", "pre")
    assert cuped["method"] == "cuped"
    ancova = _json("analyse", str(tmp_path / "trial.csv"), "--outcome", "y", "--treatment", "t",
                   "--covariates", "pre")
    assert ancova["method"] == "ancova"


def test_analyse_prints_a_table_without_json() -> None:
    result = runner.invoke(app, ["trial", "analyse", str(NSW), "--outcome", "re78",
                                 "--treatment", "treat"])
    assert result.exit_code == 0, result.output
    assert "1,794" in result.stdout
    assert "185 / 260" in result.stdout


def test_missing_column_is_named() -> None:
    line = _error("analyse", str(NSW), "--outcome", "earnings", "--treatment", "treat")
    assert "no column 'earnings'" in line


def test_treatment_not_zero_one_names_the_row(tmp_path: Path) -> None:
    copy = tmp_path / "bad.csv"
    lines = NSW.read_text().splitlines()
    fields = lines[5].split(",")
    fields[0] = "2"
    lines[5] = ",".join(fields)
    copy.write_text("\n".join(lines) + "\n")
    line = _error("analyse", str(copy), "--outcome", "re78", "--treatment", "treat")
    assert "coded 0/1: found 2" in line
    assert "row 6" in line  # the file's sixth line: the header is line 1
    assert "'treat'" in line


def test_missing_outcome_and_unreadable_file(tmp_path: Path) -> None:
    copy = tmp_path / "gap.csv"
    lines = NSW.read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0] + ","
    copy.write_text("\n".join(lines) + "\n")
    assert "'re78' is empty at row 4" in _error("analyse", str(copy), "--outcome", "re78",
                                                "--treatment", "treat")
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"not parquet at all")
    assert "cannot read garbage.parquet" in _error("analyse", str(garbage), "--outcome", "y",
                                                   "--treatment", "t")
    assert "no such file" in _error("analyse", str(tmp_path / "none.csv"), "--outcome", "y",
                                    "--treatment", "t")


def test_too_few_clusters_is_an_input_error(tmp_path: Path) -> None:
    copy = tmp_path / "nsw.csv"
    shutil.copy(NSW, copy)
    line = _error("analyse", str(copy), "--outcome", "re78", "--treatment", "treat",
                  "--cluster", "treat")
    assert "too few clusters" in line


def test_power_sample_size_and_mde() -> None:
    size = _json("power", "--effect", "0.5")
    assert (size["n_treated"], size["n_control"]) == (64, 64)
    mde = _json("power", "--clusters", "40", "--cluster-size", "20", "--icc", "0.05")
    assert mde["design_effect"] == pytest.approx(1.95)
    assert mde["clusters_treated"] == 20
    binary = _json("power", "--outcome", "binary", "--control-rate", "0.5", "--effect", "0.25",
                   "--power", "0.9")
    assert binary["n_treated"] == 77
    assert "control-rate" in _error("power", "--outcome", "binary")


def _units(tmp_path: Path) -> Path:
    path = tmp_path / "units.csv"
    rng = np.random.default_rng(4)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "region", "school", "age"])
        for i in range(80):
            writer.writerow([f"p{i:02d}", "north" if i < 40 else "south", f"s{i // 8}",
                             round(float(rng.normal(40, 10)), 1)])
    return path


def test_randomise_is_reproducible_and_balanced(tmp_path: Path) -> None:
    units = str(_units(tmp_path))
    args = ["randomise", units, "--id-column", "id", "--strata", "region", "--seed", "42",
            "--block-size", "4", "--covariates", "age", "--balance-threshold", "0.1"]
    first, again = _json(*args), _json(*args)
    assert first["arms"] == again["arms"]
    assert first["method"] == "stratified"
    assert first["counts"] == {"control": 40, "treatment": 40}
    assert first["max_abs_smd"] < 0.1
    assert first["seed"] == 42
    clustered = _json("randomise", units, "--id-column", "id", "--cluster", "school",
                      "--seed", "1", "--arms", "a,b,c", "--ratio", "1,1,1")
    assert clustered["method"] == "cluster"
    by_school: dict[str, set[str]] = {}
    for unit, arm in clustered["arms"].items():
        by_school.setdefault(f"s{int(unit[1:]) // 8}", set()).add(arm)
    assert all(len(arms) == 1 for arms in by_school.values())
    table = runner.invoke(app, ["trial", *args])
    assert table.exit_code == 0, table.output
    assert "Balance" in table.stdout
    assert "no column 'ward'" in _error("randomise", units, "--id-column", "id", "--strata",
                                        "ward")
