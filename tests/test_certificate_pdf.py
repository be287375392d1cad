"""The documents people carry, through HTTP: the printable PDF of a certificate (who may fetch
it, its headers, its text read back with poppler's pdftotext, its first page printed at 150 dpi
with pdftoppm and its QR code read with zbar and verified with the published keys by joserfc),
the QR codes of `Certificate.qrSvg` and `qrPng` (dark on white, quiet zone, readable by zbar),
`Person.certificates` and the staff-only `DocumentVerification.certificateId`.

Needs Debian's poppler-utils and zbar-tools (the Makefile's test tools install them).
"""

from __future__ import annotations

import asyncio
import base64
import io
import re
import secrets
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import httpx
from defusedxml import ElementTree
from PIL import Image

import signing.pdf
import signing.verification
from persistence.models import Account
from persistence.models import Person as PersonRow
from schema.common import to_global_id
from signing import certificates as signing_certificates
from signing import pdf_fonts, qr
from tests.conftest import gql, sign_in, sign_up, unique_email
from tests.helpers import (
    ACTIONS,
    ISSUE_CARD,
    PASSWORD,
    REVOKE_DELEGATION,
    beijing_today,
    other_office_officer,
    passport_number,
    person_input,
    pk_of,
    register_person_as,
)
from tests.test_certificates import (
    add_active_dependant,
    adult_birth_date,
    jose_verify,
    jwks_of,
    minor_birth_date,
    payload_of,
    registered_person,
    revoke,
    valid_card,
)

CERTIFICATE = "id token pdfUrl qrSvg qrPng revoked issuedAt expiresAt"
ISSUE = f"""
mutation($id: ID!) {{ issuePassportCertificate(personId: $id) {{
  __typename ... on CertificateIssued {{ certificate {{ {CERTIFICATE} }} }}
}} }}"""
PERSON_CERTIFICATES = """
query($id: ID!) { node(id: $id) { ... on Person { id certificates { id revoked pdfUrl } } } }"""
MY_CERTIFICATES = "{ viewer { person { id certificates { id revoked token } } } }"
VERIFY = """
query($token: String!) { verifyDocument(token: $token) { valid failure certificateId } }"""

NOT_FOUND_BODY = {
    "error": {"code": "NOT_FOUND", "message": "No certificate here, or not one you may see."}
}
DPI = 150
MM_PER_INCH = 25.4


# ------------------------------------------------------------------------------ tools


def tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is missing: install Debian's poppler-utils and zbar-tools (make test)"
    return path


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def pdf_text(document: bytes) -> str:
    """The PDF's text as pdftotext reads it (layout kept); poppler must find no fault."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "certificate.pdf"
        path.write_bytes(document)
        done = run(tool("pdftotext"), "-layout", str(path), "-")
    assert done.returncode == 0, done.stderr
    assert "Error" not in done.stderr, done.stderr
    return done.stdout


def pdf_info(document: bytes) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "certificate.pdf"
        path.write_bytes(document)
        done = run(tool("pdfinfo"), str(path))
        fonts = run(tool("pdffonts"), str(path))
    assert done.returncode == 0, done.stderr
    info = dict(
        (key.strip(), value.strip())
        for key, _, value in (line.partition(":") for line in done.stdout.splitlines())
    )
    info["fonts"] = fonts.stdout
    return info


def printed_page(document: bytes, page: int = 1) -> bytes:
    """Page `page` rendered at 150 dpi as a PNG, as a printer would put it on paper."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "certificate.pdf"
        path.write_bytes(document)
        done = run(
            tool("pdftoppm"), "-r", str(DPI), "-png", "-f", str(page), "-l", str(page),
            "-singlefile", str(path), str(Path(folder) / "page"),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return (Path(folder) / "page.png").read_bytes()


def scanned(png: bytes) -> list[str]:
    """What zbar reads in the image: the payload of every QR code it finds."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "image.png"
        path.write_bytes(png)
        done = run(tool("zbarimg"), "--xml", "-q", str(path))
    if done.returncode == 4:  # zbar found no code
        return []
    assert done.returncode == 0, done.stderr
    root = ElementTree.fromstring(done.stdout)
    return [data.text or "" for data in root.iter("{http://zbar.sourceforge.net/2008/barcode}data")]


def finder_width(dark: Image.Image, left: int, top: int) -> int:
    """The width in pixels of the finder pattern whose corner is at (left, top), in an image
    where the code's dark modules are bright: its first row is one dark run of 7 modules."""
    x = left
    while dark.getpixel((x, top + 1)) > 127:
        x += 1
    return x - left


def token_in(payload: str, base_url: str) -> str:
    prefix = f"{base_url.rstrip('/')}/verify#token="
    assert payload.startswith(prefix), payload[:80]
    return payload[len(prefix) :]


# --------------------------------------------------------------------------- HTTP helpers


async def linked_holder(client: httpx.AsyncClient, facts: dict) -> str:
    """A new account linked to the person of these passport facts: its access token."""
    session = await sign_up(client, unique_email(), PASSWORD)
    holder = session["accessToken"]
    body = await gql(
        client,
        """mutation($input: LinkIdentityInput!) { linkIdentity(input: $input) { __typename } }""",
        {"input": facts},
        holder,
    )
    assert body["data"]["linkIdentity"]["__typename"] == "IdentityLinked", body
    return holder


async def issued(client: httpx.AsyncClient, token: str, person_id: str) -> dict:
    body = await gql(client, ISSUE, {"id": person_id}, token)
    assert "errors" not in body, body
    result = body["data"]["issuePassportCertificate"]
    assert result["__typename"] == "CertificateIssued", result
    return result["certificate"]


def path_of(pdf_url: str, base_url: str) -> str:
    assert pdf_url.startswith(base_url.rstrip("/") + "/"), pdf_url
    return pdf_url[len(base_url.rstrip("/")) :]


async def download(
    client: httpx.AsyncClient, path: str, token: str | None, **headers: str
) -> httpx.Response:
    sent = dict(headers)
    if token is not None:
        sent["authorization"] = f"Bearer {token}"
    return await client.get(path, headers=sent)


async def holder_with_certificate(
    client: httpx.AsyncClient, surname: str = "Certson"
) -> tuple[dict, str, str, dict]:
    """A fresh permanent resident with an account of its own that issued a certificate:
    the identity facts, the person's ID, the holder's access token and the certificate."""
    officer = await sign_in(client, "officer@demo.test")
    facts, person_id = await registered_person(
        client, officer, birth_date=adult_birth_date(), card=valid_card(), surname=surname
    )
    holder = await linked_holder(client, facts)
    return facts, person_id, holder, await issued(client, holder, person_id)


async def printed_text(client: httpx.AsyncClient, path: str, token: str) -> str:
    """The words of the PDF at `path`, downloaded as `token`, in one line."""
    response = await download(client, path, token)
    assert response.status_code == 200, response.text
    return " ".join((await asyncio.to_thread(pdf_text, response.content)).split())


def base_url_of(app: Any) -> str:
    return app.state.services.settings.public_base_url.rstrip("/")


# ------------------------------------------------------------------------------ the PDF


async def test_a_holder_prints_the_certificate_and_the_printed_code_verifies(
    client: httpx.AsyncClient, app: Any
) -> None:
    facts, _, holder, certificate = await holder_with_certificate(client, surname="Pdfholder")
    base = base_url_of(app)
    claims = payload_of(certificate["token"])
    kid = jose_verify(certificate["token"], await jwks_of(client))[0]["kid"]

    # The link is the service's own, names the certificate and carries no credential.
    assert certificate["pdfUrl"] == f"{base}/certificates/{certificate['id']}.pdf"
    assert "?" not in certificate["pdfUrl"] and "#" not in certificate["pdfUrl"]
    response = await download(client, path_of(certificate["pdfUrl"], base), holder)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "no-store"
    document = response.content
    assert document.startswith(b"%PDF-")

    info = await asyncio.to_thread(pdf_info, document)
    assert info["Pages"] == "1", info
    width, height = (float(v) for v in re.findall(r"[\d.]+", info["Page size"])[:2])
    assert (round(width), round(height)) == (595, 842), info["Page size"]  # A4 in points
    # Every font is embedded (the page prints the same on any machine).
    font_lines = [line for line in info["fonts"].splitlines()[2:] if line.strip()]
    assert font_lines and all(" yes " in line for line in font_lines), info["fonts"]

    text = await asyncio.to_thread(pdf_text, document)
    flat = " ".join(text.split())
    assert facts["surname"].upper() in flat
    assert "Robin" in flat  # the given names
    for chinese in (
        "护照信息证明",
        "姓名",
        "出生日期",
        "国籍",
        "永久居留身份证号码",
        "签名密钥标识",
    ):
        assert chinese in flat, chinese
    for english in ("Passport Information Certificate", "Date of birth", "Signing key ID"):
        assert english in flat, english
    assert kid in flat
    assert claims["jti"] in flat
    assert claims["prCard"]["number"] in flat
    assert facts["passportNumber"] in flat
    assert facts["birthDate"] in flat
    assert f"{base}/verify" in flat
    assert f"{base}/.well-known/jwks.json" in flat

    # Printed (page 1 at 150 dpi), the code scans and what it holds verifies with the
    # published keys alone, by a JOSE library that is not the service's.
    page = await asyncio.to_thread(printed_page, document)
    payloads = await asyncio.to_thread(scanned, page)
    assert len(payloads) == 1, payloads
    token = token_in(payloads[0], base)
    assert token == certificate["token"]
    header, verified = jose_verify(token, await jwks_of(client))
    assert header["kid"] == kid
    assert verified["name"]["surname"] == facts["surname"]

    # On paper the code is at least 35 mm wide, square, with a white quiet zone around it.
    image = Image.open(io.BytesIO(page)).convert("L")
    black = image.point(lambda v: 255 if v < 8 else 0)  # only the code is pure black
    left, top, right, bottom = black.getbbox() or (0, 0, 0, 0)
    side_mm = (right - left) * MM_PER_INCH / DPI
    assert side_mm >= 35, side_mm
    assert abs((right - left) - (bottom - top)) <= 2
    # The finder pattern in the corner is seven modules wide: that gives the module size.
    module = finder_width(black, left, top) / 7
    margin = int(module * 4)
    around = image.crop((left - margin, top - margin, right + margin, bottom + margin))
    for box in (
        (0, 0, around.width, margin - 1),
        (0, around.height - margin + 1, around.width, around.height),
        (0, 0, margin - 1, around.height),
        (around.width - margin + 1, 0, around.width, around.height),
    ):
        assert around.crop(box).getextrema()[0] >= 245, box


async def test_a_holder_registered_with_a_chinese_surname_finds_it_printed(
    client: httpx.AsyncClient, app: Any
) -> None:
    """The shipped fonts hold the labels' characters only: a name's Chinese characters come
    from the system's Chinese face (they printed as "?"), and every font is still embedded."""
    surname = "欧阳" + secrets.choice("伟芳娜敏静丽强磊军洋")
    _, _, holder, certificate = await holder_with_certificate(client, surname=surname)
    response = await download(client, path_of(certificate["pdfUrl"], base_url_of(app)), holder)
    assert response.status_code == 200, response.text
    flat = " ".join((await asyncio.to_thread(pdf_text, response.content)).split())
    assert f"{surname}, Robin" in flat, flat
    info = await asyncio.to_thread(pdf_info, response.content)
    font_lines = [line for line in info["fonts"].splitlines()[2:] if line.strip()]
    assert font_lines and all(" yes " in line for line in font_lines), info["fonts"]


async def test_who_may_download_a_certificate_pdf(client: httpx.AsyncClient, app: Any) -> None:
    base = base_url_of(app)
    officer = await sign_in(client, "officer@demo.test")
    child, child_id = await registered_person(
        client, officer, birth_date=minor_birth_date(), card=valid_card()
    )
    helper = (await sign_up(client, unique_email(), PASSWORD))["accessToken"]
    granted = await add_active_dependant(
        client, helper, child, ["BOOK_APPOINTMENTS", "VIEW_APPLICATIONS", "VIEW_DOCUMENTS"]
    )
    certificate = await issued(client, helper, child_id)
    path = path_of(certificate["pdfUrl"], base)

    # The helper with VIEW_DOCUMENTS, any officer (of another office too) and admins may.
    admin = await sign_in(client, "admin@demo.test")
    elsewhere = await other_office_officer(app, client)
    for token in (helper, officer, elsewhere, admin):
        response = await download(client, path, token)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["cache-control"] == "no-store"

    # A second helper of the same child without VIEW_DOCUMENTS, other applicants and the
    # demo helper get what an unknown certificate gets: nothing tells them it exists.
    limited = (await sign_up(client, unique_email(), PASSWORD))["accessToken"]
    await add_active_dependant(client, limited, child, ["BOOK_APPOINTMENTS"])
    stranger = (await sign_up(client, unique_email(), PASSWORD))["accessToken"]
    others = [limited, stranger, await sign_in(client, "pr@demo.test")]
    others.append(await sign_in(client, "helper@demo.test"))
    unknown = f"/certificates/{to_global_id('Certificate', 2_000_000_000)}.pdf"
    person_id_as_certificate = f"/certificates/{child_id}.pdf"
    refusals = [await download(client, path, token) for token in others]
    refusals.append(await download(client, unknown, helper))
    refusals.append(await download(client, person_id_as_certificate, helper))
    refusals.append(await download(client, "/certificates/not-an-id.pdf", helper))
    for response in refusals:
        assert response.status_code == 404, response.text
        assert response.json() == NOT_FOUND_BODY
        assert response.headers["cache-control"] == "no-store"

    # No token: 401 with a Bearer challenge; a token that is not valid: 401 too.
    response = await download(client, path, None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "UNAUTHENTICATED"
    response = await download(client, path, helper + "x")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    response = await client.get(path, headers={"authorization": "Basic aGk6aG8="})
    assert response.status_code == 401

    # The credential is never in the link: a token in the query string is not one.
    response = await client.get(path, params={"access_token": helper})
    assert response.status_code == 401

    # Once the delegation ends, the helper's access ends with it.
    body = await gql(client, REVOKE_DELEGATION, {"id": granted["id"]}, helper)
    assert body["data"]["revokeDelegation"]["__typename"] == "DelegationRevoked", body
    response = await download(client, path, helper)
    assert response.status_code == 404


async def test_staff_downloads_are_in_the_holders_trail(
    client: httpx.AsyncClient, app: Any
) -> None:
    _, _, holder, certificate = await holder_with_certificate(client)
    claims = payload_of(certificate["token"])
    path = path_of(certificate["pdfUrl"], base_url_of(app))
    officer = await sign_in(client, "officer@demo.test")
    assert (await download(client, path, holder)).status_code == 200
    assert (await download(client, path, officer)).status_code == 200

    body = await gql(client, ACTIONS, token=holder)
    assert "errors" not in body, body
    trail = [e["node"] for e in body["data"]["viewer"]["actionsOnMyBehalf"]["edges"]]
    downloads = [e for e in trail if e["action"] == "READ_CERTIFICATE_PDF"]
    # The officer's download is recorded, with the certificate's id; the holder's own is not.
    assert len(downloads) == 1, trail
    assert downloads[0]["target"] == claims["jti"]
    assert downloads[0]["actor"]["kind"] == "OFFICER"


async def test_the_pdf_route_answers_listed_browser_origins_only(
    client: httpx.AsyncClient, app: Any
) -> None:
    _, _, holder, certificate = await holder_with_certificate(client)
    path = path_of(certificate["pdfUrl"], base_url_of(app))
    listed, stranger = "http://localhost:5173", "https://evil.example"

    preflight = {
        "access-control-request-method": "GET",
        "access-control-request-headers": "authorization",
    }
    response = await client.options(path, headers={"origin": listed, **preflight})
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == listed
    assert "authorization" in response.headers["access-control-allow-headers"]
    response = await client.options(path, headers={"origin": stranger, **preflight})
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers

    response = await download(client, path, holder, origin=listed)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == listed
    assert "access-control-allow-credentials" not in response.headers
    response = await download(client, path, holder, origin=stranger)
    assert "access-control-allow-origin" not in response.headers


async def test_a_revoked_certificate_prints_as_revoked(client: httpx.AsyncClient, app: Any) -> None:
    _, _, holder, certificate = await holder_with_certificate(client)
    path = path_of(certificate["pdfUrl"], base_url_of(app))
    before = " ".join(
        (await asyncio.to_thread(pdf_text, (await download(client, path, holder)).content)).split()
    )
    assert "REVOKED" not in before and "已撤销" not in before

    officer = await sign_in(client, "officer@demo.test")
    revoked = await revoke(client, officer, certificate["id"], "Passport reported stolen.")
    assert revoked["__typename"] == "CertificateRevoked", revoked
    response = await download(client, path, holder)
    assert response.status_code == 200
    after = " ".join((await asyncio.to_thread(pdf_text, response.content)).split())
    assert "已撤销" in after and "REVOKED" in after


async def test_the_holders_language_is_printed_beside_chinese(
    client: httpx.AsyncClient, app: Any
) -> None:
    """Labels come from the message catalogues: a holder whose account reads French gets French
    beside Chinese; Chinese readers get English beside Chinese (every language:
    tests/test_certificate_pdf_languages.py)."""
    _, _, holder, certificate = await holder_with_certificate(client)
    path = path_of(certificate["pdfUrl"], base_url_of(app))
    body = await gql(client, "{ viewer { account { id email } } }", token=holder)
    email = body["data"]["viewer"]["account"]["email"]

    await Account.filter(email=email).update(language="FR")
    text = " ".join(
        (await asyncio.to_thread(pdf_text, (await download(client, path, holder)).content)).split()
    )
    assert "Attestation d'informations de passeport" in text
    assert "Passport Information Certificate" not in text
    assert "护照信息证明" in text

    await Account.filter(email=email).update(language="ZH")
    text = " ".join(
        (await asyncio.to_thread(pdf_text, (await download(client, path, holder)).content)).split()
    )
    assert "Passport Information Certificate" in text
    assert "护照信息证明" in text


def test_every_label_is_in_every_language_and_in_the_embedded_fonts() -> None:
    for language in ("ZH", "EN", "KO", "JA", "RU", "FR", "ES", "AR"):
        labels = signing.pdf.labels(language)
        assert set(labels) == set(signing.pdf.LABELS), language
        missing = {c for text in labels.values() for c in text if not pdf_fonts.covers(c, language)}
        assert not missing, f"{language}: run python -m signing.pdf_fonts for {sorted(missing)}"
    for path in pdf_fonts.FILES.values():
        assert path.stat().st_size < 1_000_000, path
    licence = (pdf_fonts.FONT_DIR / "OFL.txt").read_text()
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence


# --------------------------------------------------------------------------- the QR codes


def svg_modules(svg: str) -> tuple[int, set[tuple[int, int]], Element]:
    """The side (in modules, quiet zone included) of segno's SVG, its dark modules as
    (column, row), and the element of its background."""
    root = ElementTree.fromstring(svg)
    namespace = "{http://www.w3.org/2000/svg}"
    paths = list(root.iter(f"{namespace}path"))
    background = next(p for p in paths if p.get("fill"))
    dark_path = next(p for p in paths if p.get("stroke"))
    assert dark_path.get("stroke") == "#000"
    side = int(re.fullmatch(r"M0 0h(\d+)v\1h-\1z", background.get("d", "")).group(1))
    dark: set[tuple[int, int]] = set()
    x = y = 0.0
    for command, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", dark_path.get("d", "")):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        else:
            dark.update((int(x) + i, int(y)) for i in range(int(float(a))))
            x += float(a)
    return side, dark, background


async def test_qr_codes_are_dark_on_white_with_a_quiet_zone_and_scan(
    client: httpx.AsyncClient, app: Any
) -> None:
    *_, certificate = await holder_with_certificate(client)
    base = base_url_of(app)

    # The PNG: black on white only, four white modules around the symbol; zbar reads it and
    # what it reads verifies with the published keys.
    png = base64.b64decode(certificate["qrPng"], validate=True)
    image = Image.open(io.BytesIO(png)).convert("L")
    assert {value for _, value in image.getcolors() or []} == {0, 255}
    dark_image = image.point(lambda v: 255 - v)
    left, top, right, bottom = dark_image.getbbox() or (0, 0, 0, 0)
    assert (right - left) == (bottom - top)
    scale = finder_width(dark_image, left, top) // 7
    assert (right - left) % scale == 0
    assert left == top == 4 * scale, "a quiet zone of four modules"
    assert image.width - right == image.height - bottom == 4 * scale
    payloads = await asyncio.to_thread(scanned, png)
    assert len(payloads) == 1
    assert token_in(payloads[0], base) == certificate["token"]
    jose_verify(token_in(payloads[0], base), await jwks_of(client))

    # The SVG draws the same modules, dark strokes over an explicit white square that
    # covers the quiet zone (on a dark page it still scans).
    side, dark, background = svg_modules(certificate["qrSvg"])
    assert background.get("fill") in ("#fff", "#ffffff", "white")
    assert side * scale == image.width
    from_png = {
        (col, row)
        for row in range(side)
        for col in range(side)
        if image.getpixel((col * scale + scale // 2, row * scale + scale // 2)) == 0
    }
    assert dark == from_png
    assert all(4 <= col < side - 4 and 4 <= row < side - 4 for col, row in dark)


# ------------------------------------------------------------------- lists and lookups


async def test_person_certificates_lists_them_for_those_who_may_see_documents(
    client: httpx.AsyncClient,
) -> None:
    _, person_id, holder, first = await holder_with_certificate(client)
    second = await issued(client, holder, person_id)
    officer = await sign_in(client, "officer@demo.test")
    assert (await revoke(client, officer, first["id"], "Lost."))["__typename"] == (
        "CertificateRevoked"
    )

    body = await gql(client, MY_CERTIFICATES, token=holder)
    assert "errors" not in body, body
    listed = body["data"]["viewer"]["person"]["certificates"]
    assert [(c["id"], c["revoked"]) for c in listed] == [
        (second["id"], False),
        (first["id"], True),
    ], "latest first, revoked ones included"
    assert listed[0]["token"] == second["token"]

    # Staff see them; a stranger sees no person at all.
    body = await gql(client, PERSON_CERTIFICATES, {"id": person_id}, officer)
    assert [c["id"] for c in body["data"]["node"]["certificates"]] == [second["id"], first["id"]]
    stranger = (await sign_up(client, unique_email(), PASSWORD))["accessToken"]
    body = await gql(client, PERSON_CERTIFICATES, {"id": person_id}, stranger)
    assert body["data"]["node"] is None


async def test_a_helper_sees_certificates_only_with_view_documents(
    client: httpx.AsyncClient,
) -> None:
    officer = await sign_in(client, "officer@demo.test")
    child, child_id = await registered_person(
        client, officer, birth_date=minor_birth_date(), card=valid_card()
    )
    helper = (await sign_up(client, unique_email(), PASSWORD))["accessToken"]
    await add_active_dependant(client, helper, child, ["VIEW_DOCUMENTS"])
    certificate = await issued(client, helper, child_id)
    limited = (await sign_up(client, unique_email(), PASSWORD))["accessToken"]
    await add_active_dependant(client, limited, child, ["BOOK_APPOINTMENTS"])

    body = await gql(client, PERSON_CERTIFICATES, {"id": child_id}, helper)
    assert [c["id"] for c in body["data"]["node"]["certificates"]] == [certificate["id"]]
    body = await gql(client, PERSON_CERTIFICATES, {"id": child_id}, limited)
    assert "errors" not in body, body
    assert body["data"]["node"]["id"] == child_id, "the helper sees the dependant"
    assert body["data"]["node"]["certificates"] is None, "but not their certificates"


async def test_an_officer_finds_a_presented_certificate_and_revokes_it(
    client: httpx.AsyncClient,
) -> None:
    _, _, holder, certificate = await holder_with_certificate(client)
    officer = await sign_in(client, "officer@demo.test")

    # Only staff learn which certificate a token is.
    for token in (None, holder, (await sign_up(client, unique_email(), PASSWORD))["accessToken"]):
        body = await gql(client, VERIFY, {"token": certificate["token"]}, token)
        assert body["data"]["verifyDocument"] == {
            "valid": True,
            "failure": None,
            "certificateId": None,
        }
    body = await gql(client, VERIFY, {"token": certificate["token"]}, officer)
    found = body["data"]["verifyDocument"]
    assert found == {"valid": True, "failure": None, "certificateId": certificate["id"]}

    revoked = await revoke(client, officer, found["certificateId"], "Presented by someone else.")
    assert revoked["__typename"] == "CertificateRevoked", revoked
    body = await gql(client, VERIFY, {"token": certificate["token"]})
    assert body["data"]["verifyDocument"]["failure"] == "REVOKED"
    body = await gql(client, MY_CERTIFICATES, token=holder)
    assert body["data"]["viewer"]["person"]["certificates"][0]["revoked"] is True


# ------------------------------------------------------------- a long passport history

BIND = """
mutation($input: BindPassportInput!) { bindPassport(input: $input) {
  __typename ... on PassportBound { passport { number current } }
  ... on ValidationError { message field }
} }"""
PRESENT = """
mutation($input: PresentCertificateInput!) { presentCertificate(input: $input) {
  __typename ... on CertificatePresented { presentation { token disclosed qrSvg qrPng } }
  ... on ValidationError { message field }
} }"""
FULL_VERIFICATION = """
query($token: String!) { verifyDocument(token: $token) { valid failure claims disclosed } }"""
# Long names in Chinese characters: three bytes each in the token, four base64 characters.
LONG_SURNAME = "欧阳司马诸葛上官东方皇甫尉迟公羊澹台公冶宗政濮阳淳于单于太叔申屠"
LONG_GIVEN_NAMES = "龙飞凤舞鹏程万里锦绣前程海阔天空" * 3


def png_payloads(png_base64: str) -> list[str]:
    """What zbar reads in a base64 PNG QR code."""
    return scanned(base64.b64decode(png_base64))


async def person_with_passports(
    client: httpx.AsyncClient,
    count: int,
    surname: str = LONG_SURNAME,
    given_names: str = LONG_GIVEN_NAMES,
) -> tuple[dict, str]:
    """A permanent resident with long Chinese names and `count` passports bound one after
    the other (the last one current): the identity facts (of the current passport) and the
    person's ID."""
    officer = await sign_in(client, "officer@demo.test")
    today = beijing_today()
    facts = {
        "surname": surname,
        "nationality": "CHN",
        "birthDate": adult_birth_date().isoformat(),
        "passportNumber": passport_number("H"),
    }
    valid_until = (today + timedelta(days=3000)).isoformat()
    values = person_input(facts, given_names=given_names, passport_valid_until=valid_until)
    person_id = (await register_person_as(client, officer, values))["id"]
    card = {
        "personId": person_id,
        "issuedOn": valid_card()[0].isoformat(),
        "validUntil": valid_card()[1].isoformat(),
    }
    body = await gql(client, ISSUE_CARD, {"input": card}, officer)
    assert body["data"]["issuePermanentResidentCard"]["__typename"] == "PermanentResidentCardIssued"
    for _ in range(count - 1):
        number = passport_number("H")
        bound = {
            "personId": person_id,
            "passportNumber": number,
            "issuingCountry": "CHN",
            "validUntil": valid_until,
        }
        result = (await gql(client, BIND, {"input": bound}, officer))["data"]["bindPassport"]
        assert result["__typename"] == "PassportBound", result
        facts["passportNumber"] = number
    return facts, person_id


async def test_a_long_passport_history_fits_every_qr_code_and_says_what_it_leaves_out(
    client: httpx.AsyncClient, app: Any
) -> None:
    facts, person_id = await person_with_passports(client, 12)
    officer = await sign_in(client, "officer@demo.test")
    base = base_url_of(app)
    certificate = await issued(client, officer, person_id)

    # The current passport and the latest superseded ones (the policy's count at most), and
    # how many earlier ones are left out: together, every passport bound to the card.
    claims = payload_of(certificate["token"])
    assert claims["name"] == {"surname": LONG_SURNAME, "givenNames": LONG_GIVEN_NAMES}
    listed = claims["passports"]
    (current,) = [p for p in listed if p["current"]]
    assert current["number"] == facts["passportNumber"]
    earlier = [p for p in listed if not p["current"]]
    maximum = app.state.services.settings.certificate_max_earlier_passports
    assert 1 <= len(earlier) <= maximum
    assert len(earlier) + claims["earlierPassportsNotListed"] == 11
    assert claims["earlierPassportsNotListed"] >= 11 - maximum

    # Both QR codes hold the verification link of the whole token.
    assert certificate["qrSvg"].lstrip().startswith("<svg")
    assert [token_in(p, base) for p in png_payloads(certificate["qrPng"])] == [certificate["token"]]
    # Anyone verifies it; the offline verifier says what the list leaves out.
    verification = (await gql(client, FULL_VERIFICATION, {"token": certificate["token"]}))["data"]
    assert verification["verifyDocument"]["valid"] is True, verification
    jwks = await jwks_of(client)
    offline = signing.verification.verify(
        certificate["token"], {k["kid"]: k for k in jwks["keys"]}, datetime.now(UTC)
    )
    assert offline.valid
    assert signing.verification.earlier_not_listed(offline) == claims["earlierPassportsNotListed"]

    # The PDF prints, states the count and its code scans to the token.
    response = await download(client, path_of(certificate["pdfUrl"], base), officer)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    flat = " ".join((await asyncio.to_thread(pdf_text, response.content)).split())
    assert "Earlier passports not listed" in flat
    assert "未列出的更早护照" in flat
    assert re.search(
        rf"Earlier passports not listed\s+{claims['earlierPassportsNotListed']}\b", flat
    )
    page = await asyncio.to_thread(printed_page, response.content)
    assert [token_in(p, base) for p in await asyncio.to_thread(scanned, page)] == [
        certificate["token"]
    ]

    # The holder presents the history: the same passports and the same count, in a QR code.
    holder = await linked_holder(client, facts)
    everything = [
        "NAME", "BIRTH_DATE", "NATIONALITY", "PR_CARD_NUMBER", "PR_CARD_VALIDITY",
        "CURRENT_PASSPORT", "PASSPORT_HISTORY",
    ]  # fmt: skip
    for disclose in (["PASSPORT_HISTORY"], everything):
        answer = await gql(
            client,
            PRESENT,
            {"input": {"certificateId": certificate["id"], "disclose": disclose}},
            holder,
        )
        result = answer["data"]["presentCertificate"]
        assert result["__typename"] == "CertificatePresented", result
        presentation = result["presentation"]
        assert presentation["qrSvg"].lstrip().startswith("<svg")
        assert [token_in(p, base) for p in png_payloads(presentation["qrPng"])] == [
            presentation["token"]
        ]
        shown = (await gql(client, FULL_VERIFICATION, {"token": presentation["token"]}))["data"]
        shown = shown["verifyDocument"]
        assert shown["valid"] is True, shown
        assert shown["claims"]["passportHistory"] == {
            "passports": [
                {
                    k: p[k]
                    for k in ("number", "issuingCountry", "validUntil", "boundFrom", "boundUntil")
                }
                for p in earlier
            ],
            "earlierNotListed": claims["earlierPassportsNotListed"],
        }


async def test_the_longest_names_still_get_a_certificate_whose_code_scans(
    client: httpx.AsyncClient, app: Any
) -> None:
    """Names of 100 Chinese characters each (the most registration takes) leave no room for
    earlier passports in the printed code's size: the certificate lists the current one, says
    how many it leaves out, and its (denser) code still holds the whole token."""
    _, person_id = await person_with_passports(client, 3, "龍" * 100, "鳳" * 100)
    officer = await sign_in(client, "officer@demo.test")
    certificate = await issued(client, officer, person_id)
    claims = payload_of(certificate["token"])
    assert [p["current"] for p in claims["passports"]] == [True]
    assert claims["earlierPassportsNotListed"] == 2
    base = base_url_of(app)
    assert [token_in(p, base) for p in png_payloads(certificate["qrPng"])] == [certificate["token"]]
    response = await download(client, path_of(certificate["pdfUrl"], base), officer)
    assert response.status_code == 200, response.text


async def test_names_too_long_for_any_qr_code_are_refused_with_a_reason(
    client: httpx.AsyncClient,
) -> None:
    """Characters outside the Basic Multilingual Plane take 4 bytes each: names of 100 and
    200 of them overflow any QR code. Registration refuses them (a ValidationError); a
    person registered with them before that check gets a clear error on issuing, not an
    internal one, and nothing is stored."""
    officer = await sign_in(client, "officer@demo.test")
    facts = {
        "surname": "𠮷" * 100,
        "nationality": "CHN",
        "birthDate": adult_birth_date().isoformat(),
        "passportNumber": passport_number("H"),
    }
    refused = await gql(
        client,
        """mutation($input: RegisterPersonInput!) { registerPerson(input: $input) {
             __typename ... on ValidationError { message field } } }""",
        {
            "input": person_input(
                facts,
                given_names="𠮷" * 200,
                passport_valid_until=(beijing_today() + timedelta(days=3000)).isoformat(),
            )
        },
        officer,
    )
    assert refused["data"]["registerPerson"]["__typename"] == "ValidationError", refused
    assert refused["data"]["registerPerson"]["field"] == "givenNames"

    _, person_id = await person_with_passports(client, 1, "Longname", "Before The Check")
    await PersonRow.filter(id=pk_of(person_id)).update(surname="𠮷" * 100, given_names="𠮷" * 200)
    body = await gql(client, ISSUE, {"id": person_id}, officer)
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "NAMES_TOO_LONG_FOR_QR", error
    assert "too long for a certificate's QR code" in error["message"]
    listed = await gql(client, PERSON_CERTIFICATES, {"id": person_id}, officer)
    assert listed["data"]["node"]["certificates"] == []


async def test_a_certificate_too_long_for_a_qr_code_says_so_instead_of_failing(
    client: httpx.AsyncClient, app: Any, monkeypatch: Any
) -> None:
    """A certificate signed before certificates were fitted to one QR code (here: every
    passport of a long history listed, as the first version of issuing did) may be too long
    for any. It still verifies; its codes and printout answer a typed refusal, and a new
    certificate has both."""
    passports = 20
    _, person_id = await person_with_passports(client, passports)
    officer = await sign_in(client, "officer@demo.test")
    base = base_url_of(app)

    def unfitted(*, listing: Any, earlier: int, public_base_url: str, **signing: Any) -> Any:
        return signing_certificates.sign(facts=listing(passports - 1), **signing)

    with monkeypatch.context() as patched:
        patched.setattr(signing_certificates, "sign_within_qr", unfitted)
        body = await gql(client, ISSUE, {"id": person_id}, officer)
    # Asked for with its codes, the new certificate's SVG is refused by name; nothing else.
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "TOO_LARGE_FOR_QR", error
    assert "too long for a QR code" in error["message"] and "Traceback" not in str(body)

    certificates = await gql(
        client,
        """query($id: ID!) { node(id: $id) { ... on Person {
             certificates { id token qrPng pdfUrl revoked } } } }""",
        {"id": person_id},
        officer,
    )
    assert "errors" not in certificates, certificates
    (legacy,) = certificates["data"]["node"]["certificates"]
    assert len(qr.verification_link(base, legacy["token"]).encode()) > qr.MAX_BYTES
    assert legacy["qrPng"] is None
    verification = (await gql(client, VERIFY, {"token": legacy["token"]}))["data"]
    assert verification["verifyDocument"]["valid"] is True, verification

    svg = await gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Certificate { qrSvg } } }",
        {"id": legacy["id"]},
        officer,
    )
    assert svg["errors"][0]["extensions"]["code"] == "TOO_LARGE_FOR_QR", svg
    response = await download(client, path_of(legacy["pdfUrl"], base), officer)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "TOO_LARGE_FOR_QR"
    refused_zh = await download(
        client, path_of(legacy["pdfUrl"], base), officer, **{"accept-language": "zh-CN"}
    )
    assert refused_zh.status_code == 409
    assert refused_zh.json()["error"]["message"] != response.json()["error"]["message"]

    # A new certificate, fitted to its code, prints and scans.
    fresh = await issued(client, officer, person_id)
    assert [token_in(p, base) for p in png_payloads(fresh["qrPng"])] == [fresh["token"]]
    printed = await download(client, path_of(fresh["pdfUrl"], base), officer)
    assert printed.status_code == 200
