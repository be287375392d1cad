"""Offline verification: `python -m signing verify TOKEN --jwks FILE_OR_URL` (the same as the
`verify-passport-info` command; see signing/verification.py)."""

from signing.verification import main

if __name__ == "__main__":
    raise SystemExit(main())
