"""Shape and invariants of the demo offices and of the service catalogue."""

import re
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal, InvalidOperation

import chinese_calendar

from persistence.catalogue_data import GUIDANCE, SERVICES, TRANSLATED_LANGUAGES
from persistence.demo.offices import OFFICES
from tests.helpers import SERVICE_CODES

ALL_CODES = set(SERVICE_CODES)
GROUP_OF = {code: "RESIDENCE" if code.startswith("RESIDENCE_") else "VISA" for code in ALL_CODES}
PROCESSING_DAYS = {"VISA": 7, "RESIDENCE": 15}

OFFICE_KEYS = {
    "code",
    "name",
    "address",
    "province",
    "province_code",
    "city",
    "latitude",
    "longitude",
    "phone",
    "hours",
    "services",
    "counters",
    "closures",
}
GUIDANCE_KEYS = {
    "service",
    "lang",
    "version",
    "effective_from",
    "requirements",
    "materials",
    "steps",
    "fees",
    "processing_working_days",
    "legal_basis",
}
LANGUAGES = {"EN", "ZH", *TRANSLATED_LANGUAGES}
MATERIAL_KEYS = {"name", "description", "required", "condition", "copies", "applies_to"}
FEE_KEYS = {"item", "amount", "condition"}

HH_MM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
CJK = re.compile(r"[\u4e00-\u9fff]")
KANA = re.compile(r"[\u3040-\u30ff]")
SATURDAY = 6
SUNDAY = 7


def _bilingual(value: object) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == {"EN", "ZH"}
        and bool(value["EN"].strip())
        and CJK.search(value["ZH"]) is not None
        and CJK.search(value["EN"]) is None
    )


def _days(office: dict) -> dict[int, list[tuple[str, str]]]:
    days: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for weekday, opens, closes in office["hours"]:
        days[weekday].append((opens, closes))
    return {weekday: sorted(intervals) for weekday, intervals in days.items()}


# Offices


def test_offices_have_exactly_the_documented_keys() -> None:
    for office in OFFICES:
        assert set(office) == OFFICE_KEYS, office["code"]


def test_office_codes_are_unique_and_well_formed() -> None:
    codes = [office["code"] for office in OFFICES]
    assert len(codes) == len(set(codes))
    for code in codes:
        assert re.fullmatch(r"[A-Z]+-[A-Z]+", code), code


def test_enough_offices_in_enough_cities() -> None:
    assert len(OFFICES) >= 20
    assert len({office["city"] for office in OFFICES}) >= 6


def test_names_and_addresses_are_bilingual() -> None:
    for office in OFFICES:
        assert _bilingual(office["name"]), office["code"]
        assert _bilingual(office["address"]), office["code"]


def test_province_codes_are_consistent() -> None:
    code_of_province: dict[str, str] = {}
    for office in OFFICES:
        assert re.fullmatch(r"\d{2}", office["province_code"]), office["code"]
        known = code_of_province.setdefault(office["province"], office["province_code"])
        assert known == office["province_code"], office["code"]
    assert len(set(code_of_province.values())) == len(code_of_province)


def test_locations_are_in_china() -> None:
    for office in OFFICES:
        assert isinstance(office["latitude"], float), office["code"]
        assert isinstance(office["longitude"], float), office["code"]
        assert 18.0 <= office["latitude"] <= 53.6, office["code"]
        assert 73.5 <= office["longitude"] <= 135.1, office["code"]


def test_phone_and_time_zone() -> None:
    for office in OFFICES:
        assert re.fullmatch(r"\+86 \d{2,3} \d{4} \d{4}", office["phone"]), office["code"]
        # No time zone given: the office keeps China's time, the model's default.
        assert "time_zone" not in office, office["code"]


def test_hours_are_valid_times_with_opening_before_closing() -> None:
    for office in OFFICES:
        for weekday, opens, closes in office["hours"]:
            assert 1 <= weekday <= SUNDAY, office["code"]
            assert HH_MM.fullmatch(opens), office["code"]
            assert HH_MM.fullmatch(closes), office["code"]
            assert opens < closes, office["code"]


def test_weekdays_have_a_lunch_break_and_sundays_are_closed() -> None:
    for office in OFFICES:
        days = _days(office)
        assert SUNDAY not in days, office["code"]
        for weekday in range(1, 6):
            intervals = days.get(weekday, [])
            assert len(intervals) == 2, (office["code"], weekday)
            (_, morning_closes), (afternoon_opens, _) = intervals
            assert morning_closes < afternoon_opens, (office["code"], weekday)
        if SATURDAY in days:
            assert len(days[SATURDAY]) == 1, office["code"]
            assert days[SATURDAY][0][1] <= "12:00", office["code"]


