"""The GraphQL documents the service's own pages send (/verify, /verify-email and
/reset-password): in registered-only mode (PERSISTED_QUERIES_FILE) they are accepted with the
manifest's, so that the pages keep working. Each stands verbatim in its page's script
(tests/test_persisted_manifests.py checks it), which sends it as it is."""

from __future__ import annotations

# web/static/verify/verify-page.js: whether the service still holds a token valid.
VERIFY_DOCUMENT = "query($token: String!) { verifyDocument(token: $token) { valid failure } }"
# web/static/account/account-pages.js: the two account links.
VERIFY_BY_LINK = (
    "mutation($token: String!) { verifyEmail(token: $token) { __typename\n"
    "    ... on EmailVerified { account { email } }\n"
    "    ... on InvalidToken { message code } } }"
)
RESET_BY_LINK = (
    "mutation($input: ResetPasswordInput!) {\n"
    "    resetPassword(input: $input) { __typename\n"
    "      ... on PasswordResetDone { message }\n"
    "      ... on InvalidToken { message code }\n"
    "      ... on ValidationError { message code field } } }"
)

DOCUMENTS = (VERIFY_DOCUMENT, VERIFY_BY_LINK, RESET_BY_LINK)
