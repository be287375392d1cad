"""GraphQL over HTTP (the specification the graphql-http audit checks): media types, status
codes, GET and POST, request errors, batches and limits."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import sign_in, unique_email
from tests.helpers import asgi_call

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
SERVICES = "{ services { code } }"


@pytest.fixture
async def lenient(app):
    """A client that turns an exception escaping the app into the 500 a real server sends."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("192.0.2.80", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def media_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip().lower()


def no_traceback(response: httpx.Response) -> None:
    assert "Traceback" not in response.text
    assert 'File "' not in response.text


async def post(
    client: httpx.AsyncClient,
    body: object,
    accept: str | None = JSON,
    content_type: str = JSON,
    **headers: str,
) -> httpx.Response:
    sent = {"content-type": content_type, **headers}
    if accept is not None:
        sent["accept"] = accept
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = await client.post("/graphql", content=content, headers=sent)
    no_traceback(response)
    return response


# ---------------------------------------------------------------- content negotiation


async def test_post_json_answers_application_json(client):
    response = await post(client, {"query": SERVICES}, accept=JSON)
    assert response.status_code == 200
    assert media_type(response) == JSON
    body = response.json()
    assert len(body["data"]["services"]) == 11
    assert "errors" not in body


async def test_post_with_graphql_response_accept_answers_graphql_response_json(client):
    response = await post(client, {"query": SERVICES}, accept=GRAPHQL_RESPONSE)
    assert response.status_code == 200
    assert media_type(response) == GRAPHQL_RESPONSE
    assert len(response.json()["data"]["services"]) == 11


async def test_post_with_any_accept_answers_application_json(client):
    response = await post(client, {"query": SERVICES}, accept="*/*")
    assert response.status_code == 200
    assert media_type(response) == JSON


async def test_post_without_accept_answers_application_json(client):
    request = client.build_request(
        "POST", "/graphql", json={"query": SERVICES}, headers={"content-type": JSON}
    )
    del request.headers["accept"]
    assert "accept" not in request.headers
    response = await client.send(request)
    assert response.status_code == 200
    assert media_type(response) == JSON
    assert len(response.json()["data"]["services"]) == 11


async def test_accept_preference_by_quality_is_honoured(client):
    accept = f"{JSON};q=0.5, {GRAPHQL_RESPONSE};q=0.9"
    response = await post(client, {"query": SERVICES}, accept=accept)
    assert response.status_code == 200
    assert media_type(response) == GRAPHQL_RESPONSE


async def test_accept_text_plain_only_is_406(client):
    response = await post(client, {"query": SERVICES}, accept="text/plain")
    assert response.status_code == 406


async def test_content_type_with_another_charset_is_415(client):
    response = await post(client, {"query": SERVICES}, content_type=f"{JSON}; charset=utf-16")
    assert response.status_code == 415


async def test_post_without_content_type_is_415(client):
    request = client.build_request(
        "POST", "/graphql", content=b'{"query": "{ services { code } }"}'
    )
    assert "content-type" not in request.headers
    response = await client.send(request)
    assert response.status_code == 415


async def test_null_variables_operation_name_and_extensions_are_allowed(client):
    body = {"query": SERVICES, "variables": None, "operationName": None, "extensions": None}
    for accept in (JSON, GRAPHQL_RESPONSE):
        response = await post(client, body, accept=accept)
        assert response.status_code == 200
        assert len(response.json()["data"]["services"]) == 11


async def test_content_type_with_utf8_charset_is_accepted(client):
    response = await post(client, {"query": SERVICES}, content_type=f"{JSON}; charset=utf-8")
    assert response.status_code == 200
    assert response.json()["data"]["services"]


