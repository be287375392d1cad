"""Signing throughput: passport-information certificates issued, presented (selective
disclosure, SD-JWT) and verified per second.

By default measures the pure functions the service uses (signing.certificates.sign,
signing.sd_jwt.present and signing.verification.verify) with a freshly generated Ed25519 key
and a certificate of realistic size, in this process, one at a time. With --http it also
starts the real server as a subprocess on a fresh database (SQLite file in a temporary folder,
or a new PostgreSQL database that is dropped afterwards), signs in the demo permanent resident
and measures end-to-end issuePassportCertificate, presentCertificate (two facts: name and
current passport) and verifyDocument (of certificates and of presentations) requests per
second with C concurrent clients.

    .venv/bin/python bench/signing.py                 # N = 2000
    .venv/bin/python bench/signing.py -n 5000
    .venv/bin/python bench/signing.py --http --requests 500 --concurrency 16
    .venv/bin/python bench/signing.py --http --database postgres
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from harness import (
    PR_CERTIFICATE_FACTS,
    database_arguments,
    demo_pr_signed_in,
    percentile,
    served,
)

# --------------------------------------------------------------------------- in process


def bench_functions(n: int) -> dict[str, float]:
    from jwcrypto import jwk

    from signing.certificates import qr_svg, sign, verify
    from signing.sd_jwt import certificate_claims, facts_of, present

    key = jwk.JWK.generate(kty="OKP", crv="Ed25519")
    kid = f"doc-{key.thumbprint()[:16]}"
    public = key.export_public(as_dict=True)
    public.update({"kid": kid, "alg": "EdDSA", "use": "sig"})
    keys = {kid: public}
    now = datetime.now(UTC)

    def one_sign() -> str:
        return sign(
            private_key=key,
            kid=kid,
            alg="EdDSA",
            issuer="https://immigration.example.gov.cn",
            subject=secrets.token_urlsafe(18),
            facts=PR_CERTIFICATE_FACTS,
            now=now,
            validity_days=90,
        ).token

    for _ in range(min(50, n)):  # warm up
        verify(one_sign(), keys, now)

    began = time.perf_counter()
    tokens = [one_sign() for _ in range(n)]
    signing_s = time.perf_counter() - began

    began = time.perf_counter()
    results = [verify(token, keys, now) for token in tokens]
    verifying_s = time.perf_counter() - began
    invalid = sum(1 for r in results if not r.valid)
    if invalid:
        raise RuntimeError(f"{invalid} of {n} freshly signed certificates did not verify")

    def one_present(token: str) -> str:
        return present(
            private_key=key,
            kid=kid,
            alg="EdDSA",
            issuer="https://immigration.example.gov.cn",
            facts=facts_of(certificate_claims(token)),
            disclose=["NAME", "CURRENT_PASSPORT"],
            now=now,
            lifetime=timedelta(minutes=10),
        ).token

    began = time.perf_counter()
    presentations = [one_present(token) for token in tokens]
    presenting_s = time.perf_counter() - began

    began = time.perf_counter()
    results = [verify(p, keys, now) for p in presentations]
    verifying_presentations_s = time.perf_counter() - began
    wrong = sum(1 for r in results if not r.valid or r.disclosed != ("NAME", "CURRENT_PASSPORT"))
    if wrong:
        raise RuntimeError(f"{wrong} of {n} fresh presentations did not verify as made")

    qr_n = max(1, n // 10)
    began = time.perf_counter()
    for token in tokens[:qr_n]:
        qr_svg(token)
    qr_s = time.perf_counter() - began

    return {
        "n": n,
        "qr_per_s": qr_n / qr_s,
        "qr_ms": qr_s / qr_n * 1000,
        "token_bytes": statistics.mean(len(t) for t in tokens),
        "signed_per_s": n / signing_s,
        "verified_per_s": n / verifying_s,
        "sign_ms": signing_s / n * 1000,
        "verify_ms": verifying_s / n * 1000,
        "presentation_bytes": statistics.mean(len(p) for p in presentations),
        "presented_per_s": n / presenting_s,
        "present_ms": presenting_s / n * 1000,
        "presentations_verified_per_s": n / verifying_presentations_s,
        "verify_presentation_ms": verifying_presentations_s / n * 1000,
    }


# ------------------------------------------------------------------------------- server


# --------------------------------------------------------------------------------- HTTP

ISSUE = """
mutation($id: ID!) {
  issuePassportCertificate(personId: $id) {
    __typename ... on CertificateIssued { certificate { id token %s } }
  }
}"""
VERIFY = "query($token: String!) { verifyDocument(token: $token) { valid failure disclosed } }"
PRESENT = """
mutation($input: PresentCertificateInput!) {
  presentCertificate(input: $input) {
    __typename ... on CertificatePresented { presentation { token %s } }
  }
}"""


@dataclass
class Fired:
    """What `fire` measured: each request's outcome and latency (ms), and the wall time (s)."""

    outcomes: list[str]
    latencies: list[float]
    wall: float

    def count(self, outcome: str) -> int:
        return self.outcomes.count(outcome)

    def other(self, outcome: str) -> list[str]:
        return sorted({o for o in self.outcomes if o != outcome})

    def per_s(self, count: int) -> float:
        return count / self.wall if self.wall else 0.0

    def p(self, pct: float) -> float:
        return percentile(self.latencies, pct) if self.latencies else 0.0

    def report(self, label: str, ok: str, done: str, made: bool) -> bool:
        """Print a line of figures: how many had the outcome `ok`, per second (of those when
        the requests `made` something, else of all), p50 and p99; for requests that made
        something, the other outcomes too. Whether every request had the outcome `ok`."""
        count, requests = self.count(ok), len(self.outcomes)
        per_s = self.per_s(count if made else requests)
        print(
            f"  {label} {count}/{requests} {done}, {per_s:.1f}/s, "
            f"p50 {self.p(50):.1f} ms, p99 {self.p(99):.1f} ms"
        )
        if made and self.other(ok):
            print(f"  other outcomes:    {self.other(ok)}")
        return count == requests


