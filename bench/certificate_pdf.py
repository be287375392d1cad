"""Printable certificates: PDF rendering time and QR code drawing time.

In process, for N freshly signed certificates of realistic size (each its own token, so no
QR code is drawn twice): the QR code as a base64 PNG (Certificate.qrPng) and as SVG, and the
whole A4 PDF (signing.pdf.render: fonts, facts, the QR as vector shapes), in ms per document
and documents per second. With --http it also starts the real server on a fresh database,
issues certificates for the demo permanent resident and downloads each PDF twice over HTTP
(`GET /certificates/{id}.pdf`: the first download renders, the second is the process's cached
copy), C downloads at a time.

    .venv/bin/python bench/certificate_pdf.py               # N = 40
    .venv/bin/python bench/certificate_pdf.py -n 100
    .venv/bin/python bench/certificate_pdf.py --http --requests 40 --concurrency 4
    .venv/bin/python bench/certificate_pdf.py --name 张,伟    # a name the shipped fonts lack
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import time
from datetime import UTC, datetime, timedelta, timezone

from harness import (
    PR_CERTIFICATE_FACTS,
    database_arguments,
    demo_pr_signed_in,
    percentile,
    served,
)

BASE_URL = "https://immigration.example.gov.cn"
HOME = timezone(timedelta(hours=8))


def timed(function, items: list) -> list[float]:
    """Milliseconds of `function(item)` for each item, one after the other."""
    spent = []
    for item in items:
        began = time.perf_counter()
        function(item)
        spent.append((time.perf_counter() - began) * 1000)
    return spent


def bench_in_process(n: int, name: dict[str, str] | None = None) -> dict[str, object]:
    from jwcrypto import jwk

    from signing import qr
    from signing.certificates import sign
    from signing.pdf import PrintableCertificate, render

    facts = {**PR_CERTIFICATE_FACTS, **({"name": name} if name else {})}
    key = jwk.JWK.generate(kty="OKP", crv="Ed25519")
    kid = f"doc-{key.thumbprint()[:16]}"
    now = datetime.now(UTC)
    signed = [
        sign(
            private_key=key,
            kid=kid,
            alg="EdDSA",
            issuer=BASE_URL,
            subject=secrets.token_urlsafe(18),
            facts=facts,
            now=now,
            validity_days=90,
        )
        for _ in range(3 * n + 3)
    ]
    links = [qr.verification_link(BASE_URL, s.token) for s in signed]

    def document(index: int) -> PrintableCertificate:
        s = signed[index]
        return PrintableCertificate(
            claims={"iss": BASE_URL, "jti": s.jti, **facts},
            key_id=kid,
            issued_at=s.issued_at.astimezone(HOME),
            expires_at=s.expires_at.astimezone(HOME),
            qr_payload=links[index],
            verify_url=f"{BASE_URL}/verify",
            jwks_url=f"{BASE_URL}/.well-known/jwks.json",
        )

    render(document(3 * n))  # warm up: imports, font files read once by the OS
    qr.qr_png_base64(links[3 * n + 1])
    png = timed(qr.qr_png_base64, links[:n])
    svg = timed(qr.qr_svg, links[n : 2 * n])
    pdf = timed(lambda i: render(document(i)), list(range(2 * n, 3 * n)))
    # The same documents again: their QR codes are encoded already (the service's case for a
    # certificate whose qrPng or qrSvg was asked for before its PDF).
    pdf_qr_known = timed(lambda i: render(document(i)), list(range(2 * n, 3 * n)))
    sizes = [len(render(document(i))) for i in range(2 * n, min(3 * n, 2 * n + 5))]
    return {
        "n": n,
        "token_chars": statistics.mean(len(s.token) for s in signed),
        "png": png,
        "svg": svg,
        "pdf": pdf,
        "pdf_qr_known": pdf_qr_known,
        "pdf_bytes": statistics.mean(sizes),
        "png_bytes": len(qr.qr_png(links[0])),
    }


# --------------------------------------------------------------------------------- HTTP

ISSUE = """
mutation($id: ID!) { issuePassportCertificate(personId: $id) {
  ... on CertificateIssued { certificate { id pdfUrl } } } }"""


async def bench_http(args: argparse.Namespace, base_url: str) -> dict[str, object]:
    import httpx

    limits = httpx.Limits(max_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as client:
        auth, person_id = await demo_pr_signed_in(client)
        paths = []
        for _ in range(args.requests):
            body = await client.post(
                "/graphql", json={"query": ISSUE, "variables": {"id": person_id}}, headers=auth
            )
            url = body.json()["data"]["issuePassportCertificate"]["certificate"]["pdfUrl"]
            paths.append("/" + url.split("/", 3)[3])

        gate = asyncio.Semaphore(args.concurrency)

        async def download(path: str, spent: list[float], statuses: list[int]) -> None:
            async with gate:
                began = time.perf_counter()
                response = await client.get(path, headers=auth)
                spent.append((time.perf_counter() - began) * 1000)
                statuses.append(response.status_code)

        rounds = {}
        for name in ("first (renders)", "again (cached)"):
            spent: list[float] = []
            statuses: list[int] = []
            began = time.perf_counter()
            await asyncio.gather(*(download(p, spent, statuses) for p in paths))
            wall = time.perf_counter() - began
            rounds[name] = (spent, statuses, wall)
    return rounds


async def run_http(args: argparse.Namespace) -> dict[str, object]:
    extra_env = {"COST_BUDGET_PER_MINUTE": "100000000"}
    async with served(args, "pdf-bench-", extra_env) as (_, base_url):
        return await bench_http(args, base_url)


# --------------------------------------------------------------------------------- main


def line(label: str, values: list[float]) -> str:
    mean = statistics.mean(values)
    return (
        f"{label:<42} {mean:8.1f} ms/doc  p50 {percentile(values, 50):7.1f}  "
        f"p95 {percentile(values, 95):7.1f}  {1000 / mean:7.1f} docs/s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=40, help="documents per measurement (40)")
    parser.add_argument("--http", action="store_true", help="also download through a server")
    parser.add_argument(
        "--name", help="in process: the holder's SURNAME,GIVEN NAMES (default: Latin letters)"
    )
    parser.add_argument("--requests", type=int, default=40, help="HTTP: certificates (40)")
    parser.add_argument("--concurrency", type=int, default=4, help="HTTP: downloads at once (4)")
    database_arguments(parser, "sqlite", "postgres", default="sqlite")
    args = parser.parse_args(argv)
    if args.n < 1 or args.requests < 1 or args.concurrency < 1:
        parser.error("-n, --requests and --concurrency must be at least 1")

    name = None
    if args.name:
        surname, _, given = args.name.partition(",")
        name = {"surname": surname, "givenNames": given}
    result = bench_in_process(args.n, name)
    print(
        f"in process, {result['n']} certificates of {result['token_chars']:.0f} characters "
        f"(holder {args.name or 'JOHNSON, Michael James'}) "
        f"(QR payload: {BASE_URL}/verify#token=...), one at a time"
    )
    print(line(f"QR code as base64 PNG ({result['png_bytes']} bytes)", result["png"]))
    print(line("QR code as SVG", result["svg"]))
    print(line(f"PDF, QR encoded fresh ({result['pdf_bytes'] / 1024:.0f} KiB)", result["pdf"]))
    print(line("PDF, QR already encoded", result["pdf_qr_known"]))

    if args.http:
        rounds = asyncio.run(run_http(args))
        print(
            f"over HTTP ({args.database}), GET /certificates/{{id}}.pdf, "
            f"{args.requests} certificates, {args.concurrency} at a time"
        )
        for name, (spent, statuses, wall) in rounds.items():
            bad = [s for s in statuses if s != 200]
            print(
                f"{name:<16} {len(statuses) / wall:7.1f} downloads/s  "
                f"p50 {percentile(spent, 50):7.1f} ms  p99 {percentile(spent, 99):7.1f} ms"
                + (f"  NOT 200: {sorted(set(bad))}" if bad else "")
            )
            if bad:
                return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