def test_some_offices_open_on_saturday_mornings() -> None:
    saturday_offices = [office for office in OFFICES if SATURDAY in _days(office)]
    assert len(saturday_offices) >= 5


def test_services_are_known_codes_and_most_offices_offer_all() -> None:
    for office in OFFICES:
        assert office["services"], office["code"]
        assert len(office["services"]) == len(set(office["services"])), office["code"]
        assert set(office["services"]) <= ALL_CODES, office["code"]
    full = [office for office in OFFICES if set(office["services"]) == ALL_CODES]
    assert 3 * len(full) >= 2 * len(OFFICES)
    assert len(full) < len(OFFICES)


def test_main_hall_comes_first_with_all_services_and_saturday_hours() -> None:
    main = OFFICES[0]
    assert main["code"] == "BJ-DC"
    assert set(main["services"]) == ALL_CODES
    assert SATURDAY in _days(main)


def test_counters_match_the_services_offered() -> None:
    for office in OFFICES:
        assert set(office["counters"]) == {"VISA", "RESIDENCE"}, office["code"]
        groups = {GROUP_OF[code] for code in office["services"]}
        for group, counters in office["counters"].items():
            assert isinstance(counters, int), office["code"]
            if group in groups:
                assert 1 <= counters <= 6, (office["code"], group)
            else:
                assert counters == 0, (office["code"], group)


def test_closures_fall_on_days_the_office_would_otherwise_be_open() -> None:
    closing_offices = [office for office in OFFICES if office["closures"]]
    assert 3 <= len(closing_offices) <= 5
    for office in closing_offices:
        assert len(office["closures"]) <= 2, office["code"]
        days = [closed_on for closed_on, _ in office["closures"]]
        assert len(days) == len(set(days)), office["code"]
        open_weekdays = set(_days(office))
        for closed_on, reason in office["closures"]:
            day = date.fromisoformat(closed_on)
            assert (day.year, day.month) in {(2026, 12), (2027, 1)}, office["code"]
            assert day.isoweekday() in open_weekdays, office["code"]
            assert (day.month, day.day) != (1, 1), office["code"]
            assert _bilingual(reason), office["code"]
            try:
                assert chinese_calendar.is_workday(day), (office["code"], closed_on)
            except NotImplementedError:
                continue


# Service catalogue


def test_exactly_the_eleven_services() -> None:
    codes = [service["code"] for service in SERVICES]
    assert len(codes) == 11
    assert set(codes) == ALL_CODES


def test_services_have_group_name_and_processing_days() -> None:
    for service in SERVICES:
        assert set(service) == {"code", "name", "group", "processing_working_days"}
        assert service["group"] == GROUP_OF[service["code"]]
        assert service["processing_working_days"] == PROCESSING_DAYS[service["group"]]
        assert set(service["name"]) == LANGUAGES, service["code"]
        assert _bilingual({k: service["name"][k] for k in ("EN", "ZH")}), service["code"]


def test_guidance_entries_have_the_documented_shape() -> None:
    for entry in GUIDANCE:
        label = (entry["service"], entry["lang"], entry["version"])
        # Versions in the further languages carry the notice that they are unofficial.
        notice = set() if entry["lang"] in ("EN", "ZH") else {"official_notice"}
        assert set(entry) == GUIDANCE_KEYS | notice, label
        assert entry["service"] in ALL_CODES, label
        assert entry["lang"] in LANGUAGES, label
        assert isinstance(entry["version"], int), label
        assert entry["version"] >= 1, label
        date.fromisoformat(entry["effective_from"])
        for key in ("requirements", "steps", "legal_basis"):
            assert entry[key], label
            assert all(isinstance(text, str) and text.strip() for text in entry[key]), label
        assert entry["materials"], label
        for material in entry["materials"]:
            assert set(material) == MATERIAL_KEYS, label
            assert isinstance(material["name"], str), label
            assert material["name"].strip(), label
            assert material["description"] is None or isinstance(material["description"], str)
            assert isinstance(material["required"], bool), label
            assert material["condition"] is None or isinstance(material["condition"], str)
            assert material["copies"] is None or material["copies"] >= 1, label
        assert entry["fees"], label
        for fee in entry["fees"]:
            assert set(fee) == FEE_KEYS, label
            assert fee["item"].strip(), label
            assert fee["condition"] is None or isinstance(fee["condition"], str), label