# ---------------------------------------------------------------- request errors


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("{ services { code }", id="parse-error"),
        pytest.param("{ services { noSuchField } }", id="validation-error"),
        pytest.param("{ noSuchRootField }", id="unknown-root-field"),
    ],
)
async def test_request_errors_with_graphql_response_json_are_400_without_data(client, query):
    response = await post(client, {"query": query}, accept=GRAPHQL_RESPONSE)
    assert response.status_code == 400
    assert media_type(response) == GRAPHQL_RESPONSE
    body = response.json()
    assert "data" not in body
    assert body["errors"] and body["errors"][0]["message"]


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("{ services { code }", id="parse-error"),
        pytest.param("{ services { noSuchField } }", id="validation-error"),
    ],
)
async def test_request_errors_with_application_json_are_200_with_errors(client, query):
    response = await post(client, {"query": query}, accept=JSON)
    assert response.status_code == 200
    assert media_type(response) == JSON
    body = response.json()
    assert body["errors"] and body["errors"][0]["message"]
    assert body.get("data") is None


async def test_variables_of_the_wrong_type_with_graphql_response_json_are_400(client):
    query = "query($first: Int) { offices(first: $first) { edges { node { code } } } }"
    response = await post(
        client, {"query": query, "variables": {"first": "many"}}, accept=GRAPHQL_RESPONSE
    )
    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    assert body["errors"]


async def test_variables_of_the_wrong_type_with_application_json_are_200_with_errors(client):
    query = "query($first: Int) { offices(first: $first) { edges { node { code } } } }"
    response = await post(client, {"query": query, "variables": {"first": "many"}}, accept=JSON)
    assert response.status_code == 200
    body = response.json()
    assert body["errors"]
    assert body.get("data") is None


async def test_a_missing_required_variable_with_graphql_response_json_is_400(client):
    query = "query($s: ServiceCode!) { guidance(service: $s) { version } }"
    response = await post(client, {"query": query, "variables": {}}, accept=GRAPHQL_RESPONSE)
    assert response.status_code == 400
    assert "data" not in response.json()


async def test_variables_are_used(client):
    query = "query($s: ServiceCode!) { guidance(service: $s, lang: EN) { service } }"
    response = await post(client, {"query": query, "variables": {"s": "VISA_RENEWAL"}})
    assert response.status_code == 200
    assert response.json()["data"]["guidance"]["service"] == "VISA_RENEWAL"


async def test_malformed_json_body_is_400(client):
    response = await post(client, b'{"query": "{ services { code } }"', accept=JSON)
    assert response.status_code == 400


async def test_malformed_json_body_with_graphql_response_accept_is_400(client):
    response = await post(client, b"{not json at all", accept=GRAPHQL_RESPONSE)
    assert response.status_code == 400


async def test_empty_body_is_400(client):
    response = await post(client, b"", accept=JSON)
    assert response.status_code == 400


async def test_body_over_a_million_bytes_is_413(client):
    filler = "#" + "x" * 1_000_010 + "\n"
    content = json.dumps({"query": filler + SERVICES}).encode()
    assert len(content) > 1_000_000
    response = await post(client, content)
    assert response.status_code == 413


async def test_non_json_content_type_is_415(client):
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/graphql"):
        response = await post(
            client, json.dumps({"query": SERVICES}).encode(), content_type=content_type
        )
        assert response.status_code == 415, content_type


async def test_query_that_is_not_a_string_is_400(client):
    for query in (123, ["{ services { code } }"], {"q": 1}):
        response = await post(client, {"query": query})
        assert response.status_code == 400, query


async def test_missing_query_is_400(client):
    response = await post(client, {"variables": {}})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("method", "request_options"),
    [
        ("POST", {"json": {"query": ""}}),
        ("POST", {"json": {"query": "  \n "}}),
        ("GET", {"params": {"query": ""}}),
        ("POST", {"json": {"extensions": {"persistedQuery": None}}}),
        ("POST", {"json": {"extensions": {"persistedQuery": "x"}}}),
        ("POST", {"json": [{"query": SERVICES}, {"query": ""}]}),
    ],
)
async def test_a_blank_query_is_a_bad_request_not_a_server_error(lenient, method, request_options):
    """A query that is empty or blank (or stands for nothing: a persistedQuery that is not an
    object) is the client's mistake, answered as one, with the CORS headers a browser needs
    to read it."""
    origin = "http://localhost:5173"
    response = await lenient.request(
        method, "/graphql", headers={"origin": origin, "accept": JSON}, **request_options
    )
    no_traceback(response)
    assert response.status_code in (200, 400), response.text
    assert media_type(response) == JSON
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST", error
    assert response.headers.get("access-control-allow-origin") == origin


