"""The all-or-nothing observation import, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from missionboard.accounts.models import AuditEntry, User
from missionboard.errors import FieldError, ValidationFailed
from missionboard.metrics.importer import ImportResult, import_observations, import_records
from missionboard.metrics.models import (
    Area,
    Frequency,
    ImportBatch,
    Metric,
    MetricKind,
    Observation,
    ObservationRevision,
    ObservationStatus,
    Polarity,
)
from tests.conftest import FIXTURES

IMPORTS = FIXTURES / "import"


@dataclass(frozen=True)
class World:
    metrics: dict[str, int]
    areas: dict[str, int]


@pytest.fixture
def world(session: Session) -> World:
    metrics = [
        Metric(slug="unemployment-rate", title="Unemployment rate", definition="People out of "
               "work as a share of the economically active", kind=MetricKind.PROPORTION,
               unit="%", polarity=Polarity.LOWER_IS_BETTER, frequency=Frequency.MONTHLY),
        Metric(slug="homes-built", title="Net additional dwellings", definition="Homes built",
               kind=MetricKind.COUNT, unit="homes", polarity=Polarity.HIGHER_IS_BETTER,
               frequency=Frequency.FINANCIAL_YEAR),
    ]
    areas = [
        Area(code="E92000001", name="England", level="country"),
        Area(code="E09000001", name="City of London", level="local_authority"),
        Area(code="E06000001", name="Hartlepool", level="local_authority"),
    ]
    session.add_all([*metrics, *areas])
    session.flush()
    return World(metrics={m.slug: m.id for m in metrics}, areas={a.code: a.id for a in areas})


def observation_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Observation)) or 0


def observations(session: Session) -> dict[tuple[str, str, str], Observation]:
    """Observations keyed by (metric slug, area code, period label)."""
    rows = session.execute(
        select(Observation, Metric.slug, Area.code)
        .join(Metric, Metric.id == Observation.metric_id)
        .join(Area, Area.id == Observation.area_id)
    ).all()
    return {(slug, code, o.period_label): o for o, slug, code in rows}


def errors_of(excinfo: pytest.ExceptionInfo[ValidationFailed]) -> list[tuple[int | None, str]]:
    return [(e.row, e.field) for e in excinfo.value.errors]


def write_csv(path: Path, rows: Sequence[dict[str, object]]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


# -- good imports --------------------------------------------------------------------------


def test_good_csv_is_imported(session: Session, world: World) -> None:
    result = import_observations(session, path=IMPORTS / "good.csv")

    assert result == ImportResult(batch_id=result.batch_id, rows=6, inserted=6, revised=0,
                                  unchanged=0)
    got = observations(session)
    assert len(got) == 6
    jan = got["unemployment-rate", "E09000001", "2024-01"]
    assert (jan.value, jan.numerator, jan.denominator, jan.lower, jan.upper) == (
        4.5, 45.0, 1000.0, 4.1, 4.9)
    assert (jan.period_start, jan.period_end) == (dt.date(2024, 1, 1), dt.date(2024, 1, 31))
    assert jan.status == ObservationStatus.FINAL
    assert jan.illustrative is False
    assert jan.import_batch_id == result.batch_id
    feb = got["unemployment-rate", "E09000001", "2024-02"]
    assert feb.status == ObservationStatus.PROVISIONAL
    assert feb.numerator is None
    assert feb.lower is None
    quarter = got["unemployment-rate", "E06000001", "2024-Q1"]
    assert (quarter.period_start, quarter.period_end) == (dt.date(2024, 1, 1),
                                                          dt.date(2024, 3, 31))
    assert quarter.status == ObservationStatus.FINAL  # blank status: final
    england = got["homes-built", "E92000001", "2023-24"]
    assert england.status == ObservationStatus.FINAL  # "Final" is accepted
    assert (england.period_start, england.period_end) == (dt.date(2023, 4, 1),
                                                          dt.date(2024, 3, 31))
    assert got["homes-built", "E06000001", "2023-24"].value == 310.0  # FY2023-24
    assert got["homes-built", "E06000001", "2024"].value == 0.1


def test_good_parquet_is_imported(session: Session, world: World, tmp_path: Path) -> None:
    path = tmp_path / "good.parquet"
    pq.write_table(pa.table({
        "metric": ["unemployment-rate", "unemployment-rate", "homes-built"],
        "area_code": ["E09000001", "E06000001", "E92000001"],
        "period": ["2024-01", "2024-01", "2024-25"],
        "value": [4.5, 1 / 3, 250000.0],
        "numerator": pa.array([45, None, None], pa.int64()),
        "denominator": pa.array([1000, None, None], pa.int64()),
        "status": ["final", "provisional", None],
    }), path)

    result = import_observations(session, path=path, source="upload", filename="mine.parquet")

    assert (result.rows, result.inserted, result.revised, result.unchanged) == (3, 3, 0, 0)
    got = observations(session)
    assert got["unemployment-rate", "E09000001", "2024-01"].numerator == 45.0
    assert got["unemployment-rate", "E06000001", "2024-01"].value == 1 / 3
    assert got["unemployment-rate", "E06000001", "2024-01"].status == "provisional"
    homes = got["homes-built", "E92000001", "2024-25"]
    assert (homes.value, homes.period_start) == (250000.0, dt.date(2024, 4, 1))
    batch = session.get_one(ImportBatch, result.batch_id)
    assert (batch.source, batch.filename) == ("upload", "mine.parquet")
    assert batch.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_parquet_errors_number_data_rows_from_one(
    session: Session, world: World, tmp_path: Path
) -> None:
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({
        "metric": ["homes-built", "homes-built"],
        "area_code": ["E92000001", "E92000001"],
        "period": ["2024", "2025"],
        "value": ["12", "twelve"],
    }), path)

    with pytest.raises(ValidationFailed) as excinfo:
        import_observations(session, path=path)

    assert excinfo.value.errors == [FieldError("value", 'value "twelve" is not a number', row=2)]


def test_same_file_twice_changes_nothing(session: Session, world: World) -> None:
    first = import_observations(session, path=IMPORTS / "good.csv")
    before = {key: (o.value, o.status, o.updated_at, o.import_batch_id)
              for key, o in observations(session).items()}

    second = import_observations(session, path=IMPORTS / "good.csv")

    assert (second.rows, second.inserted, second.revised, second.unchanged) == (6, 0, 0, 6)
    assert second.batch_id != first.batch_id
    after = {key: (o.value, o.status, o.updated_at, o.import_batch_id)
             for key, o in observations(session).items()}
    assert after == before
    assert session.scalar(select(func.count()).select_from(ObservationRevision)) == 0


def test_changed_values_become_revisions(session: Session, world: World) -> None:
    first = import_observations(session, path=IMPORTS / "good.csv")
    old = observations(session)["unemployment-rate", "E09000001", "2024-02"]
    old_id, old_updated = old.id, old.updated_at

    second = import_observations(session, path=IMPORTS / "revised.csv")

    assert (second.rows, second.inserted, second.revised, second.unchanged) == (7, 1, 2, 4)
    got = observations(session)
    feb = got["unemployment-rate", "E09000001", "2024-02"]
    assert feb.id == old_id
    assert (feb.value, feb.status) == (4.3, ObservationStatus.FINAL)  # status from the file
    assert feb.import_batch_id == second.batch_id
    assert feb.updated_at > old_updated
    revision = session.scalars(
        select(ObservationRevision).where(ObservationRevision.observation_id == old_id)).one()
    assert (revision.value, revision.status) == (4.25, ObservationStatus.PROVISIONAL)
    assert revision.published_at == old_updated
    assert revision.superseded_by_batch_id == second.batch_id
    # a change of status alone is a revision too
    quarter = got["unemployment-rate", "E06000001", "2024-Q1"]
    assert (quarter.status, quarter.import_batch_id) == ("provisional", second.batch_id)
    # "Final" then "final": the same status, so that row is unchanged
    assert got["homes-built", "E92000001", "2023-24"].import_batch_id == first.batch_id
    assert got["homes-built", "E09000001", "2024"].import_batch_id == second.batch_id
    assert session.scalar(select(func.count()).select_from(ObservationRevision)) == 2


def test_revision_without_status_column_marks_revised(
    session: Session, world: World, tmp_path: Path
) -> None:
    import_observations(session, path=IMPORTS / "good.csv")
    path = write_csv(tmp_path / "new.csv", [
        {"metric": "homes-built", "area_code": "E06000001", "period": "2024", "value": "0.2"},
        {"metric": "homes-built", "area_code": "E06000001", "period": "2023-24",
         "value": "310"},
    ])

    result = import_observations(session, path=path)

    assert (result.inserted, result.revised, result.unchanged) == (0, 1, 1)
    got = observations(session)
    assert got["homes-built", "E06000001", "2024"].value == 0.2
    assert got["homes-built", "E06000001", "2024"].status == ObservationStatus.REVISED
    assert got["homes-built", "E06000001", "2023-24"].status == ObservationStatus.FINAL
    revision = session.scalars(select(ObservationRevision)).one()
    assert (revision.value, revision.status) == (0.1, ObservationStatus.FINAL)


def test_real_data_replacing_illustrative_data_is_not_illustrative(
    session: Session, world: World
) -> None:
    record = {"metric": "homes-built", "area_code": "E92000001", "period": "2024-25",
              "value": 200_000}
    import_records(session, records=[record])
    (obs,) = observations(session).values()
    obs.illustrative = True  # as the demo's synthetic series are
    session.flush()
    import_records(session, records=[{**record, "value": 201_000}])
    session.expire_all()
    (obs,) = observations(session).values()
    assert (obs.value, obs.illustrative) == (201_000, False)
    (kept,) = obs.revisions
    assert (kept.value, kept.illustrative) == (200_000, True)


def test_rollback_undoes_the_import(session: Session, world: World) -> None:
    savepoint = session.begin_nested()
    import_observations(session, path=IMPORTS / "good.csv")
    assert observation_count(session) == 6

    savepoint.rollback()

    assert observation_count(session) == 0
    assert session.scalar(select(func.count()).select_from(ImportBatch)) == 0
    # the staging table went with it: a second import in the same transaction works
    assert import_observations(session, path=IMPORTS / "good.csv").inserted == 6


def test_progress_is_reported(session: Session, world: World) -> None:
    calls: list[tuple[int, int]] = []

    import_observations(session, path=IMPORTS / "good.csv",
                        progress=lambda done, total: calls.append((done, total)))

    assert calls
    assert calls[-1] == (6, 6)


# -- bad imports ---------------------------------------------------------------------------


def test_bad_file_lists_every_error_and_writes_nothing(session: Session, world: World) -> None:
    import_observations(session, path=IMPORTS / "good.csv")
    before = observation_count(session)
    batches = session.scalar(select(func.count()).select_from(ImportBatch))

    with pytest.raises(ValidationFailed) as excinfo:
        import_observations(session, path=IMPORTS / "bad.csv")

    assert errors_of(excinfo) == [
        (3, "metric"),
        (4, "area_code"),
        (5, "period"),
        (6, "value"),
        (7, "value"),
        (8, "numerator"),
        (8, "denominator"),
        (9, "lower"),
        (9, "upper"),
        (10, "value"),
        (10, "status"),
        (11, "period"),
    ]
    messages = [e.message for e in excinfo.value.errors]
    assert messages[0] == 'There is no metric with the slug "no-such-metric"'
    assert messages[1] == 'There is no area with the code "X99999999"'
    assert "'2024-13'" in messages[2]
    assert messages[3] == 'value "abc" is not a number'
    assert messages[4] == "Enter a value"
    assert messages[5] == 'numerator "x" is not a number'
    assert messages[6] == 'denominator "0" must be greater than 0'
    assert messages[7] == 'lower "3" is greater than the value "2"'
    assert messages[8] == 'upper "1" is less than the value "2"'
    assert messages[9] == 'value "inf" is not a number'
    assert messages[10] == 'status "maybe" is not one of provisional, final, revised'
    assert "row 2" in messages[11]
    assert observation_count(session) == before
    assert session.scalar(select(func.count()).select_from(ImportBatch)) == batches


def test_missing_and_unknown_columns(session: Session, world: World) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        import_observations(session, path=IMPORTS / "missing_column.csv")

    assert errors_of(excinfo) == [(None, "colour"), (None, "area_code")]
    assert 'Unknown column "colour"' in excinfo.value.errors[0].message
    assert excinfo.value.errors[1].message == 'The required column "area_code" is missing'
    assert observation_count(session) == 0


def test_duplicate_keys_name_both_rows(session: Session, world: World) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        import_observations(session, path=IMPORTS / "duplicate.csv")

    (error,) = excinfo.value.errors
    assert (error.row, error.field) == (4, "period")
    assert error.message.startswith("This row repeats row 2")
    assert '"homes-built"' in error.message
    assert '"E06000001"' in error.message
    assert observation_count(session) == 0


def test_allowed_metric_ids_refuses_other_metrics(session: Session, world: World) -> None:
    allowed = {world.metrics["homes-built"]}

    with pytest.raises(ValidationFailed) as excinfo:
        import_observations(session, path=IMPORTS / "good.csv", allowed_metric_ids=allowed)

    assert errors_of(excinfo) == [(2, "metric"), (3, "metric"), (4, "metric")]
    assert excinfo.value.errors[0].message == (
        'You may not publish data for metric "unemployment-rate"')
    assert observation_count(session) == 0


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("data.xlsx", "metric", '"data.xlsx" is not a CSV or Parquet file'),
        ("empty.csv", "", '"empty.csv" is empty'),
        ("header.csv", "metric,area_code,period,value\n", "The file has no rows"),
        ("ragged.csv", "metric,area_code,period,value\nhomes-built,E92000001,2024,1,2\n",
         "Row 2 has 5 values but the header has 4 columns"),
    ],
)
def test_unusable_files(
    session: Session, tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content)

    with pytest.raises(ValidationFailed) as excinfo:
        import_observations(session, path=path)

    (error,) = excinfo.value.errors
    assert error.message.startswith(message)


def test_header_only_fixture_is_empty(session: Session, world: World) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        import_observations(session, path=IMPORTS / "header_only.csv")

    assert errors_of(excinfo) == [(None, "file")]


# -- records -------------------------------------------------------------------------------


def test_records_follow_the_same_rules(session: Session, world: World) -> None:
    records: list[dict[str, object]] = [
        {"metric": "homes-built", "area_code": "E92000001", "period": "2024-25",
         "value": 200000, "status": "provisional"},
        {"metric": "unemployment-rate", "area_code": "E09000001", "period": "2024-01",
         "value": 0.1 + 0.2, "lower": 0.2, "upper": 0.4},
    ]

    first = import_records(session, records=records)
    again = import_records(session, records=records)
    records[0] = {**records[0], "value": 210000.5, "status": "final"}
    revised = import_records(session, records=records)

    assert (first.inserted, first.revised, first.unchanged) == (2, 0, 0)
    assert (again.inserted, again.revised, again.unchanged) == (0, 0, 2)
    assert (revised.inserted, revised.revised, revised.unchanged) == (0, 1, 1)
    got = observations(session)
    assert got["unemployment-rate", "E09000001", "2024-01"].value == 0.1 + 0.2
    assert got["homes-built", "E92000001", "2024-25"].value == 210000.5
    assert session.scalars(select(ObservationRevision.value)).all() == [200000.0]
    batch = session.get_one(ImportBatch, first.batch_id)
    assert (batch.source, batch.rows) == ("api", 2)


def test_records_errors_number_records_from_one(session: Session, world: World) -> None:
    records: list[dict[str, object]] = [
        {"metric": "homes-built", "area_code": "E92000001", "period": "2024", "value": 1},
        {"metric": "homes-built", "area_code": "E92000001", "period": "2024", "value": 2},
        {"metric": "homes-built", "area_code": "E92000001", "period": "2025", "value": None,
         "denominator": -1},
        {"area_code": "E92000001", "period": "2026", "value": "1", "colour": "red"},
    ]

    with pytest.raises(ValidationFailed) as excinfo:
        import_records(session, records=records)
    assert errors_of(excinfo) == [(None, "colour")]

    records[3].pop("colour")
    with pytest.raises(ValidationFailed) as excinfo:
        import_records(session, records=records, allowed_metric_ids=set())
    assert errors_of(excinfo) == [
        (1, "metric"), (2, "metric"), (2, "period"), (3, "metric"), (3, "value"),
        (3, "denominator"), (4, "metric"),
    ]
    assert excinfo.value.errors[-1].message == "Enter a metric slug"
    assert observation_count(session) == 0

    with pytest.raises(ValidationFailed) as excinfo:
        import_records(session, records=[])
    assert errors_of(excinfo) == [(None, "records")]


# -- batch and audit -----------------------------------------------------------------------


def test_batch_and_audit_entry_are_recorded(session: Session, world: World) -> None:
    user = User(email="publisher@example.org", name="Pat Publisher", password_hash="x")
    session.add(user)
    session.flush()
    session.info["actor_id"] = user.id
    session.info["ip"] = "192.0.2.7"
    path = IMPORTS / "good.csv"

    result = import_observations(session, path=path, source="upload", user_id=user.id)
    import_observations(session, path=IMPORTS / "revised.csv", user_id=user.id)

    batch = session.get_one(ImportBatch, result.batch_id)
    assert (batch.user_id, batch.source, batch.filename) == (user.id, "upload", "good.csv")
    assert batch.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (batch.rows, batch.inserted, batch.revised, batch.unchanged) == (6, 6, 0, 0)
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "import").order_by(AuditEntry.id)).all()
    assert len(entries) == 2
    first, second = entries
    assert (first.table_name, first.actor_id, first.ip) == ("observations", user.id,
                                                            "192.0.2.7")
    assert first.changes == {"batch_id": result.batch_id, "source": "upload",
                             "filename": "good.csv", "rows": 6, "inserted": 6, "revised": 0,
                             "unchanged": 0}
    assert second.changes["revised"] == 2
    assert first.summary is not None
    assert "good.csv" in first.summary
    # Core writes are not seen by the ORM audit hook: no per-row entries
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.table_name == "observations", AuditEntry.action != "import")) == 0


# -- property ------------------------------------------------------------------------------

METRICS = ("unemployment-rate", "homes-built")
AREAS = ("E92000001", "E09000001", "E06000001")
PERIODS = ("2024", "2024-Q2", "2024-07", "2024-25", "AY2023-24", "2025-03-31")
finite = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def rows(draw: st.DrawFn) -> dict[str, Any]:
    low, value, high = sorted(draw(st.lists(finite, min_size=3, max_size=3)))
    return {
        "value": value,
        "numerator": draw(st.none() | finite),
        "denominator": draw(st.none() | st.floats(min_value=0, exclude_min=True,
                                                  allow_infinity=False)),
        "lower": draw(st.none() | st.just(low)),
        "upper": draw(st.none() | st.just(high)),
        "status": draw(st.sampled_from(["", "provisional", "final", "revised"])),
    }


batches = st.dictionaries(
    st.sampled_from(list(itertools.product(METRICS, AREAS, PERIODS))), rows(),
    min_size=1, max_size=8,
)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=batches)
def test_reimport_is_unchanged_for_any_valid_batch(
    session: Session, world: World, tmp_path: Path, batch: dict[tuple[str, str, str], Any]
) -> None:
    records = [
        {"metric": m, "area_code": a, "period": p, **{k: v for k, v in r.items() if v != ""}}
        for (m, a, p), r in batch.items()
    ]
    path = write_csv(tmp_path / "batch.csv", [
        {k: ("" if r.get(k) is None else repr(r[k]) if isinstance(r.get(k), float) else r[k])
         for k in ("metric", "area_code", "period", "value", "numerator", "denominator",
                   "lower", "upper", "status")}
        for r in records
    ])

    first = import_observations(session, path=path)
    by_csv = import_observations(session, path=path)
    by_records = import_records(session, records=records)

    assert first.inserted + first.revised + first.unchanged == len(records)
    for again in (by_csv, by_records):
        assert (again.rows, again.unchanged) == (len(records), len(records))
    stored = observations(session)
    for record in records:  # each period here is written as its own label
        stored_value = stored[record["metric"], record["area_code"], record["period"]].value
        assert stored_value == record["value"]


def test_row_numbers_count_blank_lines_as_a_spreadsheet_does(
    session: Session, world: World, tmp_path: Path
) -> None:
    path = tmp_path / "gaps.csv"
    path.write_text("metric,area_code,period,value\n"
                    "homes-built,E92000001,2023-24,1\n"
                    "\n"
                    "homes-built,E92000001,2024-25,not a number\n"
                    "\n\n"
                    "homes-built,E92000001,2023-24,3\n")
    with pytest.raises(ValidationFailed) as excinfo:
        import_observations(session, path=path)
    assert errors_of(excinfo) == [(4, "value"), (7, "period")]
    assert "repeats row 2" in excinfo.value.errors[1].message
