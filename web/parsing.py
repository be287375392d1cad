"""GraphQL documents parsed under the token limit, each modest one once: the cache the schema
hands Strawberry its documents from (schema/execution/documents.py), so the HTTP layer's gate
and the execution share one parse of each text."""

from __future__ import annotations

from schema.execution.documents import parse_document

__all__ = ["parse_document"]
