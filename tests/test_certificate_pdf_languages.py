"""The printable certificate in each of the eight languages (#16): its labels come from the
message catalogues (context "certificate PDF"), are printed beside the Chinese ones in the
holder's language and read back from the PDF by poppler's pdftotext; Japanese labels are set in
the Japanese face, Arabic ones shaped (contextual forms, the lam-alef ligature) and laid out
right to left; every label's characters are in the fonts of its document, and the QR code still
scans whatever the language.

Needs Debian's poppler-utils and zbar-tools (the Makefile's test tools install them).
"""

from __future__ import annotations

import asyncio
import re
import secrets
import tempfile
import unicodedata
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.harness import PR_CERTIFICATE_FACTS
from domain.languages import LANGUAGES
from persistence.models import Account
from signing import pdf, pdf_fonts
from tests.conftest import gql
from tests.test_certificate_pdf import (
    base_url_of,
    download,
    holder_with_certificate,
    path_of,
    pdf_info,
    printed_page,
    run,
    scanned,
    token_in,
    tool,
)
from tests.test_certificates import jose_verify, jwks_of
from translations import CATALOGUES

HOLDER_LANGUAGES = [code.upper() for code in LANGUAGES]
# The labels printed only on a revoked or expired certificate's banner.
BANNERS = {"revoked", "expired"}


def reading_text(document: bytes) -> str:
    """The PDF's text as pdftotext reads it in reading order (a label wrapped over several
    lines stays together); poppler must find no fault."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "certificate.pdf"
        path.write_bytes(document)
        done = run(tool("pdftotext"), "-enc", "UTF-8", str(path), "-")
    assert done.returncode == 0, done.stderr
    assert "Error" not in done.stderr, done.stderr
    return done.stdout


def letters(text: str) -> str:
    """The letters and digits of `text` in order: what must survive printing and reading back
    whatever the line breaks, the spacing, and the direction marks and mirrored brackets
    pdftotext puts around a left-to-right run in Arabic."""
    return "".join(
        c for c in unicodedata.normalize("NFC", text) if unicodedata.category(c)[0] in "LN"
    )


def as_read_back(label: str, language: str, ligatures: frozenset[str] = frozenset()) -> str:
    """What pdftotext gives back for a printed label. In Arabic, a ligature (one glyph for two
    letters: lam + alef, mandatory in Arabic type, and lam + alef maksura) comes back with its
    two letters swapped: poppler reverses a right-to-left run glyph by glyph and keeps the text
    of a glyph as it is. Every other letter comes back in its logical order. `ligatures`: the
    texts of the document's ligature glyphs (arabic_glyph_texts)."""
    if language == "AR":
        for ligature in ligatures | {"لا", "لأ", "لإ", "لآ"}:
            label = label.replace(ligature, ligature[::-1])
    return letters(label)


def missing_labels(
    document: bytes, language: str, links: dict[str, str], absent: frozenset[str] = BANNERS
) -> list[str]:
    """The labels of `language` not read back from the document, but for those `absent` from
    it by design (the banners of a valid certificate; "superseded" without such a passport)."""
    read = letters(reading_text(document))
    expected = pdf.labels(language, **links)
    ligatures = frozenset()
    if language == "AR":
        ligatures = frozenset(text for text in arabic_glyph_texts(document) if len(text) > 1)
    return [
        key
        for key, label in expected.items()
        if key not in absent and as_read_back(label, language, ligatures) not in read
    ]


def printable(
    language: str, status: str | None = None, not_listed: int = 0
) -> pdf.PrintableCertificate:
    """A certificate of the demo permanent resident, printed for a holder reading `language`;
    `not_listed`: earlier passports it says it leaves out."""
    home = timezone(timedelta(hours=8))
    now = datetime.now(UTC)
    base = "https://services.example.test"
    return pdf.PrintableCertificate(
        claims={
            "iss": base,
            "jti": secrets.token_urlsafe(12),
            **PR_CERTIFICATE_FACTS,
            "earlierPassportsNotListed": not_listed,
        },
        key_id="doc-0123456789abcdef",
        issued_at=now.astimezone(home),
        expires_at=(now + timedelta(days=90)).astimezone(home),
        qr_payload=f"{base}/verify#token={secrets.token_urlsafe(600)}",
        verify_url=f"{base}/verify",
        jwks_url=f"{base}/.well-known/jwks.json",
        language=language,
        status=status,
    )