async def test_variables_as_a_json_array_is_400(client):
    response = await post(client, {"query": SERVICES, "variables": [1, 2]})
    assert response.status_code == 400


async def test_variables_as_a_string_in_a_post_body_is_400(client):
    response = await post(client, {"query": SERVICES, "variables": "{}"})
    assert response.status_code == 400


async def test_a_body_that_is_a_json_string_is_400(client):
    response = await post(client, b'"{ services { code } }"')
    assert response.status_code == 400


async def test_operation_name_that_is_not_a_string_is_400(client):
    response = await post(client, {"query": SERVICES, "operationName": 5})
    assert response.status_code == 400


async def test_an_unknown_operation_name_is_an_error_not_a_500(lenient):
    query = "query A { services { code } } query B { viewer { account { id } } }"
    for accept in (JSON, GRAPHQL_RESPONSE):
        response = await post(lenient, {"query": query, "operationName": "C"}, accept=accept)
        assert response.status_code in (200, 400), response.text
        body = response.json()
        assert body["errors"] and body["errors"][0]["message"]
        assert body.get("data") is None


async def test_operation_name_selects_the_operation(client):
    query = "query A { services { code } } query B { viewer { account { id } } }"
    response = await post(client, {"query": query, "operationName": "B"})
    assert response.status_code == 200
    assert response.json()["data"] == {"viewer": None}


async def test_several_operations_without_operation_name_is_an_error(client):
    query = "query A { services { code } } query B { viewer { account { id } } }"
    response = await post(client, {"query": query}, accept=GRAPHQL_RESPONSE)
    assert response.status_code == 400
    assert response.json()["errors"]


@pytest.mark.parametrize(
    "query",
    [
        pytest.param(
            '{ statistics(from: "2026-01-01", to: "2026-01-31") { appointmentsBooked } }',
            id="statistics",
        ),
        pytest.param("{ secrets { password } }", id="unknown-field"),
        pytest.param("{ offices { edges { node { passwordHash } } } }", id="unknown-nested"),
    ],
)
async def test_fields_the_caller_may_not_use_or_that_do_not_exist_are_proper_errors(client, query):
    response = await post(client, {"query": query})
    assert response.status_code in (200, 400, 401, 403)
    body = response.json()
    assert body["errors"]
    error = body["errors"][0]
    assert error["message"]
    assert error.get("extensions", {}).get("code") != "INTERNAL_SERVER_ERROR"
    assert body.get("data") is None or body["data"].get("statistics") is None


async def test_statistics_is_refused_to_an_applicant(client):
    token = await sign_in(client, "applicant@demo.test")
    query = '{ statistics(from: "2026-01-01", to: "2026-01-31") { appointmentsBooked } }'
    response = await post(client, {"query": query}, authorization=f"Bearer {token}")
    assert response.status_code in (200, 400)
    body = response.json()
    assert body["errors"]
    assert body.get("data") is None or body["data"].get("statistics") is None
    assert body["errors"][0].get("extensions", {}).get("code") in (
        "FORBIDDEN",
        "GRAPHQL_VALIDATION_FAILED",
    )


# ---------------------------------------------------------------- GET


async def test_get_with_a_query_works(client):
    response = await client.get("/graphql", params={"query": "{services{code}}"})
    no_traceback(response)
    assert response.status_code == 200
    assert media_type(response) == JSON
    assert len(response.json()["data"]["services"]) == 11


