"""Mutation results declared once: each refusal kind has one error type, a mutation answers
only with the error members its result union lists, and the default success member holds the
work's value or the node of its row."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import pytest
import strawberry

import schema.app  # noqa: F401  (every error type registered)
from resolvers.outcomes import Refusal, RefusalKind
from schema.common import EmailTaken, RateLimited, ValidationError
from schema.mutation import SignInResult, SignUpResult
from schema.results import (
    ERROR_TYPES,
    error_member,
    result_union,
    success_member,
    union_members,
)

if TYPE_CHECKING:  # imported lazily by the schema, as a type of another module would be
    from schema.mutation import SignedOut


def test_every_refusal_kind_has_exactly_one_error_type() -> None:
    assert set(ERROR_TYPES) == set(RefusalKind)
    assert len(set(ERROR_TYPES.values())) == len(RefusalKind)


def test_the_handled_errors_are_the_members_of_the_result_union() -> None:
    members = union_members(SignUpResult)
    assert {EmailTaken, ValidationError, RateLimited} < set(members)
    taken = error_member(Refusal(RefusalKind.EMAIL_TAKEN, "taken"), members)
    assert isinstance(taken, EmailTaken) and taken.message == "taken"


def test_a_refusal_the_union_does_not_list_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="EMAIL_TAKEN"):
        error_member(Refusal(RefusalKind.EMAIL_TAKEN, "taken"), union_members(SignInResult))


def test_the_default_success_member_holds_a_value_of_its_fields_type_as_it_is() -> None:
    from schema.mutation import SignedOut, SignOutResult
    from schema.notifications import MarkNotificationsReadResult, NotificationsMarkedRead

    signed_out = success_member(SignOutResult)("Signed out.")
    assert isinstance(signed_out, SignedOut) and signed_out.message == "Signed out."
    marked = success_member(MarkNotificationsReadResult)(3)
    assert isinstance(marked, NotificationsMarkedRead) and marked.count == 3


def test_the_default_success_member_builds_its_node_from_a_row() -> None:
    from types import SimpleNamespace

    from schema.common import from_global_id
    from schema.mutation import IdentityUnlinked, UnlinkIdentityResult

    row = SimpleNamespace(id=7, surname="Li", given_names="Wei", nationality="SGP", birth_date=None)
    unlinked = success_member(UnlinkIdentityResult)(row)
    assert isinstance(unlinked, IdentityUnlinked)
    assert from_global_id(unlinked.person.id) == ("Person", 7) and unlinked.person.row is row


@strawberry.type(description="A success member whose field's type is imported lazily.")
class HoldsLazily:
    held: Annotated[SignedOut, strawberry.lazy("schema.mutation")] = strawberry.field(
        description="The held value."
    )


@strawberry.type(description="A success member whose field is a list, not one type.")
class HoldsList:
    held: list[int] = strawberry.field(description="The held values.")


def test_the_default_success_member_resolves_a_lazily_imported_field_type() -> None:
    from schema.mutation import SignedOut

    build = success_member(result_union("holdLazily", HoldsLazily, ValidationError))
    signed_out = SignedOut(message="Signed out.")
    held = build(signed_out)
    assert isinstance(held, HoldsLazily) and held.held is signed_out


def test_a_success_member_that_is_not_one_type_asks_for_success() -> None:
    with pytest.raises(TypeError, match=r"HoldsList\.held .* pass the mutation a `success=`"):
        success_member(result_union("holdList", HoldsList, ValidationError))
