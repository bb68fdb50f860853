"""Postcodes and distances, in plain functions (no database, no web): UK postcode
normalisation and validation, great-circle distance, the bounding box that prefilters a
search by distance, and the conversion of Ordnance Survey grid references (as in OS Code-Point
Open) to latitude and longitude.

- **Postcodes** follow BS 7666: an outward code (area letters, district) and, for a unit
  postcode, an inward code (sector digit and two unit letters). Normalised, a unit postcode is
  upper case with one space (``SW1A 1AA``); an outward code stands alone (``SW1A``).
- **Distance** is the haversine formula on a sphere of the mean Earth radius
  R = 6,371.0088 km (IUGG): d = 2R·asin(√(sin²(Δφ/2) + cos φ₁·cos φ₂·sin²(Δλ/2))). For
  places in the UK the sphere is within 0.5% of the ellipsoid, far below a postcode
  centroid's own spread.
- **OS grid to latitude and longitude**: the inverse transverse Mercator projection of the
  National Grid on the Airy 1830 ellipsoid (Ordnance Survey, *A Guide to Coordinate Systems in
  Great Britain*, Annex C), then the seven-parameter Helmert transformation from OSGB36 to
  WGS84 (same guide, section 6.6; accurate to about 5 m, plenty for a postcode's centroid).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

#: The mean Earth radius (IUGG), in kilometres.
EARTH_RADIUS_KM = 6371.0088
KM_PER_MILE = 1.609344

_OUTWARD = r"(?:[A-PR-UWYZ][0-9][0-9A-Z]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9A-Z]?)"
_INWARD = r"[0-9][ABD-HJLNP-UW-Z]{2}"
_OUTWARD_ONLY = re.compile(rf"^{_OUTWARD}$")
_UNIT = re.compile(rf"^({_OUTWARD})({_INWARD})$")
#: Girobank's postcode, the one exception to the format.
_GIROBANK = "GIR0AA"


@dataclass(frozen=True)
class Postcode:
    """A normalised postcode: the outward code and, for a unit postcode, the inward code."""

    outward: str
    inward: str | None = None

    @property
    def text(self) -> str:
        return f"{self.outward} {self.inward}" if self.inward else self.outward

    @property
    def is_unit(self) -> bool:
        return self.inward is not None

    def __str__(self) -> str:
        return self.text


def parse_postcode(text: str) -> Postcode | None:
    """The postcode in ``text`` (any case and spacing), or None if it is not a UK unit
    postcode (``SW1A 1AA``) or outward code (``SW1A``)."""
    compact = re.sub(r"\s+", "", text or "").upper()
    if compact == _GIROBANK:
        return Postcode("GIR", "0AA")
    if len(compact) > 7:
        return None
    unit = _UNIT.match(compact)
    if unit:
        return Postcode(unit.group(1), unit.group(2))
    if _OUTWARD_ONLY.match(compact):
        return Postcode(compact)
    return None


def normalise_postcode(text: str) -> str | None:
    """``parse_postcode(text)`` as text (``"sw1a1aa"`` → ``"SW1A 1AA"``), or None."""
    found = parse_postcode(text)
    return found.text if found else None


# Distances ---------------------------------------------------------------------------------

def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance between two points (degrees), in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def miles_to_km(miles: float) -> float:
    return miles * KM_PER_MILE


def km_to_miles(km: float) -> float:
    return km / KM_PER_MILE


@dataclass(frozen=True)
class Box:
    """A latitude and longitude range (degrees) holding every point within a distance."""

    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float

    def contains(self, lat: float, lon: float) -> bool:
        return self.min_lat <= lat <= self.max_lat and self.min_lon <= lon <= self.max_lon


def bounding_box(lat: float, lon: float, radius_km: float) -> Box:
    """The smallest latitude-longitude box holding the spherical cap of ``radius_km`` around
    the point (J. P. Matuschek, *Finding Points Within a Distance of a Latitude/Longitude
    Using Bounding Coordinates*): Δφ = r/R, and
    Δλ = asin(sin(r/R) / cos φ). Near a pole, or where the box would cross the antimeridian,
    every longitude is included (correct, just less selective)."""
    angular = radius_km / EARTH_RADIUS_KM
    phi = math.radians(lat)
    low, high = phi - angular, phi + angular
    if low <= -math.pi / 2 or high >= math.pi / 2 or angular >= math.pi / 2:
        return Box(max(-90.0, math.degrees(low)), min(90.0, math.degrees(high)), -180.0, 180.0)
    ratio = math.sin(angular) / math.cos(phi)
    if ratio >= 1:
        return Box(math.degrees(low), math.degrees(high), -180.0, 180.0)
    delta = math.degrees(math.asin(ratio))
    west, east = lon - delta, lon + delta
    if west < -180 or east > 180:
        west, east = -180.0, 180.0
    return Box(math.degrees(low), math.degrees(high), west, east)


# Ordnance Survey National Grid to WGS84 ----------------------------------------------------

#: Airy 1830 (OSGB36) and GRS80 (WGS84) ellipsoids: semi-major and semi-minor axes, metres.
_AIRY = (6_377_563.396, 6_356_256.909)
_WGS84 = (6_378_137.000, 6_356_752.3141)
#: The National Grid's projection: scale on the central meridian, true origin, false origin.
_F0 = 0.9996012717
_PHI0 = math.radians(49.0)
_LAMBDA0 = math.radians(-2.0)
_E0, _N0 = 400_000.0, -100_000.0
#: OSGB36 → WGS84: translations (m), scale (ppm), rotations (arc-seconds).
_HELMERT = (446.448, -125.157, 542.060, -20.4894, 0.1502, 0.2470, 0.8421)


def _meridional_arc(b: float, n: float, phi: float) -> float:
    d, s = phi - _PHI0, phi + _PHI0
    return b * _F0 * (
        (1 + n + 5 / 4 * n**2 + 5 / 4 * n**3) * d
        - (3 * n + 3 * n**2 + 21 / 8 * n**3) * math.sin(d) * math.cos(s)
        + (15 / 8 * n**2 + 15 / 8 * n**3) * math.sin(2 * d) * math.cos(2 * s)
        - 35 / 24 * n**3 * math.sin(3 * d) * math.cos(3 * s))


def grid_to_osgb36(easting: float, northing: float) -> tuple[float, float]:
    """National Grid easting and northing (metres) to OSGB36 latitude and longitude
    (degrees, on the Airy 1830 ellipsoid): the OS guide's Annex C, equations C.6 to C.9."""
    a, b = _AIRY
    e2 = (a * a - b * b) / (a * a)
    n = (a - b) / (a + b)
    phi = (northing - _N0) / (a * _F0) + _PHI0
    arc = _meridional_arc(b, n, phi)
    while abs(northing - _N0 - arc) >= 1e-5:
        phi += (northing - _N0 - arc) / (a * _F0)
        arc = _meridional_arc(b, n, phi)
    sin2 = math.sin(phi) ** 2
    nu = a * _F0 / math.sqrt(1 - e2 * sin2)
    rho = a * _F0 * (1 - e2) / (1 - e2 * sin2) ** 1.5
    eta2 = nu / rho - 1
    t = math.tan(phi)
    sec = 1 / math.cos(phi)
    vii = t / (2 * rho * nu)
    viii = t / (24 * rho * nu**3) * (5 + 3 * t**2 + eta2 - 9 * t**2 * eta2)
    ix = t / (720 * rho * nu**5) * (61 + 90 * t**2 + 45 * t**4)
    x = sec / nu
    xi = sec / (6 * nu**3) * (nu / rho + 2 * t**2)
    xii = sec / (120 * nu**5) * (5 + 28 * t**2 + 24 * t**4)
    xiia = sec / (5040 * nu**7) * (61 + 662 * t**2 + 1320 * t**4 + 720 * t**6)
    de = easting - _E0
    lat = phi - vii * de**2 + viii * de**4 - ix * de**6
    lon = _LAMBDA0 + x * de - xi * de**3 + xii * de**5 - xiia * de**7
    return math.degrees(lat), math.degrees(lon)