def arabic_glyph_texts(document: bytes) -> list[str]:
    """The text of each glyph of the embedded Noto Sans Arabic (regular), from its ToUnicode
    map: what fpdf2 wrote for the glyphs HarfBuzz chose."""
    fonts = re.findall(rb"/BaseFont /\w+\+NotoSansArabic\n.*?/ToUnicode (\d+) 0 R", document, re.S)
    assert fonts, "no Arabic font in the document"
    found = re.search(rb"\n" + fonts[0] + rb" 0 obj\s*<<(.*?)>>\s*stream\r?\n", document, re.S)
    assert found is not None
    length = int(re.search(rb"/Length (\d+)", found.group(1)).group(1))  # type: ignore[union-attr]
    cmap = document[found.end() : found.end() + length].decode("ascii")
    return [
        "".join(chr(int(unit, 16)) for unit in re.findall("[0-9A-F]{4}", text))
        for text in re.findall(r"<[0-9A-F]{4}> <([0-9A-F]+)>", cmap)
    ]


# ---------------------------------------------------------------------- the labels


@pytest.mark.parametrize("language", HOLDER_LANGUAGES)
def test_every_label_comes_from_the_catalogue_and_its_fonts_draw_it(language: str) -> None:
    links = {"verify_url": "https://x.test/verify", "jwks_url": "https://x.test/jwks.json"}
    printed = pdf.labels(language, **links)
    english = pdf.labels("EN", **links)
    assert set(printed) == set(pdf.LABELS)
    catalogue = CATALOGUES[language.lower()]
    for key, message in pdf.LABELS.items():
        assert message.context == "certificate PDF", key
        assert printed[key].strip(), (language, key)
        if language != "EN":
            # Translated, not English passed through (pgettext answers the id when missing).
            assert catalogue.pgettext("certificate PDF", message.id) != message.id, (language, key)
            assert printed[key] != english[key], (language, key)
        lacking = {c for c in printed[key] if not pdf_fonts.covers(c, language)}
        assert not lacking, f"{language}: run python -m signing.pdf_fonts for {sorted(lacking)}"
    assert "https://x.test/verify" in printed["verify_text"]
    assert "https://x.test/jwks.json" in printed["verify_text"]


def test_the_embedded_fonts_are_small_subsets_under_the_ofl() -> None:
    sizes = {path.name: path.stat().st_size for path in pdf_fonts.FILES.values()}
    assert all(size < 250_000 for size in sizes.values()), sizes
    assert sum(sizes.values()) < 1_000_000, sizes
    licence = (pdf_fonts.FONT_DIR / "OFL.txt").read_text()
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence


def test_japanese_labels_are_set_in_the_japanese_face_and_korean_in_the_chinese_one() -> None:
    """Han characters shared by Chinese and Japanese are drawn differently (関 / 关 aside,
    about half of the Japanese labels' kanji): a Japanese document embeds the Japanese face,
    other documents do not; Hangul is drawn alike in every face, so Korean needs none."""

    def fonts(language: str) -> str:
        return pdf_info(pdf.render(printable(language)))["fonts"]

    japanese, korean, english = fonts("JA"), fonts("KO"), fonts("EN")
    assert "NotoSansCJKJP" in japanese and "NotoSansCJKSC" in japanese
    assert "NotoSansCJKJP" not in korean and "NotoSansCJKJP" not in english
    assert "NotoSansArabic" not in japanese + korean + english
    for listing in (japanese, korean, english):
        lines = [line for line in listing.splitlines()[2:] if line.strip()]
        assert lines and all(" yes " in line for line in lines), listing


