"""Which guidance materials apply to whom: tags by document category (no I/O)."""

from __future__ import annotations

from collections.abc import Iterable

from domain.documents import PERMIT_PURPOSES, VISA_CATEGORIES

# A material's `applies_to` and a reader's categories use the same words as Document.category:
# visa categories (Z, X1, Q1, ...) and residence purposes (WORK, STUDY, FAMILY_REUNION, ...).
CATEGORIES = VISA_CATEGORIES | PERMIT_PURPOSES
MAX_CATEGORIES_ASKED = len(CATEGORIES)


def unknown_categories(categories: Iterable[str]) -> list[str]:
    """The given words that are neither a visa category nor a residence purpose."""
    return sorted({c for c in categories if c not in CATEGORIES})


def applies(applies_to: Iterable[str], categories: Iterable[str]) -> bool:
    """A material with no tags is for everyone; otherwise for holders of any tagged category."""
    tags = set(applies_to)
    return not tags or not tags.isdisjoint(categories)