async def fire(client, requests: int, concurrency: int, make_payload, headers, check) -> Fired:
    """`requests` POSTs, at most `concurrency` at a time."""
    gate = asyncio.Semaphore(concurrency)
    outcomes: list[str] = []
    latencies: list[float] = []

    async def one(i: int) -> None:
        async with gate:
            began = time.perf_counter()
            response = await client.post("/graphql", json=make_payload(i), headers=headers)
            latencies.append((time.perf_counter() - began) * 1000)
            outcomes.append(check(response))

    began = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(requests)))
    return Fired(outcomes, latencies, time.perf_counter() - began)


def typename_keeping(field: str, member: str, payload: str, kept: list[str]):
    """The outcome of a `field` mutation's response: its result's type name; the token of
    the `payload` of each `member` result is added to `kept`."""

    def outcome(response) -> str:
        if response.status_code != 200:
            return f"HTTP {response.status_code}"
        result = (response.json().get("data") or {}).get(field)
        if not result:
            return f"error {response.json().get('errors')}"
        if result["__typename"] == member:
            kept.append(result[payload]["token"])
        return result["__typename"]

    return outcome


def verification(disclosed: list[str] | None = None):
    """The outcome of a verifyDocument response: "valid" when the token is valid (and
    discloses exactly `disclosed`, when given)."""

    def outcome(response) -> str:
        if response.status_code != 200:
            return f"HTTP {response.status_code}"
        result = (response.json().get("data") or {}).get("verifyDocument")
        ok = result and result["valid"] and (disclosed is None or result["disclosed"] == disclosed)
        return "valid" if ok else f"invalid {result}"

    return outcome


async def made_then_verified(
    client,
    args: argparse.Namespace,
    payload: dict[str, object],
    auth: dict[str, str],
    result: tuple[str, str, str],
    disclosed: list[str] | None = None,
) -> tuple[Fired, Fired]:
    """`args.requests` times the mutation of `payload`, then verifyDocument of every token it
    made; `result` is (field, member, payload holding the token) as for `typename_keeping`."""
    tokens: list[str] = []
    made = await fire(
        client,
        args.requests,
        args.concurrency,
        lambda i: payload,
        auth,
        typename_keeping(*result, tokens),
    )
    verified = await fire(
        client,
        len(tokens),
        args.concurrency,
        lambda i: {"query": VERIFY, "variables": {"token": tokens[i]}},
        {},
        verification(disclosed),
    )
    return made, verified