def test_guidance_text_is_in_the_language_it_claims() -> None:
    for entry in GUIDANCE:
        texts = [*entry["requirements"], *entry["steps"], *entry["legal_basis"]]
        texts += [material["name"] for material in entry["materials"]]
        texts += [fee["item"] for fee in entry["fees"]]
        for text in texts:
            if entry["lang"] == "ZH":
                assert CJK.search(text), (entry["service"], text)
            elif entry["lang"] == "JA":
                assert KANA.search(text) or CJK.search(text), (entry["service"], text)
            else:
                assert not CJK.search(text), (entry["service"], text)


def test_every_service_has_first_edition_guidance_in_both_languages() -> None:
    keys = Counter((entry["service"], entry["lang"], entry["version"]) for entry in GUIDANCE)
    assert all(count == 1 for count in keys.values())
    for code in ALL_CODES:
        for lang in ("EN", "ZH"):
            assert (code, lang, 1) in keys, (code, lang)


def test_later_versions_take_effect_later() -> None:
    effective: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    for entry in GUIDANCE:
        effective[entry["service"], entry["lang"]].append(
            (entry["version"], entry["effective_from"])
        )
    for key, versions in effective.items():
        versions.sort()
        assert [version for version, _ in versions] == list(range(1, len(versions) + 1)), key
        starts = [start for _, start in versions]
        assert starts == sorted(set(starts)), key
    assert len(effective["RESIDENCE_PERMIT_EXTENSION", "EN"]) == 2


def test_fee_amounts_are_two_place_decimals() -> None:
    for entry in GUIDANCE:
        for fee in entry["fees"]:
            try:
                amount = Decimal(fee["amount"])
            except InvalidOperation as error:
                raise AssertionError(f"{entry['service']}: {fee['amount']!r}") from error
            assert amount.as_tuple().exponent == -2, (entry["service"], fee["amount"])
            assert amount >= 0, entry["service"]


def test_fees_follow_the_published_table() -> None:
    for entry in GUIDANCE:
        amounts = {Decimal(fee["amount"]) for fee in entry["fees"]}
        if GROUP_OF[entry["service"]] == "VISA":
            assert Decimal("160.00") in amounts, entry["service"]
        else:
            assert {Decimal("400"), Decimal("800"), Decimal("1000")} <= amounts, entry["service"]
            tiered = [fee for fee in entry["fees"] if Decimal(fee["amount"]) >= 400]
            assert all(fee["condition"] for fee in tiered), entry["service"]


def test_processing_days_match_the_service() -> None:
    days = {service["code"]: service["processing_working_days"] for service in SERVICES}
    for entry in GUIDANCE:
        assert entry["processing_working_days"] == days[entry["service"]]


def test_translations_have_the_same_structure() -> None:
    editions: dict[tuple[str, int], dict[str, dict]] = defaultdict(dict)
    for entry in GUIDANCE:
        editions[entry["service"], entry["version"]][entry["lang"]] = entry
    for key, by_lang in editions.items():
        assert set(by_lang) == LANGUAGES, key
        en = by_lang["EN"]
        for lang, other in by_lang.items():  # every language against the English
            label = (*key, lang)
            assert en["effective_from"] == other["effective_from"], label
            for list_key in ("requirements", "materials", "steps", "fees", "legal_basis"):
                assert len(en[list_key]) == len(other[list_key]), (label, list_key)
            assert [fee["amount"] for fee in en["fees"]] == [f["amount"] for f in other["fees"]]
            for en_fee, other_fee in zip(en["fees"], other["fees"], strict=True):
                assert (en_fee["condition"] is None) == (other_fee["condition"] is None), label
            for en_material, material in zip(en["materials"], other["materials"], strict=True):
                assert en_material["required"] == material["required"], label
                assert en_material["copies"] == material["copies"], label
                assert (en_material["condition"] is None) == (material["condition"] is None), label


def test_guidance_is_specific_to_each_service() -> None:
    first_editions = [
        entry for entry in GUIDANCE if entry["lang"] == "EN" and entry["version"] == 1
    ]
    requirements = [tuple(entry["requirements"]) for entry in first_editions]
    steps = [tuple(entry["steps"]) for entry in first_editions]
    assert len(set(requirements)) == len(first_editions)
    assert len(set(steps)) == len(first_editions)
