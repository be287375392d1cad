"""The GraphQL schema, assembled in one place with its extensions."""

from schema.app import schema

__all__ = ["schema"]