def test_arabic_is_shaped_and_read_back_in_logical_order() -> None:
    document = pdf.render(printable("AR", not_listed=2))
    assert "NotoSansArabic" in pdf_info(document)["fonts"]
    glyphs = arabic_glyph_texts(document)
    # Shaped: a letter is drawn with several glyphs (its initial, medial, final forms), and
    # lam + alef with the one ligature glyph; unshaped text would use one glyph per letter.
    per_letter = Counter(text for text in glyphs if len(text) == 1)
    assert max(per_letter.values()) >= 3, per_letter
    assert {"لا", "لأ"} & set(glyphs), glyphs
    # Laid out right to left by the bidirectional algorithm and read back in logical order:
    # unshaped, unreordered text would come back reversed.
    links = {"verify_url": "https://services.example.test/verify"}
    links["jwks_url"] = "https://services.example.test/.well-known/jwks.json"
    assert missing_labels(document, "AR", links) == []
    read = letters(reading_text(document))
    assert as_read_back("شهادة معلومات جواز السفر", "AR") in read
    assert letters("شهادة معلومات جواز السفر")[::-1] not in read


@pytest.mark.parametrize("language", HOLDER_LANGUAGES)
def test_every_label_is_read_back_from_the_printed_document(language: str) -> None:
    """The demo permanent resident's certificate (a current and a superseded passport, and two
    earlier ones it leaves out) in each language: every label of both languages is printed on
    one page and read back."""
    document = pdf.render(printable(language, not_listed=2))
    links = {"verify_url": "https://services.example.test/verify"}
    links["jwks_url"] = "https://services.example.test/.well-known/jwks.json"
    assert missing_labels(document, "ZH", links) == []
    assert missing_labels(document, "EN" if language == "ZH" else language, links) == []
    assert pdf_info(document)["Pages"] == "1"


@pytest.mark.parametrize(
    ("language", "status"),
    [(code, ("revoked", "expired")[i % 2]) for i, code in enumerate(HOLDER_LANGUAGES)],
)
def test_the_banner_of_a_revoked_or_expired_certificate_is_in_both_languages(
    language: str, status: str
) -> None:
    read = letters(reading_text(pdf.render(printable(language, status))))
    assert as_read_back(pdf.labels("ZH")[status], "ZH") in read
    assert as_read_back(pdf.labels(language)[status], language) in read


@pytest.mark.parametrize("language", HOLDER_LANGUAGES)
def test_every_column_label_fits_its_column(language: str) -> None:
    """The passports table's columns are 24 to 52 mm wide: a long translation is set smaller
    (down to 60 % of 7.5 pt) rather than over its neighbour, and every one fits so."""
    page = pdf._Page(printable(language))
    printed = pdf.labels(language)
    for key, width in pdf.PASSPORT_COLUMNS:
        page.font(7.5)
        size = page._fitting([(printed[key], language)], width)
        page._set_font(printed[key], language, size)
        needed = page.pdf.get_string_width(printed[key]) + 2 * page.pdf.c_margin
        assert needed <= width + 1e-6, (language, key, printed[key])
    # A text too long even at 60 % is not silently squeezed further: the floor holds.
    page.font(7.5)
    assert page._fitting([("Привязан к удостоверению личности иностранца", "RU")], 24.0) == 4.5


# ------------------------------------------------------------------ through HTTP


@pytest.mark.parametrize("language", HOLDER_LANGUAGES)
async def test_the_holders_language_is_printed_beside_chinese_and_the_code_scans(
    client: httpx.AsyncClient, app: Any, language: str
) -> None:
    """A holder whose account reads `language` gets its labels beside the Chinese ones (a
    Chinese reader gets English beside them), every one read back from the PDF; printed at
    150 dpi, the QR code scans and verifies with the published keys."""
    _, _, holder, certificate = await holder_with_certificate(client)
    base = base_url_of(app)
    body = await gql(client, "{ viewer { account { email } } }", token=holder)
    email = body["data"]["viewer"]["account"]["email"]
    await Account.filter(email=email).update(language=language)

    response = await download(client, path_of(certificate["pdfUrl"], base), holder)
    assert response.status_code == 200, response.text
    document = response.content
    links = {"verify_url": f"{base}/verify", "jwks_url": f"{base}/.well-known/jwks.json"}
    beside = "EN" if language == "ZH" else language
    # The holder has one passport, the current one: none superseded, none left out.
    absent = BANNERS | {"superseded", "earlier_not_listed"}
    assert await asyncio.to_thread(missing_labels, document, "ZH", links, absent) == []
    assert await asyncio.to_thread(missing_labels, document, beside, links, absent) == []
    if beside != "EN":
        read = letters(await asyncio.to_thread(reading_text, document))
        assert letters(pdf.labels("EN")["title"]) not in read, "no English beside Chinese"
    assert pdf_info(document)["Pages"] == "1"

    page = await asyncio.to_thread(printed_page, document)
    payloads = await asyncio.to_thread(scanned, page)
    assert len(payloads) == 1, payloads
    token = token_in(payloads[0], base)
    assert token == certificate["token"]
    jose_verify(token, await jwks_of(client))


