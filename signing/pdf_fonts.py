"""The fonts the printable certificate embeds, and how their subsets are made.

Four families, all under the SIL Open Font License 1.1 (signing/fonts/OFL.txt), shipped in
the repository as subsets so that no machine needs a system font to print the labels:

- Noto Sans (Latin, Greek, Cyrillic, their accents): names, numbers and the Western labels
  (EN, FR, ES, RU);
- Noto Sans CJK SC: the Chinese and Korean labels (Hangul is drawn alike in every regional
  face of Noto Sans CJK), plus CJK punctuation; the fallback for CJK characters elsewhere;
- Noto Sans CJK JP: the Japanese labels, whose kanji a Japanese reader expects in Japanese
  forms (关 and 関 aside, about half of them are drawn otherwise in the Chinese face);
- Noto Sans Arabic: the Arabic labels, shaped (joined letter forms) by HarfBuzz through
  fpdf2's text shaping and laid out right to left.

`python -m signing.pdf_fonts` makes the subsets again from Debian's fonts-noto-core and
fonts-noto-cjk, with every character the labels use in every language (the message
catalogues' translations of signing/pdf.py's LABELS): run it after changing a translation
(tests/test_certificate_pdf_languages.py fails while a label has a character its font lacks).
"""

from __future__ import annotations

import functools
import io
import logging
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

from fontTools import subset
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable
from fpdf import FPDF

log = logging.getLogger(__name__)

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FAMILY = "NotoSans"
CJK_FAMILY = "NotoSansSC"
JAPANESE_FAMILY = "NotoSansJP"
ARABIC_FAMILY = "NotoSansArabic"
FILES = {
    (FAMILY, ""): FONT_DIR / "NotoSans-Regular.subset.ttf",
    (FAMILY, "B"): FONT_DIR / "NotoSans-Bold.subset.ttf",
    (CJK_FAMILY, ""): FONT_DIR / "NotoSansCJKsc-Regular.subset.ttf",
    (CJK_FAMILY, "B"): FONT_DIR / "NotoSansCJKsc-Bold.subset.ttf",
    (JAPANESE_FAMILY, ""): FONT_DIR / "NotoSansCJKjp-Regular.subset.ttf",
    (JAPANESE_FAMILY, "B"): FONT_DIR / "NotoSansCJKjp-Bold.subset.ttf",
    (ARABIC_FAMILY, ""): FONT_DIR / "NotoSansArabic-Regular.subset.ttf",
    (ARABIC_FAMILY, "B"): FONT_DIR / "NotoSansArabic-Bold.subset.ttf",
}
# Where a character none of a text's own font has is looked for, in this order: Latin in an
# Arabic text from Noto Sans, a Chinese name's characters from the Chinese face before the
# Japanese one.
FALLBACKS = [FAMILY, ARABIC_FAMILY, CJK_FAMILY, JAPANESE_FAMILY]

# Where the subsets come from (Debian packages fonts-noto-core and fonts-noto-cjk); in the CJK
# collections the first face is Japanese, the third Simplified Chinese.
SOURCES = {
    (FAMILY, ""): ("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf", 0),
    (FAMILY, "B"): ("/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf", 0),
    (CJK_FAMILY, ""): ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    (CJK_FAMILY, "B"): ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
    (JAPANESE_FAMILY, ""): ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 0),
    (JAPANESE_FAMILY, "B"): ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 0),
    (ARABIC_FAMILY, ""): ("/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf", 0),
    (ARABIC_FAMILY, "B"): ("/usr/share/fonts/truetype/noto/NotoSansArabic-Bold.ttf", 0),
}

WESTERN_RANGES = (
    (0x0020, 0x007E),
    (0x00A0, 0x024F),
    (0x0250, 0x02FF),
    (0x0300, 0x036F),
    (0x0370, 0x03FF),
    (0x0400, 0x052F),
    (0x1E00, 0x1EFF),
    (0x2000, 0x206F),
    (0x20A0, 0x20BF),
    (0x2100, 0x214F),
)
CJK_RANGES = ((0x3000, 0x303F), (0xFF01, 0xFF5E))
# The Arabic letters and the Arabic comma, semicolon and question mark: a corrected label
# usually needs no new subset (the labels' own characters are added whatever they are).
ARABIC_RANGES = ((0x060C, 0x060C), (0x061B, 0x061B), (0x061F, 0x064A))