async def test_get_with_variables_and_operation_name_works(client):
    params = {
        "query": "query Q($s: ServiceCode!) { guidance(service: $s, lang: ZH) { lang service } }",
        "variables": json.dumps({"s": "VISA_EXTENSION"}),
        "operationName": "Q",
    }
    response = await client.get("/graphql", params=params, headers={"accept": GRAPHQL_RESPONSE})
    assert response.status_code == 200
    assert media_type(response) == GRAPHQL_RESPONSE
    assert response.json()["data"]["guidance"] == {"lang": "ZH", "service": "VISA_EXTENSION"}


async def test_get_with_malformed_variables_is_400(client):
    params = {"query": SERVICES, "variables": "{not json"}
    response = await client.get("/graphql", params=params)
    no_traceback(response)
    assert response.status_code == 400


async def test_get_with_a_mutation_is_405_with_allow_header(client):
    query = 'mutation { signOut(refreshToken: "x") { __typename } }'
    response = await client.get("/graphql", params={"query": query})
    no_traceback(response)
    assert response.status_code == 405
    assert "POST" in response.headers["allow"].upper()


async def test_get_with_a_mutation_does_not_run_it(client):
    # A mutation sent with GET must not be executed: signing up that way creates nothing.
    email = unique_email()
    query = (
        'mutation { signUp(input: {email: "' + email + '", password: "a-Strong-passphrase-1", '
        'displayName: "Get"}) { __typename } }'
    )
    response = await client.get("/graphql", params={"query": query})
    assert response.status_code == 405
    sign_in_query = (
        'mutation { signIn(input: {email: "' + email + '", password: "a-Strong-passphrase-1"}) '
        "{ __typename } }"
    )
    body = (await post(client, {"query": sign_in_query})).json()
    assert body["data"]["signIn"]["__typename"] == "InvalidCredentials"


async def test_get_may_run_the_query_of_a_document_that_also_holds_a_mutation(client):
    document = (
        'query Q { services { code } } mutation M { signOut(refreshToken: "x") { __typename } }'
    )
    response = await client.get("/graphql", params={"query": document, "operationName": "Q"})
    no_traceback(response)
    assert response.status_code == 200
    assert len(response.json()["data"]["services"]) == 11
    response = await client.get("/graphql", params={"query": document, "operationName": "M"})
    no_traceback(response)
    assert response.status_code == 405


async def test_get_graphql_for_a_browser_serves_graphiql(client):
    response = await client.get("/graphql", headers={"accept": "text/html,*/*;q=0.8"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_get_without_query_and_without_html_accept_is_400(client):
    response = await client.get("/graphql", headers={"accept": JSON})
    no_traceback(response)
    assert response.status_code == 400


# ---------------------------------------------------------------- other methods


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_other_methods_are_405(client, method):
    response = await client.request(
        method, "/graphql", json={"query": SERVICES}, headers={"accept": JSON}
    )
    no_traceback(response)
    assert response.status_code == 405
    assert "POST" in response.headers.get("allow", "").upper()


# ---------------------------------------------------------------- batches


async def test_a_batch_of_two_operations_returns_two_results(client):
    batch = [
        {"query": SERVICES},
        {"query": "{ offices(first: 1) { edges { node { code } } } }"},
    ]
    response = await post(client, batch)
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list) and len(body) == 2
    assert len(body[0]["data"]["services"]) == 11
    assert len(body[1]["data"]["offices"]["edges"]) == 1


async def test_a_batch_of_ten_operations_is_accepted(client):
    response = await post(client, [{"query": SERVICES}] * 10)
    assert response.status_code == 200
    assert len(response.json()) == 10


async def test_a_batch_of_eleven_operations_is_400(client):
    response = await post(client, [{"query": SERVICES}] * 11)
    assert response.status_code == 400


async def test_an_empty_batch_is_400(client):
    response = await post(client, [])
    assert response.status_code == 400


@pytest.mark.parametrize("bad", ["{ nope }", "{ __typen"], ids=["invalid", "unparsable"])
async def test_a_batch_with_one_bad_operation_still_answers_the_others(client, bad):
    """Each answer of a batch is its own: the bad one has its errors and costs nothing (the
    cost of the operation before it, a page of offices, was reported on it)."""
    first = {"query": "{ offices(first: 100) { edges { node { code } } } }"}
    response = await post(client, [first, {"query": bad}, {"query": SERVICES}])
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body) == 3
    assert body[0]["data"]["offices"]["edges"]
    assert body[0]["extensions"]["cost"]["requestedQueryCost"] == 201
    assert body[1]["errors"] and not body[1].get("data")
    assert body[1].get("extensions", {}).get("cost", {}).get("requestedQueryCost", 0) == 0
    assert len(body[2]["data"]["services"]) == 11
    assert body[2]["extensions"]["cost"]["requestedQueryCost"] == 11


