"""The fonts the printable certificate embeds, and how their subsets are made.

Two families, both under the SIL Open Font License 1.1 (signing/fonts/OFL.txt), shipped in
the repository as subsets so that no machine needs a system font to print Chinese:

- Noto Sans (Latin, Greek, Cyrillic, their accents): names, numbers and the Western labels;
- Noto Sans CJK SC: the Chinese (and any other CJK) characters of the labels, plus CJK
  punctuation; the fallback for every character Noto Sans lacks.

`python -m signing.pdf_fonts` makes the subsets again from Debian's fonts-noto-core and
fonts-noto-cjk, with every character signing/pdf.py's LABELS use: run it after adding or
changing a translation (tests/test_certificate_pdf.py fails while a label has a character
no embedded font has).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable
from fpdf import FPDF

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FAMILY = "NotoSans"
CJK_FAMILY = "NotoSansSC"
FILES = {
    (FAMILY, ""): FONT_DIR / "NotoSans-Regular.subset.ttf",
    (FAMILY, "B"): FONT_DIR / "NotoSans-Bold.subset.ttf",
    (CJK_FAMILY, ""): FONT_DIR / "NotoSansCJKsc-Regular.subset.ttf",
    (CJK_FAMILY, "B"): FONT_DIR / "NotoSansCJKsc-Bold.subset.ttf",
}

# Where the subsets come from (Debian packages fonts-noto-core and fonts-noto-cjk); the CJK
# collection's third face is Simplified Chinese.
SOURCES = {
    (FAMILY, ""): ("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf", 0),
    (FAMILY, "B"): ("/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf", 0),
    (CJK_FAMILY, ""): ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    (CJK_FAMILY, "B"): ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
}

# What names and numbers may hold, whatever the labels: Latin with every accent, Greek,
# Cyrillic, combining marks, the usual punctuation.
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


def register(pdf: FPDF) -> None:
    """Make both families known to the document; each is the other's fallback."""
    for (family, style), path in FILES.items():
        pdf.add_font(family, style, str(path))
    pdf.set_fallback_fonts([CJK_FAMILY, FAMILY])


@functools.lru_cache(maxsize=1)
def _covered() -> frozenset[int]:
    points: set[int] = set()
    for (_, style), path in FILES.items():
        if style == "":
            points.update(TTFont(str(path), lazy=True).getBestCmap())
    return frozenset(points)


@functools.lru_cache(maxsize=1)
def _western() -> frozenset[int]:
    return frozenset(TTFont(str(FILES[(FAMILY, "")]), lazy=True).getBestCmap())


def family_for(char: str) -> str:
    """The family a text starting with `char` is set in: Noto Sans unless it lacks `char`."""
    return FAMILY if ord(char) in _western() else CJK_FAMILY


def covers(char: str) -> bool:
    """Whether an embedded font (regular weight; bold has the same characters) draws `char`."""
    return ord(char) in _covered() or char in "\n\t"


def _label_characters() -> set[int]:
    from signing.pdf import LABELS

    return {ord(c) for texts in LABELS.values() for text in texts.values() for c in text}


def _cmap(path: str, number: int) -> set[int]:
    return set(TTFont(path, fontNumber=number, lazy=True).getBestCmap())


def build() -> list[str]:
    """Write the four subsets; the label characters no source font has (to report)."""
    labels = _label_characters()
    western = {p for low, high in WESTERN_RANGES for p in range(low, high + 1)}
    western_source = _cmap(*SOURCES[(FAMILY, "")])
    cjk_source = _cmap(*SOURCES[(CJK_FAMILY, "")])
    western_wanted = (western | labels) & western_source
    cjk_wanted = (
        {p for low, high in CJK_RANGES for p in range(low, high + 1)} | (labels - western_wanted)
    ) & cjk_source
    # The CJK font also draws the ASCII between Chinese words, so spacing stays its own.
    cjk_wanted |= set(range(0x20, 0x7F)) & cjk_source
    missing = sorted(chr(p) for p in labels - western_source - cjk_source)
    FONT_DIR.mkdir(exist_ok=True)
    for key, (source, number) in SOURCES.items():
        options = subset.Options()
        options.layout_features = ["*"]
        options.name_IDs = ["*"]
        options.name_languages = ["*"]
        options.notdef_outline = True
        options.glyph_names = False
        options.hinting = False  # print and screen rendering do without; halves the size
        font = TTFont(source, fontNumber=number)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=western_wanted if key[0] == FAMILY else cjk_wanted)
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
