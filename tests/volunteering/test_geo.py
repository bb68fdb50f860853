"""The pure geography: postcode normalisation and validation, great-circle distances checked
against an independent formula and known values (with hypothesis for symmetry, the diagonal
and the triangle inequality), the bounding box that prefilters a search, and the OS National
Grid conversion against the Ordnance Survey's worked example."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from missionboard.volunteering import geo

R = geo.EARTH_RADIUS_KM


# Postcodes ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("SW1A 1AA", "SW1A 1AA"), ("sw1a1aa", "SW1A 1AA"), ("  m1   1ae ", "M1 1AE"),
    ("B33 8TH", "B33 8TH"), ("CR2 6XH", "CR2 6XH"), ("DN55 1PT", "DN55 1PT"),
    ("W1A 0AX", "W1A 0AX"), ("EC1A 1BB", "EC1A 1BB"), ("gir 0aa", "GIR 0AA"),
    ("SW1A", "SW1A"), ("m1", "M1"), ("EH1", "EH1"), ("cf10", "CF10"),
])
def test_postcodes_are_normalised(text: str, expected: str) -> None:
    assert geo.normalise_postcode(text) == expected


@pytest.mark.parametrize("text", [
    "", "   ", "12345", "QX1 1AA", "VA1 1AA", "BJ1 1AA", "SW1A 1CA", "SW1A 1AAA", "SW1A1",
    "A", "ZZZZZ", "SW1A-1AA", "1AA", "SW1A 1A", "EC1A 1BB EC1A",
])
def test_malformed_postcodes_are_refused(text: str) -> None:
    assert geo.parse_postcode(text) is None


def test_a_unit_postcode_knows_its_outward_code() -> None:
    found = geo.parse_postcode("dn551pt")
    assert found == geo.Postcode("DN55", "1PT")
    assert found.is_unit
    assert geo.parse_postcode("DN55") == geo.Postcode("DN55")


AREA = st.sampled_from(["B", "M", "SW", "EC", "DN", "CF", "GL", "W", "NW", "LS"])
DISTRICT = st.sampled_from(["1", "9", "10", "55", "1A", "2W", "1P"])
INWARD = st.builds(lambda d, a, b: f"{d}{a}{b}", st.sampled_from("0123456789"),
                   st.sampled_from("ABDEFGHJLNPQRSTUWXYZ"),
                   st.sampled_from("ABDEFGHJLNPQRSTUWXYZ"))


@given(area=AREA, district=DISTRICT, inward=INWARD, spaces=st.integers(0, 3),
       lower=st.booleans())
def test_any_spacing_and_case_gives_one_canonical_form(area: str, district: str, inward: str,
                                                       spaces: int, lower: bool) -> None:
    typed = f"{area}{district}{' ' * spaces}{inward}"
    typed = typed.lower() if lower else typed
    canonical = geo.normalise_postcode(typed)
    assert canonical == f"{area}{district} {inward}"
    assert geo.normalise_postcode(canonical) == canonical  # idempotent


# Distances ---------------------------------------------------------------------------------

def chord_distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """An independent great-circle distance: the straight chord between the two points on
    the unit sphere, c, gives the angle 2·asin(c/2)."""
    def unit(lat: float, lon: float) -> tuple[float, float, float]:
        p, q = math.radians(lat), math.radians(lon)
        return math.cos(p) * math.cos(q), math.cos(p) * math.sin(q), math.sin(p)

    a, b = unit(lat1, lon1), unit(lat2, lon2)
    chord = math.dist(a, b)
    return 2 * R * math.asin(min(1.0, chord / 2))


@pytest.mark.parametrize(("a", "b", "km"), [
    ((0.0, 0.0), (90.0, 0.0), math.pi * R / 2),        # equator to pole
    ((0.0, 0.0), (0.0, 1.0), 2 * math.pi * R / 360),   # one degree along the equator
    ((0.0, 0.0), (0.0, 180.0), math.pi * R),           # antipodes
    ((51.5074, -0.1278), (48.8566, 2.3522), 343.557),  # London to Paris
    ((53.4808, -2.2426), (53.8008, -1.5491), 57.932),  # Manchester to Leeds
])
def test_distances_match_known_values(a: tuple[float, float], b: tuple[float, float],
                                      km: float) -> None:
    assert geo.haversine_km(*a, *b) == pytest.approx(km, abs=1e-3)
    assert chord_distance_km(*a, *b) == pytest.approx(km, abs=1e-3)


LAT = st.floats(-90, 90, allow_nan=False)
LON = st.floats(-180, 180, allow_nan=False)


@given(LAT, LON, LAT, LON)
def test_haversine_agrees_with_the_chord_formula(lat1: float, lon1: float, lat2: float,
                                                  lon2: float) -> None:
    assert geo.haversine_km(lat1, lon1, lat2, lon2) == pytest.approx(
        chord_distance_km(lat1, lon1, lat2, lon2), abs=1e-6)


@given(LAT, LON, LAT, LON)
def test_distance_is_symmetric_and_bounded(lat1: float, lon1: float, lat2: float,
                                           lon2: float) -> None:
    d = geo.haversine_km(lat1, lon1, lat2, lon2)
    assert d == pytest.approx(geo.haversine_km(lat2, lon2, lat1, lon1), abs=1e-9)
    assert 0 <= d <= math.pi * R + 1e-9


@given(LAT, LON)
def test_distance_is_zero_on_the_diagonal(lat: float, lon: float) -> None:
    assert geo.haversine_km(lat, lon, lat, lon) == 0


POINT = st.tuples(LAT, LON)


@given(POINT, POINT, POINT)
def test_triangle_inequality(a: tuple[float, float], b: tuple[float, float],
                             c: tuple[float, float]) -> None:
    direct = geo.haversine_km(*a, *c)
    via = geo.haversine_km(*a, *b) + geo.haversine_km(*b, *c)
    assert direct <= via + 1e-6


def test_miles_and_kilometres() -> None:
    assert geo.miles_to_km(10) == pytest.approx(16.09344)
    assert geo.km_to_miles(geo.miles_to_km(3.5)) == pytest.approx(3.5)


def _destination(lat: float, lon: float, bearing: float, km: float) -> tuple[float, float]:
    """The point ``km`` from the origin on ``bearing`` (degrees), on the sphere."""
    p1, l1, theta, delta = (math.radians(lat), math.radians(lon), math.radians(bearing),
                            km / R)
    p2 = math.asin(math.sin(p1) * math.cos(delta)
                   + math.cos(p1) * math.sin(delta) * math.cos(theta))
    l2 = l1 + math.atan2(math.sin(theta) * math.sin(delta) * math.cos(p1),
                         math.cos(delta) - math.sin(p1) * math.sin(p2))
    return math.degrees(p2), (math.degrees(l2) + 540) % 360 - 180


@given(lat=st.floats(-85, 85), lon=LON, radius=st.floats(0.1, 2000),
       bearing=st.floats(0, 360), share=st.floats(0, 1))
def test_the_bounding_box_holds_every_point_within_the_radius(
        lat: float, lon: float, radius: float, bearing: float, share: float) -> None:
    box = geo.bounding_box(lat, lon, radius)
    p_lat, p_lon = _destination(lat, lon, bearing, radius * share * 0.999999)
    assert box.min_lat - 1e-9 <= p_lat <= box.max_lat + 1e-9
    assert box.min_lon - 1e-9 <= p_lon <= box.max_lon + 1e-9


def test_the_bounding_box_is_tight_in_the_uk() -> None:
    box = geo.bounding_box(53.8, -1.55, 16.09344)
    assert box.max_lat - box.min_lat == pytest.approx(2 * math.degrees(16.09344 / R))
    assert 0.4 < box.max_lon - box.min_lon < 0.6  # wider in longitude at 54°N
    assert not box.contains(53.48, -2.24)  # Manchester is not within 10 miles of Leeds


# The OS National Grid ----------------------------------------------------------------------

def _dms(deg: int, minutes: int, seconds: float) -> float:
    return deg + minutes / 60 + seconds / 3600


def os_forward(lat: float, lon: float) -> tuple[float, float]:
    """Latitude and longitude (OSGB36) to National Grid easting and northing: the OS guide's
    Annex C, equations C.1 to C.5, written out here independently of the inverse."""
    a, b, f0 = 6_377_563.396, 6_356_256.909, 0.9996012717
    phi0, lam0, e0, n0 = math.radians(49), math.radians(-2), 400_000, -100_000
    e2, n = (a * a - b * b) / (a * a), (a - b) / (a + b)
    phi, lam = math.radians(lat), math.radians(lon)
    s2 = math.sin(phi) ** 2
    nu = a * f0 / math.sqrt(1 - e2 * s2)
    rho = a * f0 * (1 - e2) / (1 - e2 * s2) ** 1.5
    eta2 = nu / rho - 1
    d, s = phi - phi0, phi + phi0
    m = b * f0 * ((1 + n + 1.25 * n**2 + 1.25 * n**3) * d
                  - (3 * n + 3 * n**2 + 21 / 8 * n**3) * math.sin(d) * math.cos(s)
                  + (15 / 8 * n**2 + 15 / 8 * n**3) * math.sin(2 * d) * math.cos(2 * s)
                  - 35 / 24 * n**3 * math.sin(3 * d) * math.cos(3 * s))
    t, c = math.tan(phi), math.cos(phi)
    i = m + n0
    ii = nu / 2 * math.sin(phi) * c
    iii = nu / 24 * math.sin(phi) * c**3 * (5 - t**2 + 9 * eta2)
    iiia = nu / 720 * math.sin(phi) * c**5 * (61 - 58 * t**2 + t**4)
    iv = nu * c
    v = nu / 6 * c**3 * (nu / rho - t**2)
    vi = nu / 120 * c**5 * (5 - 18 * t**2 + t**4 + 14 * eta2 - 58 * t**2 * eta2)
    dl = lam - lam0
    return (e0 + iv * dl + v * dl**3 + vi * dl**5,
            i + ii * dl**2 + iii * dl**4 + iiia * dl**6)


def test_grid_to_latitude_and_longitude_matches_the_os_worked_example() -> None:
    """OS, A Guide to Coordinate Systems in Great Britain, C.2: E 651409.903 m,
    N 313177.270 m is 52°39′27.2531″N, 1°43′4.5177″E on OSGB36."""
    lat, lon = geo.grid_to_osgb36(651_409.903, 313_177.270)
    assert lat == pytest.approx(_dms(52, 39, 27.2531), abs=1e-4 / 3600)
    assert lon == pytest.approx(_dms(1, 43, 4.5177), abs=1e-4 / 3600)
    easting, northing = os_forward(_dms(52, 39, 27.2531), _dms(1, 43, 4.5177))
    assert easting == pytest.approx(651_409.903, abs=1e-3)
    assert northing == pytest.approx(313_177.270, abs=1e-3)


@given(easting=st.floats(50_000, 650_000), northing=st.floats(10_000, 1_200_000))
def test_grid_conversion_round_trips(easting: float, northing: float) -> None:
    lat, lon = geo.grid_to_osgb36(easting, northing)
    back = os_forward(lat, lon)  # the series are good to a centimetre across the grid
    assert back[0] == pytest.approx(easting, abs=0.01)
    assert back[1] == pytest.approx(northing, abs=0.01)


@given(easting=st.floats(50_000, 650_000), northing=st.floats(10_000, 1_200_000))
def test_the_datum_shift_is_small_and_reversible(easting: float, northing: float) -> None:
    """OSGB36 and WGS84 differ by at most a couple of hundred metres in Great Britain; the
    Helmert transformation with the parameters negated takes a point back (to millimetres)."""
    lat, lon = geo.grid_to_osgb36(easting, northing)
    wgs = geo.grid_to_wgs84(easting, northing)
    assert 0.02 < geo.haversine_km(lat, lon, *wgs) < 0.2
    inverse = tuple(-p for p in (446.448, -125.157, 542.060, -20.4894, 0.1502, 0.2470, 0.8421))
    back = geo.helmert(*wgs, parameters=inverse, source=(6_378_137.000, 6_356_752.3141),
                       target=(6_377_563.396, 6_356_256.909))
    assert geo.haversine_km(lat, lon, *back) < 0.005