# A holder's name in a script the shipped subsets do not draw (they hold the labels' letters,
# Latin, Greek and Cyrillic): its letters come from the system's Noto fonts (Debian's
# fonts-noto-cjk and fonts-noto-core, which the Makefile's test tools install), shaped where
# the script needs it, never a "?".
NAMES = {
    "chinese": ("张", "伟"),
    "korean": ("김", "민수"),
    "japanese": ("山田", "たろう"),
    "thai": ("สมชาย", "ใจดี"),
    "devanagari": ("शर्मा", "राहुल सिंह"),
    "hebrew": ("כהן", "דוד"),
    "arabic": ("عبد الله", "محمد"),
}


@pytest.mark.parametrize("language", ["EN", "ZH", "JA"])
@pytest.mark.parametrize(("surname", "given"), NAMES.values(), ids=NAMES.keys())
def test_a_name_in_any_script_is_printed_whole(surname: str, given: str, language: str) -> None:
    certificate = printable(language)
    claims = {**certificate.claims, "name": {"surname": surname, "givenNames": given}}
    document = pdf.render(pdf.PrintableCertificate(**{**certificate.__dict__, "claims": claims}))
    text = reading_text(document)
    wanted = Counter(letters(surname.upper() + given))
    assert not wanted - Counter(letters(text)), (wanted - Counter(letters(text)), text)
    name_lines = [line for line in text.splitlines() if set(line) & set(surname + given)]
    assert name_lines and not any("?" in line for line in name_lines), name_lines


def test_a_damaged_or_missing_system_font_prints_question_marks_and_nothing_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without the system fonts, or with one that cannot be read, a name's letters the
    shipped subsets lack print as "?" and every other certificate still prints."""
    (tmp_path / "NotoSansThai-Regular.ttf").write_bytes(b"not a font")
    monkeypatch.setattr(pdf_fonts, "SYSTEM_SCRIPTS", tmp_path)
    monkeypatch.setattr(pdf_fonts, "SYSTEM_CJK", (str(tmp_path / "absent.ttc"), 2))
    pdf_fonts.system_fonts.cache_clear()
    try:
        certificate = printable("EN")
        claims = {**certificate.claims, "name": {"surname": "สมชาย", "givenNames": "Anna"}}
        document = pdf.render(
            pdf.PrintableCertificate(**{**certificate.__dict__, "claims": claims})
        )
        text = reading_text(document)
        assert "?????, Anna" in " ".join(text.split()), text
    finally:
        pdf_fonts.system_fonts.cache_clear()


def test_a_system_font_damaged_past_its_character_map_still_prints(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A font whose character map reads but whose outlines do not: the printout falls back to
    the shipped fonts alone (those letters as "?") instead of failing."""
    from fontTools.ttLib import TTFont

    source = pdf_fonts.SYSTEM_SCRIPTS / "NotoSansThai-Regular.ttf"
    data = bytearray(source.read_bytes())
    table = TTFont(str(source), lazy=True).reader.tables["glyf"]
    data[table.offset : table.offset + table.length] = b"\xff" * table.length
    (tmp_path / "NotoSansThai-Regular.ttf").write_bytes(bytes(data))
    monkeypatch.setattr(pdf_fonts, "SYSTEM_SCRIPTS", tmp_path)
    monkeypatch.setattr(pdf_fonts, "SYSTEM_CJK", (str(tmp_path / "absent.ttc"), 2))
    pdf_fonts.system_fonts.cache_clear()
    try:
        assert pdf_fonts.system_fonts(), "the damaged font's character map reads"
        certificate = printable("EN")
        claims = {**certificate.claims, "name": {"surname": "สมชาย", "givenNames": "Anna"}}
        document = pdf.render(
            pdf.PrintableCertificate(**{**certificate.__dict__, "claims": claims})
        )
        assert "?????, Anna" in " ".join(reading_text(document).split())
    finally:
        pdf_fonts.system_fonts.cache_clear()
