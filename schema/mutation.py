"""The root Mutation type: each mutation states who may call it and its result union."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.messages import N_
from domain.persons import IdentityFacts, PersonFacts
from resolvers import accounts, persons
from resolvers.rows import AccountRow
from schema.accounts import (
    Account,
    AuthSession,
    ChangePasswordInput,
    PasswordChanged,
    RefreshTokenArg,
    SignedOut,
    SignInInput,
    SignUpInput,
)
from schema.common import (
    EmailTaken,
    IdentityNotFound,
    InvalidCredentials,
    InvalidRefreshToken,
    NotPermitted,
    RateLimited,
    Sex,
    ValidationError,
    pk_of,
)
from schema.persons import Person, PersonIdArg
from schema.results import result_union, run_mutation
from translations import render


async def _session(session: accounts.Session) -> AuthSession:
    return AuthSession(
        access_token=session.access_token,
        refresh_token=session.refresh_token,
        expires_at=session.expires_at,
        account=await Account.from_row(session.account),
    )


async def _password_changed(account: AccountRow) -> PasswordChanged:
    return PasswordChanged(account=await Account.from_row(account))


@strawberry.type(description="The person is now linked to your account.")
class IdentityLinked:
    person: Person = strawberry.field(description="Your person.")


@strawberry.type(description="The person is no longer linked to any account.")
class IdentityUnlinked:
    person: Person = strawberry.field(description="The person.")


@strawberry.type(description="The person was registered with a current passport.")
class PersonRegistered:
    person: Person = strawberry.field(description="The new person.")


@strawberry.input(description="The four facts of a passport page that identify a person.")
class LinkIdentityInput:
    passport_number: str = strawberry.field(description="Passport number (spaces ignored).")
    nationality: str = strawberry.field(description="Nationality, ISO 3166-1 alpha-3, e.g. DEU.")
    birth_date: date = strawberry.field(description="Date of birth.")
    surname: str = strawberry.field(description="Surname as in the passport (case ignored).")

    def identity(self) -> IdentityFacts:
        return IdentityFacts(self.passport_number, self.nationality, self.birth_date, self.surname)


@strawberry.input(description="A person to register, with their current passport.")
class RegisterPersonInput:
    surname: str = strawberry.field(description="Surname as in the passport.")
    given_names: str = strawberry.field(description="Given names as in the passport.")
    nationality: str = strawberry.field(description="Nationality, ISO 3166-1 alpha-3.")
    birth_date: date = strawberry.field(description="Date of birth.")
    sex: Sex = strawberry.field(description="Sex as in the passport.")
    passport_number: str = strawberry.field(description="Passport number.")
    passport_issuing_country: str = strawberry.field(
        description="Issuing country of the passport, ISO 3166-1 alpha-3."
    )
    passport_valid_until: date = strawberry.field(description="Expiry date of the passport.")

    def facts(self) -> PersonFacts:
        return PersonFacts(
            surname=self.surname,
            given_names=self.given_names,
            nationality=self.nationality,
            birth_date=self.birth_date,
            sex=self.sex.value,
            passport_number=self.passport_number,
            passport_country=self.passport_issuing_country,
            passport_valid_until=self.passport_valid_until,
        )


SignUpResult = result_union("signUp", AuthSession, EmailTaken, ValidationError, RateLimited)
SignInResult = result_union("signIn", AuthSession, InvalidCredentials, RateLimited)
RefreshSessionResult = result_union("refreshSession", AuthSession, InvalidRefreshToken)
SignOutResult = result_union("signOut", SignedOut, InvalidRefreshToken)
ChangePasswordResult = result_union(
    "changePassword", PasswordChanged, InvalidCredentials, ValidationError, RateLimited
)
LinkIdentityResult = result_union(
    "linkIdentity", IdentityLinked, IdentityNotFound, ValidationError, RateLimited
)
UnlinkIdentityResult = result_union("unlinkIdentity", IdentityUnlinked, NotPermitted)
RegisterPersonResult = result_union(
    "registerPerson", PersonRegistered, ValidationError, NotPermitted
)


@strawberry.type(description="Mutations on accounts and persons.")
class AccountMutations:
    @strawberry.mutation(description="Create an account (role APPLICANT) and sign it in.")
    async def sign_up(
        self,
        info: Info,
        input: Annotated[SignUpInput, strawberry.argument(description="The account.")],
    ) -> SignUpResult:
        return await run_mutation(
            info,
            SignUpResult,
            lambda ctx: accounts.sign_up(ctx, input.email, input.password, input.display_name),
            _session,
        )

    @strawberry.mutation(description="Sign in with e-mail and password.")
    async def sign_in(
        self,
        info: Info,
        input: Annotated[SignInInput, strawberry.argument(description="Credentials.")],
    ) -> SignInResult:
        return await run_mutation(
            info,
            SignInResult,
            lambda ctx: accounts.sign_in(ctx, input.email, input.password),
            _session,
        )

    @strawberry.mutation(
        description="Trade a refresh token for a new session; the old token stops working. "
        "A token presented twice ends every session of its sign-in."
    )
    async def refresh_session(
        self, info: Info, refresh_token: RefreshTokenArg
    ) -> RefreshSessionResult:
        return await run_mutation(
            info,
            RefreshSessionResult,
            lambda ctx: accounts.refresh_session(ctx, refresh_token),
            _session,
        )

    @strawberry.mutation(description="End the session that the refresh token belongs to.")
    async def sign_out(self, info: Info, refresh_token: RefreshTokenArg) -> SignOutResult:
        return await run_mutation(
            info,
            SignOutResult,
            lambda ctx: accounts.sign_out(ctx, refresh_token),
            lambda _: SignedOut(message=render(N_("Signed out."), info.context.language)),
        )

    @strawberry.mutation(description="Change the password; other sessions are signed out.")
    async def change_password(
        self,
        info: Info,
        input: Annotated[ChangePasswordInput, strawberry.argument(description="The change.")],
    ) -> ChangePasswordResult:
        return await run_mutation(
            info,
            ChangePasswordResult,
            lambda ctx: accounts.change_password(ctx, input.current_password, input.new_password),
            _password_changed,
        )

    @strawberry.mutation(
        description="Link your account to your person by four passport facts; a mismatch does "
        "not say which fact failed, and attempts are rate-limited."
    )
    async def link_identity(
        self,
        info: Info,
        input: Annotated[LinkIdentityInput, strawberry.argument(description="Passport facts.")],
    ) -> LinkIdentityResult:
        return await run_mutation(
            info,
            LinkIdentityResult,
            lambda ctx: persons.link_identity(ctx, input.identity()),
            lambda row: IdentityLinked(person=Person.from_row(row)),
        )

    @strawberry.mutation(description="Officers and admins: undo a wrong link of a person.")
    async def unlink_identity(self, info: Info, person_id: PersonIdArg) -> UnlinkIdentityResult:
        return await run_mutation(
            info,
            UnlinkIdentityResult,
            lambda ctx: persons.unlink_identity(ctx, pk_of(person_id, "Person")),
            lambda row: IdentityUnlinked(person=Person.from_row(row)),
        )

    @strawberry.mutation(description="Officers and admins: register a person with a passport.")
    async def register_person(
        self,
        info: Info,
        input: Annotated[RegisterPersonInput, strawberry.argument(description="The person.")],
    ) -> RegisterPersonResult:
        return await run_mutation(
            info,
            RegisterPersonResult,
            lambda ctx: persons.register_person(ctx, input.facts()),
            lambda row: PersonRegistered(person=Person.from_row(row)),
        )
