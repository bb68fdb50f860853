"""The command line, run as a user would, against a real database of each backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from missionboard.accounts.models import User
from missionboard.cli import app
from missionboard.db.session import create_db_engine
from missionboard.demo import RTT_SLUG
from missionboard.metrics.models import Area, Metric, Observation
from missionboard.missions.models import Organisation
from tests.conftest import fresh_database_url

runner = CliRunner()


@pytest.fixture
def cli_db(backend: str, tmp_path: Path) -> str:
    url = fresh_database_url(backend, tmp_path, "missionboard_cli")
    result = runner.invoke(app, ["db", "upgrade", "--database-url", url])
    assert result.exit_code == 0, result.output
    return url


def _count(url: str, model: type) -> int:
    engine = create_db_engine(url)
    try:
        with Session(engine) as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        engine.dispose()


def test_db_check_passes_after_upgrade(cli_db: str) -> None:
    result = runner.invoke(app, ["db", "check", "--database-url", cli_db])
    assert result.exit_code == 0, result.output
    assert "match" in result.output


def test_users_create(cli_db: str) -> None:
    result = runner.invoke(app, ["users", "create", "--email", "ada@example.org", "--name",
                                 "Ada", "--role", "admin", "--password-stdin",
                                 "--database-url", cli_db],
                           input="a long enough password\n")
    assert result.exit_code == 0, result.output
    assert _count(cli_db, User) == 1
    again = runner.invoke(app, ["users", "create", "--email", "ada@example.org", "--name",
                                "Ada", "--password-stdin", "--database-url", cli_db],
                          input="a long enough password\n")
    assert again.exit_code == 1
    assert "already exists" in again.output
    bad_role = runner.invoke(app, ["users", "create", "--email", "b@example.org", "--name", "B",
                                   "--role", "emperor", "--password-stdin",
                                   "--database-url", cli_db], input="a long enough password\n")
    assert bad_role.exit_code == 1
    assert "unknown role" in bad_role.output


def test_demo_then_import_good_and_bad_files(cli_db: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--no-serve", "--database-url", cli_db],
                           env={"MISSIONBOARD_DEMO_PASSWORD": "demo password 123"})
    assert result.exit_code == 0, result.output
    assert "Loaded the demo" in result.output
    again = runner.invoke(app, ["demo", "--no-serve", "--database-url", cli_db])
    assert again.exit_code == 0
    assert "already loaded" in again.output
    before = _count(cli_db, Observation)

    bad = tmp_path / "bad.csv"
    bad.write_text("metric,area_code,period,value\nnope,E92000001,2025-01,x\n")
    result = runner.invoke(app, ["import", "observations", str(bad), "--database-url", cli_db])
    assert result.exit_code == 1
    assert "nothing was imported" in result.output
    assert _count(cli_db, Observation) == before


def test_import_good_file_twice(cli_db: str, tmp_path: Path) -> None:
    assert runner.invoke(app, ["demo", "--no-serve", "--database-url", cli_db]).exit_code == 0
    engine = create_db_engine(cli_db)
    with Session(engine) as s:
        slug = s.scalar(select(Metric.slug).where(Metric.unit == "percent").order_by(Metric.id))
    engine.dispose()
    good = tmp_path / "good.csv"
    good.write_text(f"metric,area_code,period,value,status\n{slug},E92000001,2031-01,70,"
                    "provisional\n")
    before = _count(cli_db, Observation)
    first = runner.invoke(app, ["import", "observations", str(good), "--database-url", cli_db])
    assert first.exit_code == 0, first.output
    assert "1 new" in first.output
    assert _count(cli_db, Observation) == before + 1
    second = runner.invoke(app, ["import", "observations", str(good), "--database-url", cli_db])
    assert second.exit_code == 0, second.output
    assert "0 new, 0 revised, 1 unchanged" in second.output
    assert _count(cli_db, Observation) == before + 1


def test_import_areas_all_or_nothing(cli_db: str, tmp_path: Path) -> None:
    good = tmp_path / "areas.csv"
    good.write_text("code,name,level,parent_code\nE92000001,England,nation,\n"
                    "E12000007,London,region,E92000001\n")
    result = runner.invoke(app, ["import", "areas", str(good), "--database-url", cli_db])
    assert result.exit_code == 0, result.output
    assert "2 added, 0 updated" in result.output
    assert _count(cli_db, Area) == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,level,parent_code\nE06000001,Hartlepool,local_authority,"
                   "E12000001\nE12000007,,region,E92000001\n")
    result = runner.invoke(app, ["import", "areas", str(bad), "--database-url", cli_db])
    assert result.exit_code == 1
    assert "unknown parent area E12000001" in result.output
    assert "Enter name" in result.output
    assert _count(cli_db, Area) == 2
    again = runner.invoke(app, ["import", "areas", str(good), "--database-url", cli_db])
    assert "0 added, 0 updated" in again.output


def test_import_organisations(cli_db: str, tmp_path: Path) -> None:
    orgs = tmp_path / "orgs.csv"
    orgs.write_text("slug,name,kind,parent_slug,website\ndhsc,Department of Health and Social"
                    " Care,central_department,,\nnhs-england,NHS England,public_body,dhsc,\n")
    result = runner.invoke(app, ["import", "organisations", str(orgs), "--database-url",
                                 cli_db])
    assert result.exit_code == 0, result.output
    assert _count(cli_db, Organisation) == 2
    again = runner.invoke(app, ["import", "organisations", str(orgs), "--database-url",
                                cli_db])
    assert again.exit_code == 1
    assert "already exists" in again.output
    assert _count(cli_db, Organisation) == 2


def test_users_set_password(cli_db: str) -> None:
    runner.invoke(app, ["users", "create", "--email", "c@example.org", "--name", "C",
                        "--password-stdin", "--database-url", cli_db],
                  input="a long enough password\n")
    short = runner.invoke(app, ["users", "set-password", "--email", "c@example.org",
                                "--password-stdin", "--database-url", cli_db], input="short\n")
    assert short.exit_code == 1
    ok = runner.invoke(app, ["users", "set-password", "--email", "c@example.org",
                             "--password-stdin", "--database-url", cli_db],
                       input="another long password\n")
    assert ok.exit_code == 0, ok.output
    engine = create_db_engine(cli_db)
    with Session(engine) as s:
        from missionboard.accounts.service import authenticate

        assert authenticate(s, email="c@example.org", password="another long password",
                            ip="127.0.0.1", max_failures=5, window_seconds=60) is not None
    engine.dispose()


def test_trajectory_command(cli_db: str) -> None:
    import json

    assert runner.invoke(app, ["demo", "--no-serve", "--database-url", cli_db]).exit_code == 0
    result = runner.invoke(app, ["trajectory", "nhs", "--draws", "2000", "--json",
                                 "--database-url", cli_db])
    assert result.exit_code == 0, result.output
    (rtt,) = json.loads(result.stdout)
    assert rtt["target_value"] == 92
    assert len(rtt["contributions"]) == 4
    assert 0 <= rtt["probability"] <= 1
    table = runner.invoke(app, ["trajectory", "nhs", "--draws", "2000", "--database-url",
                                cli_db])
    assert "Chance of meeting the target" in table.output
    missing = runner.invoke(app, ["trajectory", "no-such-mission", "--database-url", cli_db])
    assert missing.exit_code == 1


def test_pack_command_writes_the_frozen_pack_as_pdf_and_json(cli_db: str, tmp_path: Path
                                                             ) -> None:
    import io
    import json

    from pypdf import PdfReader

    from missionboard.stocktakes.service import pack_digest

    assert runner.invoke(app, ["demo", "--no-serve", "--database-url", cli_db]).exit_code == 0
    listing = runner.invoke(app, ["pack", "nhs", "--database-url", cli_db])
    assert "Stocktake, winter 2027" in listing.output
    assert "draft" in listing.output

    result = runner.invoke(app, ["pack", "nhs", "--stocktake", "2", "--json",
                                 "--database-url", cli_db])
    assert result.exit_code == 0, result.output
    pack = json.loads(result.stdout)
    assert pack["stocktake"]["title"] == "Stocktake, autumn 2026"
    digest = pack_digest(pack)

    out = tmp_path / "pack.pdf"
    written = runner.invoke(app, ["pack", "nhs", "--stocktake", "2", "--pdf", str(out),
                                  "--database-url", cli_db])
    assert written.exit_code == 0, written.output
    assert digest in written.output.replace("\n", "")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(out.read_bytes())).pages)
    assert "Stocktake, autumn 2026" in text
    assert "Amber-green" in text  # the judgement recorded at the meeting
    assert runner.invoke(app, ["pack", "nhs", "--stocktake", "999", "--database-url",
                               cli_db]).exit_code == 1


def test_import_units_then_unit_data_all_or_nothing(
    cli_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MISSIONBOARD_DATA_DIR", str(tmp_path / "data"))
    assert runner.invoke(app, ["demo", "--no-serve", "--database-url", cli_db]).exit_code == 0
    units = tmp_path / "units.csv"
    units.write_text("code,name,kind,area_code,deprivation\n"
                     "T1,Trust one,trust,E92000001,0.2\nT2,Trust two,trust,,0.4\n")
    result = runner.invoke(app, ["import", "units", str(units), "--database-url", cli_db])
    assert result.exit_code == 0, result.output
    assert "2 added" in result.output

    data = tmp_path / "data.csv"
    args = ["--metric", RTT_SLUG, "--statistic", "proportion", "--numerator-label",
            "waiting under 18 weeks", "--denominator-label", "waiting", "--multiplier", "100",
            "--database-url", cli_db]
    stored = tmp_path / "data" / "units" / f"{RTT_SLUG}.parquet"  # the demo's
    before = stored.read_bytes()
    data.write_text("unit,period,numerator,denominator\nT1,2025-06,50,80\nT9,2025-06,1,2\n")
    bad = runner.invoke(app, ["import", "unit-data", str(data), *args])
    assert bad.exit_code == 1
    assert "No unit has this code" in bad.output
    assert stored.read_bytes() == before

    data.write_text("unit,period,numerator,denominator\nT1,2025-06,50,80\nT2,2025-06,60,80\n")
    good = runner.invoke(app, ["import", "unit-data", str(data), *args])
    assert good.exit_code == 0, good.output
    assert "Loaded 2 rows" in good.output
    assert stored.read_bytes() != before


FIXTURES = Path(__file__).parent / "fixtures" / "benchmarking"
PHE_LABELS = {"High (0.001)": "high_99.8", "High (0.025)": "high_95",
              "Not significant": "not_significant", "Low (0.025)": "low_95",
              "Low (0.001)": "low_99.8"}


def test_benchmark_funnel_reproduces_funnelplotr_and_phe() -> None:
    """FunnelPlotR v0.6.0 (MIT) tests: 6 groups, SHMI method, 10% trim → φ 2.948033,
    τ² 0.0194775. PHEindicatormethods v2.1.0 (GPL-3) tests: 303 significance labels."""
    import csv
    import json

    shmi = runner.invoke(app, ["benchmark", "funnel", str(FIXTURES / "fpr_toy_sr_6groups.csv"),
                               "--statistic", "ratio", "--numerator", "num", "--denominator",
                               "denom", "--unit", "group", "--method", "shmi", "--json"])
    assert shmi.exit_code == 0, shmi.output
    out = json.loads(shmi.stdout)
    assert (out["statistic"], out["method"]) == ("ratio", "shmi")
    assert round(out["phi"], 6) == 2.948033
    assert round(out["tau2"], 7) == 0.0194775
    assert [u["unit"] for u in out["units"]] == ["a", "b", "c", "d", "e", "f"]

    source = FIXTURES / "pheim_testdata_funnel_prop_inputs.csv"
    phe = runner.invoke(app, ["benchmark", "funnel", str(source), "--statistic", "proportion",
                              "--numerator", "numerator", "--denominator", "denominator",
                              "--unit", "Area", "--method", "phe", "--json"])
    assert phe.exit_code == 0, phe.output
    with source.open(encoding="utf-8-sig", newline="") as handle:
        expected = {r["Area"]: PHE_LABELS[r["significance"]] for r in csv.DictReader(handle)}
    got = {u["unit"]: u["significance"] for u in json.loads(phe.stdout)["units"]}
    assert len(got) == 303
    assert got == expected


def test_benchmark_spc_reproduces_nhsrplotthedots() -> None:
    """NHSRplotthedots v0.2.2 (MIT) vignette: mean 1.94; limits 4.60 / −0.72 with moving-range
    screening, 6.95 / −3.06 without (the Making Data Count spreadsheet)."""
    import json

    source = str(FIXTURES / "ptd_xmr_screening_example.csv")
    screened = runner.invoke(app, ["benchmark", "spc", source, "--value", "value", "--period",
                                   "date", "--json"])
    assert screened.exit_code == 0, screened.output
    out = json.loads(screened.stdout)
    assert (round(out["mean"], 2), round(out["upper"], 2), round(out["lower"], 2)) == (
        1.94, 4.60, -0.72)
    assert out["points"][4] == {"period": "2021-03-26", "value": 10.0, "special_cause": True}
    assert {"variation_icon", "assurance_icon"} <= out.keys()
    excel = json.loads(runner.invoke(app, ["benchmark", "spc", source, "--value", "value",
                                           "--no-screen-outliers", "--json"]).stdout)
    assert (round(excel["upper"], 2), round(excel["lower"], 2)) == (6.95, -3.06)
    assert excel["points"][0]["period"] == "2"  # the CSV row number, without --period


def test_benchmark_commands_name_bad_rows(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("unit,r,n\na,1,10\nb,x,10\nc,3,\n")
    result = runner.invoke(app, ["benchmark", "funnel", str(bad), "--statistic", "proportion",
                                 "--numerator", "r", "--denominator", "n", "--json"])
    assert result.exit_code == 1
    assert "3" in result.output
    assert "Give a number" in result.output
    missing = runner.invoke(app, ["benchmark", "spc", str(bad), "--value", "nope"])
    assert missing.exit_code == 1
    assert "no ‘nope’ column" in missing.output


def test_deliberation_analyse_prints_the_contract_and_agrees_with_polis() -> None:
    """Pol.is export bg2050-volunteers (compdemocracy/openData, CC BY 4.0): the groups agree
    with Pol.is's own export (compared as partitions: group numbers may differ)."""
    import csv
    import json

    folder = Path(__file__).parent / "fixtures" / "polis" / "bg2050-volunteers"
    result = runner.invoke(app, ["deliberation", "analyse", str(folder), "--format", "polis",
                                 "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out) == {"participants", "k", "groups", "consensus",
                        "group_informed_consensus"}
    assert set(out["consensus"]) == {"agree", "disagree"}
    first = out["groups"][0]["representative"][0]
    assert set(first) == {"statement", "direction", "repness", "repness_test", "p_success",
                          "p_test"}
    with (folder / "participants-votes.csv").open(encoding="utf-8-sig", newline="") as handle:
        polis = {r["participant"]: r["group-id"] for r in csv.DictReader(handle)
                 if r["group-id"] != ""}
    ours = {p: g for p, g in out["participants"].items() if p in polis and g is not None}
    assert len(ours) >= len(polis) - 1  # a cold run lacks Pol.is's history for one person
    pairs = [(polis[p], ours[p]) for p in ours]
    # The same partition: each Pol.is group maps to exactly one of ours, one to one.
    mapping = {a: {b for x, b in pairs if x == a} for a, _ in pairs}
    assert all(len(v) == 1 for v in mapping.values())
    assert len({next(iter(v)) for v in mapping.values()}) == len(mapping) == out["k"]

    fixed = json.loads(runner.invoke(app, ["deliberation", "analyse", str(folder), "--k", "3",
                                           "--json"]).stdout)
    assert fixed["k"] == 3
    assert runner.invoke(app, ["deliberation", "analyse", str(folder), "--format",
                               "csv"]).exit_code == 1
