"""Postcode centroids on both databases: the import in the ONS Postcode Directory's and OS
Code-Point Open's shapes (all or nothing, errors naming row and column, rows without a place
skipped, a new edition replacing the old), and the lookup's fallback from the unit postcode
to its outward code."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from missionboard.errors import ValidationFailed
from missionboard.volunteering import geo
from missionboard.volunteering.models import PostcodeCentroid
from missionboard.volunteering.postcodes import (
    BATCH,
    Columns,
    count_centroids,
    import_postcodes,
    locate,
)
from tests.volunteering import builders

ONSPD_HEADER = ["pcd", "pcd2", "pcds", "doterm", "rgn", "lat", "long"]


def _onspd(*rows: tuple[str, str, str, str]) -> list[list[str]]:
    """Rows in the ONSPD's shape: pcds, rgn, lat, long (other columns filled in)."""
    return [[p.replace(" ", ""), p, p, "", rgn, lat, lon] for p, rgn, lat, lon in rows]


def _count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(PostcodeCentroid)) or 0)


def test_an_onspd_file_loads_with_the_default_columns(session: Session) -> None:
    rows = _onspd(("LS1 4AP", "E12000003", "53.796", "-1.548"),
                  ("LS1 5AB", "E12000003", "53.798", "-1.552"),
                  ("ZE1 0AA", "S99999999", "99.999999", "0.000000"))  # no grid reference
    result = import_postcodes(session, rows=rows, header=ONSPD_HEADER,
                              columns=Columns(area="rgn"))
    assert (result.rows, result.units, result.outward_codes, result.skipped) == (2, 2, 0, 1)
    found = session.get(PostcodeCentroid, "LS1 4AP")
    assert found is not None
    assert (found.outward, found.is_unit, found.latitude, found.longitude, found.area_code) == (
        "LS1", True, 53.796, -1.548, "E12000003")
    assert count_centroids(session) == {"units": 2, "outward_codes": 0}


def test_code_point_open_grid_references_are_converted(session: Session) -> None:
    """Code-Point Open has no header; postcode, quality, easting, northing…"""
    rows = [["NR14 7PZ", "10", "651409", "313177"], ["AB10 1AA", "90", "0", "0"]]
    result = import_postcodes(session, rows=rows, header=None, columns=Columns(
        postcode="1", latitude=None, longitude=None, easting="3", northing="4"))
    assert (result.rows, result.skipped) == (1, 1)
    found = session.get(PostcodeCentroid, "NR14 7PZ")
    assert found is not None
    expected = geo.grid_to_wgs84(651409, 313177)
    assert (found.latitude, found.longitude) == pytest.approx(expected)
    assert 52.6 < found.latitude < 52.7


def test_errors_name_the_row_and_column_and_nothing_is_written(session: Session) -> None:
    rows = _onspd(("LS1 4AP", "E12000003", "53.796", "-1.548"),
                  ("NOT A CODE", "E12000003", "53.796", "-1.548"),
                  ("LS1 5AB", "E12000003", "north", "-1.552"),
                  ("LS1 6AB", "E12000003", "40.0", "-1.552"),
                  ("LS1 4AP", "E12000003", "53.796", "-1.548"))
    with pytest.raises(ValidationFailed) as caught:
        import_postcodes(session, rows=rows, header=ONSPD_HEADER, columns=Columns())
    found = {(e.row, e.field) for e in caught.value.errors}
    assert found == {(3, "pcds"), (4, "lat"), (5, "lat"), (6, "pcds")}
    messages = " ".join(e.message for e in caught.value.errors)
    assert "'NOT A CODE' is not a UK postcode" in messages
    assert "'north' is not a number" in messages
    assert "40 is outside the UK" in messages
    assert "LS1 4AP appears twice" in messages


def test_a_missing_column_is_named(session: Session) -> None:
    with pytest.raises(ValidationFailed) as caught:
        import_postcodes(session, rows=[], header=["postcode", "lat"],
                         columns=Columns(postcode="postcode"))
    assert [(e.field, e.row) for e in caught.value.errors] == [("long", 1)]
    assert _count(session) == 0


def test_an_error_after_many_rows_writes_nothing(session: Session) -> None:
    """All or nothing: the first batches were written in the transaction, which the caller
    rolls back (here a savepoint stands in for the CLI's unit of work)."""
    good = [(f"LS1 {n}AB", "E12000003", "53.79", "-1.54") for n in range(10)]
    rows = _onspd(*good)
    bulk = [[f"M{d} {n}{a}{b}", "x", f"M{d} {n}{a}{b}", "", "", "53.4", "-2.2"]
            for d in range(1, 20) for n in range(10) for a in "ABD" for b in "ABDEFGHJLN"]
    bad = [["XX", "", "??", "", "", "53.4", "-2.2"]]
    with pytest.raises(ValidationFailed), session.begin_nested():
        import_postcodes(session, rows=rows + bulk + bad, header=ONSPD_HEADER,
                         columns=Columns())
    assert len(bulk) > BATCH  # so that a batch was written before the error
    assert _count(session) == 0


def test_a_new_edition_replaces_the_old_place(session: Session) -> None:
    import_postcodes(session, rows=_onspd(("LS1 4AP", "", "53.796", "-1.548")),
                     header=ONSPD_HEADER, columns=Columns())
    import_postcodes(session, rows=_onspd(("LS1 4AP", "E12000003", "53.800", "-1.550")),
                     header=ONSPD_HEADER, columns=Columns(area="rgn"))
    session.expire_all()
    found = session.get(PostcodeCentroid, "LS1 4AP")
    assert found is not None
    assert (found.latitude, found.area_code) == (53.8, "E12000003")
    assert _count(session) == 1


def test_lookup_falls_back_to_the_outward_code(session: Session) -> None:
    builders.centroids(session)
    exact = locate(session, "sw1a1aa")
    assert (exact.postcode, exact.precise, exact.latitude) == ("SW1A 1AA", True, 51.501009)
    # SW1A has no outward row: the mean of its unit postcodes.
    mean = locate(session, "SW1A 9ZZ")
    assert mean.postcode == "SW1A"
    assert not mean.precise
    assert mean.latitude == pytest.approx((51.501009 + 51.503396) / 2)
    assert mean.longitude == pytest.approx((-0.141588 - 0.127640) / 2)
    assert mean.area_code == "E12000007"
    # M1 has an outward row: it is used rather than the mean.
    outward = locate(session, "M1 9ZZ")
    assert (outward.postcode, outward.latitude, outward.precise) == ("M1", 53.479, False)
    assert locate(session, "M1").precise  # asked for the outward code: exactly that


@pytest.mark.parametrize(("text", "message"), [
    ("not a postcode", "Enter a real UK postcode"),
    ("ZE1 0AA", "We do not know where ZE1 0AA is"),
    ("ZE1", "We do not know where ZE1 is"),
])
def test_unknown_and_malformed_postcodes_are_input_errors(session: Session, text: str,
                                                          message: str) -> None:
    builders.centroids(session)
    with pytest.raises(ValidationFailed) as caught:
        locate(session, text)
    assert caught.value.errors[0].field == "postcode"
    assert message in caught.value.errors[0].message


def test_an_import_is_summarised_in_the_audit_log(session: Session) -> None:
    from missionboard.accounts.models import AuditEntry

    builders.centroids(session)
    entries = session.scalars(select(AuditEntry).where(
        AuditEntry.table_name == "postcode_centroids")).all()
    assert [(e.action, e.changes) for e in entries] == [
        ("import", {"units": 6, "outward_codes": 1, "skipped": 0})]
