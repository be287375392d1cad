"""The response cache: answers to public queries (the same for every caller), stored encoded
and served again with an ETag. A stored answer is found by its parsed parameters, or for an
anonymous GET before any parsing by its raw query string (`fast_key`); either way it is sent
by `ResponseCache.answer`. Entries follow the clock's periods and are dropped everywhere when
public data changes."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from starlette.responses import Response

from persistence import redis_link

log = logging.getLogger(__name__)

# Root fields whose answers are the same for every anonymous caller.
PUBLIC_ROOT_FIELDS = frozenset(
    {"offices", "services", "guidance", "bookingRules", "__schema", "__type", "__typename"}
)
INVALIDATION_CHANNEL = "public-cache-invalidation"
VARY = "Accept, Accept-Language, Authorization"

# A stored answer: status, encoded body, ETag.
StoredAnswer = tuple[int, bytes, str]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def fast_key(query_string: str, accept: str, language: str, period: int) -> str:
    """The cache key of an anonymous GET: raw query string and negotiation headers, so a hit
    needs no parsing at all."""
    return _digest(f"GET|{query_string}|{accept}|{language}|{period}")


# Objects with a global ID may be anyone's; of those only offices are the same for everyone.
PUBLIC_NODE_TYPES = frozenset({"Office"})


def _chosen(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return next(
        (
            o
            for o in operations
            if operation_name is None or (o.name is not None and o.name.value == operation_name)
        ),
        None,
    )


def _named(gtype: Any) -> Any:
    while isinstance(gtype, GraphQLNonNull | GraphQLList):
        gtype = gtype.of_type
    return gtype


def _personal(gtype: Any, schema: GraphQLSchema, seen: frozenset[str] = frozenset()) -> bool:
    """Whether values of this type may differ by viewer: a node other than an office, a union
    or interface that may hold one, or a type through which one can be reached (a connection
    of applications differs by viewer even when only its cursors or page info are selected).
    An office's own fields are judged one by one when they are selected."""
    if isinstance(gtype, GraphQLUnionType | GraphQLInterfaceType):
        return any(_personal(t, schema, seen) for t in schema.get_possible_types(gtype))
    if isinstance(gtype, GraphQLObjectType):
        if gtype.name in PUBLIC_NODE_TYPES or gtype.name in seen:
            return False
        if any(i.name == "Node" for i in gtype.interfaces):
            return True
        return any(
            _personal(_named(f.type), schema, seen | {gtype.name}) for f in gtype.fields.values()
        )
    return False


@functools.lru_cache(maxsize=1024)
def _personal_type(schema: GraphQLSchema, gtype: Any) -> bool:
    """`_personal`, worked out once per schema and type."""
    return _personal(gtype, schema)


def _reads_only_public(
    selection_set: SelectionSetNode | None,
    parent: Any,
    schema: GraphQLSchema,
    fragments: dict[str, FragmentDefinitionNode],
    seen: frozenset[str] = frozenset(),
    verdicts: dict[str, bool] | None = None,
) -> bool:
    """Whether the selection reads nothing personal. `verdicts` keeps each fragment's verdict
    on its type condition, so a fragment spread many times (or fragments that each spread the
    next twice: 2^n spreads) is looked at once."""
    if verdicts is None:
        verdicts = {}
    if selection_set is None:
        return True
    for node in selection_set.selections:
        if isinstance(node, FieldNode):
            if node.name.value.startswith("__"):
                continue
            field = getattr(parent, "fields", {}).get(node.name.value)
            if field is None:
                return False
            named = _named(field.type)
            if _personal_type(schema, named):
                return False
            if not _reads_only_public(node.selection_set, named, schema, fragments, seen, verdicts):
                return False
        elif isinstance(node, InlineFragmentNode):
            target = parent
            if node.type_condition is not None:
                target = schema.get_type(node.type_condition.name.value) or parent
            if not _reads_only_public(
                node.selection_set, target, schema, fragments, seen, verdicts
            ):
                return False
        elif isinstance(node, FragmentSpreadNode):
            name = node.name.value
            fragment = fragments.get(name)
            if fragment is None:
                return False
            if name in seen:
                continue
            if name not in verdicts:
                target = schema.get_type(fragment.type_condition.name.value) or parent
                verdicts[name] = _reads_only_public(
                    fragment.selection_set, target, schema, fragments, seen | {name}, verdicts
                )
            if not verdicts[name]:
                return False
    return True


def is_public(
    document: DocumentNode, operation_name: str | None, schema: GraphQLSchema | None = None
) -> bool:
    """True when the operation is a query touching only public root fields and, given the
    schema, reaching no object that may differ by viewer (an office's appointments, say):
    its answer is the same for everyone, so it may be shared from the response cache."""
    chosen = _chosen(document, operation_name)
    if chosen is None or chosen.operation.value != "query":
        return False
    if not all(
        isinstance(s, FieldNode) and s.name.value in PUBLIC_ROOT_FIELDS
        for s in chosen.selection_set.selections
    ):
        return False
    if schema is None:
        return True
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return _reads_only_public(chosen.selection_set, schema.query_type, schema, fragments)


