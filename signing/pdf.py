"""The printable passport-information certificate: an A4 PDF in Chinese and the holder's
language, with the signed facts, the key that signed them and a QR code that scans on paper.

Pure rendering: it takes what was signed (the token's claims) and the links to print, and
returns the PDF's bytes. Every printed word comes from LABELS (one dict per language), so a
translation is a new entry there; the embedded fonts are subsets made by signing/pdf_fonts.py
from what LABELS uses (run it again after adding a language).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pycountry
from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos

from signing import pdf_fonts
from signing.qr import qr_modules

# Printed on a 1,200 dpi office printer and read by a phone camera, a module of at least
# 0.4 mm scans reliably; a full certificate's QR (133 modules with its quiet zone) is 60 mm.
QR_SIZE_MM = 60.0
MARGIN_MM = 16.0

LABELS: dict[str, dict[str, str]] = {
    "ZH": {
        "title": "护照信息证明",
        "subtitle": "本证明由签发机关电子签名，"
        "证明持证人所持护照与其外国人永久居留身份证的对应关系。",
        "section_holder": "持证人信息",
        "name": "姓名",
        "birth_date": "出生日期",
        "nationality": "国籍",
        "pr_card_number": "永久居留身份证号码",
        "pr_card_validity": "永久居留身份证有效期限",
        "section_passports": "护照",
        "passport_number": "护照号码",
        "passport_country": "签发国",
        "passport_valid_until": "有效期至",
        "passport_bound": "绑定期间",
        "passport_status": "状态",
        "current": "现用",
        "superseded": "已更换",
        "since": "起",
        "section_certificate": "证明信息",
        "issued_at": "签发时间",
        "expires_at": "失效时间",
        "key_id": "签名密钥标识",
        "document_id": "证明编号",
        "issuer": "签发机关",
        "how_to_verify": "如何核验",
        "verify_text": "用手机扫描二维码，或打开 {verify_url} 并粘贴证明内容。签名可使用 "
        "{jwks_url} 公布的公钥（JWK Set）以任何 JOSE 工具离线核验；是否已被撤销以在线核验"
        "结果为准。",
        "revoked": "已撤销",
        "expired": "已过期",
        "printout_note": "本打印件仅供阅读，以二维码中经电子签名的数据为准。",
        "scan": "扫码核验",
    },
    "EN": {
        "title": "Passport Information Certificate",
        "subtitle": "Signed electronically by the issuing authority: binds the holder's "
        "passports to their Foreign Permanent Resident ID Card.",
        "section_holder": "Holder",
        "name": "Name",
        "birth_date": "Date of birth",
        "nationality": "Nationality",
        "pr_card_number": "Permanent Resident ID Card number",
        "pr_card_validity": "Card validity",
        "section_passports": "Passports",
        "passport_number": "Number",
        "passport_country": "Issuing country",
        "passport_valid_until": "Valid until",
        "passport_bound": "Bound to the card",
        "passport_status": "Status",
        "current": "Current",
        "superseded": "Superseded",
        "since": "since",
        "section_certificate": "This certificate",
        "issued_at": "Issued",
        "expires_at": "Expires",
        "key_id": "Signing key ID (kid)",
        "document_id": "Document ID (jti)",
        "issuer": "Issuer",
        "how_to_verify": "How to verify",
        "verify_text": "Scan the QR code with a phone, or open {verify_url} and paste the "
        "certificate. The signature can be checked offline with any JOSE library and the "
        "public keys published at {jwks_url} (JWK Set); whether it has been revoked is shown "
        "by the online check.",
        "revoked": "REVOKED",
        "expired": "EXPIRED",
        "printout_note": "This printout is for reading; the electronically signed data in the "
        "QR code is authoritative.",
        "scan": "Scan to verify",
    },
}
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
    """The language printed beside Chinese: the holder's when there are labels for it (and it
    is not Chinese itself), else English."""
    if language and language != CHINESE and language in LABELS:
        return language
    return FALLBACK_LANGUAGE


def render(certificate: PrintableCertificate) -> bytes:
    """The certificate as a one-page A4 PDF (a second page only for a very long passport
    history)."""
    return _Page(certificate).build()


def _text(value: object) -> str:
    """A printable string: NFC (fonts have composed letters), characters neither embedded
    font has shown as '?' rather than silently dropped."""
    text = unicodedata.normalize("NFC", str(value)) if value is not None else "—"
    return "".join(c if pdf_fonts.covers(c) else "?" for c in text) or "—"


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

    def __init__(self, certificate: PrintableCertificate) -> None:
        self.c = certificate
        self.zh = LABELS[CHINESE]
        self.other = LABELS[second_language(certificate.language)]
        pdf = FPDF(orientation="P", unit="mm", format="A4")
        pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
        pdf.set_auto_page_break(True, margin=MARGIN_MM)
        pdf_fonts.register(pdf)
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

    def _family_for(self, text: str) -> str:
        # fpdf2 loses track of the page's font when a text object starts with a character of
        # a fallback font (py-pdf/fpdf2#1772: later lines then print with no font). So every
        # text starts in its own font: the CJK family when its first letter is CJK.
        first = next((c for c in text if not c.isspace()), " ")
        return pdf_fonts.family_for(first)

    def cell(self, w: float, h: float, text: str, **options: Any) -> None:
        text = _text(text)
        self.pdf.set_font(self._family_for(text), "B" if self.bold else "", self.size)
        self.pdf.cell(w, h, text, **options)

    def lines(self, w: float, h: float, text: str, **options: Any) -> None:
        """Text wrapped to `w` (Chinese may break between any two characters), then back to
        the left margin."""
        text = _text(text)
        self.pdf.set_font(self._family_for(text), "B" if self.bold else "", self.size)
        options.setdefault("align", "L")
        options.setdefault("new_x", XPos.LMARGIN)
        if self._family_for(text) == pdf_fonts.CJK_FAMILY:
            options.setdefault("wrapmode", WrapMode.CHAR)
        self.pdf.multi_cell(w, h, text, **options)

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
        """A heading: the Chinese title, the other language's after it, a red rule."""
        pdf = self.pdf
        self.keep(22)  # a heading stays with the first lines under it
        pdf.ln(3)
        self.font(12, bold=True, color=ACCENT)
        zh = _text(self.zh[key])
        pdf.set_font(self._family_for(zh), "B", 12)
        self.cell(pdf.get_string_width(zh) + 3, 7, zh)
        self.font(9.5, color=MUTED)
        self.cell(0, 7.4, self.other[key], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
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
        self.lines(label_width - 2, 3.6, self.other[key])
        label_bottom = pdf.get_y()
        self.font(11)
        pdf.set_xy(MARGIN_MM + label_width, top + 0.8)
        self.lines(width - label_width, 5.2, value)
        pdf.set_y(max(label_bottom, pdf.get_y()) + 1.0)
        self.rule(length=width)
        pdf.ln(1.0)

    def line_fact(self, key: str, value: str, label_width: float = 64.0) -> None:
        """A labelled fact on one line: Chinese label, the other language's after it in grey."""
        pdf = self.pdf
        self.keep(9)
        top = pdf.get_y()
        pdf.set_xy(MARGIN_MM, top)
        self.font(9.5, bold=True)
        zh = _text(self.zh[key])
        pdf.set_font(self._family_for(zh), "B", 9.5)
        self.cell(pdf.get_string_width(zh) + 2, 6, zh)
        self.font(8, color=MUTED)
        self.cell(label_width - pdf.get_x() + MARGIN_MM, 6, self.other[key])
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
        self.cell(0, 7, self.other["title"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1.5)
        self.font(9)
        self.lines(self.width, 4.4, self.zh["subtitle"])
        self.font(8.5, color=MUTED)
        self.lines(self.width, 4, self.other["subtitle"])
        if c.status in ("revoked", "expired"):
            pdf.ln(2)
            pdf.set_fill_color(*WARNING)
            self.font(12, bold=True, color=(255, 255, 255))
            banner = f"{self.zh[c.status]}  {self.other[c.status]}"
            self.cell(0, 8, banner, align="C", fill=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

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
        self.cell(QR_SIZE_MM, 4.5, f"{self.zh['scan']} · {self.other['scan']}", align="C")
        pdf.set_xy(MARGIN_MM, top)

        label = 46.0
        name = claims.get("name") if isinstance(claims.get("name"), Mapping) else {}
        surname, given = name.get("surname", ""), name.get("givenNames", "")
        shown = f"{str(surname).upper()}, {given}" if given else str(surname)
        self.fact("name", shown, label, width)
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
        columns = [
            ("passport_number", 38.0),
            ("passport_country", 24.0),
            ("passport_valid_until", 28.0),
            ("passport_bound", 52.0),
            ("passport_status", self.width - 142.0),
        ]
        top = pdf.get_y()
        x = MARGIN_MM
        for key, width in columns:
            pdf.set_xy(x, top)
            self.font(9, bold=True)
            self.cell(width, 4.6, self.zh[key])
            pdf.set_xy(x, top + 4.6)
            self.font(7.5, color=MUTED)
            self.cell(width, 3.8, self.other[key])
            x += width
        pdf.set_y(top + 9.5)
        self.rule()
        for passport in passports:
            bound_from = passport.get("boundFrom", "—")
            bound_until = passport.get("boundUntil")
            bound = (
                f"{bound_from} – {bound_until}"
                if bound_until
                else f"{bound_from} {self.zh['since']} / {self.other['since']}"
            )
            status_key = "current" if passport.get("current") else "superseded"
            values = [
                str(passport.get("number", "—")),
                str(passport.get("issuingCountry", "—")),
                str(passport.get("validUntil", "—")),
                bound,
                f"{self.zh[status_key]} / {self.other[status_key]}",
            ]
            self.keep(8)
            row = pdf.get_y() + 1.2
            x = MARGIN_MM
            for index, ((_, width), value) in enumerate(zip(columns, values, strict=True)):
                pdf.set_xy(x, row)
                # The number of the current passport stands out; the status is a tag.
                bold = status_key == "current" and index == 0
                self.font(9.5 if index == len(columns) - 1 else 10.5, bold=bold)
                self.cell(width, 5.5, value)
                x += width
            pdf.set_y(row + 6.2)
            self.rule()

    def certificate(self) -> None:
        c = self.c
        self.section("section_certificate")
        self.line_fact("issued_at", _moment(c.issued_at))
        self.line_fact("expires_at", _moment(c.expires_at))
        self.line_fact("key_id", c.key_id)
        self.line_fact("document_id", str(c.claims.get("jti", "—")))
        self.line_fact("issuer", str(c.claims.get("iss", "—")))

    def verification(self) -> None:
        pdf, c = self.pdf, self.c
        links = {"verify_url": c.verify_url, "jwks_url": c.jwks_url}
        self.keep(40)
        self.section("how_to_verify")
        self.font(9.5)
        self.lines(self.width, 5, self.zh["verify_text"].format(**links))
        pdf.ln(1)
        self.font(9, color=MUTED)
        self.lines(self.width, 4.5, self.other["verify_text"].format(**links))
        pdf.ln(2.5)
        self.font(8, color=MUTED)
        self.lines(self.width, 4, self.zh["printout_note"])
        self.lines(self.width, 4, self.other["printout_note"])

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
