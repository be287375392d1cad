"""Guidance and the service catalogue in the eight languages, through HTTP: every service's
guidance in each language (by `lang` and by Accept-Language), the unofficial-translation notice
exactly where it belongs, numbers and codes identical to the English text, the legal and
procedural terms of the EN/ZH glossary rendered consistently, plain right-to-left Arabic, the
English fallback marked in `fallbackFrom`, and each language's version being a version of its
own."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from persistence.catalogue_data import GUIDANCE, SERVICES, TRANSLATED_LANGUAGES
from persistence.demo.load import load_reference_data
from persistence.models import Guidance as GuidanceRow
from persistence.models import ServiceType as ServiceRow
from tests.conftest import gql
from tests.helpers import SERVICE_CODES

LANGUAGES = ["EN", "ZH", *TRANSLATED_LANGUAGES]
assert LANGUAGES == ["EN", "ZH", "KO", "JA", "RU", "FR", "ES", "AR"]

GUIDANCE_FIELDS = """
service lang fallbackFrom officialNotice version effectiveFrom requirements steps legalBasis
processingWorkingDays
materials { name description required condition copies appliesTo }
fees { item condition amount { amount currency } }
"""

# Marks that force a direction (LRM, RLM, embeddings, overrides, isolates): Arabic texts are
# plain and left to the client's bidirectional algorithm.
DIRECTION_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")

# Each language's own script, which every text of that language uses.
SCRIPTS = {
    "ZH": re.compile("[\u4e00-\u9fff]"),
    "KO": re.compile("[\uac00-\ud7af]"),
    "JA": re.compile("[\u3040-\u30ff\u4e00-\u9fff]"),
    "RU": re.compile("[\u0400-\u04ff]"),
    "AR": re.compile("[\u0600-\u06ff]"),
    "FR": re.compile("[A-Za-zÀ-ÿ]"),
    "ES": re.compile("[A-Za-zÀ-ÿ]"),
    "EN": re.compile("[A-Za-z]"),
}
# Scripts a Latin-alphabet text never contains (Latin visa codes such as Z or JW201 are fine).
NOT_LATIN = re.compile("[\u0400-\u04ff\u0600-\u06ff\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]")

# The second reading, made a check: where the Chinese text uses a term of the EN/ZH glossary
# (../shared/DOMAIN.md, plus the procedural terms the guidance keeps using), the translation
# uses that language's fixed rendering of it (docs/guidance_translations.md lists them).
# Patterns allow for inflection (Russian cases, Arabic articles and plurals).
GLOSSARY: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "visa": (
        ("签证",),
        {"KO": "비자", "JA": "ビザ", "RU": "виз", "FR": "visa", "ES": "visa", "AR": "تأشير"},
    ),
    "stay permit": (
        ("停留证件",),
        {
            "KO": "체류증",
            "JA": "停留証",
            "RU": r"разрешени\w* на пребывание",
            "FR": "permis de séjour",
            "ES": r"permisos? de estancia",
            "AR": r"تصا?ريح\S* (ال)?بقاء",
        },
    ),
    "residence permit": (
        ("居留许可", "居留证件"),
        {
            "KO": "거류허가",
            "JA": "居留許可",
            "RU": r"вид\w* на жительство",
            "FR": "permis de résidence",
            "ES": r"permisos? de residencia",
            "AR": r"تصا?ريح\S* (ال)?إقام",
        },
    ),
    "extension": (
        ("延期",),
        {
            "KO": "연장",
            "JA": "延長",
            "RU": "продл",
            "FR": "prolong",
            "ES": "prórroga|prorrog",
            "AR": "تمديد|ممدد",
        },
    ),
    "renewal": (
        ("换发",),
        {
            "KO": "교체발급",
            "JA": "切替発給|切り替え",
            "RU": "замен",
            "FR": "remplac",
            "ES": "sustitu",
            "AR": "استبدال|المستبدل",
        },
    ),
    "reissuance": (
        ("补发",),
        {
            "KO": "재발급",
            "JA": "再発給",
            "RU": r"повторн\w* выда",
            "FR": "duplicata",
            "ES": "duplicado",
            "AR": "إعادة إصدار|المعاد إصدار",
        },
    ),
    "duration of stay": (
        ("停留期",),
        {
            "KO": "체류기간",
            "JA": "滞在",
            "RU": "пребывани",
            "FR": "séjour",
            "ES": "estancia",
            "AR": "بقا",
        },
    ),
    "application acceptance receipt": (
        ("受理回执",),
        {
            "KO": "접수증",
            "JA": "受理票",
            "RU": "расписк",
            "FR": "récépissé",
            "ES": "resguardo",
            "AR": "إيصال",
        },
    ),
    "exit-entry administration": (
        ("出入境管理机构",),
        {
            "KO": "출입국관리기구",
            "JA": "出入境管理機関",
            "RU": r"служб\w* въезда и выезда",
            "FR": "administration des entrées et sorties",
            "ES": "administración de salida y entrada",
            "AR": "إدارة الخروج والدخول",
        },
    ),
    "exit-entry service centre": (
        ("接待大厅", "大厅"),
        {
            "KO": "서비스센터",
            "JA": "センター",
            "RU": r"центр\w* обслуживания",
            "FR": "centre",
            "ES": "centro",
            "AR": "مركز",
        },
    ),
    "public security organ": (
        ("公安机关",),
        {
            "KO": "공안기관",
            "JA": "公安機関",
            "RU": "полици",
            "FR": "police",
            "ES": "policía",
            "AR": "الشرطة",
        },
    ),
    "police station": (
        ("派出所",),
        {
            "KO": "파출소",
            "JA": "派出所",
            "RU": r"полицейск\w* участ",
            "FR": "poste de police",
            "ES": "comisaría",
            "AR": "مركز الشرطة",
        },
    ),
    "working days": (
        ("工作日",),
        {
            "KO": "근무일",
            "JA": "営業日",
            "RU": r"рабоч\w* дн",
            "FR": "jours ouvrés",
            "ES": "días hábiles",
            "AR": "أيام عمل|يوم عمل",
        },
    ),
    "appointment": (
        ("预约",),
        {
            "KO": "예약",
            "JA": "予約",
            "RU": "запи[сш]|при[её]м|назначенное время",
            "FR": "rendez-vous",
            "ES": "cita",
            "AR": "موعد",
        },
    ),
    "embassy or consulate": (
        ("使领馆",),
        {
            "KO": "대사관",
            "JA": "大使館",
            "RU": "посольств",
            "FR": "ambassade",
            "ES": "embajada",
            "AR": "سفار",
        },
    ),
    "Foreigner's Work Permit": (
        ("工作许可",),
        {
            "KO": "취업허가",
            "JA": "工作許可",
            "RU": r"разрешени\w* на работу",
            "FR": "permis de travail",
            "ES": "permiso de trabajo",
            "AR": "تصريح (ال)?عمل",
        },
    ),
    "permanent residence": (
        ("永久居留",),
        {
            "KO": "영주",
            "JA": "永久居留",
            "RU": "постоянного проживания",
            "FR": "résident permanent",
            "ES": "residencia permanente",
            "AR": "إقامة دائمة",
        },
    ),
    "family reunion": (
        ("团聚",),
        {
            "KO": "가족 동거",
            "JA": "家族との同居",
            "RU": r"воссоединени\w* семьи",
            "FR": "regroupement familial",
            "ES": "reagrupación familiar",
            "AR": "لمّ شمل الأسرة",
        },
    ),
    "visa-free entry": (
        ("免签", "免办签证"),
        {
            "KO": "무비자|비자 면제|비자 없이",
            "JA": "免除|ビザなし",
            "RU": "безвиз|без визы",
            "FR": "exemption|sans visa",
            "ES": "sin visa|exención",
            "AR": "الإعفاء من التأشيرة|دون تأشيرة",
        },
    ),
    "inviting entity": (
        ("邀请单位",),
        {
            "KO": "초청 기관",
            "JA": "招へい機関",
            "RU": "приглашающ",
            "FR": "invitant",
            "ES": "invitante",
            "AR": "جهة الداعية",
        },
    ),
    "fingerprints": (
        ("指纹",),
        {
            "KO": "지문",
            "JA": "指紋",
            "RU": "отпечат",
            "FR": "empreintes",
            "ES": "huellas",
            "AR": "بصمات",
        },
    ),
    "reciprocal fee": (
        ("对等",),
        {
            "KO": "상호주의",
            "JA": "相互主義",
            "RU": "взаимност",
            "FR": "réciprocité",
            "ES": "reciprocidad",
            "AR": "المعاملة بالمثل",
        },
    ),
    "accommodation registration": (
        ("住宿登记",),
        {
            "KO": "숙박 등록",
            "JA": "宿泊登記",
            "RU": "регистр",
            "FR": "hébergement|enregistrement",
            "ES": "alojamiento",
            "AR": "سكن",
        },
    ),
    "health certificate": (
        ("健康检查",),
        {
            "KO": "건강검진",
            "JA": "健康診断",
            "RU": r"медицинск\w* заключени",
            "FR": "certificat médical",
            "ES": "certificado médico",
            "AR": "الفحص الطبي|فحص طبي",
        },
    ),
    "Exit and Entry Administration Law": (
        ("出境入境管理法",),
        {
            "KO": "「중화인민공화국 출입국관리법」",
            "JA": "「中華人民共和国出境入境管理法」",
            "RU": "Закон КНР «Об управлении выездом и въездом»",
            "FR": "Loi de la RPC sur l'administration des sorties et des entrées",
            "ES": "Ley de la RPC sobre la Administración de Salida y Entrada",
            "AR": "قانون جمهورية الصين الشعبية لإدارة الخروج والدخول",
        },
    ),
    "Regulations on the Entry and Exit of Foreigners": (
        ("外国人入境出境管理条例",),
        {
            "KO": "「중화인민공화국 외국인 출입국관리조례」",
            "JA": "「中華人民共和国外国人入境出境管理条例」",
            "RU": "Положение КНР об управлении въездом и выездом иностранцев",
            "FR": "Règlement de la RPC sur l'administration de l'entrée et de la sortie des "
            "étrangers",
            "ES": "Reglamento de la RPC sobre la Administración de la Entrada y Salida de "
            "Extranjeros",
            "AR": "لائحة جمهورية الصين الشعبية لإدارة دخول الأجانب وخروجهم",
        },
    ),
}


async def all_guidance(client, lang: str | None = None, **headers: str) -> dict[str, dict]:
    """Every service's guidance in one request: with `lang`, or by the request's headers."""
    argument = f", lang: {lang}" if lang else ""
    aliases = " ".join(
        f"{code.lower()}: guidance(service: {code}{argument}) {{ {GUIDANCE_FIELDS} }}"
        for code in SERVICE_CODES
    )
    body = await gql(client, f"{{ {aliases} }}", **headers)
    assert "errors" not in body, body
    return {code: body["data"][code.lower()] for code in SERVICE_CODES}


def texts(guidance: dict) -> list[str | None]:
    """Every text of a version, in an order that is the same in every language."""
    found: list[str | None] = [
        *guidance["requirements"],
        *guidance["steps"],
        *guidance["legalBasis"],
    ]
    for material in guidance["materials"]:
        found += [material["name"], material["description"], material["condition"]]
    for fee in guidance["fees"]:
        found += [fee["item"], fee["condition"]]
    return found


def shape(guidance: dict) -> dict:
    """What is not text: it never differs between languages."""
    return {
        "counts": [len(guidance[k]) for k in ("requirements", "steps", "legalBasis")],
        "materials": [
            (m["required"], m["copies"], m["appliesTo"], m["description"] is None)
            for m in guidance["materials"]
        ],
        "fees": [(f["amount"], f["condition"] is None) for f in guidance["fees"]],
        "days": guidance["processingWorkingDays"],
        "version": (guidance["version"], guidance["effectiveFrom"]),
    }


def numbers(text: str | None) -> list[str]:
    return sorted(re.findall(r"\d+", text or ""))


# ---------------------------------------------------------------- every service, every language


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_guidance_for_every_service_exists_in_the_language_asked_for(client, lang):
    for code, guidance in (await all_guidance(client, lang)).items():
        assert guidance is not None, (code, lang)
        assert guidance["service"] == code
        assert guidance["lang"] == lang
        assert guidance["fallbackFrom"] is None
        assert guidance["requirements"] and guidance["steps"] and guidance["legalBasis"]
        assert guidance["materials"] and guidance["fees"]
        assert all(m["name"] for m in guidance["materials"])
        assert all(f["item"] for f in guidance["fees"])
        for text in texts(guidance):
            assert text is None or text.strip() == text != "", (code, lang, text)


@pytest.mark.parametrize(
    ("accept_language", "lang"),
    [
        ("en-US,en;q=0.9", "EN"),
        ("zh-CN,zh;q=0.9", "ZH"),
        ("ko-KR,ko;q=0.9,en;q=0.5", "KO"),
        ("ja-JP", "JA"),
        ("ru-RU,ru;q=0.8", "RU"),
        ("fr-CA,fr;q=0.9,en;q=0.3", "FR"),
        ("es-MX,es;q=0.9", "ES"),
        ("ar-EG,ar;q=0.9,en;q=0.2", "AR"),
    ],
)
async def test_accept_language_gives_guidance_and_service_names_in_that_language(
    client, accept_language, lang
):
    by_header = await all_guidance(client, accept_language=accept_language)
    by_argument = await all_guidance(client, lang)
    assert by_header == by_argument
    query = f"""{{ asked: services {{ code name guidance {{ lang version }} }}
      named: services {{ code name(lang: {lang}) }} }}"""
    data = (await gql(client, query, accept_language=accept_language))["data"]
    assert [s["name"] for s in data["asked"]] == [s["name"] for s in data["named"]]
    for service in data["asked"]:
        assert service["guidance"]["lang"] == lang
        assert service["guidance"]["version"] == by_argument[service["code"]]["version"]


async def test_the_lang_argument_wins_over_accept_language(client):
    query = """{ guidance(service: VISA_EXTENSION, lang: JA) { lang }
      services { name(lang: RU) } }"""
    data = (await gql(client, query, accept_language="ar-SA,ar"))["data"]
    assert data["guidance"]["lang"] == "JA"
    assert data["services"][0]["name"] == "Продление визы"


async def test_a_language_not_spoken_here_gets_english_without_a_fallback_marker(client):
    """pt-BR negotiates English before any guidance is read: English is then the language the
    request is answered in, not a fallback from one of ours (the Language enum cannot name
    Portuguese), so `fallbackFrom` stays null; see the next tests for a real fallback."""
    query = "{ guidance(service: VISA_EXTENSION) { lang fallbackFrom officialNotice } }"
    data = (await gql(client, query, accept_language="pt-BR,pt;q=0.9"))["data"]
    assert data["guidance"] == {"lang": "EN", "fallbackFrom": None, "officialNotice": None}


# ---------------------------------------------------------------- the notice


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_official_notice_exactly_for_the_six_translated_languages(client, lang):
    notices = {g["officialNotice"] for g in (await all_guidance(client, lang)).values()}
    if lang in ("EN", "ZH"):
        assert notices == {None}
        return
    assert len(notices) == 1  # one sentence per language, the same on every service
    notice = notices.pop()
    assert notice and SCRIPTS[lang].search(notice), notice
    assert not DIRECTION_MARKS.search(notice)


async def test_notices_differ_between_languages(client):
    query = " ".join(
        f"{lang.lower()}: guidance(service: VISA_RENEWAL, lang: {lang}) {{ officialNotice }}"
        for lang in TRANSLATED_LANGUAGES
    )
    data = (await gql(client, f"{{ {query} }}"))["data"]
    assert len({data[lang.lower()]["officialNotice"] for lang in TRANSLATED_LANGUAGES}) == 6


# ---------------------------------------------------------------- quality, not just presence


@pytest.mark.parametrize("lang", TRANSLATED_LANGUAGES)
async def test_numbers_codes_and_amounts_are_those_of_the_english_text(client, lang):
    english = await all_guidance(client, "EN")
    translated = await all_guidance(client, lang)
    for code in SERVICE_CODES:
        assert shape(translated[code]) == shape(english[code]), (code, lang)
        pairs = zip(texts(english[code]), texts(translated[code]), strict=True)
        for en, text in pairs:
            assert (en is None) == (text is None), (code, lang, en)
            # Day counts, ages, sizes, article numbers, form numbers (JW201), visa codes (Q2).
            assert numbers(text) == numbers(en), (code, lang, en, text)
            for visa_code in re.findall(r"\b(?:[A-Z]\d|JW\d+)\b", en or ""):
                assert visa_code in text, (code, lang, visa_code, text)


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_texts_are_written_in_the_language_and_its_script(client, lang):
    english = await all_guidance(client, "EN")
    for code, guidance in (await all_guidance(client, lang)).items():
        pairs = zip(texts(english[code]), texts(guidance), strict=True)
        for en, text in pairs:
            if text is None:
                continue
            assert SCRIPTS[lang].search(text), (code, lang, text)
            if lang in ("EN", "FR", "ES"):
                assert not NOT_LATIN.search(text), (code, lang, text)
            if lang not in ("EN",) and en and len(en) > 40:
                assert text != en, (code, lang, text)  # not English left in place


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_no_text_carries_direction_marks(client, lang):
    guidance = await all_guidance(client, lang)
    names = (await gql(client, f"{{ services {{ name(lang: {lang}) }} }}"))["data"]["services"]
    everything = [t for g in guidance.values() for t in texts(g) if t]
    everything += [g["officialNotice"] for g in guidance.values() if g["officialNotice"]]
    everything += [s["name"] for s in names]
    for text in everything:
        assert not DIRECTION_MARKS.search(text), (lang, repr(text))


@pytest.mark.parametrize("lang", TRANSLATED_LANGUAGES)
async def test_glossary_terms_are_rendered_the_same_way_everywhere(client, lang):
    chinese = await all_guidance(client, "ZH")
    translated = await all_guidance(client, lang)
    misses = []
    for code in SERVICE_CODES:
        for zh, text in zip(texts(chinese[code]), texts(translated[code]), strict=True):
            for term, (triggers, renderings) in GLOSSARY.items():
                if zh and any(t in zh for t in triggers):
                    if not re.search(renderings[lang], text or "", re.IGNORECASE):
                        misses.append((code, term, zh, text))
    assert not misses, misses


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_service_names_in_every_language(client, lang):
    query = f"{{ services {{ code en: name(lang: EN) name(lang: {lang}) }} }}"
    services = (await gql(client, query))["data"]["services"]
    assert [s["code"] for s in services] == SERVICE_CODES
    names = [s["name"] for s in services]
    assert len(set(names)) == len(names)  # eleven services, eleven names
    for service in services:
        assert SCRIPTS[lang].search(service["name"]), service
        if lang != "EN":
            assert service["name"] != service["en"], service


def test_every_translation_entry_is_used_and_every_version_is_translated():
    """A translation whose source pair no longer exists would be dead weight, and a version
    missing in a language would quietly fall back to English."""
    from persistence.catalogue_data import load_translations

    sources = set()
    english = {(g["service"], g["version"]): g for g in GUIDANCE if g["lang"] == "EN"}
    chinese = {(g["service"], g["version"]): g for g in GUIDANCE if g["lang"] == "ZH"}
    for key, en in english.items():
        for pair in zip(texts_of(en), texts_of(chinese[key]), strict=True):
            if pair[0] is not None:
                sources.add(pair)
    for lang in TRANSLATED_LANGUAGES:
        data = load_translations(lang)
        entries = {(t["en"], t["zh"]) for t in data["texts"]}
        assert entries == sources, lang
        assert len(entries) == len(data["texts"]), lang  # no pair translated twice
        versions = {(g["service"], g["version"]) for g in GUIDANCE if g["lang"] == lang}
        assert versions == set(english), lang
        assert set(data["services"]) == {s["code"] for s in SERVICES}, lang


def texts_of(entry: dict) -> list[str | None]:
    """texts() for a catalogue entry (snake_case keys)."""
    found: list[str | None] = [*entry["requirements"], *entry["steps"], *entry["legal_basis"]]
    for material in entry["materials"]:
        found += [material["name"], material["description"], material["condition"]]
    for fee in entry["fees"]:
        found += [fee["item"], fee["condition"]]
    return found


# ---------------------------------------------------------------- versions and fallbacks


async def test_each_language_has_each_version_of_its_own(client, clock):
    query = " ".join(
        f"{lang.lower()}: guidance(service: RESIDENCE_PERMIT_EXTENSION, lang: {lang}) "
        "{ lang version effectiveFrom steps }"
        for lang in LANGUAGES
    )
    steps: dict[int, dict[str, int]] = {}
    for moment, version in (
        (datetime(2026, 6, 15, 4, tzinfo=UTC), 1),
        (datetime(2026, 8, 3, 4, tzinfo=UTC), 2),
    ):
        clock.pinned = moment
        data = (await gql(client, f"{{ {query} }}"))["data"]
        for lang in LANGUAGES:
            assert data[lang.lower()]["lang"] == lang
            assert data[lang.lower()]["version"] == version, (lang, version)
        steps[version] = {lang: len(data[lang.lower()]["steps"]) for lang in LANGUAGES}
    for lang in LANGUAGES:  # version 2 adds the online pre-check step in every language
        assert steps[2][lang] == steps[1][lang] + 1, lang
    rows = await GuidanceRow.filter(service="RESIDENCE_PERMIT_EXTENSION").values_list(
        "lang", "version"
    )
    assert sorted(rows) == sorted((lang, v) for lang in LANGUAGES for v in (1, 2))


async def test_a_language_added_later_arrives_as_new_versions_leaving_the_others_alone(client, app):
    """A database from before the further languages (production after the upgrade): starting
    adds their versions as rows of their own; the English and Chinese rows stay as they were."""
    before = {
        row.id: (row.lang, row.version, row.content)
        for row in await GuidanceRow.filter(lang__in=["EN", "ZH"])
    }
    await GuidanceRow.filter(lang__in=["KO", "AR"]).delete()
    # Two query texts: public answers are cached (web/response_cache.py), and this test
    # changes the rows behind the API's back.
    query = "{ %s: guidance(service: VISA_REISSUANCE, lang: KO) { lang fallbackFrom } }"
    gone = (await gql(client, query % "gone"))["data"]["gone"]
    assert gone == {"lang": "EN", "fallbackFrom": "KO"}

    await load_reference_data()

    after = {
        row.id: (row.lang, row.version, row.content)
        for row in await GuidanceRow.filter(lang__in=["EN", "ZH"])
    }
    assert after == before
    for lang in ("KO", "AR"):
        versions = await GuidanceRow.filter(lang=lang).values_list("service", "version")
        expected = [(g["service"], g["version"]) for g in GUIDANCE if g["lang"] == lang]
        assert sorted(versions) == sorted(expected)
    back = (await gql(client, query % "back"))["data"]["back"]
    assert back == {"lang": "KO", "fallbackFrom": None}


async def test_an_untranslated_new_edition_is_shown_in_english_marked_as_a_fallback(client, clock):
    """An edition published in English and Chinese before its translations: readers of the
    other languages get it in English with fallbackFrom, never the outdated edition that
    exists in their language."""
    clock.pinned = datetime(2026, 8, 3, 4, tzinfo=UTC)
    added = []
    try:
        for lang, step in (("EN", "Bring the new form."), ("ZH", "携带新表格。")):
            first = await GuidanceRow.get(service="VISA_EXTENSION", lang=lang, version=1)
            content = {**first.content, "steps": [*first.content["steps"], step]}
            added.append(
                await GuidanceRow.create(
                    service="VISA_EXTENSION",
                    lang=lang,
                    version=3,
                    effective_from=date(2026, 8, 1),
                    content=content,
                )
            )
        query = """query($lang: Language) { guidance(service: VISA_EXTENSION, lang: $lang) {
          lang fallbackFrom officialNotice version steps } }"""
        for lang in TRANSLATED_LANGUAGES:
            shown = (await gql(client, query, {"lang": lang}))["data"]["guidance"]
            assert shown["lang"] == "EN" and shown["fallbackFrom"] == lang, shown
            assert shown["version"] == 3 and shown["steps"][-1] == "Bring the new form."
            assert shown["officialNotice"] is None  # the English text is no translation
        by_header = (await gql(client, query, accept_language="ru-RU"))["data"]["guidance"]
        assert (by_header["lang"], by_header["fallbackFrom"]) == ("EN", "RU")
        chinese = (await gql(client, query, {"lang": "ZH"}))["data"]["guidance"]
        assert (chinese["lang"], chinese["fallbackFrom"], chinese["version"]) == ("ZH", None, 3)
        # Before the new edition takes effect, every language has its own version 1.
        clock.pinned = datetime(2026, 7, 20, 4, tzinfo=UTC)
        for lang in TRANSLATED_LANGUAGES:
            shown = (await gql(client, query, {"lang": lang}))["data"]["guidance"]
            assert (shown["lang"], shown["fallbackFrom"], shown["version"]) == (lang, None, 1)
    finally:
        for row in added:
            await row.delete()


async def test_services_stored_before_their_translated_names_get_them_at_start(app):
    """Names in the further languages reach services already in the database; a name that is
    already there (an admin's correction) is kept."""
    visa = await ServiceRow.get(code="VISA_EXTENSION")
    stay = await ServiceRow.get(code="STAY_PERMIT_EXTENSION")
    original_stay_ja = stay.name_ja
    try:
        visa.name_ko = visa.name_ar = None
        await visa.save(update_fields=["name_ko", "name_ar"])
        stay.name_ja = "停留証の延長（修正済み）"
        await stay.save(update_fields=["name_ja"])

        await load_reference_data()

        visa = await ServiceRow.get(code="VISA_EXTENSION")
        assert (visa.name_ko, visa.name_ar) == ("비자 연장", "تمديد التأشيرة")
        stay = await ServiceRow.get(code="STAY_PERMIT_EXTENSION")
        assert stay.name_ja == "停留証の延長（修正済み）"
    finally:
        stay.name_ja = original_stay_ja
        await stay.save(update_fields=["name_ja"])
