"""The printable passport-information certificate: an A4 PDF in Chinese and the holder's
language, with the signed facts, the key that signed them and a QR code that scans on paper.

Pure rendering: it takes what was signed (the token's claims) and the links to print, and
returns the PDF's bytes. Every printed word is a message of LABELS, translated in the message
catalogues like every other text (`make messages`); the embedded fonts are subsets made by
signing/pdf_fonts.py from what the labels use in every language (run it again after changing a
translation).
"""

from __future__ import annotations

import logging
import tempfile
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pycountry
from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos

from domain.languages import LANGUAGES
from domain.messages import Message, N_ctx
from signing import pdf_fonts
from signing.qr import qr_modules
from signing.verification import EARLIER_NOT_LISTED
from translations import render as translate

log = logging.getLogger(__name__)

# Printed on a 1,200 dpi office printer and read by a phone camera, a module of at least
# 0.4 mm scans reliably; a full certificate's QR (133 modules with its quiet zone) is 60 mm.
QR_SIZE_MM = 60.0
MARGIN_MM = 16.0

# Every printed word, marked for the message catalogues (translations/, docs/translations.md)
# under the context "certificate PDF", so that a column's "Number" is translated as the
# passport's number and nothing else. Each language's texts are the catalogue's.
LABELS: dict[str, Message] = {
    "title": N_ctx("certificate PDF", "Passport Information Certificate"),
    "subtitle": N_ctx(
        "certificate PDF",
        "Signed electronically by the issuing authority: binds the holder's passports to their "
        "Foreign Permanent Resident ID Card.",
    ),
    "section_holder": N_ctx("certificate PDF", "Holder"),
    # Translators: the value is printed "SURNAME, Given names".
    "name": N_ctx("certificate PDF", "Name"),
    "birth_date": N_ctx("certificate PDF", "Date of birth"),
    "nationality": N_ctx("certificate PDF", "Nationality"),
    "pr_card_number": N_ctx("certificate PDF", "Permanent Resident ID Card number"),
    "pr_card_validity": N_ctx("certificate PDF", "Card validity"),
    "section_passports": N_ctx("certificate PDF", "Passports"),
    # Translators: the passports table's columns, about 35, 20, 25, 45 and 30 mm wide.
    "passport_number": N_ctx("certificate PDF", "Number"),
    "passport_country": N_ctx("certificate PDF", "Issuing country"),
    "passport_valid_until": N_ctx("certificate PDF", "Valid until"),
    "passport_bound": N_ctx("certificate PDF", "Bound to the card"),
    "passport_status": N_ctx("certificate PDF", "Status"),
    # Translators: a passport's status: the one in use, or one replaced by a newer passport.
    "current": N_ctx("certificate PDF", "Current"),
    "superseded": N_ctx("certificate PDF", "Superseded"),
    # Translators: under the passports table, before a count: superseded passports bound to
    # the card before the ones listed, which the certificate leaves out.
    "earlier_not_listed": N_ctx("certificate PDF", "Earlier passports not listed"),
    # Translators: printed after a date ("2024-03-01 since"): bound from then until now.
    "since": N_ctx("certificate PDF", "since"),
    "section_certificate": N_ctx("certificate PDF", "This certificate"),
    "issued_at": N_ctx("certificate PDF", "Issued"),
    "expires_at": N_ctx("certificate PDF", "Expires"),
    "key_id": N_ctx("certificate PDF", "Signing key ID (kid)"),
    "document_id": N_ctx("certificate PDF", "Document ID (jti)"),
    "issuer": N_ctx("certificate PDF", "Issuer"),
    "how_to_verify": N_ctx("certificate PDF", "How to verify"),
    "verify_text": N_ctx(
        "certificate PDF",
        "Scan the QR code with a phone, or open %(verify_url)s and paste the certificate. The "
        "signature can be checked offline with any JOSE library and the public keys published "
        "at %(jwks_url)s (JWK Set); whether it has been revoked is shown by the online check.",
    ),
    # Translators: a banner over the page, in capitals where the language has them.
    "revoked": N_ctx("certificate PDF", "REVOKED"),
    "expired": N_ctx("certificate PDF", "EXPIRED"),
    "printout_note": N_ctx(
        "certificate PDF",
        "This printout is for reading; the electronically signed data in the QR code is "
        "authoritative.",
    ),
    "scan": N_ctx("certificate PDF", "Scan to verify"),
}
# The passports table's columns and their widths in mm; the status takes the rest of the line.
PASSPORT_COLUMNS = (
    ("passport_number", 38.0),
    ("passport_country", 24.0),
    ("passport_valid_until", 28.0),
    ("passport_bound", 52.0),
)
# Closing punctuation no Chinese or Japanese line starts with.
NO_LINE_START = frozenset("。，、；：？！）」』】〕》〉”’・ー…,.;:?!)]}")
# Languages written right to left: their texts are shaped and aligned to the right.
RIGHT_TO_LEFT = frozenset({"AR"})
CHINESE = "ZH"
FALLBACK_LANGUAGE = "EN"

