"""Units, unit-level data in Parquet (all or nothing), peer groups and practice notes, on both
databases."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest
from sqlalchemy.orm import Session

from missionboard.benchmarking import service, store
from missionboard.benchmarking.models import PeerKind, Statistic, UnitKind
from missionboard.benchmarking.schemas import PeerGroupIn, PracticeNoteIn, UnitMetricIn
from missionboard.errors import ValidationFailed
from tests import factories

UNITS = [
    {"code": f"S{i:02d}", "name": f"School {i}", "kind": "school" if i < 8 else "trust",
     "area_code": "E92000001", "deprivation": str(i * 10), "pupils": str(100 + i)}
    for i in range(10)
]
PROPORTION = UnitMetricIn(statistic=Statistic.PROPORTION, numerator_label="pupils meeting",
                          denominator_label="pupils")


def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text("unit,period,numerator,denominator\n" + "\n".join(rows) + "\n")
    return path


def _setup(session: Session) -> factories.World:
    w = factories.world(session)
    service.import_units(session, rows=UNITS)
    return w


def test_units_are_added_then_updated_all_or_nothing(session: Session) -> None:
    factories.area(session)
    assert service.import_units(session, rows=UNITS) == (10, 0)
    assert service.import_units(session, rows=UNITS[:3]) == (0, 3)
    unit = service.get_unit(session, code="S03")
    assert unit.kind == UnitKind.SCHOOL
    assert unit.attributes == {"deprivation": 30.0, "pupils": 103.0}
    bad = [{**UNITS[0], "code": "NEW"}, {**UNITS[1], "kind": "castle"},
           {**UNITS[2], "area_code": "X99"}]
    with pytest.raises(ValidationFailed) as caught:
        service.import_units(session, rows=bad)
    assert [(e.row, e.field) for e in caught.value.errors] == [(3, "kind")]
    with pytest.raises(ValidationFailed) as caught:
        service.import_units(session, rows=[bad[0], bad[2]])
    assert [(e.row, e.field) for e in caught.value.errors] == [(3, "area_code")]
    assert "NEW" not in service.unit_codes(session)


def test_unit_data_loads_into_sorted_parquet_and_reads_back(session: Session,
                                                            tmp_path: Path) -> None:
    w = _setup(session)
    source = _csv(tmp_path / "in.csv", [
        "S01,2024,40,50", "S00,2025,45,50", "S00,2024,30,50", "S01,2025,20,25"])
    unit_metric = service.load_unit_data(session, metric=w.metric, data=PROPORTION,
                                         source=source, data_dir=tmp_path / "data")
    assert unit_metric.rows == 4
    path = store.dataset_path(tmp_path / "data", w.metric.slug)
    rows = duckdb.read_parquet(str(path)).select("unit, period").fetchall()
    assert rows == [("S00", "2024"), ("S00", "2025"), ("S01", "2024"), ("S01", "2025")]
    latest = store.cross_section(path)
    assert (latest.period, latest.units) == ("2025", ("S00", "S01"))
    assert latest.numerator.tolist() == [45.0, 20.0]
    assert store.cross_section(path, period="2024", units=["S01"]).numerator.tolist() == [40.0]
    assert store.unit_series(path, "S01") == [("2024", "2024-12-31", 40.0, 50.0),
                                              ("2025", "2025-12-31", 20.0, 25.0)]
    assert store.periods(path) == [("2024", "2024-12-31"), ("2025", "2025-12-31")]


def test_a_bad_file_names_each_row_and_column_and_changes_nothing(
    session: Session, tmp_path: Path
) -> None:
    w = _setup(session)
    data_dir = tmp_path / "data"
    service.load_unit_data(session, metric=w.metric, data=PROPORTION,
                           source=_csv(tmp_path / "good.csv", ["S00,2024,30,50"]),
                           data_dir=data_dir)
    path = store.dataset_path(data_dir, w.metric.slug)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    bad = _csv(tmp_path / "bad.csv", [
        "S00,2024,30,50",       # row 2: fine
        "NOPE,2024,1,2",        # row 3: unknown unit
        "S01,2024,-1,2",        # row 4: negative numerator
        "S02,2024,5,0",         # row 5: zero denominator
        "S03,2024,9,3",         # row 6: proportion above 1
        "S04,2024-13,1,2",      # row 7: no such period
        "S00,2024,31,50",       # row 8: a second row for S00 in 2024
        "S05,2024,x,2",         # row 9: not a number
    ])
    with pytest.raises(ValidationFailed) as caught:
        service.load_unit_data(session, metric=w.metric, data=PROPORTION, source=bad,
                               data_dir=data_dir)
    found = {(e.row, e.field) for e in caught.value.errors}
    assert found == {(3, "unit"), (4, "numerator"), (5, "denominator"), (6, "numerator"),
                     (7, "period"), (8, "period"), (9, "numerator")}
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_parquet_input_and_ratios_above_one(session: Session, tmp_path: Path) -> None:
    w = _setup(session)
    source = tmp_path / "in.parquet"
    duckdb.sql("SELECT 'S00' AS unit, '2025-Q1' AS period, 12.0 AS numerator, "
               "10.0 AS denominator").write_parquet(str(source))
    ratio = UnitMetricIn(statistic=Statistic.RATIO, numerator_label="observed deaths",
                         denominator_label="expected deaths")
    service.load_unit_data(session, metric=w.metric, data=ratio, source=source,
                           data_dir=tmp_path)
    cross = store.cross_section(store.dataset_path(tmp_path, w.metric.slug))
    assert (cross.period, cross.period_end) == ("2025-Q1", "2025-03-31")


def test_peer_groups(session: Session) -> None:
    _setup(session)
    everyone = service.save_peer_group(session, data=PeerGroupIn(
        slug="all", name="All units", kind=PeerKind.ALL))
    schools = service.save_peer_group(session, data=PeerGroupIn(
        slug="schools", name="Schools", kind=PeerKind.SAME_KIND, unit_kind=UnitKind.SCHOOL))
    near = service.save_peer_group(session, data=PeerGroupIn(
        slug="near", name="Similar schools", kind=PeerKind.NEAREST, unit_kind=UnitKind.SCHOOL,
        attributes=["deprivation"], neighbours=2))
    chosen = service.save_peer_group(session, data=PeerGroupIn(
        slug="chosen", name="Chosen", kind=PeerKind.LIST, members=["S09", "S01"]))
    unit = service.get_unit(session, code="S05")
    assert len(service.peers(session, group=everyone)) == 10
    assert service.peers(session, group=schools) == [f"S{i:02d}" for i in range(8)]
    # Deprivation 50: the nearest schools are at 40 and 60 (ties broken by code).
    assert service.peers(session, group=near, unit=unit) == ["S05", "S04", "S06"]
    assert service.peers(session, group=chosen) == ["S01", "S09"]
    with pytest.raises(ValidationFailed):
        service.save_peer_group(session, data=PeerGroupIn(
            slug="bad", name="Bad", kind=PeerKind.LIST, members=["S01", "ZZZ"]))


def test_practice_notes_are_searchable(session: Session) -> None:
    w = _setup(session)
    unit = service.get_unit(session, code="S01")
    service.add_practice_note(session, unit=unit, author=w.editor, metric=w.metric,
                              data=PracticeNoteIn(title="Daily reading catch-up",
                                                  body="Ten minutes of phonics every morning."))
    service.add_practice_note(session, unit=unit, author=w.editor,
                              data=PracticeNoteIn(title="Attendance calls",
                                                  body="Parents called on the first morning."))
    titles = [n.title for n in service.search_practice_notes(session, text="morning")]
    assert titles == ["Attendance calls", "Daily reading catch-up"]
    assert [n.title for n in service.search_practice_notes(session, text="PHONICS morning")] \
        == ["Daily reading catch-up"]
    assert [n.title for n in service.search_practice_notes(session, metric=w.metric)] == [
        "Daily reading catch-up"]
    assert service.search_practice_notes(session, text="100%_") == []


def test_comparison_marks_recent_trends_and_sustained_streaks(session: Session,
                                                              tmp_path: Path) -> None:
    from missionboard.benchmarking import compare

    w = _setup(session)
    rows = []
    for t, year in enumerate(range(2020, 2026)):
        for i in range(10):
            n = 2000
            rate = 0.30 + 0.08 * t if i == 0 else 0.5 + 0.01 * ((i * 3 + t) % 5)
            rows.append(f"S{i:02d},{year},{round(n * rate)},{n}")
    unit_metric = service.load_unit_data(session, metric=w.metric, data=PROPORTION,
                                         source=_csv(tmp_path / "in.csv", rows),
                                         data_dir=tmp_path / "data")
    found = compare.compare(unit_metric, data_dir=tmp_path / "data")
    by_code = {r.code: r for r in found.rows}
    assert by_code["S00"].trend == "Increasing and getting better"
    assert by_code["S00"].better == 2
    # The streak counts back from 2025 the periods whose own funnel puts S00 above 99.8%.
    from missionboard.analytics.funnel import funnel

    beyond = []
    for year in range(2025, 2019, -1):
        cross = store.cross_section(store.dataset_path(tmp_path / "data", w.metric.slug),
                                    period=str(year))
        result = funnel(cross.numerator, cross.denominator, statistic="proportion")
        beyond.append(result.significance[cross.units.index("S00")] == "high_99.8")
    expected = beyond.index(False) if False in beyond else len(beyond)
    assert expected >= 2
    assert by_code["S00"].periods_beyond == expected
    assert [r.code for r in found.sustained] == ["S00"]
    early = compare.compare(unit_metric, data_dir=tmp_path / "data", period="2022")
    assert {r.trend for r in early.rows} == {"Cannot be calculated"}
