"""The root Mutation type: each mutation states who may call it and its result union."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.messages import N_
from domain.persons import IdentityFacts, PersonFacts
from resolvers import accounts, persons
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
from schema.results import mutation, node_results, result_union
from translations import render


async def _session(session: accounts.Session) -> AuthSession:
    return AuthSession(
        access_token=session.access_token,
        refresh_token=session.refresh_token,
        expires_at=session.expires_at,
        account=await Account.from_row(session.account),
    )


# The success members of the person mutations, each holding the person, in the order of
# the table.
IdentityLinked, IdentityUnlinked, PersonRegistered = node_results(
    {
        (Person, "person"): {
            "IdentityLinked": ("The person is now linked to your account.", "Your person."),
            "IdentityUnlinked": ("The person is no longer linked to any account.", "The person."),
            "PersonRegistered": (
                "The person was registered with a current passport.",
                "The new person.",
            ),
        },
    }
)


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
    given_names: str = strawberry.field(
        description="Given names as in the passport, up to 200 characters; with the surname at "
        "most 900 bytes in UTF-8 (what a certificate's QR code holds: characters beyond the "
        "Basic Multilingual Plane take 4 bytes)."
    )
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
    @mutation("Create an account (role APPLICANT) and sign it in.", success=_session)
    async def sign_up(
        self,
        info: Info,
        input: Annotated[SignUpInput, strawberry.argument(description="The account.")],
    ) -> SignUpResult:
        return await accounts.sign_up(info.context, input.email, input.password, input.display_name)

    @mutation("Sign in with e-mail and password.", success=_session)
    async def sign_in(
        self,
        info: Info,
        input: Annotated[SignInInput, strawberry.argument(description="Credentials.")],
    ) -> SignInResult:
        return await accounts.sign_in(info.context, input.email, input.password)

    @mutation(
        "Trade a refresh token for a new session; the old token stops working. "
        "A token presented twice ends every session of its sign-in.",
        success=_session,
    )
    async def refresh_session(
        self, info: Info, refresh_token: RefreshTokenArg
    ) -> RefreshSessionResult:
        return await accounts.refresh_session(info.context, refresh_token)

    @mutation("End the session that the refresh token belongs to.")
    async def sign_out(self, info: Info, refresh_token: RefreshTokenArg) -> SignOutResult:
        await accounts.sign_out(info.context, refresh_token)
        return render(N_("Signed out."), info.context.language)

    @mutation("Change the password; other sessions are signed out.")
    async def change_password(
        self,
        info: Info,
        input: Annotated[ChangePasswordInput, strawberry.argument(description="The change.")],
    ) -> ChangePasswordResult:
        return await accounts.change_password(
            info.context, input.current_password, input.new_password
        )

    @mutation(
        "Link your account to your person by four passport facts; a mismatch does "
        "not say which fact failed, and attempts are rate-limited."
    )
    async def link_identity(
        self,
        info: Info,
        input: Annotated[LinkIdentityInput, strawberry.argument(description="Passport facts.")],
    ) -> LinkIdentityResult:
        return await persons.link_identity(info.context, input.identity())

    @mutation(
        "Officers and admins: undo a wrong link of a person. The account's sessions end; the "
        "certificates it obtained as the person are revoked (CERTIFICATE_REVOKED), and so are "
        "the delegations it accepted as the person (with what their helpers obtained); it may "
        "not link itself to this person again."
    )
    async def unlink_identity(self, info: Info, person_id: PersonIdArg) -> UnlinkIdentityResult:
        return await persons.unlink_identity(info.context, pk_of(person_id, "Person"))

    @mutation("Officers and admins: register a person with a passport.")
    async def register_person(
        self,
        info: Info,
        input: Annotated[RegisterPersonInput, strawberry.argument(description="The person.")],
    ) -> RegisterPersonResult:
        return await persons.register_person(info.context, input.facts())