def _to_cartesian(lat: float, lon: float, axes: tuple[float, float]) -> tuple[float, ...]:
    a, b = axes
    e2 = (a * a - b * b) / (a * a)
    phi, lam = math.radians(lat), math.radians(lon)
    nu = a / math.sqrt(1 - e2 * math.sin(phi) ** 2)
    return (nu * math.cos(phi) * math.cos(lam), nu * math.cos(phi) * math.sin(lam),
            (1 - e2) * nu * math.sin(phi))


def _from_cartesian(x: float, y: float, z: float, axes: tuple[float, float]
                    ) -> tuple[float, float]:
    a, b = axes
    e2 = (a * a - b * b) / (a * a)
    p = math.hypot(x, y)
    phi = math.atan2(z, p * (1 - e2))
    for _ in range(10):  # converges to well below a millimetre in three or four rounds
        nu = a / math.sqrt(1 - e2 * math.sin(phi) ** 2)
        phi = math.atan2(z + e2 * nu * math.sin(phi), p)
    return math.degrees(phi), math.degrees(math.atan2(y, x))


def helmert(lat: float, lon: float, *, parameters: tuple[float, ...] = _HELMERT,
            source: tuple[float, float] = _AIRY, target: tuple[float, float] = _WGS84
            ) -> tuple[float, float]:
    """A point moved between datums by the seven-parameter Helmert transformation (height
    taken as zero): OSGB36 to WGS84 by default."""
    tx, ty, tz, s_ppm, rx, ry, rz = parameters
    x, y, z = _to_cartesian(lat, lon, source)
    s = s_ppm * 1e-6
    rx, ry, rz = (math.radians(r / 3600) for r in (rx, ry, rz))
    x2 = tx + (1 + s) * x - rz * y + ry * z
    y2 = ty + rz * x + (1 + s) * y - rx * z
    z2 = tz - ry * x + rx * y + (1 + s) * z
    return _from_cartesian(x2, y2, z2, target)


def grid_to_wgs84(easting: float, northing: float) -> tuple[float, float]:
    """National Grid easting and northing (metres) to WGS84 latitude and longitude."""
    return helmert(*grid_to_osgb36(easting, northing))
