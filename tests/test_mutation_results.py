"""Mutation results declared once: each refusal kind has one error type, and a mutation
answers only with the error members its result union lists."""

from __future__ import annotations

import pytest

import schema.app  # noqa: F401  (every error type registered)
from resolvers.outcomes import Refusal, RefusalKind
from schema.common import EmailTaken, RateLimited, ValidationError
from schema.mutation import SignInResult, SignUpResult
from schema.results import ERROR_TYPES, error_member, union_members


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
