"""The office directory and the service catalogue, as an anonymous visitor sees them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from domain.calendar import known_year
from domain.geo import distance_km, wgs84_to_gcj02
from tests.conftest import gql
from tests.helpers import SERVICE_CODES

ALL_OFFICES = {
    "BJ-DC", "BJ-CY", "BJ-HD", "BJ-FT", "BJ-SY", "BJ-XC",
    "SH-PD", "SH-CN", "SH-MH", "SH-JA", "SH-XH",
    "GZ-YX", "GZ-TH", "SZ-FT", "SZ-NS",
    "CD-WH", "CD-GX", "HZ-SC", "HZ-BJ",
    "XA-YT", "WH-JA", "NJ-XW", "SUZ-IP", "TJ-HP",
}  # fmt: skip
SATURDAY_OFFICES = {"BJ-DC", "BJ-CY", "SH-PD", "GZ-YX", "SZ-FT", "CD-WH"}
VISA_ONLY_OFFICES = {"BJ-SY", "BJ-XC", "SH-XH"}
CJK = re.compile(r"[\u4e00-\u9fff]")

OFFICES = """
query($first: Int, $after: String, $filter: OfficeFilter) {
  offices(first: $first, after: $after, filter: $filter) {
    edges { cursor distanceKm node { id code city province name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    totalCount
  }
}"""


async def offices(client, first=None, after=None, **filter_) -> dict:
    variables = {"first": first, "after": after, "filter": filter_ or None}
    body = await gql(client, OFFICES, variables)
    assert "errors" not in body, body
    return body["data"]["offices"]


def codes(connection: dict) -> list[str]:
    return [edge["node"]["code"] for edge in connection["edges"]]


async def office_id(client, code: str) -> str:
    found = await offices(client, first=100, text=code)
    matching = [e["node"]["id"] for e in found["edges"] if e["node"]["code"] == code]
    assert len(matching) == 1, code
    return matching[0]


# ---------------------------------------------------------------- paging


async def test_offices_default_first_page_has_20_and_more_follow(client):
    page = await offices(client)
    assert len(page["edges"]) == 20
    assert page["pageInfo"]["hasNextPage"] is True
    assert page["pageInfo"]["endCursor"]
    assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
    assert len(set(codes(page))) == 20


async def test_offices_next_page_gives_the_remaining_four_without_duplicates(client):
    first = await offices(client)
    second = await offices(client, after=first["pageInfo"]["endCursor"])
    assert len(second["edges"]) == 4
    assert second["pageInfo"]["hasNextPage"] is False
    assert not set(codes(first)) & set(codes(second))
    assert set(codes(first)) | set(codes(second)) == ALL_OFFICES


async def test_page_info_is_complete_on_every_page(client):
    first = await offices(client, first=10)
    assert first["pageInfo"]["hasPreviousPage"] is False
    assert first["pageInfo"]["startCursor"] == first["edges"][0]["cursor"]
    assert first["totalCount"] == 24
    second = await offices(client, first=10, after=first["pageInfo"]["endCursor"])
    assert second["pageInfo"]["hasPreviousPage"] is True  # `after` skipped ten
    assert second["pageInfo"]["startCursor"] == second["edges"][0]["cursor"]
    assert second["pageInfo"]["endCursor"] == second["edges"][-1]["cursor"]
    assert second["totalCount"] == 24
    beyond = await offices(client, first=10, after=second["pageInfo"]["endCursor"])
    last = await offices(client, first=10, after=beyond["pageInfo"]["endCursor"])
    assert last["edges"] == []
    assert last["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "startCursor": None,
        "endCursor": None,
    }


async def test_total_count_follows_the_filter(client):
    assert (await offices(client, first=1, city="Shanghai"))["totalCount"] == 5


async def test_offices_pages_of_five_walk_the_whole_directory_in_order(client):
    seen: list[str] = []
    after = None
    for _ in range(10):
        page = await offices(client, first=5, after=after)
        seen.extend(codes(page))
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == 24
    assert set(seen) == ALL_OFFICES
    whole = await offices(client, first=100)
    assert codes(whole) == seen


async def test_offices_first_is_capped_at_100(client):
    page = await offices(client, first=500)
    assert len(page["edges"]) == 24
    assert set(codes(page)) == ALL_OFFICES
    assert page["pageInfo"]["hasNextPage"] is False


async def test_offices_first_zero_is_an_empty_page(client):
    page = await offices(client, first=0)
    assert page["edges"] == []
    assert page["pageInfo"]["hasNextPage"] is True


async def test_offices_negative_first_is_bad_user_input(client):
    body = await gql(client, OFFICES, {"first": -1})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body.get("data") is None or body["data"].get("offices") is None


async def test_offices_garbage_cursor_is_bad_user_input(client):
    body = await gql(client, OFFICES, {"after": "not a cursor!"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


# ---------------------------------------------------------------- filters


async def test_offices_filter_by_province_ignores_case(client):
    page = await offices(client, first=100, province="guangdong")
    assert set(codes(page)) == {"GZ-YX", "GZ-TH", "SZ-FT", "SZ-NS"}
    assert all(e["node"]["province"] == "Guangdong" for e in page["edges"])


async def test_offices_filter_by_city(client):
    page = await offices(client, first=100, city="Shanghai")
    assert set(codes(page)) == {"SH-PD", "SH-CN", "SH-MH", "SH-JA", "SH-XH"}
    shenzhen = await offices(client, first=100, city="Shenzhen")
    assert set(codes(shenzhen)) == {"SZ-FT", "SZ-NS"}


async def test_offices_filter_by_unknown_province_is_empty(client):
    page = await offices(client, first=100, province="Atlantis")
    assert page["edges"] == []
    assert page["pageInfo"]["hasNextPage"] is False


async def test_offices_filter_by_service_excludes_visa_only_offices(client):
    page = await offices(client, first=100, service="RESIDENCE_PERMIT_EXTENSION")
    assert set(codes(page)) == ALL_OFFICES - VISA_ONLY_OFFICES
    visa = await offices(client, first=100, service="VISA_EXTENSION")
    assert VISA_ONLY_OFFICES <= set(codes(visa))


async def test_offices_filter_by_service_matches_each_offices_services(client):
    query = """
    query($filter: OfficeFilter) {
      offices(first: 100, filter: $filter) { edges { node { code services { code } } } }
    }"""
    body = await gql(client, query, {"filter": {"service": "VISA_REISSUANCE"}})
    for edge in body["data"]["offices"]["edges"]:
        assert "VISA_REISSUANCE" in [s["code"] for s in edge["node"]["services"]]


async def test_offices_filter_by_english_text(client):
    page = await offices(client, first=100, text="Pudong")
    assert codes(page) == ["SH-PD"]


async def test_offices_filter_by_chinese_text(client):
    page = await offices(client, first=100, text="朝阳")
    assert codes(page) == ["BJ-CY"]
    page = await offices(client, first=100, text="浦东")
    assert codes(page) == ["SH-PD"]


async def test_offices_filters_combine(client):
    page = await offices(client, first=100, city="Beijing", service="RESIDENCE_PERMIT_ISSUANCE")
    assert set(codes(page)) == {"BJ-DC", "BJ-CY", "BJ-HD", "BJ-FT"}


async def test_offices_near_a_point_in_shanghai_sorts_by_distance(client):
    near = {"latitude": 31.2304, "longitude": 121.4737}
    page = await offices(client, first=100, near=near)
    assert len(page["edges"]) == 24
    assert page["edges"][0]["node"]["city"] == "Shanghai"
    distances = [edge["distanceKm"] for edge in page["edges"]]
    assert all(d is not None for d in distances)
    assert distances == sorted(distances)
    assert distances[0] < 20
    # Beijing is over 1,000 km from Shanghai.
    beijing = [e["distanceKm"] for e in page["edges"] if e["node"]["city"] == "Beijing"]
    assert min(beijing) > 1000


async def test_offices_near_pages_continue_in_distance_order(client):
    near = {"latitude": 22.54, "longitude": 114.06}
    first = await offices(client, first=10, near=near)
    second = await offices(client, first=100, after=first["pageInfo"]["endCursor"], near=near)
    distances = [e["distanceKm"] for e in first["edges"] + second["edges"]]
    assert len(distances) == 24
    assert distances == sorted(distances)
    assert first["edges"][0]["node"]["code"] == "SZ-FT"


async def test_offices_without_near_have_no_distance(client):
    page = await offices(client, first=100)
    assert all(edge["distanceKm"] is None for edge in page["edges"])


async def test_offices_near_an_impossible_point_is_bad_user_input(client):
    body = await gql(client, OFFICES, {"filter": {"near": {"latitude": 123.0, "longitude": 10.0}}})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_offices_open_on_a_sunday_are_none(client):
    page = await offices(client, first=100, openOn="2026-12-06")
    assert page["edges"] == []


async def test_offices_open_on_a_normal_saturday_are_the_saturday_offices(client):
    page = await offices(client, first=100, openOn="2026-12-12")
    assert set(codes(page)) == SATURDAY_OFFICES


async def test_offices_open_on_national_day_are_none(client):
    page = await offices(client, first=100, openOn="2026-10-01")
    assert page["edges"] == []


async def closed_by_other_tests(day: str, *demo: str) -> set[str]:
    """Offices another test of the session closed that day (tests that close the office of a
    random open slot may land on these dates), apart from the demo data's own closures."""
    from persistence.models import OfficeClosure

    rows = await OfficeClosure.filter(date=day).values_list("office__code", flat=True)
    return set(rows) - set(demo)


async def test_offices_open_on_a_closure_day_exclude_the_closed_office(client):
    page = await offices(client, first=100, openOn="2026-12-09")
    others = await closed_by_other_tests("2026-12-09", "BJ-CY")
    assert set(codes(page)) == ALL_OFFICES - {"BJ-CY"} - others
    minhang = await offices(client, first=100, city="Shanghai", openOn="2026-12-17")
    others = await closed_by_other_tests("2026-12-17", "SH-MH")
    assert set(codes(minhang)) == {"SH-PD", "SH-CN", "SH-JA", "SH-XH"} - others


async def test_offices_open_on_an_adjusted_working_saturday_are_all(client):
    page = await offices(client, first=100, openOn="2026-10-10")
    assert set(codes(page)) == ALL_OFFICES - await closed_by_other_tests("2026-10-10")


async def test_offices_open_on_an_ordinary_weekday_are_all(client):
    page = await offices(client, first=100, openOn="2026-12-02")
    assert set(codes(page)) == ALL_OFFICES - await closed_by_other_tests("2026-12-02")


# ---------------------------------------------------------------- opening hours and closures

IS_OPEN = """
query($id: ID!, $at: DateTime) {
  node(id: $id) { ... on Office { code isOpen(at: $at) } }
}"""


async def is_open(client, code: str, at: str) -> bool:
    body = await gql(client, IS_OPEN, {"id": await office_id(client, code), "at": at})
    assert "errors" not in body, body
    return body["data"]["node"]["isOpen"]


async def test_office_is_open_on_a_weekday_morning(client):
    assert await is_open(client, "BJ-DC", "2026-12-02T10:00:00+08:00") is True


async def test_office_is_open_at_the_same_instant_given_in_utc(client):
    assert await is_open(client, "BJ-DC", "2026-12-02T02:00:00+00:00") is True


async def test_office_is_closed_at_lunch(client):
    assert await is_open(client, "BJ-DC", "2026-12-02T12:30:00+08:00") is False


async def test_office_is_closed_after_hours(client):
    assert await is_open(client, "BJ-DC", "2026-12-02T17:00:00+08:00") is False
    assert await is_open(client, "BJ-DC", "2026-12-02T08:59:00+08:00") is False


async def test_office_is_closed_on_a_sunday(client):
    assert await is_open(client, "BJ-DC", "2026-12-06T10:00:00+08:00") is False


async def test_office_is_closed_on_a_holiday(client):
    assert await is_open(client, "BJ-DC", "2026-10-01T10:00:00+08:00") is False


async def test_office_is_closed_on_its_closure_day(client):
    assert await is_open(client, "BJ-CY", "2026-12-09T10:00:00+08:00") is False
    assert await is_open(client, "BJ-DC", "2026-12-09T10:00:00+08:00") is True


async def test_saturday_office_is_open_on_saturday_morning_only(client):
    assert await is_open(client, "BJ-DC", "2026-12-12T10:00:00+08:00") is True
    assert await is_open(client, "BJ-DC", "2026-12-12T14:00:00+08:00") is False
    assert await is_open(client, "BJ-HD", "2026-12-12T10:00:00+08:00") is False


async def test_office_is_open_at_a_moment_without_offset_is_bad_user_input(client):
    body = await gql(
        client, IS_OPEN, {"id": await office_id(client, "BJ-DC"), "at": "2026-12-02T10:00:00"}
    )
    assert body["errors"]
    assert body["errors"][0]["extensions"]["code"] in (
        "BAD_USER_INPUT",
        "GRAPHQL_VALIDATION_FAILED",
    )


async def test_office_is_open_without_at_follows_the_clock(client, clock):
    clock.pinned = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # 10:00 in Beijing, a Wednesday
    body = await gql(client, IS_OPEN, {"id": await office_id(client, "BJ-DC")})
    assert body["data"]["node"]["isOpen"] is True
    clock.pinned = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)  # a Sunday
    body = await gql(client, IS_OPEN, {"id": await office_id(client, "BJ-DC")})
    assert body["data"]["node"]["isOpen"] is False


# The server seeds the calendar for this year - 1 .. this year + 2 (server.calendar_years) at
# start-up; other years have no stored rows and are answered by the calendar itself.


def unseeded_year(clock, wanted) -> int:
    """The first year from three years after the test clock's (beyond the seeded years) for
    which `wanted(year)` holds."""
    year = clock.now().year + 3
    while not wanted(year):
        year += 1
    return year


def weekday(d: date) -> bool:
    """Monday to Friday: a day every office opens in a plain week."""
    return d.weekday() < 5


async def test_offices_are_closed_on_fixed_holidays_of_years_beyond_the_seeded_ones(client, clock):
    for month, day in [(1, 1), (5, 1), (10, 1)]:
        year = unseeded_year(clock, lambda y, m=month, d=day: weekday(date(y, m, d)))
        holiday = date(year, month, day)
        assert await is_open(client, "BJ-DC", f"{holiday}T10:00:00+08:00") is False, holiday
        assert (await offices(client, first=100, openOn=str(holiday)))["edges"] == [], holiday


async def test_unpublished_unseeded_year_closes_the_provisional_fixed_dates_only(client, clock):
    # Without the State Council's notice 1-3 October close, 4 October does not (yet).
    year = unseeded_year(
        clock,
        lambda y: not known_year(y) and weekday(date(y, 10, 3)) and weekday(date(y, 10, 4)),
    )
    assert await is_open(client, "BJ-HD", f"{year}-10-03T10:00:00+08:00") is False
    assert await is_open(client, "BJ-HD", f"{year}-10-04T10:00:00+08:00") is True


async def test_offices_follow_the_published_calendar_of_a_past_year_never_seeded(client):
    # 2023 is before every seeded year (settings.calendar_first_year is 2024).
    assert await is_open(client, "BJ-DC", "2023-10-02T10:00:00+08:00") is False  # Monday
    assert (await offices(client, first=100, openOn="2023-10-02"))["edges"] == []
    # Saturday 7 October 2023 was worked in lieu: even weekday-only offices open.
    assert await is_open(client, "BJ-HD", "2023-10-07T10:00:00+08:00") is True


CLOSURES = """
query($id: ID!, $lang: Language) {
  node(id: $id) { ... on Office { closures(from: "2026-12-01", to: "2026-12-31", lang: $lang) {
    date reason } } }
}"""


async def test_closures_of_an_office_have_a_reason_in_english_and_chinese(client):
    identifier = await office_id(client, "BJ-CY")
    en = (await gql(client, CLOSURES, {"id": identifier}))["data"]["node"]["closures"]
    zh = (await gql(client, CLOSURES, {"id": identifier, "lang": "ZH"}))["data"]["node"]["closures"]
    en_day = [c for c in en if c["date"] == "2026-12-09"]
    zh_day = [c for c in zh if c["date"] == "2026-12-09"]
    assert len(en_day) == 1 and len(zh_day) == 1
    assert en_day[0]["reason"] and not CJK.search(en_day[0]["reason"])
    assert zh_day[0]["reason"] and CJK.search(zh_day[0]["reason"])


async def test_closures_outside_the_range_are_not_listed(client):
    query = """
    query($id: ID!) { node(id: $id) { ... on Office {
      closures(from: "2026-12-10", to: "2026-12-31") { date } } } }"""
    body = await gql(client, query, {"id": await office_id(client, "BJ-CY")})
    assert "2026-12-09" not in [c["date"] for c in body["data"]["node"]["closures"]]


async def test_closures_with_to_before_from_is_bad_user_input(client):
    query = """
    query($id: ID!) { node(id: $id) { ... on Office {
      closures(from: "2026-12-31", to: "2026-12-01") { date } } } }"""
    body = await gql(client, query, {"id": await office_id(client, "BJ-CY")})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


# ---------------------------------------------------------------- the catalogue

SERVICES = """
query { services { code processingWorkingDays en: name(lang: EN) zh: name(lang: ZH) } }"""


async def test_services_lists_the_eleven_codes(client):
    services = (await gql(client, SERVICES))["data"]["services"]
    assert [s["code"] for s in services] == SERVICE_CODES


async def test_services_have_names_in_english_and_chinese(client):
    for service in (await gql(client, SERVICES))["data"]["services"]:
        assert service["en"] and not CJK.search(service["en"]), service
        assert service["zh"] and CJK.search(service["zh"]), service


async def test_services_processing_days_are_7_for_visas_and_stays_and_15_for_residence(client):
    for service in (await gql(client, SERVICES))["data"]["services"]:
        expected = 15 if service["code"].startswith("RESIDENCE_") else 7
        assert service["processingWorkingDays"] == expected, service


GUIDANCE_FIELDS = """
service lang version effectiveFrom requirements processingWorkingDays legalBasis steps
materials { name description required condition copies }
fees { item condition amount { amount currency } }
"""


async def test_guidance_exists_for_every_service_in_both_languages(client):
    for lang in ("EN", "ZH"):
        aliases = " ".join(
            f"{code.lower()}: guidance(service: {code}, lang: {lang}) {{ {GUIDANCE_FIELDS} }}"
            for code in SERVICE_CODES
        )
        body = await gql(client, f"{{ {aliases} }}")
        assert "errors" not in body, body
        for code in SERVICE_CODES:
            guidance = body["data"][code.lower()]
            assert guidance is not None, (code, lang)
            assert guidance["service"] == code
            assert guidance["lang"] == lang
            assert guidance["materials"] and all(m["name"] for m in guidance["materials"])
            assert guidance["steps"] and all(guidance["steps"])
            assert guidance["legalBasis"] and all(guidance["legalBasis"])
            assert guidance["fees"]
            for fee in guidance["fees"]:
                assert fee["item"]
                assert re.fullmatch(r"\d+\.\d{2}", fee["amount"]["amount"]), fee
                assert fee["amount"]["currency"] == "CNY"
            expected_days = 15 if code.startswith("RESIDENCE_") else 7
            assert guidance["processingWorkingDays"] == expected_days
            if lang == "ZH":
                assert CJK.search(guidance["steps"][0])
            else:
                assert not CJK.search(guidance["steps"][0])


async def test_visa_extension_fee_is_160_yuan(client):
    query = (
        "{ guidance(service: VISA_EXTENSION, lang: EN) { fees { amount { amount currency } } } }"
    )
    fees = (await gql(client, query))["data"]["guidance"]["fees"]
    assert {"amount": "160.00", "currency": "CNY"} in [f["amount"] for f in fees]


async def test_residence_permit_extension_guidance_today_is_version_2(client):
    query = """{
      en: guidance(service: RESIDENCE_PERMIT_EXTENSION, lang: EN) { version effectiveFrom steps }
      zh: guidance(service: RESIDENCE_PERMIT_EXTENSION, lang: ZH) { version }
    }"""
    body = (await gql(client, query))["data"]
    assert body["en"]["version"] == 2
    assert body["en"]["effectiveFrom"] == "2026-07-01"
    assert body["zh"]["version"] == 2


async def test_residence_permit_extension_guidance_before_july_2026_is_version_1(client, clock):
    clock.pinned = datetime(2026, 6, 15, 4, 0, tzinfo=UTC)
    query = "{ guidance(service: RESIDENCE_PERMIT_EXTENSION, lang: EN) { version steps } }"
    old = (await gql(client, query))["data"]["guidance"]
    clock.pinned = None
    new = (await gql(client, query))["data"]["guidance"]
    assert old["version"] == 1
    assert len(new["steps"]) == len(old["steps"]) + 1


async def test_service_guidance_field_matches_root_guidance(client):
    query = """{ services { code guidance(lang: ZH) { service lang version } } }"""
    for service in (await gql(client, query))["data"]["services"]:
        assert service["guidance"]["service"] == service["code"]
        assert service["guidance"]["lang"] == "ZH"


async def test_accept_language_chinese_without_lang_gives_chinese_texts(client):
    query = """{ services { name } guidance(service: VISA_EXTENSION) { lang steps }
                 offices(first: 1) { edges { node { name address } } } }"""
    body = await gql(client, query, accept_language="zh-CN,zh;q=0.9,en;q=0.8")
    data = body["data"]
    assert all(CJK.search(s["name"]) for s in data["services"])
    assert data["guidance"]["lang"] == "ZH"
    office = data["offices"]["edges"][0]["node"]
    assert CJK.search(office["name"]) and CJK.search(office["address"])


async def test_without_accept_language_texts_are_english(client):
    query = """{ services { name } guidance(service: VISA_EXTENSION) { lang } }"""
    data = (await gql(client, query))["data"]
    assert not any(CJK.search(s["name"]) for s in data["services"])
    assert data["guidance"]["lang"] == "EN"


async def test_lang_argument_wins_over_accept_language(client):
    query = (
        """{ services { name(lang: EN) } guidance(service: VISA_EXTENSION, lang: EN) { lang } }"""
    )
    data = (await gql(client, query, accept_language="zh-CN"))["data"]
    assert not any(CJK.search(s["name"]) for s in data["services"])
    assert data["guidance"]["lang"] == "EN"


async def test_unsupported_accept_language_falls_back_to_english(client):
    query = "{ guidance(service: VISA_EXTENSION) { lang } }"
    data = (await gql(client, query, accept_language="pt-BR"))["data"]
    assert data["guidance"]["lang"] == "EN"


# ---------------------------------------------------------------- node


async def test_node_returns_an_office_by_its_id(client):
    identifier = await office_id(client, "SH-PD")
    query = """query($id: ID!) { node(id: $id) { __typename id ... on Office {
      code city timeZone location { latitude longitude } hours { weekday opens closes } } } }"""
    node = (await gql(client, query, {"id": identifier}))["data"]["node"]
    assert node["__typename"] == "Office"
    assert node["id"] == identifier
    assert node["code"] == "SH-PD"
    assert node["city"] == "Shanghai"
    assert node["timeZone"] == "Asia/Shanghai"
    assert 30 < node["location"]["latitude"] < 32
    assert {"weekday": 6, "opens": "09:00", "closes": "12:00"} in node["hours"]
    assert not [h for h in node["hours"] if h["weekday"] == 7]


async def test_node_with_a_garbage_id_is_null(client):
    query = "query($id: ID!) { node(id: $id) { id } }"
    for garbage in ("garbage", "", "!!!", "T2ZmaWNlOjk5OTk5OQ", "T2ZmaWNlOmFiYw"):
        body = await gql(client, query, {"id": garbage})
        assert body["data"]["node"] is None, garbage
        assert "errors" not in body, garbage


# ---------------------------------------------------------------- GCJ-02 (Chinese maps)

LOCATIONS = """{ offices(first: 100) { edges { node { code
  location { latitude longitude } locationGcj02 { latitude longitude } } } } }"""


async def office_locations(client) -> dict[str, dict]:
    body = await gql(client, LOCATIONS)
    assert "errors" not in body, body
    return {e["node"]["code"]: e["node"] for e in body["data"]["offices"]["edges"]}


def km_between(a: dict, b: dict) -> float:
    return distance_km(a["latitude"], a["longitude"], b["latitude"], b["longitude"])


async def test_location_gcj02_is_a_few_hundred_metres_from_wgs84_for_beijing(client):
    found = await office_locations(client)
    office = found["BJ-DC"]
    wgs, gcj = office["location"], office["locationGcj02"]
    assert 0.2 < km_between(wgs, gcj) < 0.8
    # GCJ-02 shifts Beijing east and north (as the reference values in tests/domain/test_geo.py).
    assert gcj["longitude"] > wgs["longitude"] and gcj["latitude"] > wgs["latitude"]
    expected = wgs84_to_gcj02(wgs["latitude"], wgs["longitude"])
    assert (gcj["latitude"], gcj["longitude"]) == pytest.approx(expected, abs=1e-9)


async def test_every_office_has_a_gcj02_location_off_its_wgs84_one(client):
    found = await office_locations(client)
    assert set(found) == ALL_OFFICES
    for code, office in found.items():
        assert 0.1 < km_between(office["location"], office["locationGcj02"]) < 1.0, code


async def test_near_a_gcj02_point_equals_near_the_same_place_in_wgs84(client):
    # A WeChat user standing at BJ-DC's pin on a Chinese map sends its GCJ-02 coordinates.
    found = await office_locations(client)
    wgs, gcj = found["BJ-DC"]["location"], found["BJ-DC"]["locationGcj02"]
    from_wgs = await offices(client, first=100, near=dict(wgs))
    from_gcj = await offices(client, first=100, near={**gcj, "datum": "GCJ02"})
    assert codes(from_gcj)[0] == codes(from_wgs)[0] == "BJ-DC"
    assert codes(from_gcj) == codes(from_wgs)
    for a, b in zip(from_wgs["edges"], from_gcj["edges"], strict=True):
        assert abs(a["distanceKm"] - b["distanceKm"]) <= 0.003, (a, b)
    assert from_gcj["edges"][0]["distanceKm"] <= 0.001


async def test_near_a_gcj02_point_taken_for_wgs84_is_off_by_the_shift(client):
    found = await office_locations(client)
    gcj = found["BJ-DC"]["locationGcj02"]
    explicit = await offices(client, first=1, near={**gcj, "datum": "WGS84"})
    default = await offices(client, first=1, near=dict(gcj))
    assert explicit == default
    assert 0.2 < default["edges"][0]["distanceKm"] < 0.8


async def test_near_outside_mainland_china_is_the_same_in_both_datums(client):
    tokyo = {"latitude": 35.6762, "longitude": 139.6503}
    as_wgs = await offices(client, first=100, near=tokyo)
    as_gcj = await offices(client, first=100, near={**tokyo, "datum": "GCJ02"})
    assert as_wgs == as_gcj


async def test_near_with_an_unknown_datum_is_bad_user_input(client):
    # A variable's value the document is sound without: the client's bad input.
    near = {"latitude": 39.9, "longitude": 116.4, "datum": "BD09"}
    body = await gql(client, OFFICES, {"filter": {"near": near}})
    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
