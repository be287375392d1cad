"""WGS-84 <-> GCJ-02 against published reference values, and where the offset applies."""

import random

import pytest

from domain.geo import distance_km, gcj02_applies, gcj02_to_wgs84, wgs84_to_gcj02

TOLERANCE_DEG = 1e-6

# (WGS-84 lat, lon) -> (GCJ-02 lat, lon), from two established implementations:
# - googollee/eviltransform, python/test.py and go/transform_test.go, TESTS (Shanghai, Shenzhen,
#   Beijing), checked there to 6 decimals;
# - wandergis/coordtransform, README.md, wgs84togcj02(116.404, 39.915) ->
#   [116.41024449916938, 39.91640428150164] (that library takes and returns lon, lat).
REFERENCE = [
    pytest.param((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215), id="shanghai"),
    pytest.param((22.543847, 113.912316), (22.540796131694766, 113.9171764808363), id="shenzhen"),
    pytest.param((39.911954, 116.377817), (39.91334545536069, 116.38404722455657), id="beijing"),
    pytest.param((39.915, 116.404), (39.91640428150164, 116.41024449916938), id="coordtransform"),
]


@pytest.mark.parametrize(("wgs", "gcj"), REFERENCE)
def test_wgs84_to_gcj02_matches_the_reference_values(wgs, gcj):
    lat, lon = wgs84_to_gcj02(*wgs)
    assert lat == pytest.approx(gcj[0], abs=TOLERANCE_DEG)
    assert lon == pytest.approx(gcj[1], abs=TOLERANCE_DEG)


@pytest.mark.parametrize(("wgs", "gcj"), REFERENCE)
def test_gcj02_to_wgs84_inverts_the_reference_values(wgs, gcj):
    lat, lon = gcj02_to_wgs84(*gcj)
    assert lat == pytest.approx(wgs[0], abs=1e-7)
    assert lon == pytest.approx(wgs[1], abs=1e-7)


def test_the_offset_in_beijing_is_a_few_hundred_metres():
    wgs = (39.911954, 116.377817)
    assert 0.3 < distance_km(*wgs, *wgs84_to_gcj02(*wgs)) < 0.8


def test_round_trip_gets_back_within_1e_5_degrees_across_china():
    rng = random.Random(20260101)
    for _ in range(2000):
        lat, lon = rng.uniform(18.0, 53.5), rng.uniform(73.5, 134.8)
        if not gcj02_applies(lat, lon):
            continue
        back = gcj02_to_wgs84(*wgs84_to_gcj02(lat, lon))
        assert abs(back[0] - lat) < 1e-5 and abs(back[1] - lon) < 1e-5, (lat, lon, back)
        again = wgs84_to_gcj02(*gcj02_to_wgs84(lat, lon))
        assert abs(again[0] - lat) < 1e-5 and abs(again[1] - lon) < 1e-5, (lat, lon, again)


@pytest.mark.parametrize(
    "point",
    [
        pytest.param((51.5074, -0.1278), id="london"),
        pytest.param((35.6762, 139.6503), id="tokyo"),
        pytest.param((-33.8688, 151.2093), id="sydney"),
        pytest.param((0.5, 100.0), id="south-of-the-box"),
        pytest.param((25.0330, 121.5654), id="taipei"),
        pytest.param((23.5711, 119.5793), id="penghu"),
        pytest.param((37.5665, 126.9780), id="seoul"),
        pytest.param((21.0285, 105.8542), id="hanoi"),
        pytest.param((47.8864, 106.9057), id="ulaanbaatar"),
        pytest.param((43.1155, 131.8855), id="vladivostok"),
        pytest.param((39.0392, 125.7625), id="pyongyang"),
    ],
)
def test_points_outside_mainland_rules_are_unchanged(point):
    assert not gcj02_applies(*point)
    assert wgs84_to_gcj02(*point) == point
    assert gcj02_to_wgs84(*point) == point


@pytest.mark.parametrize(
    "point",
    [
        pytest.param((22.2793, 114.1628), id="hong-kong"),
        pytest.param((22.1987, 113.5439), id="macau"),
        pytest.param((24.4798, 118.0894), id="xiamen"),
        pytest.param((25.2190, 119.4870), id="nanri-island-putian"),
        pytest.param((43.8256, 87.6168), id="urumqi"),
        pytest.param((45.8038, 126.5350), id="harbin"),
        pytest.param((39.4704, 75.9898), id="kashgar"),
        pytest.param((29.6520, 91.1721), id="lhasa"),
        pytest.param((18.2528, 109.5119), id="sanya"),
        pytest.param((22.8170, 108.3665), id="nanning"),
        pytest.param((42.9048, 129.5130), id="yanji"),
    ],
)
def test_hong_kong_macau_and_mainland_points_near_taiwan_are_shifted(point):
    assert gcj02_applies(*point)
    assert distance_km(*point, *wgs84_to_gcj02(*point)) > 0.1
