"""Proving an e-mail address and resetting a forgotten password (mailed single-use links)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from resolvers import account_recovery
from resolvers.outcomes import RefusalKind
from resolvers.rows import AccountRow
from schema.common import RateLimited, ValidationError
from schema.results import RefusalMessage, error_type, result_union, run_mutation
from translations import render

if TYPE_CHECKING:
    from schema.accounts import Account


@error_type(
    RefusalKind.INVALID_TOKEN,
    "The link's token is not valid: used already, expired, replaced by a newer one, or mistyped.",
)
class InvalidToken(RefusalMessage):
    pass


@strawberry.type(
    description="The request is taken. Said alike whether or not an account has the address."
)
class PasswordResetRequested:
    message: str = strawberry.field(description="What happens next, for people.")


@strawberry.type(description="The password is changed; every other session was signed out.")
class PasswordResetDone:
    message: str = strawberry.field(description="What happened, for people.")


@strawberry.type(description="The address is proved.")
class EmailVerified:
    account: Annotated[Account, strawberry.lazy("schema.accounts")] = strawberry.field(
        description="The account whose address it is."
    )


@strawberry.type(description="A fresh verification link is on its way.")
class EmailVerificationSent:
    message: str = strawberry.field(description="Where it went, for people.")


@strawberry.input(description="A new password, with the token of the mailed reset link.")
class ResetPasswordInput:
    token: str = strawberry.field(description="The token from the link (after `#token=`).")
    new_password: str = strawberry.field(description="The new password.")


RequestPasswordResetResult = result_union(
    "requestPasswordReset", PasswordResetRequested, RateLimited
)
ResetPasswordResult = result_union(
    "resetPassword", PasswordResetDone, InvalidToken, ValidationError
)
VerifyEmailResult = result_union("verifyEmail", EmailVerified, InvalidToken)
RequestEmailVerificationResult = result_union(
    "requestEmailVerification", EmailVerificationSent, RateLimited
)


async def _verified(row: AccountRow) -> EmailVerified:
    from schema.accounts import Account

    return EmailVerified(account=await Account.from_row(row))


@strawberry.type(description="Mutations that verify addresses and recover accounts.")
class AccountRecoveryMutations:
    @strawberry.mutation(
        description="Signed in: mail a fresh link that proves the account's address (earlier "
        "links stop working). Limited per account (VERIFICATION_MAILS_PER_ACCOUNT)."
    )
    async def request_email_verification(self, info: Info) -> RequestEmailVerificationResult:
        return await run_mutation(
            info,
            RequestEmailVerificationResult,
            account_recovery.request_email_verification,
            lambda message: EmailVerificationSent(message=render(message, info.context.language)),
        )

    @strawberry.mutation(
        description="Prove an address with the token of the mailed link; needs no session. "
        "A token works once, for ACCOUNT_TOKEN_MINUTES (30) minutes."
    )
    async def verify_email(
        self,
        info: Info,
        token: Annotated[str, strawberry.argument(description="The token from the link.")],
    ) -> VerifyEmailResult:
        return await run_mutation(
            info,
            VerifyEmailResult,
            lambda ctx: account_recovery.verify_email(ctx, token),
            _verified,
        )

    @strawberry.mutation(
        description="Mail a link to choose a new password, when an account has this address. "
        "The answer is PasswordResetRequested for every address, known or not, and also past "
        "the limits (per address typed and per client address), when nothing is sent."
    )
    async def request_password_reset(
        self,
        info: Info,
        email: Annotated[str, strawberry.argument(description="The account's address.")],
    ) -> RequestPasswordResetResult:
        return await run_mutation(
            info,
            RequestPasswordResetResult,
            lambda ctx: account_recovery.request_password_reset(ctx, email),
            lambda message: PasswordResetRequested(message=render(message, info.context.language)),
        )

    @strawberry.mutation(
        description="Choose a new password with the token of the mailed reset link (once, "
        "within ACCOUNT_TOKEN_MINUTES). Every other session of the account ends."
    )
    async def reset_password(
        self,
        info: Info,
        input: Annotated[
            ResetPasswordInput, strawberry.argument(description="Token and password.")
        ],
    ) -> ResetPasswordResult:
        return await run_mutation(
            info,
            ResetPasswordResult,
            lambda ctx: account_recovery.reset_password(ctx, input.token, input.new_password),
            lambda message: PasswordResetDone(message=render(message, info.context.language)),
        )