INK = (20, 24, 31)
MUTED = (96, 104, 116)
RULE = (200, 205, 212)
ACCENT = (150, 27, 30)  # the red of official seals, for the rules and headings
WARNING = (176, 0, 32)


@dataclass(frozen=True)
class PrintableCertificate:
    """What the printed page shows: the signed claims and how to check them."""

    claims: Mapping[str, Any]
    key_id: str
    issued_at: datetime  # in the time zone to print (the home zone)
    expires_at: datetime
    qr_payload: str
    verify_url: str
    jwks_url: str
    language: str = FALLBACK_LANGUAGE  # printed beside Chinese
    status: str | None = None  # "revoked" or "expired" when so at the time of printing


def second_language(language: str | None) -> str:
    """The language printed beside Chinese: the holder's when the service speaks it (and it
    is not Chinese itself), else English."""
    if language and language != CHINESE and language.lower() in LANGUAGES:
        return language.upper()
    return FALLBACK_LANGUAGE


def labels(language: str, **links: str) -> dict[str, str]:
    """Every label in `language` (EN, ZH, ...), from the message catalogues; `links` fill the
    verification text's placeholders (verify_url, jwks_url)."""
    values = {"verify_url": "", "jwks_url": "", **links}
    return {
        key: translate(
            message.with_params(**values) if "%(" in message else message, language.lower()
        )
        for key, message in LABELS.items()
    }


def render(certificate: PrintableCertificate) -> bytes:
    """The certificate as a one-page A4 PDF (a second page only for a very long passport
    history)."""
    # A holder's name in a script the shipped fonts lack is drawn from a font made for it.
    with tempfile.TemporaryDirectory(prefix="certificate-fonts-") as folder:
        try:
            return _Page(certificate, Path(folder)).build()
        except Exception:
            # A system font that reads but does not draw (damaged past its character map):
            # printed with the shipped fonts alone, those letters as "?".
            log.exception("a system font failed the certificate's printout: printed without")
            return _Page(certificate, None, system_fonts=False).build()


def _text(
    value: object, language: str | None = None, extra: Mapping[int, str] | None = None
) -> str:
    """A printable string: NFC (fonts have composed letters), characters no font of a document
    with labels in `language` has (nor a system font registered for it, `extra`) shown as '?'
    rather than silently dropped."""
    text = unicodedata.normalize("NFC", str(value)) if value is not None else "—"
    extra = extra or {}
    return (
        "".join(c if pdf_fonts.covers(c, language) or ord(c) in extra else "?" for c in text) or "—"
    )


def _name(claims: Mapping[str, Any]) -> str:
    """The holder's name as printed: "SURNAME, Given names" (NFC)."""
    name = claims.get("name") if isinstance(claims.get("name"), Mapping) else {}
    surname, given = name.get("surname", ""), name.get("givenNames", "")
    shown = f"{str(surname).upper()}, {given}" if given else str(surname)
    return unicodedata.normalize("NFC", shown)


def _country(code: object) -> str:
    if not isinstance(code, str):
        return "—"
    country = pycountry.countries.get(alpha_3=code)
    name = getattr(country, "common_name", None) or getattr(country, "name", None)
    return f"{code} · {name}" if name else code


def _moment(value: datetime) -> str:
    offset = value.strftime("%z")
    return f"{value:%Y-%m-%d %H:%M} (UTC{offset[:3]}:{offset[3:]})"