# The families a document needs besides Noto Sans and Noto Sans CJK SC, by its other language.
FAMILIES_FOR = {"JA": JAPANESE_FAMILY, "AR": ARABIC_FAMILY}


def families(language: str | None = None) -> frozenset[str]:
    """The families of a document with labels in Chinese and `language` (all without one):
    each family embedded costs time to load and subset, so Japanese and Arabic fonts only
    where their labels are printed."""
    if language is None:
        return frozenset(family for family, _ in FILES)
    return frozenset(
        {FAMILY, CJK_FAMILY} | ({FAMILIES_FOR[language]} if language in FAMILIES_FOR else set())
    )


def register(
    pdf: FPDF, language: str | None = None, data: str = "", folder: Path | None = None
) -> dict[int, str]:
    """Make the families of a document with labels in Chinese and `language` known to it, each
    with the others as its fallbacks; and, for the characters of `data` (a holder's name) that
    none of them draws, the system fonts that do (see `system_fonts`; the Chinese face's
    glyphs written as a small font into `folder`, which must outlive the document's output).
    Returns the family of each such character, by code point."""
    used = families(language)
    for (family, style), path in FILES.items():
        if family in used:
            pdf.add_font(family, style, str(path))
    covered = _covered(used)
    missing = {ord(c) for c in data if ord(c) not in covered and not c.isspace()}
    extra: dict[int, str] = {}
    for index, (path, number, cmap) in enumerate(system_fonts()):
        here = sorted(p for p in missing if p in cmap)
        if not here:
            continue
        # Regular only: a holder's name is printed in the regular weight.
        if (path, number) == SYSTEM_CJK and folder is not None:
            # The collection's Chinese face takes about a second to read and subset in each
            # document; its glyphs for these characters, drawn from the face read once per
            # process, make a font of a few kilobytes instead (no shaping needed).
            family = SYSTEM_CJK_FAMILY
            small = folder / "names-cjk.ttf"
            small.write_bytes(_cjk_glyphs_font(tuple(here)))
            pdf.add_font(family, "", str(small))
        else:
            family = f"{SYSTEM_FAMILY}{index}"
            pdf.add_font(family, "", path, collection_font_number=number, unicode_range=here)
        extra.update(dict.fromkeys(here, family))
        missing.difference_update(here)
    ordered = [family for family in FALLBACKS if family in used]
    pdf.set_fallback_fonts(ordered + sorted(set(extra.values())))
    return extra


# Where a holder's name finds the letters the shipped subsets lack: Debian's fonts-noto-cjk
# (the Chinese face: Han, Hangul, kana) and fonts-noto-core (Noto Sans of each other script:
# Thai, Devanagari, Hebrew, ...), when installed. Only the letters a document prints are
# embedded. Without them such a letter prints as "?"; the QR code's signed data is whole.
SYSTEM_FAMILY = "NotoSystem"
SYSTEM_CJK_FAMILY = "NotoSystemCJK"
SYSTEM_CJK = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2)
SYSTEM_SCRIPTS = Path("/usr/share/fonts/truetype/noto")


@functools.lru_cache(maxsize=1)
def _cjk_face() -> TTFont:
    """The system's Noto Sans CJK SC, read once per process (its outlines as they are drawn)."""
    return TTFont(SYSTEM_CJK[0], fontNumber=SYSTEM_CJK[1], lazy=True)


_CJK_LOCK = threading.Lock()