# ---------------------------------------------------------------- never a traceback


async def test_no_response_contains_a_traceback(lenient):
    requests = [
        ("POST", b"\xff\xfe garbage", {"content-type": JSON}),
        ("POST", b"null", {"content-type": JSON}),
        ("POST", b"[1, 2]", {"content-type": JSON}),
        ("POST", json.dumps({"query": "{ node(id: 5) { id } }"}).encode(), {"content-type": JSON}),
        (
            "POST",
            json.dumps({"query": "{ services { code } }", "extensions": "[]"}).encode(),
            {"content-type": JSON},
        ),
        ("POST", json.dumps({"query": "{" * 500}).encode(), {"content-type": JSON}),
    ]
    for method, content, headers in requests:
        response = await lenient.request(method, "/graphql", content=content, headers=headers)
        assert response.status_code < 500, (content[:40], response.status_code, response.text)
        no_traceback(response)


# ---------------------------------------------------------------- what a poor network brings


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
async def test_a_compressed_body_is_415_not_misread(client, encoding):
    """A gzip body used to be refused as "not valid JSON", and a plain body labelled `br`
    was read as if the label were not there: the label is refused with what to do instead."""
    import gzip

    plain = json.dumps({"query": SERVICES}).encode()
    for body in (gzip.compress(plain), plain):
        response = await post(client, body, **{"content-encoding": encoding})
        assert response.status_code == 415, response.text
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
        assert "Content-Encoding" in error["message"]
    identity = await post(client, plain, **{"content-encoding": "identity"})
    assert identity.status_code == 200 and "errors" not in identity.json()


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "HEAD"])
async def test_a_method_graphql_does_not_take_is_answered_in_json(client, method):
    response = await client.request(method, "/graphql", headers={"accept": JSON})
    assert response.status_code == 405
    assert media_type(response) == JSON
    assert response.headers["allow"] == "GET, POST, OPTIONS"
    assert response.headers.get("x-request-id")
    if method != "HEAD":
        assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


async def test_a_bare_options_request_lists_the_methods(client):
    """Not a CORS preflight (no Origin): 204 with the same Allow as every 405."""
    response = await client.request("OPTIONS", "/graphql")
    assert response.status_code == 204
    assert response.headers["allow"] == "GET, POST, OPTIONS"
    assert response.headers.get("x-request-id")


async def test_an_unacceptable_accept_header_is_told_why_in_json(client):
    response = await post(client, {"query": SERVICES}, accept="application/xml")
    assert response.status_code == 406
    assert media_type(response) == JSON
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"


async def test_a_client_that_disconnects_mid_upload_is_no_fault_of_the_service(app, caplog):
    """A phone losing its network mid-upload used to log "Exception in ASGI application" at
    ERROR with a traceback (ClientDisconnect): now one INFO line, and nothing runs."""
    import logging

    body = json.dumps({"query": SERVICES}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    cut_short = [{"type": "http.request", "body": body[:10], "more_body": True}]
    with caplog.at_level(logging.INFO):
        await asgi_call(app, "POST", headers, cut_short)
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not errors, [r.getMessage() for r in errors]
    assert any("disconnected" in r.getMessage() for r in caplog.records)
