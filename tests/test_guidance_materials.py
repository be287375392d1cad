"""Guidance materials tied to document categories: Material.appliesTo, materials(for:), and the
tags reaching guidance versions stored before they existed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.materials import CATEGORIES
from persistence.catalogue_data import GUIDANCE
from persistence.demo.load import load_reference_data
from persistence.models import Guidance as GuidanceRow
from tests.conftest import gql
from tests.helpers import SERVICE_CODES

MATERIALS = """query($s: ServiceCode!, $lang: Language) {
  guidance(service: $s, lang: $lang) { version materials { name appliesTo } } }"""

FOR = """query($s: ServiceCode!, $for: [String!]) {
  guidance(service: $s, lang: EN) { materials(for: $for) { name appliesTo } } }"""


async def materials(client, service: str, lang: str = "EN") -> dict[str, list[str]]:
    body = await gql(client, MATERIALS, {"s": service, "lang": lang})
    assert "errors" not in body, body
    return {m["name"]: m["appliesTo"] for m in body["data"]["guidance"]["materials"]}


async def materials_for(client, service: str, categories) -> list[str]:
    body = await gql(client, FOR, {"s": service, "for": categories})
    assert "errors" not in body, body
    return [m["name"] for m in body["data"]["guidance"]["materials"]]


async def test_residence_permit_issuance_materials_name_their_categories(client):
    found = await materials(client, "RESIDENCE_PERMIT_ISSUANCE")
    assert found["Work permit and employment letter"] == ["Z", "WORK"]
    assert found["Admission notice and certificate of study"] == ["X1", "STUDY"]
    assert found["Family relationship documents"] == ["Q1", "S1", "FAMILY_REUNION"]
    assert found["Journalist card and authority's letter"] == ["J1", "JOURNALIST"]
    assert found["Health certificate"] == ["Z", "WORK", "X1", "STUDY"]


async def test_materials_for_everyone_have_no_categories(client):
    found = await materials(client, "RESIDENCE_PERMIT_ISSUANCE")
    for name in ("Passport", "Photo", "Visa and residence permit application form"):
        assert found[name] == [], name


async def test_visa_extension_tags_business_family_and_tourist_materials(client):
    found = await materials(client, "VISA_EXTENSION")
    assert found["Letter from the inviting entity"] == ["M", "F"]
    assert found["Proof of family relationship"] == ["Q2", "S2"]
    assert found["Proof of funds"] == ["L"]
    # A condition about the reason (illness), not the category, is no tag.
    assert found["Medical certificate"] == []


async def test_residence_permit_extension_tags_purposes_in_every_version(client, clock):
    query = """{ guidance(service: RESIDENCE_PERMIT_EXTENSION, lang: EN) {
      version materials { name appliesTo } } }"""
    for moment, version in (
        (datetime(2026, 6, 15, 4, tzinfo=UTC), 1),
        (datetime(2026, 8, 3, 4, tzinfo=UTC), 2),
    ):
        clock.pinned = moment
        guidance = (await gql(client, query))["data"]["guidance"]
        assert guidance["version"] == version
        found = {m["name"]: m["appliesTo"] for m in guidance["materials"]}
        assert found["Extended work permit and employer's letter"] == ["WORK"]
        assert found["Certificate of continued study"] == ["STUDY"]
        assert found["Current family documents"] == ["FAMILY_REUNION"]
        assert found["Passport with the current residence permit"] == []


async def test_chinese_and_english_materials_carry_the_same_categories(client):
    for service in SERVICE_CODES:
        en = list((await materials(client, service, "EN")).values())
        zh = list((await materials(client, service, "ZH")).values())
        assert en == zh, service
    zh_issuance = await materials(client, "RESIDENCE_PERMIT_ISSUANCE", "ZH")
    assert zh_issuance["工作许可证及聘用函件"] == ["Z", "WORK"]


def test_every_tag_is_a_visa_category_or_a_residence_purpose():
    tags = {tag for entry in GUIDANCE for m in entry["materials"] for tag in m["applies_to"]}
    assert tags and tags <= CATEGORIES
    tagged = [m for entry in GUIDANCE for m in entry["materials"] if m["applies_to"]]
    # Only materials with a condition get tags: the tags restate it.
    assert tagged and all(m["condition"] for m in tagged)


# ---------------------------------------------------------------- materials(for:)


async def test_materials_for_a_work_category_leave_out_study_family_and_journalist(client):
    names = await materials_for(client, "RESIDENCE_PERMIT_ISSUANCE", ["Z"])
    assert "Work permit and employment letter" in names
    assert "Health certificate" in names
    assert "Passport" in names and "Photo" in names
    assert "Admission notice and certificate of study" not in names
    assert "Family relationship documents" not in names
    assert "Journalist card and authority's letter" not in names


async def test_materials_for_a_single_category_given_as_a_string(client):
    query = """{ guidance(service: RESIDENCE_PERMIT_EXTENSION, lang: EN) {
      materials(for: "STUDY") { name } } }"""
    body = await gql(client, query)
    names = [m["name"] for m in body["data"]["guidance"]["materials"]]
    assert "Certificate of continued study" in names
    assert "Extended work permit and employer's letter" not in names


async def test_materials_for_several_categories_are_the_union(client):
    names = await materials_for(client, "RESIDENCE_PERMIT_ISSUANCE", ["X1", "FAMILY_REUNION"])
    assert "Admission notice and certificate of study" in names
    assert "Family relationship documents" in names
    assert "Work permit and employment letter" not in names


async def test_materials_for_no_category_are_those_for_everyone(client):
    everything = await materials(client, "RESIDENCE_PERMIT_ISSUANCE")
    names = await materials_for(client, "RESIDENCE_PERMIT_ISSUANCE", [])
    assert names == [name for name, tags in everything.items() if not tags]
    assert await materials_for(client, "RESIDENCE_PERMIT_ISSUANCE", None) == list(everything)


@pytest.mark.parametrize("categories", [["WORKER"], ["z"], ["Z", "SPY"], ["Z"] * 40])
async def test_materials_for_unknown_or_too_many_categories_is_bad_user_input(client, categories):
    body = await gql(client, FOR, {"s": "RESIDENCE_PERMIT_ISSUANCE", "for": categories})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


# ---------------------------------------------------------------- stored versions


async def test_versions_stored_without_tags_get_them_at_start_and_texts_never_change(app):
    untagged = await GuidanceRow.get(service="RESIDENCE_PERMIT_ISSUANCE", lang="EN", version=1)
    edited = await GuidanceRow.get(service="VISA_EXTENSION", lang="ZH", version=1)
    original_untagged, original_edited = untagged.content, edited.content
    try:
        untagged.content = {
            **original_untagged,
            "materials": [
                {k: v for k, v in m.items() if k != "applies_to"}
                for m in original_untagged["materials"]
            ],
        }
        await untagged.save(update_fields=["content"])
        # An admin's edit of a text in the database: the loader must leave this version alone.
        changed = [dict(m) for m in original_edited["materials"]]
        changed[0] = {**changed[0], "description": "本地修改的说明"}
        for m in changed:
            m.pop("applies_to", None)
        edited.content = {**original_edited, "materials": changed}
        await edited.save(update_fields=["content"])

        await load_reference_data()
        await load_reference_data()  # idempotent

        reloaded = await GuidanceRow.get(id=untagged.id)
        assert reloaded.content == original_untagged
        work = next(m for m in reloaded.content["materials"] if m["name"].startswith("Work"))
        assert work["applies_to"] == ["Z", "WORK"]
        still_edited = await GuidanceRow.get(id=edited.id)
        assert still_edited.content["materials"] == changed
        count = await GuidanceRow.filter(service="RESIDENCE_PERMIT_ISSUANCE").count()
        assert count == 8  # no new version: version 1 in each of the eight languages
    finally:
        for row, content in ((untagged, original_untagged), (edited, original_edited)):
            row.content = content
            await row.save(update_fields=["content"])
