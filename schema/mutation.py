"""The root Mutation type: each mutation states who may call it and its result union."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers import accounts, persons
from resolvers.context import Context
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
    from_global_id,
)
from schema.persons import Person
from schema.results import run_mutation


async def _session(session: accounts.Session) -> AuthSession:
    return AuthSession(
        access_token=session.access_token,
        refresh_token=session.refresh_token,
        expires_at=session.expires_at,
        account=await Account.from_row(session.account),
    )


def _person_pk(global_id: str) -> int | None:
    decoded = from_global_id(global_id, "Person")
    return decoded[1] if decoded else None


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


SignUpResult = Annotated[
    AuthSession | EmailTaken | ValidationError | RateLimited,
    strawberry.union("SignUpResult", description="The outcome of signUp."),
]
SignInResult = Annotated[
    AuthSession | InvalidCredentials | RateLimited,
    strawberry.union("SignInResult", description="The outcome of signIn."),
]
RefreshSessionResult = Annotated[
    AuthSession | InvalidRefreshToken,
    strawberry.union("RefreshSessionResult", description="The outcome of refreshSession."),
]
SignOutResult = Annotated[
    SignedOut | InvalidRefreshToken,
    strawberry.union("SignOutResult", description="The outcome of signOut."),
]
ChangePasswordResult = Annotated[
    PasswordChanged | InvalidCredentials | ValidationError | RateLimited,
    strawberry.union("ChangePasswordResult", description="The outcome of changePassword."),
]
LinkIdentityResult = Annotated[
    IdentityLinked | IdentityNotFound | ValidationError | RateLimited,
    strawberry.union("LinkIdentityResult", description="The outcome of linkIdentity."),
]
UnlinkIdentityResult = Annotated[
    IdentityUnlinked | NotPermitted,
    strawberry.union("UnlinkIdentityResult", description="The outcome of unlinkIdentity."),
]
RegisterPersonResult = Annotated[
    PersonRegistered | ValidationError | NotPermitted,
    strawberry.union("RegisterPersonResult", description="The outcome of registerPerson."),
]


@strawberry.type(description="Mutations on accounts and persons.")
class AccountMutations:
    @strawberry.mutation(description="Create an account (role APPLICANT) and sign it in.")
    async def sign_up(
        self,
        info: Info,
        input: Annotated[SignUpInput, strawberry.argument(description="The account.")],
    ) -> SignUpResult:
        ctx: Context = info.context
        return await run_mutation(
            ctx,
            SignUpResult,
            lambda: accounts.sign_up(ctx, input.email, input.password, input.display_name),
            _session,
        )

    @strawberry.mutation(description="Sign in with e-mail and password.")
    async def sign_in(
        self,
        info: Info,
        input: Annotated[SignInInput, strawberry.argument(description="Credentials.")],
    ) -> SignInResult:
        ctx: Context = info.context
        return await run_mutation(
            ctx,
            SignInResult,
            lambda: accounts.sign_in(ctx, input.email, input.password),
            _session,
        )

    @strawberry.mutation(
        description="Trade a refresh token for a new session; the old token stops working. "
        "A token presented twice ends every session of its sign-in."
    )
    async def refresh_session(
        self, info: Info, refresh_token: RefreshTokenArg
    ) -> RefreshSessionResult:
        ctx: Context = info.context
        return await run_mutation(
            ctx,
            RefreshSessionResult,
            lambda: accounts.refresh_session(ctx, refresh_token),
            _session,
        )

    @strawberry.mutation(description="End the session that the refresh token belongs to.")
    async def sign_out(self, info: Info, refresh_token: RefreshTokenArg) -> SignOutResult:
        ctx: Context = info.context

        async def done(_: None) -> SignedOut:
            return SignedOut(message="Signed out.")

        return await run_mutation(
            ctx, SignOutResult, lambda: accounts.sign_out(ctx, refresh_token), done
        )

    @strawberry.mutation(description="Change the password; other sessions are signed out.")
    async def change_password(
        self,
        info: Info,
        input: Annotated[ChangePasswordInput, strawberry.argument(description="The change.")],
    ) -> ChangePasswordResult:
        ctx: Context = info.context

        async def done(account: object) -> PasswordChanged:
            return PasswordChanged(account=await Account.from_row(account))  # type: ignore[arg-type]

        return await run_mutation(
            ctx,
            ChangePasswordResult,
            lambda: accounts.change_password(ctx, input.current_password, input.new_password),
            done,
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
        ctx: Context = info.context

        async def done(person: object) -> IdentityLinked:
            return IdentityLinked(person=Person.from_row(person))  # type: ignore[arg-type]

        return await run_mutation(
            ctx,
            LinkIdentityResult,
            lambda: persons.link_identity(
                ctx,
                passport_number=input.passport_number,
                nationality=input.nationality,
                birth_date=input.birth_date,
                surname=input.surname,
            ),
            done,
        )

    @strawberry.mutation(description="Officers and admins: undo a wrong link of a person.")
    async def unlink_identity(
        self,
        info: Info,
        person_id: Annotated[strawberry.ID, strawberry.argument(description="The person.")],
    ) -> UnlinkIdentityResult:
        ctx: Context = info.context

        async def done(person: object) -> IdentityUnlinked:
            return IdentityUnlinked(person=Person.from_row(person))  # type: ignore[arg-type]

        return await run_mutation(
            ctx,
            UnlinkIdentityResult,
            lambda: persons.unlink_identity(ctx, _person_pk(person_id)),
            done,
        )

    @strawberry.mutation(description="Officers and admins: register a person with a passport.")
    async def register_person(
        self,
        info: Info,
        input: Annotated[RegisterPersonInput, strawberry.argument(description="The person.")],
    ) -> RegisterPersonResult:
        ctx: Context = info.context

        async def done(person: object) -> PersonRegistered:
            return PersonRegistered(person=Person.from_row(person))  # type: ignore[arg-type]

        return await run_mutation(
            ctx,
            RegisterPersonResult,
            lambda: persons.register_person(
                ctx,
                surname=input.surname,
                given_names=input.given_names,
                nationality=input.nationality,
                birth_date=input.birth_date,
                sex=input.sex.value,
                passport_number=input.passport_number,
                passport_country=input.passport_issuing_country,
                passport_valid_until=input.passport_valid_until,
            ),
            done,
        )
