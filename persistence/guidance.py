"""Reading guidance versions: the newest in force on a day among some languages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from persistence.models import Guidance


async def newest_in_force(service: str, langs: Sequence[str], day: date) -> list[Guidance]:
    """The rows of the newest version in force on `day` in any of `langs`, newest first: every
    language that has that version is among them (one query; at most one row per language)."""
    return (
        await Guidance.filter(service=service, lang__in=list(langs), effective_from__lte=day)
        .order_by("-version", "lang")
        .limit(len(langs))
    )