async def bench_http(args: argparse.Namespace, base_url: str) -> dict[str, Fired]:
    import httpx

    limits = httpx.Limits(max_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as client:
        auth, person_id = await demo_pr_signed_in(client)

        query = ISSUE % ("" if args.no_qr else "qrSvg")
        issue_payload = {"query": query, "variables": {"id": person_id}}
        warm_up = typename_keeping(
            "issuePassportCertificate", "CertificateIssued", "certificate", []
        )
        await fire(
            client, min(20, args.requests), args.concurrency, lambda i: issue_payload, auth, warm_up
        )
        issuing, verifying = await made_then_verified(
            client,
            args,
            issue_payload,
            auth,
            ("issuePassportCertificate", "CertificateIssued", "certificate"),
        )

        # Presentations of the certificates just issued, one each, then their verification.
        body = (
            await client.post(
                "/graphql",
                json={"query": ISSUE % "id", "variables": {"id": person_id}},
                headers=auth,
            )
        ).json()
        ids = [body["data"]["issuePassportCertificate"]["certificate"]["id"]]
        present_query = PRESENT % ("" if args.no_qr else "qrSvg")
        present_payload = {
            "query": present_query,
            "variables": {
                "input": {"certificateId": ids[0], "disclose": ["NAME", "CURRENT_PASSPORT"]}
            },
        }
        presenting, verifying_presentations = await made_then_verified(
            client,
            args,
            present_payload,
            auth,
            ("presentCertificate", "CertificatePresented", "presentation"),
            disclosed=["NAME", "CURRENT_PASSPORT"],
        )
    return {
        "issue": issuing,
        "verify": verifying,
        "present": presenting,
        "verify_presentations": verifying_presentations,
    }


async def run_http(args: argparse.Namespace) -> dict[str, Fired]:
    extra_env = {"COST_BUDGET_PER_MINUTE": "100000000"}
    async with served(args, "signing-bench-", extra_env) as (_, base_url):
        return await bench_http(args, base_url)


# --------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="certificates to sign and verify (2000)")
    parser.add_argument("--http", action="store_true", help="also measure through a real server")
    parser.add_argument("--requests", type=int, default=300, help="HTTP issue requests (300)")
    parser.add_argument("--concurrency", type=int, default=8, help="HTTP clients at once (8)")
    parser.add_argument(
        "--no-qr", action="store_true", help="HTTP: do not ask for qrSvg when issuing"
    )
    database_arguments(parser, "sqlite", "postgres", default="sqlite")
    args = parser.parse_args(argv)
    if args.n < 1 or args.requests < 1 or args.concurrency < 1:
        parser.error("-n, --requests and --concurrency must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    local = bench_functions(args.n)
    print(f"in process (signing.certificates, signing.sd_jwt; Ed25519, one core), N = {local['n']}")
    print(f"  token size:        {local['token_bytes']:.0f} characters")
    print(f"  signed/s:          {local['signed_per_s']:.0f}   ({local['sign_ms']:.3f} ms each)")
    print(
        f"  verified/s:        {local['verified_per_s']:.0f}   ({local['verify_ms']:.3f} ms each)"
    )
    print(f"  QR SVGs/s:         {local['qr_per_s']:.0f}   ({local['qr_ms']:.2f} ms each)")
    print(
        f"  presentation size: {local['presentation_bytes']:.0f} characters "
        "(SD-JWT disclosing name and current passport)"
    )
    print(
        f"  presented/s:       {local['presented_per_s']:.0f}   ({local['present_ms']:.3f} ms each)"
    )
    print(
        f"  presentations verified/s: {local['presentations_verified_per_s']:.0f}   "
        f"({local['verify_presentation_ms']:.3f} ms each)"
    )
    if args.http:
        result = asyncio.run(run_http(args))
        qr = "without" if args.no_qr else "with"
        print(
            f"over HTTP ({args.database}, real server, {args.concurrency} concurrent clients, "
            f"{args.requests} requests, issuing {qr} qrSvg)"
        )
        every = [
            result["issue"].report(
                "issuePassportCertificate:", "CertificateIssued", "issued", True
            ),
            result["verify"].report("verifyDocument:   ", "valid", "valid", False),
            result["present"].report(
                "presentCertificate:", "CertificatePresented", f"presented ({qr} qrSvg)", True
            ),
            result["verify_presentations"].report(
                "verifyDocument (presentations):", "valid", "valid", False
            ),
        ]
        if not all(every):
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
