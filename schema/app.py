"""Assembles the schema from the per-domain modules."""

from __future__ import annotations

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from schema.accounts import Account
from schema.appointments import Appointment, AppointmentMutations, Slot
from schema.mutation import AccountMutations
from schema.offices import Office
from schema.persons import Passport, Person
from schema.query import Query

Mutation = merge_types("Mutation", (AccountMutations, AppointmentMutations))
Mutation.__strawberry_definition__.description = "Everything that changes state."

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    types=[Office, Person, Passport, Account, Slot, Appointment],
    config=StrawberryConfig(auto_camel_case=True),
)
