"""GraphQL documents parsed under the token limit, each modest one once (a bounded cache)."""

from __future__ import annotations

import functools

from graphql import DocumentNode, GraphQLError, parse


@functools.lru_cache(maxsize=512)
def _parse_cached(query: str, max_tokens: int) -> DocumentNode | GraphQLError:
    try:
        return parse(query, max_tokens=max_tokens)
    except GraphQLError as error:
        return error


def parse_document(query: str, max_tokens: int) -> DocumentNode | GraphQLError:
    """The parsed document, or the syntax (or token limit) error; modest documents are cached
    so the cache cannot hold much memory."""
    if len(query) <= 20_000:
        return _parse_cached(query, max_tokens)
    return _parse_cached.__wrapped__(query, max_tokens)
