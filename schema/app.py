"""Assembles the schema from the per-domain modules."""

from __future__ import annotations

import strawberry
from strawberry.schema.config import StrawberryConfig

from schema.accounts import Account
from schema.mutation import Mutation
from schema.offices import Office
from schema.persons import Passport, Person
from schema.query import Query

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    types=[Office, Person, Passport, Account],
    config=StrawberryConfig(auto_camel_case=True),
)
