"""GraphQL documents parsed and validated once per text: a bounded cache of parsed documents
shared by the HTTP layer and the schema, and the schema extension that hands Strawberry the
cached document and the cached verdict of validation instead of parsing and validating again."""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Iterator

from graphql import DocumentNode, GraphQLError, parse
from strawberry.extensions import SchemaExtension

# Longer documents are parsed every time, so the caches cannot hold much memory.
CACHED_TEXT_LIMIT = 20_000
CAPACITY = 512


@functools.lru_cache(maxsize=CAPACITY)
def _parse_cached(query: str, max_tokens: int) -> DocumentNode | GraphQLError:
    try:
        return parse(query, max_tokens=max_tokens)
    except GraphQLError as error:
        return error


def parse_document(query: str, max_tokens: int) -> DocumentNode | GraphQLError:
    """The parsed document, or the syntax (or token limit) error; modest documents are parsed
    once and the same document object is returned for the same text afterwards."""
    if len(query) <= CACHED_TEXT_LIMIT:
        return _parse_cached(query, max_tokens)
    return _parse_cached.__wrapped__(query, max_tokens)


def _copy(error: GraphQLError) -> GraphQLError:
    """A fresh error for one request: error handlers may change an error's message or
    extensions, which must not leak into the next request's copy."""
    # An error of a kind of its own (a Date the service could not read carries its text to
    # translate) stays reachable as the copy's original error.
    original = error.original_error
    if original is None and type(error) is not GraphQLError:
        original = error
    return GraphQLError(
        error.message,
        error.nodes,
        error.source,
        error.positions,
        error.path,
        original,
        dict(error.extensions) if error.extensions else None,
    )


class ValidationVerdicts:
    """What validation said about each document text (no errors, or its errors), for one
    schema: the schema's validation rules, the document limits among them, are fixed when
    the schema is built, so the verdict depends on the text alone."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._verdicts: OrderedDict[tuple[str, int], tuple[GraphQLError, ...]] = OrderedDict()

    def get(self, key: tuple[str, int]) -> list[GraphQLError] | None:
        verdict = self._verdicts.get(key)
        if verdict is None:
            return None
        self._verdicts.move_to_end(key)
        return [_copy(error) for error in verdict]

    def put(self, key: tuple[str, int], errors: list[GraphQLError]) -> None:
        self._verdicts[key] = tuple(_copy(error) for error in errors)
        self._verdicts.move_to_end(key)
        while len(self._verdicts) > self._capacity:
            self._verdicts.popitem(last=False)

    def __len__(self) -> int:
        return len(self._verdicts)


class CachedDocuments(SchemaExtension):
    """Hands Strawberry the cached parse of the request's text and, for a text validated
    before, the verdict of validation, so neither runs again. Only documents parsed with
    nothing but the token limit are taken from the cache (the options the schema sets);
    anything else, and texts too long to cache, go through Strawberry's own steps."""

    def __init__(self, verdicts: ValidationVerdicts) -> None:
        self.verdicts = verdicts
        self._key: tuple[str, int] | None = None

    def _cache_key(self) -> tuple[str, int] | None:
        context = self.execution_context
        query = context.query
        options = context.parse_options
        if (
            not query
            or len(query) > CACHED_TEXT_LIMIT
            or set(options) != {"max_tokens"}
            or not isinstance(options["max_tokens"], int)
        ):
            return None
        return query, options["max_tokens"]

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        key = self._cache_key() if context.graphql_document is None else None
        if key is not None:
            document = parse_document(*key)
            # A syntax error is left to Strawberry, which reports it the way it always does.
            if isinstance(document, DocumentNode):
                context.graphql_document = document
                self._key = key
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        key = self._key
        cached = None
        if key is not None and context.pre_execution_errors is None:
            cached = self.verdicts.get(key)
            if cached is not None:
                # Strawberry validates only while no verdict is set.
                context.pre_execution_errors = cached
        yield
        if key is not None and cached is None and context.pre_execution_errors is not None:
            self.verdicts.put(key, list(context.pre_execution_errors))
