"""The languages the service speaks, and choosing one from what a client accepts: an HTTP
Accept-Language header with q-values and regional variants, or a single tag such as a
WebSocket's `language` parameter."""

from __future__ import annotations

# The contract's Language enum, lowercased: English is the source of every text.
LANGUAGES = ("en", "zh", "ko", "ja", "ru", "fr", "es", "ar")
SOURCE_LANGUAGE = "en"

# A header is read up to this many language ranges: more is no real client's preference,
# and reading all of a huge one would cost every request.
MAX_RANGES = 32


def language_of_tag(tag: str) -> str | None:
    """The language a BCP 47 tag or POSIX locale name asks for, by its primary subtag
    ("ko-KR", "zh-Hans-CN", "zh_TW.UTF-8", "KO" all name one of ours); None for a language
    not spoken here ("pt-BR") and for the wildcard.

    Every Chinese variant gets ZH, which is Simplified Chinese: the only Chinese the service
    writes, and read by users of Traditional characters (zh-TW, zh-Hant) far better than
    English."""
    primary = tag.strip().replace("_", "-").split("-")[0].split(".")[0].lower()
    return primary if primary in LANGUAGES else None


def _quality(params: str) -> float | None:
    """The q-value of a language range (1 when not given); None when it is malformed."""
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip().lower() != "q":
            continue
        try:
            quality = float(value.strip())
        except ValueError:
            return None
        return quality if 0 <= quality <= 1 else None  # also refuses nan and inf
    return 1.0


def negotiate(accept_language: str | None) -> str:
    """The language to answer in: the supported one the client ranks highest (the first
    named on a tie), English when it names none of ours (`pt-BR` alone) or nothing at all.

    A language's rank is the highest q-value of the ranges naming it ("zh-TW;q=0, zh-CN"
    still asks for Chinese); `*` ranks English unless English is named; q=0 means "not this".
    """
    if not accept_language:
        return SOURCE_LANGUAGE
    ranked: dict[str, float] = {}  # in order of first mention, which breaks ties
    wildcard: float | None = None
    for part in accept_language.split(",")[:MAX_RANGES]:
        tag, _, params = part.partition(";")
        quality = _quality(params)
        if quality is None:
            continue
        if tag.strip() == "*":
            wildcard = max(wildcard or 0.0, quality)
            continue
        language = language_of_tag(tag)
        if language is not None and quality > ranked.get(language, -1.0):
            ranked[language] = quality
    if wildcard is not None and SOURCE_LANGUAGE not in ranked:
        ranked[SOURCE_LANGUAGE] = wildcard
    candidates = [
        (quality, -position, language)
        for position, (language, quality) in enumerate(ranked.items())
        if quality > 0
    ]
    return max(candidates)[2] if candidates else SOURCE_LANGUAGE
