"""Proving an e-mail address and resetting a forgotten password (mailed single-use links)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers import account_recovery
from resolvers.outcomes import RefusalKind
from schema.accounts import Account
from schema.common import RateLimited, ValidationError
from schema.results import RefusalMessage, error_type, mutation, node_results, result_union
from translations import render


@error_type(
    RefusalKind.INVALID_TOKEN,
    "The link's token is not valid: used already, expired, replaced by a newer one, or mistyped.",
)
class InvalidToken(RefusalMessage):
    pass


# The success members, in the order of the table: those that answer with a message for
# people, rendered in the request's language, and the one that holds the account.
PasswordResetRequested, PasswordResetDone, EmailVerificationSent, EmailVerified = node_results(
    {
        (str, "message"): {
            "PasswordResetRequested": (
                "The request is taken. Said alike whether or not an account has the address.",
                "What happens next, for people.",
            ),
            "PasswordResetDone": (
                "The password is changed; every other session was signed out.",
                "What happened, for people.",
            ),
            "EmailVerificationSent": (
                "A fresh verification link is on its way.",
                "Where it went, for people.",
            ),
        },
        (Account, "account"): {
            "EmailVerified": ("The address is proved.", "The account whose address it is."),
        },
    }
)


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


@strawberry.type(description="Mutations that verify addresses and recover accounts.")
class AccountRecoveryMutations:
    @mutation(
        "Signed in: mail a fresh link that proves the account's address (earlier "
        "links stop working). Limited per account (VERIFICATION_MAILS_PER_ACCOUNT)."
    )
    async def request_email_verification(self, info: Info) -> RequestEmailVerificationResult:
        message = await account_recovery.request_email_verification(info.context)
        return render(message, info.context.language)

    @mutation(
        "Prove an address with the token of the mailed link; needs no session. "
        "A token works once, for ACCOUNT_TOKEN_MINUTES (30) minutes."
    )
    async def verify_email(
        self,
        info: Info,
        token: Annotated[str, strawberry.argument(description="The token from the link.")],
    ) -> VerifyEmailResult:
        return await account_recovery.verify_email(info.context, token)

    @mutation(
        "Mail a link to choose a new password, when an account has this address. "
        "The answer is PasswordResetRequested for every address, known or not, and also past "
        "the limits (per address typed and per client address), when nothing is sent."
    )
    async def request_password_reset(
        self,
        info: Info,
        email: Annotated[str, strawberry.argument(description="The account's address.")],
    ) -> RequestPasswordResetResult:
        message = await account_recovery.request_password_reset(info.context, email)
        return render(message, info.context.language)

    @mutation(
        "Choose a new password with the token of the mailed reset link (once, "
        "within ACCOUNT_TOKEN_MINUTES). Every other session of the account ends."
    )
    async def reset_password(
        self,
        info: Info,
        input: Annotated[
            ResetPasswordInput, strawberry.argument(description="Token and password.")
        ],
    ) -> ResetPasswordResult:
        message = await account_recovery.reset_password(
            info.context, input.token, input.new_password
        )
        return render(message, info.context.language)