class _Page:
    """One certificate being laid out: the header, then the holder's facts with the QR code
    beside them (always on the first page, where a scanner looks), the passports, the
    certificate's own facts and how to verify it."""

    def __init__(
        self,
        certificate: PrintableCertificate,
        folder: Path | None = None,
        *,
        system_fonts: bool = True,
    ) -> None:
        self.c = certificate
        links = {"verify_url": certificate.verify_url, "jwks_url": certificate.jwks_url}
        self.language = second_language(certificate.language)
        self.zh = labels(CHINESE, **links)
        self.other = labels(self.language, **links)
        # The other language's paragraphs and headings start on its own side of the page.
        self.start = "R" if self.language in RIGHT_TO_LEFT else "L"
        pdf = FPDF(orientation="P", unit="mm", format="A4")
        pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
        pdf.set_auto_page_break(True, margin=MARGIN_MM)
        # Japanese and Arabic fonts only where their labels are printed: each family embedded
        # costs time to load and subset.
        name = _name(certificate.claims) if system_fonts else ""
        self.extra = pdf_fonts.register(pdf, self.language, name, folder)
        if self.language in RIGHT_TO_LEFT or pdf_fonts.needs_shaping(self.extra):
            # HarfBuzz gives Arabic letters their joined forms and fpdf2 orders each paragraph
            # by the Unicode bidirectional algorithm. Only there: it doubles the render time.
            pdf.set_text_shaping(True)
        pdf.set_creation_date(certificate.issued_at)
        pdf.set_lang("zh-CN")
        pdf.set_title(f"{self.zh['title']} / {self.other['title']}")
        pdf.set_subject(str(certificate.claims.get("jti", "")))
        pdf.set_creator("Immigration administration online services")
        self.pdf = pdf
        self.width = pdf.w - 2 * MARGIN_MM
        self.size = 10.0
        self.bold = False

    # ------------------------------------------------------------------ building blocks

    def font(self, size: float, bold: bool = False, color: tuple[int, int, int] = INK) -> None:
        """The size, weight and colour of the next texts (the family follows each text)."""
        self.size, self.bold = size, bold
        self.pdf.set_text_color(*color)

    def _set_font(self, text: str, language: str | None, size: float | None = None) -> str:
        # fpdf2 loses track of the page's font when a text object starts with a character of
        # a fallback font (py-pdf/fpdf2#1772: later lines then print with no font). So every
        # text starts in its own font: chosen by its first letter, and the Japanese face for
        # Japanese labels. `language` is the label's (None for data and Chinese labels).
        first = next((c for c in text if not c.isspace()), " ")
        family = pdf_fonts.family_for(first, language, self.extra)
        self.pdf.set_font(family, "B" if self.bold else "", size or self.size)
        return family

    def _fitting(self, texts: list[tuple[str, str | None]], width: float) -> float:
        """The font size at which `texts`, side by side, fit in `width` mm: the current size,
        or smaller (not under 60 % of it) for a long translation in a narrow column."""
        needed = 0.0
        for text, language in texts:
            self._set_font(text, language)
            needed += self.pdf.get_string_width(text) + 2 * self.pdf.c_margin
        if needed <= width:
            return self.size
        return max(self.size * 0.6, self.size * width / needed)

    def cell(
        self, w: float, h: float, text: str, language: str | None = None, **options: Any
    ) -> None:
        """One line of text; a label of the other language (`language`) shrinks to fit `w`."""
        text = _text(text, self.language, self.extra)
        size = self._fitting([(text, language)], w) if language and w else self.size
        self._set_font(text, language, size)
        self.pdf.cell(w, h, text, **options)

    def lines(
        self, w: float, h: float, text: str, language: str | None = None, **options: Any
    ) -> None:
        """Text wrapped to `w` (Chinese and Japanese may break between any two characters),
        then back to the left margin; right-aligned in a right-to-left language."""
        text = _text(text, self.language, self.extra)
        family = self._set_font(text, language)
        options.setdefault("align", self.start if language else "L")
        options.setdefault("new_x", XPos.LMARGIN)
        if family in (pdf_fonts.CJK_FAMILY, pdf_fonts.JAPANESE_FAMILY) and language != "KO":
            text = self._cjk_lines(text, w - 2 * self.pdf.c_margin)
            options.setdefault("wrapmode", WrapMode.CHAR)
        self.pdf.multi_cell(w, h, text, **options)

    def _cjk_lines(self, text: str, width: float) -> str:
        """Chinese or Japanese text broken into lines of `width` mm between any two characters,
        except before closing punctuation (。，、）...), which no line may start with: the
        character before it goes down with it (kinsoku, which fpdf2 does not do)."""
        widths: dict[str, float] = {}

        def width_of(chars: str) -> float:
            # Character by character (no kerning in CJK text), each measured once.
            for char in chars:
                if char not in widths:
                    widths[char] = self.pdf.get_string_width(char)
            return sum(widths[char] for char in chars)

        lines: list[str] = []
        line, used = "", 0.0
        for char in text:
            if char == "\n":
                lines.append(line)
                line, used = "", 0.0
            elif line and used + width_of(char) > width:
                if char in NO_LINE_START and len(line) > 1:
                    lines.append(line[:-1])
                    line = line[-1] + char
                else:
                    lines.append(line)
                    line = "" if char == " " else char
                used = width_of(line)
            else:
                line += char
                used += width_of(char)
        return "\n".join([*lines, line])

    def pair(
        self, w: float, h: float, key: str, separator: str, align: str = "L", fill: bool = False
    ) -> None:
        """The Chinese label and the other language's on one line of `w` mm, each in its own
        font, shrunk to fit; the position afterwards is the line's end."""
        pdf = self.pdf
        x, y = pdf.get_x(), pdf.get_y()
        parts = [
            (_text(self.zh[key] + separator, self.language), None),
            (_text(self.other[key], self.language), self.language),
        ]
        size = self._fitting(parts, w)
        widths = []
        for text, language in parts:
            self._set_font(text, language, size)
            widths.append(pdf.get_string_width(text) + 2 * pdf.c_margin)
        if fill:
            pdf.rect(x, y, w, h, style="F")
        margin = pdf.c_margin
        offset = {"L": 0.0, "C": (w - sum(widths)) / 2, "R": w - sum(widths)}[align]
        pdf.set_x(x + max(offset, 0.0) + margin)
        # The parts follow each other without the cells' inner margins between them.
        pdf.c_margin = 0
        try:
            for (text, language), width in zip(parts, widths, strict=True):
                self._set_font(text, language, size)
                pdf.cell(width - 2 * margin, h, text)
        finally:
            pdf.c_margin = margin
        pdf.set_xy(x + w, y)

    def keep(self, height: float) -> None:
        """Start a new page unless `height` mm still fit on this one, so that a row's label
        and value never land on different pages."""
        if self.pdf.will_page_break(height):
            self.pdf.add_page()

    def rule(
        self, color: tuple[int, int, int] = RULE, width: float = 0.2, length: float | None = None
    ) -> None:
        pdf = self.pdf
        pdf.set_draw_color(*color)
        pdf.set_line_width(width)
        y = pdf.get_y()
        pdf.line(MARGIN_MM, y, MARGIN_MM + (length or self.width), y)

    def section(self, key: str, length: float | None = None) -> None:
        """A heading: the Chinese title, the other language's after it (at the line's end in
        a right-to-left language), a red rule."""
        pdf = self.pdf
        self.keep(22)  # a heading stays with the first lines under it
        pdf.ln(3)
        self.font(12, bold=True, color=ACCENT)
        zh = _text(self.zh[key], self.language)
        self._set_font(zh, None)
        self.cell(pdf.get_string_width(zh) + 3, 7, zh)
        self.font(9.5, color=MUTED)
        rest = (length or self.width) - (pdf.get_x() - MARGIN_MM)
        self.cell(rest, 7.4, self.other[key], self.language, align=self.start)
        pdf.set_xy(MARGIN_MM, pdf.get_y() + 7.4)
        self.rule(ACCENT, 0.4, length)
        pdf.ln(1.2)

    def fact(self, key: str, value: str, label_width: float, width: float) -> None:
        """One labelled fact: the Chinese label over the other language's, the value beside."""
        pdf = self.pdf
        self.keep(14)
        top = pdf.get_y()
        self.font(9.5, bold=True)
        self.lines(label_width - 2, 4.6, self.zh[key])
        self.font(8, color=MUTED)
        self.lines(label_width - 2, 3.6, self.other[key], self.language)
        label_bottom = pdf.get_y()
        self.font(11)
        pdf.set_xy(MARGIN_MM + label_width, top + 0.8)
        self.lines(width - label_width, 5.2, value)
        pdf.set_y(max(label_bottom, pdf.get_y()) + 1.0)
        self.rule(length=width)
        pdf.ln(1.0)

    def line_fact(self, key: str, value: str, label_width: float = 64.0) -> None:
        """A labelled fact on one line: Chinese label, the other language's after it in grey.
        A right-to-left label goes under the Chinese one instead: beside it, readers (and text
        extraction) would take the line's two directions for one sentence."""
        if self.start == "R":
            self.fact(key, value, label_width, self.width)
            return
        pdf = self.pdf
        self.keep(9)
        top = pdf.get_y()
        pdf.set_xy(MARGIN_MM, top)
        self.font(9.5, bold=True)
        zh = _text(self.zh[key], self.language)
        self._set_font(zh, None)
        self.cell(pdf.get_string_width(zh) + 2, 6, zh)
        self.font(8, color=MUTED)
        self.cell(label_width - pdf.get_x() + MARGIN_MM, 6, self.other[key], self.language)
        self.font(10.5)
        pdf.set_xy(MARGIN_MM + label_width, top)
        self.lines(self.width - label_width, 6, value)
        pdf.ln(0.6)
        self.rule()
        pdf.ln(0.6)

    # ------------------------------------------------------------------ the page

    def build(self) -> bytes:
        self.pdf.add_page()
        self.header()
        self.holder_and_code()
        self.passports()
        self.certificate()
        self.verification()
        return bytes(self.pdf.output())

    def header(self) -> None:
        pdf, c = self.pdf, self.c
        pdf.set_fill_color(*ACCENT)
        pdf.rect(0, 0, pdf.w, 4, style="F")
        pdf.set_y(MARGIN_MM - 3)
        self.font(21, bold=True)
        self.cell(0, 10, self.zh["title"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.font(14, color=MUTED)
        self.cell(
            self.width, 7, self.other["title"], self.language, align=self.start,
            new_x=XPos.LMARGIN, new_y=YPos.NEXT,
        )  # fmt: skip
        pdf.ln(1.5)
        self.font(9)
        self.lines(self.width, 4.4, self.zh["subtitle"])
        self.font(8.5, color=MUTED)
        self.lines(self.width, 4, self.other["subtitle"], self.language)
        if c.status in ("revoked", "expired"):
            pdf.ln(2)
            pdf.set_fill_color(*WARNING)
            self.font(12, bold=True, color=(255, 255, 255))
            pdf.set_x(MARGIN_MM)
            self.pair(self.width, 8, c.status, "  ", align="C", fill=True)
            pdf.set_xy(MARGIN_MM, pdf.get_y() + 8)

    def holder_and_code(self) -> None:
        """The holder's facts on the left, the QR code on the right of them."""
        pdf, claims = self.pdf, self.c.claims
        gap = 6.0
        width = self.width - QR_SIZE_MM - gap
        self.section("section_holder", length=width)
        top = pdf.get_y()
        self.draw_qr(MARGIN_MM + width + gap, top - 9, QR_SIZE_MM)
        self.font(8.5, color=MUTED)
        pdf.set_xy(MARGIN_MM + width + gap, top - 9 + QR_SIZE_MM + 0.5)
        self.pair(QR_SIZE_MM, 4.5, "scan", " · ", align="C")
        pdf.set_xy(MARGIN_MM, top)

        label = 46.0
        self.fact("name", _name(claims), label, width)
        self.fact("birth_date", str(claims.get("birthDate", "—")), label, width)
        self.fact("nationality", _country(claims.get("nationality")), label, width)
        card = claims.get("prCard") if isinstance(claims.get("prCard"), Mapping) else {}
        self.fact("pr_card_number", str(card.get("number", "—")), label, width)
        validity = f"{card.get('issuedOn', '—')} – {card.get('validUntil', '—')}"
        self.fact("pr_card_validity", validity, label, width)
        pdf.set_y(max(pdf.get_y(), top - 9 + QR_SIZE_MM + 5))

    def passports(self) -> None:
        pdf = self.pdf
        self.section("section_passports")
        listed = self.c.claims.get("passports")
        listed = listed if isinstance(listed, list) else []
        passports = [p for p in listed if isinstance(p, Mapping)]
        # The current passport first, then the superseded ones, the latest bound first.
        passports.sort(key=lambda p: str(p.get("boundFrom", "")), reverse=True)
        passports.sort(key=lambda p: not p.get("current"))
        columns = [*PASSPORT_COLUMNS, ("passport_status", self.width - 142.0)]
        top = pdf.get_y()
        x = MARGIN_MM
        for key, width in columns:
            pdf.set_xy(x, top)
            self.font(9, bold=True)
            self.cell(width, 4.6, self.zh[key])
            pdf.set_xy(x, top + 4.6)
            self.font(7.5, color=MUTED)
            self.cell(width, 3.8, self.other[key], self.language)
            x += width
        pdf.set_y(top + 9.5)
        self.rule()
        for passport in passports:
            bound_from = passport.get("boundFrom", "—")
            bound_until = passport.get("boundUntil")
            status_key = "current" if passport.get("current") else "superseded"
            values = [
                str(passport.get("number", "—")),
                str(passport.get("issuingCountry", "—")),
                str(passport.get("validUntil", "—")),
                f"{bound_from} – {bound_until}" if bound_until else f"{bound_from} ",
            ]
            self.keep(8)
            row = pdf.get_y() + 1.2
            x = MARGIN_MM
            for index, ((_, width), value) in enumerate(zip(columns, values, strict=False)):
                pdf.set_xy(x, row)
                # The number of the current passport stands out.
                self.font(10.5, bold=status_key == "current" and index == 0)
                if bound_until or index < 3:
                    self.cell(width, 5.5, value)
                else:
                    # Bound until now: the date, then "since" in both languages.
                    self._set_font(value, None)
                    self.cell(self.pdf.get_string_width(value) + 1, 5.5, value)
                    self.font(9.5)
                    self.pair(width - (pdf.get_x() - x), 5.5, "since", " / ")
                x += width
            # The status is a tag in both languages.
            pdf.set_xy(x, row)
            self.font(9.5)
            self.pair(columns[-1][1], 5.5, status_key, " / ")
            pdf.set_y(row + 6.2)
            self.rule()
        not_listed = self.c.claims.get(EARLIER_NOT_LISTED)
        if isinstance(not_listed, int) and not_listed > 0:
            # The list is not the whole history: said where the list ends.
            pdf.ln(0.6)
            self.line_fact("earlier_not_listed", str(not_listed), label_width=142.0)

    def certificate(self) -> None:
        c = self.c
        self.section("section_certificate")
        self.line_fact("issued_at", _moment(c.issued_at))
        self.line_fact("expires_at", _moment(c.expires_at))
        self.line_fact("key_id", c.key_id)
        self.line_fact("document_id", str(c.claims.get("jti", "—")))
        self.line_fact("issuer", str(c.claims.get("iss", "—")))

    def verification(self) -> None:
        pdf = self.pdf
        self.keep(40)
        self.section("how_to_verify")
        self.font(9.5)
        self.lines(self.width, 5, self.zh["verify_text"])
        pdf.ln(1)
        self.font(9, color=MUTED)
        self.lines(self.width, 4.5, self.other["verify_text"], self.language)
        pdf.ln(2.5)
        self.font(8, color=MUTED)
        self.lines(self.width, 4, self.zh["printout_note"])
        self.lines(self.width, 4, self.other["printout_note"], self.language)

    def draw_qr(self, x: float, y: float, size: float) -> None:
        """The QR code as filled rectangles (sharp at any print resolution): a white square
        with the quiet zone, then each horizontal run of dark modules."""
        pdf = self.pdf
        modules = qr_modules(self.c.qr_payload)
        unit = size / len(modules)
        pdf.set_fill_color(255, 255, 255)
        pdf.rect(x, y, size, size, style="F")
        pdf.set_fill_color(0, 0, 0)
        # A hair of overlap between rows, so anti-aliased rendering leaves no light seams.
        seam = unit * 0.04
        for r, row in enumerate(modules):
            start = None
            for col, dark in enumerate([*row, False]):
                if dark and start is None:
                    start = col
                elif not dark and start is not None:
                    pdf.rect(x + start * unit, y + r * unit, (col - start) * unit, unit + seam, "F")
                    start = None
