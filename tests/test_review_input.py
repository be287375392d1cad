"""Odd input to the round-2 mutations through HTTP, as an attacker would send it: NUL and other
control characters, huge texts and lists, IDs that are not IDs or name another type or a
number no row has, unknown enum values. Every answer is a typed result or a GraphQL error
with a code (never INTERNAL_SERVER_ERROR), and a refused mutation leaves nothing behind."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from persistence.models import AccountToken, CertificatePresentation, Notification
from schema.common import to_global_id
from tests.conftest import sign_up, unique_email
from tests.test_certificates import issue_ok, pr_holder

MARK = """mutation($ids: [ID!], $all: Boolean) { markNotificationsRead(ids: $ids, all: $all) {
  __typename ... on NotificationsMarkedRead { count } ... on ValidationError { field } } }"""
PREFERENCES = """mutation($language: Language, $prefs: [NotificationPreferenceInput!]) {
  setPreferences(language: $language, notifications: $prefs) { __typename
    ... on ValidationError { field } } }"""
PRESENT = """mutation($input: PresentCertificateInput!) { presentCertificate(input: $input) {
  __typename ... on ValidationError { field } } }"""
RESET = """mutation($token: String!, $password: String!) {
  resetPassword(input: {token: $token, newPassword: $password}) { __typename
    ... on ValidationError { field } } }"""
VERIFY = """mutation($token: String!) { verifyEmail(token: $token) { __typename } }"""
REQUEST_RESET = """mutation($email: String!) { requestPasswordReset(email: $email) {
  __typename } }"""
REQUEST_VERIFICATION = "mutation { requestEmailVerification { __typename } }"

HUGE = "x" * 500_000
ODD_TEXTS = ["", "\x00", "a\x00b", "\r\nBcc: x@y.z", "\ud800", "é" * 10_000, HUGE, "' OR 1=1 --"]
ODD_IDS = [
    "",
    "\x00",
    "not-an-id",
    HUGE[:100_000],
    to_global_id("Notification", 2**63),
    to_global_id("Notification", -1),
    to_global_id("Person", 1),
    base64.b64encode(b"Notification:1\x00").decode(),
    base64.b64encode(b"Notification:99999999999999999999999999").decode(),
]


async def post(client: httpx.AsyncClient, query: str, variables: dict, token: str | None) -> dict:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    # ASCII JSON: a lone surrogate travels as the escape "\\ud800", as a client would send it.
    sent = json.dumps({"query": query, "variables": variables}, ensure_ascii=True)
    response = await client.post("/graphql", content=sent.encode(), headers=headers)
    assert response.status_code in (200, 400, 413), response.text[:500]
    body = response.json()
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
    assert "INTERNAL_SERVER_ERROR" not in codes, str(body)[:500]
    assert all(codes), str(body)[:500]  # every error says what kind it is
    return body


def answer(body: dict) -> dict | None:
    data = body.get("data") or {}
    (value,) = data.values() if data else (None,)
    return value


@pytest.fixture
async def member(client: httpx.AsyncClient) -> str:
    return (await sign_up(client, unique_email()))["accessToken"]


async def test_mark_read_takes_any_ids_and_refuses_too_many(client, member):
    for odd in ODD_IDS:
        body = await post(client, MARK, {"ids": [odd]}, member)
        result = answer(body)
        assert result is None or result in (
            {"__typename": "NotificationsMarkedRead", "count": 0},
            {"__typename": "ValidationError", "field": "ids"},
        ), (odd[:40], body)
    many = [to_global_id("Notification", n) for n in range(1, 20_001)]
    body = await post(client, MARK, {"ids": many}, member)
    assert answer(body) == {"__typename": "ValidationError", "field": "ids"}
    body = await post(client, MARK, {"ids": ["x"] * 101}, member)
    assert answer(body) == {"__typename": "ValidationError", "field": "ids"}
    body = await post(client, MARK, {"ids": [], "all": False}, member)
    assert answer(body) == {"__typename": "ValidationError", "field": "ids"}
    body = await post(client, MARK, {"ids": None, "all": None}, member)
    assert answer(body) == {"__typename": "ValidationError", "field": "ids"}


async def test_preferences_refuse_unknown_values_and_duplicates(client, member):
    for variables in (
        {"language": "XX"},
        {"language": "\x00"},
        {"prefs": [{"kind": "NOT_A_KIND", "channels": ["INBOX"]}]},
        {"prefs": [{"kind": "APPOINTMENT_BOOKED", "channels": ["SMS"]}]},
        {"prefs": [{"kind": "APPOINTMENT_BOOKED", "channels": ["INBOX", "INBOX"]}]},
        {"prefs": [{"kind": "APPOINTMENT_BOOKED", "channels": []}] * 2},
        {"prefs": [{"kind": "APPOINTMENT_BOOKED", "channels": ["INBOX"]}] * 5_000},
        {"prefs": [{"kind": "APPOINTMENT_BOOKED"}]},
    ):
        body = await post(client, PREFERENCES, variables, member)
        result = answer(body)
        assert result is None or result["__typename"] == "ValidationError", (variables, body)


async def test_present_refuses_odd_ids_and_claims(client):
    holder, person = await pr_holder(client)
    certificate = await issue_ok(client, holder, person["id"])
    before = await CertificatePresentation.all().count()
    for odd in [*ODD_IDS, person["id"]]:
        body = await post(
            client, PRESENT, {"input": {"certificateId": odd, "disclose": ["NAME"]}}, holder
        )
        result = answer(body)
        assert result is None or result["__typename"] in ("NotPermitted", "ValidationError")
    for disclose in ([], ["SHOE_SIZE"], ["\x00"], ["NAME"] * 50_000, None):
        body = await post(
            client,
            PRESENT,
            {"input": {"certificateId": certificate["id"], "disclose": disclose}},
            holder,
        )
        result = answer(body)
        assert (
            result is None
            or result["__typename"] == "ValidationError"
            or (disclose and set(disclose) == {"NAME"} and result["__typename"] != "NotPermitted")
        ), (str(disclose)[:40], body)
    assert await CertificatePresentation.all().count() <= before + 1


async def test_recovery_takes_any_text_and_keeps_nothing_of_it(client):
    tokens_before = await AccountToken.all().count()
    for odd in ODD_TEXTS:
        for query, variables in (
            (VERIFY, {"token": odd}),
            (RESET, {"token": odd, "password": "a-Strong-passphrase-9"}),
            (RESET, {"token": "x", "password": odd}),
            (REQUEST_RESET, {"email": odd}),
            (REQUEST_RESET, {"email": f"{odd}@example.test"}),
        ):
            body = await post(client, query, variables, None)
            result: Any = answer(body)
            assert result is None or result["__typename"] in (
                "InvalidToken",
                "ValidationError",
                "PasswordResetRequested",
                "RateLimited",
            ), (query[:30], repr(odd[:20]), body)
    assert await AccountToken.all().count() == tokens_before
    body = await post(client, REQUEST_VERIFICATION, {}, None)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_refused_mark_read_changes_nothing(client, member):
    unread_before = await Notification.filter(read_at__isnull=True).count()
    body = await post(client, MARK, {"ids": ["x"], "all": True}, member)
    assert answer(body) == {"__typename": "ValidationError", "field": "ids"}
    assert await Notification.filter(read_at__isnull=True).count() == unread_before
