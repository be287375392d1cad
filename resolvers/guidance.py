"""Which guidance a reader gets: the version in force today in their language, or the English
one of that version, marked as a fallback, when their language lacks it."""

from __future__ import annotations

from dataclasses import dataclass

from persistence import guidance as store
from persistence.models import Guidance
from resolvers.context import Context

# The language every guidance version is published in first (with Chinese, its official text)
# and the one shown when a reader's language lacks a version.
FALLBACK_LANGUAGE = "EN"


@dataclass(frozen=True)
class ShownGuidance:
    """A guidance version as shown to a reader who asked for one language."""

    row: Guidance
    fallback_from: str | None  # the language asked for, when `row` is in another one


async def current_guidance(ctx: Context, service: str, lang: str) -> ShownGuidance | None:
    """The guidance for a service in force today in `lang`. When `lang` has no version of the
    newest edition in force (a new edition published in English and Chinese, not yet
    translated), the English version of that edition, with `fallback_from` = `lang`: readers
    are never shown an outdated edition because it happens to exist in their language."""
    langs = [lang] if lang == FALLBACK_LANGUAGE else [lang, FALLBACK_LANGUAGE]
    rows = await store.newest_in_force(service, langs, ctx.today())
    if not rows:
        return None
    newest = rows[0].version
    by_lang = {row.lang: row for row in rows if row.version == newest}
    for candidate in langs:
        if candidate in by_lang:
            return ShownGuidance(by_lang[candidate], None if candidate == lang else lang)
    return None
