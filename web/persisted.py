"""Persisted queries: Apollo's automatic persisted queries (a document stood for by its
SHA-256, kept in memory and optionally Redis) and the registry of the only documents accepted
when PERSISTED_QUERIES_FILE is set, read from the manifests build tools write."""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from pathlib import Path
from typing import Any

from domain.messages import N_
from persistence import redis_link
from web import first_party
from web.errors import error_body, graphql_error, request_error
from web.negotiation import GraphQLParams


def sha256(text: str) -> str:
    """A document's SHA-256 in hex, as APQ clients send it."""
    return hashlib.sha256(text.encode()).hexdigest()


class ManifestProblem(ValueError):
    """The persisted-query file cannot be used; start-up stops with this message."""


APOLLO_MANIFEST = "apollo-persisted-query-manifest"
# Apollo's clients recognise this exact text (older ones by it alone): it is a protocol
# token, never translated; the code says the same to every client.
PERSISTED_QUERY_NOT_FOUND = "PersistedQueryNotFound"
UNREGISTERED = N_("Only registered documents are accepted here.")


def registry_from(data: object) -> dict[str, str]:
    """Documents by SHA-256 from the formats build tools write:

    - Apollo's manifest (`@apollo/generate-persisted-query-manifest`):
      `{"format": "apollo-persisted-query-manifest", "version": 1,
        "operations": [{"id": HASH, "name": ..., "type": ..., "body": DOCUMENT}, ...]}`
    - a plain map `{HASH: DOCUMENT}` (Relay's `persisted-queries.json`, graphql-codegen);
    - a plain list of documents.

    Each document is found by its SHA-256 (what APQ clients send) and, when the file gives
    another id (a build tool's own operation id), by that id too.
    """
    pairs: list[tuple[str | None, object]]
    if isinstance(data, dict) and data.get("format") == APOLLO_MANIFEST:
        if data.get("version") != 1 or not isinstance(data.get("operations"), list):
            raise ManifestProblem("an Apollo manifest needs version 1 and a list of operations")
        pairs = []
        for entry in data["operations"]:
            if not isinstance(entry, dict):
                raise ManifestProblem("each operation of the manifest must be an object")
            pairs.append((entry.get("id"), entry.get("body")))
    elif isinstance(data, dict):
        pairs = list(data.items())
    elif isinstance(data, list):
        pairs = [(None, document) for document in data]
    else:
        raise ManifestProblem("expected an Apollo manifest, a {hash: document} map or a list")
    registry: dict[str, str] = {}
    for given, document in pairs:
        if not isinstance(document, str) or not document.strip():
            raise ManifestProblem(f"the entry {given or '(unnamed)'} has no document text")
        registry[sha256(document)] = document
        if given is not None:
            registry[str(given)] = document
    return registry


def load_registry(path: str) -> dict[str, str]:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ManifestProblem(f"cannot read persisted queries from {path}: {exc}") from exc
    return registry_from(data)


UNSUPPORTED = N_("Unsupported persistedQuery extension.")


class PersistedQueries:
    """Documents by their SHA-256 (Apollo's automatic persisted queries), optionally shared
    through Redis, and an optional registry of the only documents accepted."""

    def __init__(
        self,
        redis_url: str | None,
        registry_file: str | None,
        capacity: int = 5000,
        namespace: str = "",
        timeout_s: float = 0.3,
        retry_s: float = 5,
    ) -> None:
        self._prefix = f"{namespace}:apq:"
        self._timeout_s = timeout_s
        self._outage = redis_link.Outage(
            "persisted queries", "each process knows only the documents it was sent", retry_s
        )
        self._memory: OrderedDict[str, str] = OrderedDict()
        self._capacity = capacity
        self._redis_url = redis_url
        self._redis = None
        self.registry: dict[str, str] | None = None
        if registry_file:
            # The service's own pages keep working in registered-only mode.
            own = {sha256(document): document for document in first_party.DOCUMENTS}
            self.registry = {**own, **load_registry(registry_file)}

    async def start(self) -> None:
        if self._redis_url:
            self._redis = redis_link.connect(self._redis_url, self._timeout_s)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()

    async def get(self, digest: str) -> str | None:
        if self.registry is not None:
            return self.registry.get(digest)
        if digest in self._memory:
            self._memory.move_to_end(digest)
            return self._memory[digest]
        if self._redis is None:
            return None
        redis = self._redis
        # Not found while Redis is away: the client sends the document again (APQ).
        raw = await self._outage.attempt(lambda: redis.get(f"{self._prefix}{digest}"), _not_found)
        if raw is None:
            return None
        self._remember(digest, raw.decode())
        return raw.decode()

    async def put(self, digest: str, query: str) -> None:
        if self.registry is not None:
            return
        self._remember(digest, query)
        if self._redis is not None:
            redis = self._redis
            await self._outage.attempt(
                lambda: redis.set(f"{self._prefix}{digest}", query, ex=86400), _not_found
            )

    def _remember(self, digest: str, query: str) -> None:
        self._memory[digest] = query
        self._memory.move_to_end(digest)
        while len(self._memory) > self._capacity:
            self._memory.popitem(last=False)

    async def resolve(
        self, params: GraphQLParams, media: str, language: str
    ) -> GraphQLParams | tuple[dict[str, Any], int]:
        """The operation with its document: a known hash stands for it. Otherwise the error
        body and status answering it (unknown hash, mismatch, unregistered document), its
        message in `language`."""
        persisted = (params.extensions or {}).get("persistedQuery")
        registry_only = self.registry is not None
        if persisted is not None and not isinstance(persisted, dict):
            return request_error(UNSUPPORTED, "BAD_REQUEST", media, language)
        if not isinstance(persisted, dict):
            if registry_only and sha256(params.query) not in self.registry:
                return request_error(UNREGISTERED, "PERSISTED_QUERY_REQUIRED", media, language)
            return params
        digest = persisted.get("sha256Hash")
        if persisted.get("version") != 1 or not isinstance(digest, str):
            return request_error(UNSUPPORTED, "BAD_REQUEST", media, language)
        if not params.query:
            stored = await self.get(digest)
            if stored is None:
                error = graphql_error(PERSISTED_QUERY_NOT_FOUND, "PERSISTED_QUERY_NOT_FOUND")
                return error_body(error), 200
            return GraphQLParams(stored, params.variables, params.operation_name, params.extensions)
        if sha256(params.query) != digest:
            return request_error(
                N_("The query does not match its sha256Hash."), "BAD_REQUEST", media, language
            )
        if registry_only and digest not in self.registry:
            return request_error(UNREGISTERED, "PERSISTED_QUERY_REQUIRED", media, language)
        await self.put(digest, params.query)
        return params


async def _not_found() -> None:
    return None