def etag_matches(etag: str, if_none_match: str) -> bool:
    """RFC 9110 13.1.2: If-None-Match is `*` or a list of entity tags compared weakly (the
    `W/` prefix ignored on either side), each whole: a tag inside other text is no match."""
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate.removeprefix("W/") == opaque:
            return True
    return False


class ResponseCache:
    """Encoded answers to public anonymous queries, served before parsing. Entries live for
    `ttl` seconds (opening state depends on the clock) and are dropped at once, in every
    process, when the public data behind them changes."""

    def __init__(
        self,
        redis_url: str | None,
        ttl: float,
        capacity: int = 2000,
        namespace: str = "",
        timeout_s: float = 0.3,
    ) -> None:
        self._channel = f"{namespace}:{INVALIDATION_CHANNEL}"
        self._locks: dict[str, asyncio.Lock] = {}
        self._entries: OrderedDict[str, tuple[float, int, bytes, str]] = OrderedDict()
        self._generation = 0
        self._ttl = ttl
        self._capacity = capacity
        self._redis_url = redis_url
        self._timeout_s = timeout_s
        self._link: redis_link.Channels | None = None
        self._redis = None  # publishes drops, waiting at most timeout_s

    async def start(self) -> None:
        if not self._redis_url:
            return
        self._link = redis_link.Channels(self._redis_url, self._timeout_s)
        self._redis = self._link.publisher
        await self._link.listen(
            [self._channel],
            self._receive,
            # Drops published while nobody listened are lost: drop everything now.
            self._forget,
            "the public cache's listener",
        )

    def _receive(self, message: dict) -> None:
        if message.get("type") == "message":
            self._forget()

    def _forget(self) -> None:
        self._entries.clear()
        self._generation += 1

    @property
    def generation(self) -> int:
        """How many times the cache was dropped: an answer computed while it changed may have
        read the data before the change, and is not stored (see `put`)."""
        return self._generation

    async def close(self) -> None:
        if self._link is not None:
            await self._link.close()

    @staticmethod
    def key(
        query: str, variables: object, operation_name: str | None, language: str, media: str
    ) -> str:
        raw = json.dumps(
            [query, variables, operation_name, language, media],
            sort_keys=True,
            separators=(",", ":"),
            default=str,
        )
        return _digest(raw)

    @contextlib.asynccontextmanager
    async def single_flight(self, key: str) -> AsyncIterator[None]:
        """Hold a per-key lock so that concurrent misses run the query once."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and self._locks.get(key) is lock:
                self._locks.pop(key, None)

    def period(self, now: datetime) -> int:
        """The time bucket in every key: answers that depend on "now" (opening state, the
        guidance in force) do not outlive their period, whatever the clock does."""
        return int(now.timestamp() // max(1, self._ttl))

    def get(self, key: str) -> StoredAnswer | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        stored_at, status, body, etag = entry
        if time.monotonic() - stored_at > self._ttl:
            self._entries.pop(key, None)
            return None
        return status, body, etag

    def put(self, key: str, status: int, body: bytes, generation: int | None = None) -> str | None:
        """Store an answer; its ETag. With `generation` (read before the answer was
        computed), nothing is stored when the cache was dropped meanwhile: None."""
        if generation is not None and generation != self._generation:
            return None
        etag = f'W/"{hashlib.sha256(body).hexdigest()[:32]}"'
        self._entries[key] = (time.monotonic(), status, body, etag)
        self._entries.move_to_end(key)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)
        return etag

    def answer(
        self, stored: StoredAnswer, media: str, if_none_match: str, revalidate: bool = True
    ) -> Response:
        """A stored public answer: cacheable by CDNs and clients, revalidated by ETag (304)."""
        status, body, etag = stored
        headers = {
            "ETag": etag,
            "Cache-Control": f"public, max-age={int(self._ttl)}",
            "Vary": VARY,
        }
        if revalidate and etag_matches(etag, if_none_match):
            return Response(status_code=304, headers=headers)
        return Response(
            body, status_code=status, media_type=f"{media}; charset=utf-8", headers=headers
        )

    async def invalidate(self) -> None:
        """Public data changed: forget every entry here and in the other processes."""
        self._forget()
        if self._redis is None:
            return
        try:
            await self._redis.publish(self._channel, "all")
        except redis_link.ERRORS:
            # The other processes' answers expire within the TTL; their listeners drop
            # everything anyway when they hear Redis again.
            log.exception(
                "Redis cannot take the public cache's drop: other processes' "
                "answers stay until they expire"
            )
