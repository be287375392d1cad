"""QR codes of signed documents, as SVG, PNG and a module matrix: one encoding for all three.

Every rendering is dark on an explicit white background with the four-module quiet zone the
QR specification requires, so it scans on a dark page or in a dark-mode app as well as on
paper. The error-correction level is M (15 % of the code may be lost), raised for free by
segno to Q or H whenever that fits in the same symbol size: a long token at Q or H would need
a much denser symbol, which a phone camera reads less well than it survives print damage.
"""

from __future__ import annotations

import base64
import functools
import io

import segno

ERROR_LEVEL = "m"
# The most bytes one QR code holds at level M (version 40, byte mode: ISO/IEC 18004 table 7).
MAX_BYTES = 2331
# The largest code a certificate's link may need: the printed certificate draws it 60 mm wide
# (signing/pdf.py, QR_SIZE_MM), and a version 31 code, 149 modules with its quiet zone, is the
# largest whose modules stay 0.4 mm there, what an office printer and a phone camera read
# reliably. It holds 1,452 bytes. Presentations are shown on screens only: up to version 40.
PRINTED_MAX_VERSION = 31
QUIET_ZONE = 4  # modules of white around the symbol (ISO/IEC 18004)
DARK = "#000"
LIGHT = "#fff"
# Pixels per module: 4 keeps the PNG of a full certificate (version 27, 133 modules with the
# quiet zone) at 532 px, sharp on a phone screen without being large to send.
PNG_SCALE = 4
SVG_SCALE = 4


class TooLarge(ValueError):
    """The payload does not fit one QR code at level M of any version: the link of a
    certificate signed before certificates were fitted to one (signing.certificates)."""


def verification_link(public_base_url: str, token: str) -> str:
    """What a QR code carries: the service's /verify page with the token in the fragment, so
    any phone camera opens the verifier, and the token never reaches a server's logs."""
    return f"{public_base_url.rstrip('/')}/verify#token={token}"


def token_of_link(payload: str) -> str:
    """The token a scanned payload holds: the fragment of a verification link, or the payload
    itself when it is a bare token."""
    _, found, token = payload.partition("#token=")
    return token if found else payload


def fits(payload: str, max_version: int = 40) -> bool:
    """Whether the payload fits one QR code at level M of version `max_version` at most (40,
    the largest there is, holds 2,331 bytes). A lower level (L) would leave a printed or
    screen-glared code too little to recover from: what is signed is made to fit instead."""
    if len(payload.encode()) > MAX_BYTES:
        return False  # known without encoding it (tens of milliseconds)
    try:
        return _symbol(payload).version <= max_version
    except TooLarge:
        return False


@functools.lru_cache(maxsize=128)
def _symbol(payload: str) -> segno.QRCode:
    # Encoding a 1 kB payload takes tens of milliseconds in pure Python: each payload once.
    try:
        return segno.make(payload, error=ERROR_LEVEL, micro=False, boost_error=True)
    except segno.DataOverflowError as exc:
        raise TooLarge(f"{len(payload.encode())} bytes do not fit one QR code") from exc


def _saved(payload: str, kind: str, **options: object) -> bytes:
    """The symbol in the format `kind`: dark modules on an explicit light square with the
    quiet zone, whatever the format."""
    buffer = io.BytesIO()
    _symbol(payload).save(buffer, kind=kind, border=QUIET_ZONE, dark=DARK, light=LIGHT, **options)
    return buffer.getvalue()


def qr_svg(payload: str) -> str:
    """An SVG QR code of the payload: black modules on a white square with the quiet zone."""
    return _saved(payload, "svg", scale=SVG_SCALE, xmldecl=False, svgns=True).decode()


def qr_png(payload: str) -> bytes:
    """A PNG QR code of the payload: black on white with the quiet zone."""
    return _saved(payload, "png", scale=PNG_SCALE)


def qr_png_base64(payload: str) -> str:
    """The PNG of `qr_png`, base64-encoded (standard alphabet, padded) for a JSON field."""
    return base64.b64encode(qr_png(payload)).decode("ascii")


def qr_modules(payload: str) -> list[list[bool]]:
    """The symbol as rows of modules (True = dark), quiet zone included, for drawing it as
    vector shapes (the printed PDF)."""
    return [
        [bool(module) for module in row] for row in _symbol(payload).matrix_iter(border=QUIET_ZONE)
    ]
