"""Distances on the earth, and the WGS-84 <-> GCJ-02 conversion of Chinese maps."""

from __future__ import annotations

import math

EARTH_RADIUS_KM = 6371.0088


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def valid_point(latitude: float, longitude: float) -> bool:
    return -90 <= latitude <= 90 and -180 <= longitude <= 180


# ---------------------------------------------------------------- GCJ-02
#
# GCJ-02 ("Mars coordinates") is the obfuscated datum that maps published in mainland China
# must use: WeChat's location API and map component, Tencent, AMap (Gaode) and most Chinese
# map SDKs expect it. The conversion below is the widely used public one (the "eviltransform" /
# coordtransform algorithm): an offset computed on the Krasovsky 1940 ellipsoid from two
# polynomial-and-sine series. It has no exact inverse; GCJ-02 -> WGS-84 is solved iteratively.
#
# Where it applies (a decision): mainland China, Hong Kong and Macau, as the widely used
# "is in China" test of the reference implementations draws it: six rectangles around China,
# less six rectangles of its neighbours (northern Vietnam, Mongolia and Russia's Far East
# beside the north-east, the Korean border) and Taiwan (main island and Penghu), which
# mainland rules do not cover and where Chinese map SDKs give WGS-84. A single rectangle
# around China would shift Seoul, Hanoi or Ulaanbaatar too. Hong Kong and Macau stay inside:
# Chinese SDKs serve GCJ-02 there. Near borders the rectangles are approximate by a few
# kilometres; every office is well inside.

_KRASOVSKY_A = 6378245.0  # semi-major axis, metres
_KRASOVSKY_EE = 0.00669342162296594323  # first eccentricity squared

# (lat min, lat max, lon min, lon max)
_CHINA_BOXES = (
    (42.8899, 49.2204, 79.4462, 96.3300),
    (39.3742, 54.1415, 109.6872, 135.0002),
    (29.5297, 42.8899, 73.1246, 124.143255),
    (26.7186, 29.5297, 82.9684, 97.0352),
    (20.414096, 29.5297, 97.0253, 124.367395),
    (17.871542, 20.414096, 107.975793, 111.744104),
)
_OUTSIDE_BOXES = (
    (21.785006, 25.398623, 119.921265, 122.497559),  # Taiwan, the main island
    (23.15, 23.80, 119.30, 119.75),  # Penghu
    (20.0988, 22.2840, 101.8652, 106.665293),  # northern Vietnam and Laos
    (20.4878, 21.5422, 106.4525, 108.0510),  # the Gulf of Tonkin coast of Vietnam
    (50.3257, 55.8175, 109.0323, 119.1270),  # Russia beyond Inner Mongolia
    (49.5574, 55.8175, 127.4568, 137.0227),  # Russia beyond Heilongjiang
    (42.5692, 44.8922, 131.2662, 137.0227),  # Russia's Primorye
)


def _in_box(lat: float, lon: float, box: tuple[float, float, float, float]) -> bool:
    lat_min, lat_max, lon_min, lon_max = box
    return lat_min <= lat <= lat_max and lon_min <= lon <= lon_max


def gcj02_applies(lat: float, lon: float) -> bool:
    """Whether a point lies where maps use GCJ-02 (see above); elsewhere it equals WGS-84."""
    return any(_in_box(lat, lon, b) for b in _CHINA_BOXES) and not any(
        _in_box(lat, lon, b) for b in _OUTSIDE_BOXES
    )


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def _offset(lat: float, lon: float) -> tuple[float, float]:
    """The GCJ-02 offset (degrees of latitude, longitude) at a WGS-84 point."""
    d_lat = _transform_lat(lon - 105.0, lat - 35.0)
    d_lon = _transform_lon(lon - 105.0, lat - 35.0)
    rad_lat = math.radians(lat)
    magic = 1 - _KRASOVSKY_EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / (
        (_KRASOVSKY_A * (1 - _KRASOVSKY_EE)) / (magic * sqrt_magic) * math.pi
    )
    d_lon = (d_lon * 180.0) / (_KRASOVSKY_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return d_lat, d_lon


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """A WGS-84 point in GCJ-02 (unchanged where GCJ-02 does not apply)."""
    if not gcj02_applies(lat, lon):
        return lat, lon
    d_lat, d_lon = _offset(lat, lon)
    return lat + d_lat, lon + d_lon


_INVERSE_TOLERANCE_DEG = 1e-9  # about 0.1 mm
_INVERSE_MAX_STEPS = 30


def gcj02_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """A GCJ-02 point in WGS-84: the point whose GCJ-02 image it is, found by fixed-point
    iteration (the offset changes slowly, so each step gains about three digits)."""
    if not gcj02_applies(lat, lon):
        return lat, lon
    w_lat, w_lon = lat, lon
    for _ in range(_INVERSE_MAX_STEPS):
        g_lat, g_lon = wgs84_to_gcj02(w_lat, w_lon)
        e_lat, e_lon = g_lat - lat, g_lon - lon
        if abs(e_lat) < _INVERSE_TOLERANCE_DEG and abs(e_lon) < _INVERSE_TOLERANCE_DEG:
            break
        w_lat, w_lon = w_lat - e_lat, w_lon - e_lon
    return w_lat, w_lon