def _cjk_glyphs_font(code_points: tuple[int, ...]) -> bytes:
    """A TrueType font of the system Chinese face's glyphs for `code_points`: outlines redrawn
    as quadratic curves (within 1/1000 em), the face's advance widths and vertical metrics."""
    with _CJK_LOCK:  # one reader of the shared face at a time (renders run in threads)
        face = _cjk_face()
        cmap = face.getBestCmap()
        glyph_set = face.getGlyphSet()
        metrics = face["hmtx"]
        order = list(dict.fromkeys([".notdef", *(cmap[p] for p in code_points)]))
        glyphs = {}
        for name in order:
            pen = TTGlyphPen(None)
            glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
            glyphs[name] = pen.glyph()
        widths = {name: metrics[name][0] for name in order}
        hhea, os2 = face["hhea"], face["OS/2"]
        units = face["head"].unitsPerEm
    builder = FontBuilder(units, isTTF=True)
    builder.setupGlyphOrder(order)
    builder.setupCharacterMap({p: cmap[p] for p in code_points})
    builder.setupGlyf(glyphs)
    builder.setupHorizontalMetrics(
        {name: (widths[name], getattr(glyphs[name], "xMin", 0)) for name in order}
    )
    builder.setupHorizontalHeader(ascent=hhea.ascent, descent=hhea.descent)
    builder.setupNameTable({"familyName": "Noto Sans CJK SC", "styleName": "Regular"})
    builder.setupOS2(
        sTypoAscender=os2.sTypoAscender,
        sTypoDescender=os2.sTypoDescender,
        usWinAscent=os2.usWinAscent,
        usWinDescent=os2.usWinDescent,
    )
    builder.setupPost()
    out = io.BytesIO()
    builder.save(out)
    return out.getvalue()


def needs_shaping(extra: Mapping[int, str]) -> bool:
    """Whether letters a system font draws (`extra`, from `register`) need HarfBuzz: joined or
    reordered ones (Hebrew and Arabic right to left, Devanagari's conjuncts, ...): all but
    those of the Chinese face (Han, Hangul, kana), which are set one by one."""
    return any(family != SYSTEM_CJK_FAMILY for family in extra.values())


@functools.lru_cache(maxsize=1)
def system_fonts() -> tuple[tuple[str, int, frozenset[int]], ...]:
    """The installed system fonts a name's letters are looked for in, in order (the Chinese
    face first, then Noto Sans's script fonts by name), each with the characters it draws."""
    candidates = [SYSTEM_CJK]
    if SYSTEM_SCRIPTS.is_dir():
        candidates += [(str(p), 0) for p in sorted(SYSTEM_SCRIPTS.glob("NotoSans*-Regular.ttf"))]
    found = []
    for path, number in candidates:
        if not Path(path).is_file():
            continue
        try:
            cmap = TTFont(path, fontNumber=number, lazy=True).getBestCmap()
        except Exception:  # unreadable or damaged: its letters print as "?", nothing fails
            log.warning("system font %s cannot be read: skipped", path, exc_info=True)
            continue
        found.append((path, number, frozenset(cmap or {})))
    return tuple(found)


def _cmap_of(family: str) -> frozenset[int]:
    return frozenset(TTFont(str(FILES[(family, "")]), lazy=True).getBestCmap())


@functools.lru_cache(maxsize=8)
def _covered(used: frozenset[str]) -> frozenset[int]:
    return frozenset().union(*(_cmap_of(family) for family in used))


@functools.lru_cache(maxsize=1)
def _western() -> frozenset[int]:
    return _cmap_of(FAMILY)


@functools.lru_cache(maxsize=1)
def _arabic() -> frozenset[int]:
    return frozenset(p for low, high in ARABIC_RANGES for p in range(low, high + 1))


def family_for(
    char: str, language: str | None = None, extra: Mapping[int, str] | None = None
) -> str:
    """The family a text starting with `char` is set in: Japanese labels (`language` "JA") in
    the Japanese face, a character only a system font draws (`extra`, from `register`) in it,
    Arabic letters in Noto Sans Arabic, else Noto Sans unless it lacks `char`, then Noto Sans
    CJK SC."""
    if language == "JA":
        return JAPANESE_FAMILY
    if extra and ord(char) in extra:
        return extra[ord(char)]
    if ord(char) in _arabic():
        return ARABIC_FAMILY
    return FAMILY if ord(char) in _western() else CJK_FAMILY


