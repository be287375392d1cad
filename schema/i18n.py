"""Choosing the language of a text: the `lang` argument, else Accept-Language, else EN."""

from __future__ import annotations

from resolvers.context import Context
from schema.common import Language


def language(ctx: Context, lang: Language | None) -> Language:
    if lang is not None:
        return lang
    header = (ctx.accept_language or "").lower()
    best: tuple[float, Language] | None = None
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().split("-")[0]
        candidate = {"zh": Language.ZH, "en": Language.EN}.get(primary)
        if candidate and quality > 0 and (best is None or quality > best[0]):
            best = (quality, candidate)
    return best[1] if best else Language.EN


def pick(ctx: Context, lang: Language | None, en: str, zh: str) -> str:
    return zh if language(ctx, lang) is Language.ZH and zh else en
