"""What checking an access token's sign-in against the revocation set costs per request.

Measures, in this process, one check at a time (as a request makes it):

* memory: `MemorySessionRevocations.is_revoked` (one server without Redis), for a live sign-in
  (the usual case) and an ended one;
* Redis: `RedisSessionRevocations.is_revoked` for a live sign-in (one PTTL round trip to Redis)
  and an ended one (answered from the process's own copy after the first time);
* for scale, what every authenticated request already pays: verifying the token's Ed25519
  signature and claims (`signing.access_tokens.verify`).

    .venv/bin/python bench/session_check.py                      # N = 20000
    .venv/bin/python bench/session_check.py -n 50000 --redis-url redis://127.0.0.1:6379/15
    .venv/bin/python bench/session_check.py --no-redis

The Redis keys live under a throw-away prefix and expire within a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jwcrypto import jwk  # noqa: E402  (after the path set-up)

from persistence.models import KeyPurpose, KeyState  # noqa: E402
from persistence.session_revocations import (  # noqa: E402
    MemorySessionRevocations,
    RedisSessionRevocations,
)
from signing import access_tokens  # noqa: E402
from signing.keys import ALG, LoadedKey  # noqa: E402

ISSUER = "https://bench.example"


async def per_call_us(check: Callable[[], Awaitable[object]], n: int) -> float:
    for _ in range(min(n // 10, 1000)):  # warm-up
        await check()
    started = time.perf_counter()
    for _ in range(n):
        await check()
    return (time.perf_counter() - started) / n * 1e6


class OneKeyRing:
    """The two methods access_tokens.verify and issue use, over one in-memory key."""

    def __init__(self) -> None:
        private = jwk.JWK.generate(kty="OKP", crv="Ed25519")
        public = private.export_public(as_dict=True)
        self.key = LoadedKey(
            kid="at-bench",
            purpose=KeyPurpose.ACCESS,
            state=KeyState.ACTIVE,
            public_jwk={**public, "kid": "at-bench", "alg": ALG},
            private=private,
            last_expiry=None,
            retired_at=None,
        )

    def active(self, purpose: str) -> LoadedKey:
        return self.key

    async def find(self, kid: str, purpose: str) -> LoadedKey | None:
        return self.key if kid == self.key.kid else None

    def public_jwk(self, key: LoadedKey) -> jwk.JWK:
        return jwk.JWK(**key.public_jwk)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000, help="checks per measurement")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--no-redis", action="store_true")
    args = parser.parse_args()
    n = args.n
    now = datetime.now(UTC)
    live, ended = uuid.uuid4().hex, uuid.uuid4().hex
    rows: list[tuple[str, float]] = []

    memory = MemorySessionRevocations(keep_s=960)
    # A realistic set: ten thousand sign-ins ended in the last quarter hour.
    await memory.revoke([uuid.uuid4().hex for _ in range(10_000)] + [ended], now, now)
    rows.append(("memory, live sign-in", await per_call_us(lambda: memory.is_revoked(live), n)))
    rows.append(("memory, ended sign-in", await per_call_us(lambda: memory.is_revoked(ended), n)))

    if not args.no_redis:
        prefix = f"bench-session-check-{secrets.token_hex(4)}:"
        redis = RedisSessionRevocations(args.redis_url, prefix, keep_s=60)
        try:
            await redis.revoke([ended], now, now)
            rows.append(
                ("Redis, live sign-in (PTTL)", await per_call_us(lambda: redis.is_revoked(live), n))
            )
            rows.append(
                (
                    "Redis, ended sign-in (local copy)",
                    await per_call_us(lambda: redis.is_revoked(ended), n),
                )
            )
        finally:
            await redis.close()

    ring = OneKeyRing()
    token, _ = access_tokens.issue(
        ring,  # type: ignore[arg-type]
        account_id=1,
        issuer=ISSUER,
        now=now,
        minutes=15,
        session=live,
    )
    verify_n = max(1, n // 10)
    rows.append(
        (
            "for scale: verify the token (Ed25519 + claims)",
            await per_call_us(
                lambda: access_tokens.verify(ring, token, issuer=ISSUER, now=now),  # type: ignore[arg-type]
                verify_n,
            ),
        )
    )

    width = max(len(name) for name, _ in rows)
    print(f"{'check':<{width}}  µs per check")
    print("-" * (width + 14))
    for name, us in rows:
        print(f"{name:<{width}}  {us:12.2f}")
    print(f"({n} checks each; the token verification {verify_n} times)")


if __name__ == "__main__":
    asyncio.run(main())