def covers(char: str, language: str | None = None) -> bool:
    """Whether a font of a document with labels in `language` (any embedded font without one;
    regular weight, bold has the same characters) draws `char`."""
    return ord(char) in _covered(families(language)) or char in "\n\t"


def label_characters() -> dict[str, set[int]]:
    """The characters of every label, per language (EN, ZH, ...)."""
    from domain.languages import LANGUAGES
    from signing.pdf import labels

    links = {"verify_url": "https://example.invalid/verify", "jwks_url": "https://example.invalid"}
    return {
        language.upper(): {
            ord(c) for text in labels(language.upper(), **links).values() for c in text
        }
        for language in LANGUAGES
    }


def _cmap(path: str, number: int) -> set[int]:
    return set(TTFont(path, fontNumber=number, lazy=True).getBestCmap())


def build() -> list[str]:
    """Write the subsets; the label characters no source font has (to report)."""
    per_language = label_characters()
    labels = set().union(*per_language.values())
    japanese = per_language["JA"]
    others = set().union(*(chars for lang, chars in per_language.items() if lang != "JA"))
    western_source = _cmap(*SOURCES[(FAMILY, "")])
    arabic_source = _cmap(*SOURCES[(ARABIC_FAMILY, "")])
    cjk_source = _cmap(*SOURCES[(CJK_FAMILY, "")])
    western = {p for low, high in WESTERN_RANGES for p in range(low, high + 1)}
    arabic = _arabic() | per_language["AR"]
    cjk = {p for low, high in CJK_RANGES for p in range(low, high + 1)}
    ascii_ = set(range(0x20, 0x7F))
    wanted = {
        FAMILY: (western | labels) & western_source,
        # Arabic texts take their digits and punctuation from the Arabic font when it has them.
        ARABIC_FAMILY: (arabic | (ascii_ & arabic_source) | {0xA0}) & arabic_source,
        # The CJK faces also draw the ASCII between their words, so spacing stays their own.
        CJK_FAMILY: (cjk | ascii_ | (others - western_source - arabic_source)) & cjk_source,
        JAPANESE_FAMILY: (cjk | ascii_ | japanese) & cjk_source,
    }
    missing = sorted(chr(p) for p in labels - western_source - arabic_source - cjk_source)
    FONT_DIR.mkdir(exist_ok=True)
    for key, (source, number) in SOURCES.items():
        options = subset.Options()
        if key[0] not in (CJK_FAMILY, JAPANESE_FAMILY):
            options.layout_features = ["*"]
        # else fontTools' default features, those HarfBuzz applies to horizontal text: the CJK
        # faces' alternates (traditional, JIS78, ruby, vertical...) are most of their glyphs.
        options.name_IDs = ["*"]
        options.name_languages = ["*"]
        options.notdef_outline = True
        options.glyph_names = False
        options.hinting = False  # print and screen rendering do without; halves the size
        # The source's timestamp kept: the same labels make the same bytes.
        font = TTFont(source, fontNumber=number, recalcTimestamp=False)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=wanted[key[0]])
        subsetter.subset(font)
        if "CFF " in font:
            _to_truetype(font)
        font.save(str(FILES[key]))
    return missing


def _to_truetype(font: TTFont) -> None:
    """Redraw CFF (cubic) outlines as TrueType (quadratic) ones, within 1/1000 em: fpdf2
    subsets TrueType outlines for each PDF in half the time it needs for CFF."""
    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    font["glyf"] = glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    glyf.compile(font)
    metrics = font["hmtx"]
    for name, glyph in glyf.glyphs.items():
        if hasattr(glyph, "xMin"):
            metrics[name] = (metrics[name][0], glyph.xMin)
    font["maxp"] = maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for field in (
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, field, 0)
    maxp.maxZones = 1
    font["head"].glyphDataFormat = 0
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = order
    font.sfntVersion = "\x00\x01\x00\x00"


def main() -> int:
    missing = build()
    for key, path in FILES.items():
        print(f"{key[0]} {key[1] or 'Regular'}: {path.name}, {path.stat().st_size:,} bytes")
    if missing:
        print("no source font has: " + " ".join(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
