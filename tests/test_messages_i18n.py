"""Every message in the languages of the people the service is for (#16): the catalogues are
complete and consistent (every id translated in every language, the same placeholders, the
glossary's terms, compiled catalogues up to date), no message is a bare English literal, and
every refusal a client can get comes back, over HTTP and the WebSocket, in the language asked
for: by Accept-Language (q-values, regional variants), a field's `lang` argument, or the
WebSocket's connection_init."""

from __future__ import annotations

import ast
import gettext
import io
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_keywords
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from domain.languages import LANGUAGES, SOURCE_LANGUAGE
from domain.messages import Message
from persistence.models import Appointment as AppointmentRow
from persistence.models import Delegation as DelegationRow
from tests import helpers
from tests.conftest import sign_in, sign_up, unique_email
from translations import DIRECTORY, render

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = DIRECTORY / "messages.pot"
TRANSLATED = [code for code in LANGUAGES if code != SOURCE_LANGUAGE]
# What a client of each language typically sends: regional variants and q-values.
ACCEPT_LANGUAGE = {
    "en": "en-US,en;q=0.9",
    "zh": "zh-CN,zh;q=0.9,en;q=0.5",
    "ko": "ko-KR,ko;q=0.9,en-US;q=0.6",
    "ja": "ja-JP",
    "ru": "ru-RU,ru;q=0.9",
    "fr": "fr-CA,fr;q=0.8,en;q=0.3",
    "es": "es-419,es;q=0.9",
    "ar": "ar-EG,ar;q=0.9,en;q=0.1",
}
PLACEHOLDER = re.compile(r"%\((\w+)\)([sdr])")
# Forms that say their number in words, so they may leave %(count)s out: Arabic's "one"
# (ثانية واحدة) and "two" (ثانيتين), in Babel's order zero, one, two, few, many, other.
NUMBER_IN_WORDS = {("ar", 1), ("ar", 2)}
DIRECTION_MARKS = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")


def catalogue(language: str) -> Catalog:
    path = DIRECTORY / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as source:
        return read_po(source, locale=language)


def template() -> Catalog:
    with TEMPLATE.open("rb") as source:
        return read_po(source)


def ids_of(catalog: Catalog) -> set[str | tuple[str, str]]:
    return {message.id for message in catalog if message.id}


# --------------------------------------------------------------------- the catalogues


def babel_settings() -> tuple[list[str], dict[str, Any]]:
    """The input paths and keywords `pybabel extract` reads from pyproject.toml."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["babel"]
    extract = config["extract_messages"]
    # Babel's own reading of the specs ("N_ctx:1c,2": the first argument is the context).
    return extract["input_paths"], parse_keywords(extract["keywords"])


def test_the_template_holds_exactly_the_messages_marked_in_the_code() -> None:
    paths, keywords = babel_settings()
    marked = {
        message
        for path in paths
        for _, _, message, _, _ in extract_from_dir(
            ROOT / path, method_map=[("**.py", "python")], keywords=keywords
        )
    }
    assert marked == ids_of(template()), "run `make messages`"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_in_every_language(language: str) -> None:
    translated = catalogue(language)
    assert ids_of(translated) == ids_of(template()), "run `make messages`"
    for message in translated:
        if not message.id:
            continue
        assert not message.fuzzy, (language, message.id)
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if isinstance(message.id, tuple):
            assert len(forms) == translated.num_plurals, (language, message.id)
        assert all(form.strip() for form in forms), (language, message.id)


def placeholders(text: str) -> set[tuple[str, str]]:
    return set(PLACEHOLDER.findall(text))


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_translation_has_the_placeholders_of_its_message(language: str) -> None:
    translated = catalogue(language)
    for message in translated:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            singular, plural = message.id
            assert placeholders(singular) == placeholders(plural), message.id
            source = placeholders(plural)
            forms = message.string
        else:
            source = placeholders(message.id)
            forms = (message.string,)
        for index, form in enumerate(forms):
            expected = source
            if (language, index) in NUMBER_IN_WORDS:
                expected = source - {("count", "s")}
                assert placeholders(form) <= source, (language, message.id, index)
                assert placeholders(form) >= expected, (language, message.id, index)
            else:
                assert placeholders(form) == expected, (language, message.id, index, form)
    # Babel's own checks (python-format) agree.
    assert [error for error in translated.check()] == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_compiled_catalogue_is_the_translation_as_it_stands(language: str) -> None:
    compiled = io.BytesIO()
    write_mo(compiled, catalogue(language))
    compiled.seek(0)
    expected = gettext.GNUTranslations(compiled)
    mo = DIRECTORY / language / "LC_MESSAGES" / "messages.mo"
    with mo.open("rb") as committed:
        shipped = gettext.GNUTranslations(committed)
    assert shipped._catalog == expected._catalog, "run `make messages` and commit the .mo files"  # type: ignore[attr-defined]


def test_arabic_and_every_other_language_carry_no_direction_marks() -> None:
    for language in TRANSLATED:
        for message in catalogue(language):
            forms = message.string if isinstance(message.string, tuple) else (message.string,)
            for form in forms:
                assert not DIRECTION_MARKS.search(form or ""), (language, message.id)


def glossary() -> list[dict[str, list[str]]]:
    """The terms table of docs/translations.md: per term, the accepted forms per language."""
    text = (ROOT / "docs" / "translations.md").read_text(encoding="utf-8")
    section = text.split("## Glossary", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    terms = []
    for row in rows[2:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        terms.append(
            {
                language: [form.strip() for form in cell.split(" / ")]
                for language, cell in zip(header, cells, strict=True)
            }
        )
    return terms


def test_the_glossary_names_every_language() -> None:
    terms = glossary()
    assert terms and all(set(term) == set(LANGUAGES) for term in terms)


@pytest.mark.parametrize("language", TRANSLATED)
def test_legal_and_procedural_terms_are_translated_as_the_glossary_says(language: str) -> None:
    """A message naming a glossary term (in English) names it, in every translation, with one
    of the glossary's forms for that language (DOMAIN.md's EN/ZH terms, and ours for the six
    other languages; docs/translations.md)."""
    checked = 0
    for message in catalogue(language):
        if not message.id:
            continue
        english = message.id[1] if isinstance(message.id, tuple) else message.id
        # API names in backticks (`passportNumber`) are not words of the text.
        words = re.sub(r"`[^`]*`", "", english)
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        for term in glossary():
            if not any(re.search(rf"\b{re.escape(en)}", words, re.I) for en in term["en"]):
                continue
            checked += 1
            for form in forms:
                found = any(t.casefold() in form.casefold() for t in term[language])
                assert found, (language, english, form)
    assert checked >= 5


def test_japanese_names_an_issued_document_書類_not_証件() -> None:
    """証件 is not Japanese usage for "a document" (docs/translations.md): only inside the
    glossary's 居留証件 and 停留証件 (the permits' legal names) may it stand."""
    for message in catalogue("ja"):
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        for form in forms:
            assert not re.search(r"(?<!居留)(?<!停留)証件", form or ""), (message.id, form)


# ------------------------------------------------------------ no bare English literals

# Calls whose text arguments people read: each must be given a Message (N_ / N_plural).
MESSAGE_SINKS = {
    "Refusal",
    "invalid",
    "bad_input",
    "ClientError",
    "RequestProblem",
    "Unauthenticated",
    "InvalidIdentifier",
    "graphql_error",
    "request_error",
    "Problem",
    # web/certificate_pdf.py's JSON errors of GET /certificates/{id}.pdf.
    "_problem",
    "_unauthenticated",
}
PROSE = re.compile(r"[a-z]\s+\S")  # a lowercase letter then a space: words, not a CODE


def _is_prose(node: ast.AST, constants: dict[str, ast.AST]) -> bool:
    if isinstance(node, ast.Name) and node.id in constants:
        return _is_prose(constants[node.id], constants)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(PROSE.search(node.value))
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _is_prose(node.left, constants) or _is_prose(node.right, constants)
    return isinstance(node, ast.Call) and getattr(node.func, "id", None) == "str"


def bare_messages(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants = {
        target.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            arguments = list(node.keywords)
            texts = [k.value for k in arguments if k.arg == "message"]
            if name in MESSAGE_SINKS:
                texts += list(node.args)
            found += [f"{path}:{node.lineno}" for text in texts if _is_prose(text, constants)]
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.endswith(
            ("_problem", "_refusal")
        ):
            found += [
                f"{path}:{ret.lineno}"
                for ret in ast.walk(node)
                if isinstance(ret, ast.Return) and ret.value and _is_prose(ret.value, constants)
            ]
    return found


# Every package whose code writes texts for people (the PDF's labels in signing/ too).
SCANNED = ("domain", "resolvers", "schema", "web", "signing", "persistence", "translations")


def test_no_message_for_people_is_a_bare_english_literal() -> None:
    paths = sorted(p for layer in SCANNED for p in (ROOT / layer).rglob("*.py"))
    found = [problem for path in paths for problem in bare_messages(path)]
    assert found == []


def test_the_scan_catches_a_bare_literal() -> None:
    source = (
        'def f():\n    raise invalid("Enter a name.", "name")\n'
        'def g():\n    raise bad_input(f"At most {n} days.")\n'
        'X = "No such thing here."\ndef h():\n    return Refusal(kind, X)\n'
        'def slot_refusal():\n    return "Too late now."\n'
        'def ok():\n    raise invalid(N_("Enter a name."), "name")\n'
    )
    path = ROOT / "tests" / "_scan_example.py"
    path.write_text(source)
    try:
        assert len(bare_messages(path)) == 4
    finally:
        path.unlink()


# ------------------------------------------------------------- rendering in a language


def test_plural_forms_follow_each_language() -> None:
    from resolvers.outcomes import rate_limited

    def text(count: int, language: str) -> str:
        return render(rate_limited(count).message, language)

    assert [text(n, "ru") for n in (1, 2, 5, 21)] == [
        "Слишком много попыток. Повторите через 1 секунду.",
        "Слишком много попыток. Повторите через 2 секунды.",
        "Слишком много попыток. Повторите через 5 секунд.",
        "Слишком много попыток. Повторите через 21 секунду.",
    ]
    arabic = [text(n, "ar") for n in (1, 2, 3, 11, 100)]
    assert "ثانية واحدة" in arabic[0] and "ثانيتين" in arabic[1]
    assert "3 ثوانٍ" in arabic[2] and "11 ثانية" in arabic[3] and "100 ثانية" in arabic[4]
    assert text(1, "fr").endswith("1 seconde.") and text(2, "fr").endswith("2 secondes.")
    assert text(1, "en") == "Too many attempts. Try again in 1 second."


def test_a_message_inside_a_message_is_rendered_in_the_same_language() -> None:
    from domain.identifiers import InvalidIdentifier, normalise_nationality
    from domain.messages import N_

    with pytest.raises(InvalidIdentifier) as refused:
        normalise_nationality("XX")
    outer = N_(
        "%(problem)s. Use an ISO 3166-1 alpha-3 code such as DEU.", problem=refused.value.message
    )
    assert (
        render(outer, "zh")
        == "'XX' 不是 ISO 3166-1 三位字母国家代码。请使用 ISO 3166-1 三位字母代码，例如 DEU。"
    )
    english = "'XX' is not an ISO 3166-1 alpha-3 country code. Use an ISO 3166-1 alpha-3 code"
    assert render(outer, "en") == outer == f"{english} such as DEU."


def test_an_unknown_language_or_a_plain_string_renders_as_it_is() -> None:
    from resolvers.outcomes import NOT_PERMITTED

    assert render(NOT_PERMITTED, "pt") == NOT_PERMITTED
    assert render("Plain text.", "ko") == "Plain text."


# ---------------------------------------------------- every refusal, in every language


def english_message(text: str) -> Message:
    """The catalogue's Message whose English rendering is `text`, with the parameters read
    back from it (numbers as numbers, so plural forms follow them); a message that is not in
    the catalogue fails the test: every refusal a client reads is a catalogue message."""
    best: tuple[int, Message] | None = None
    for entry in template():
        if not entry.id:
            continue
        singular, plural = entry.id if isinstance(entry.id, tuple) else (entry.id, None)
        for source in (singular, plural) if plural else (singular,):
            names = PLACEHOLDER.findall(source)
            pattern = re.escape(source)
            for name, kind in names:
                pattern = pattern.replace(re.escape(f"%({name}){kind}"), f"(?P<{name}>.+?)", 1)
            match = re.fullmatch(pattern, text, re.S)
            if match is None:
                continue
            params: dict[str, Any] = {}
            for name, kind in names:
                value: Any = match.group(name)
                if kind == "r":
                    value = value.strip("'\"")
                elif value.isdigit():
                    value = int(value)
                else:
                    nested = _nested(value)
                    value = nested if nested is not None else value
                params[name] = value
            if plural is not None:
                count = params["count"]
                message = Message(singular, params, plural=plural, count=count)
            else:
                message = Message(singular, params)
            literal = len(PLACEHOLDER.sub("", source))
            if message == text and (best is None or literal > best[0]):
                best = (literal, message)
    assert best is not None, f"not a catalogue message: {text!r}"
    return best[1]


def _nested(text: str) -> Message | None:
    try:
        return english_message(text)
    except AssertionError:
        return None


@dataclass
class Answer:
    message: str
    code: str
    # Parameters read from the answer itself that may change between two asks (a countdown).
    params: dict[str, Any] = field(default_factory=dict)


Ask = Callable[[httpx.AsyncClient, dict[str, Any], dict[str, str]], Awaitable[Answer]]


@dataclass
class Refusal:
    """One kind of refusal a client can get: how to get into the state where it is answered
    (once, shared by its languages), and how to ask for it with given headers."""

    code: str
    ask: Ask
    prepare: Callable[[httpx.AsyncClient, Any], Awaitable[dict[str, Any]]] | None = None


def typed(result: dict[str, Any], expected: str) -> Answer:
    assert result["__typename"] == expected, result
    return Answer(result["message"], result["code"], {})


async def post(
    client: httpx.AsyncClient, body: Any, headers: dict[str, str], token: str | None = None
) -> dict[str, Any]:
    sent = {"content-type": "application/json", **headers}
    if token:
        sent["authorization"] = f"Bearer {token}"
    response = await client.post("/graphql", json=body, headers=sent)
    return response.json()


def top_level(body: dict[str, Any]) -> Answer:
    (error,) = body["errors"]
    return Answer(error["message"], error["extensions"]["code"])


async def one_field(
    client: httpx.AsyncClient,
    document: str,
    variables: dict[str, Any],
    headers: dict[str, str],
    token: str | None = None,
) -> dict[str, Any]:
    body = await post(client, {"query": document, "variables": variables}, headers, token)
    assert "errors" not in body, body
    (result,) = body["data"].values()
    return result


def fields(*types: str) -> str:
    return " ".join(f"... on {t} {{ message code }}" for t in types)


def document(operation: str, call: str, *types: str, extra: str = "") -> str:
    """A one-field operation answering with the message and code of these error types."""
    return f"{operation} {{ {call} {{ __typename {fields(*types)} {extra} }} }}"


SIGN_UP = document(
    "mutation($email: String!, $name: String!)",
    'signUp(input: {email: $email, password: "a-Strong-passphrase-1", displayName: $name})',
    "ValidationError",
    "EmailTaken",
    "RateLimited",
)
SIGN_IN = document(
    "mutation($email: String!)",
    'signIn(input: {email: $email, password: "not-the-password-9"})',
    "InvalidCredentials",
    "RateLimited",
)
REFRESH = document(
    "mutation", 'refreshSession(refreshToken: "not-a-refresh-token")', "InvalidRefreshToken"
)
SIGN_OUT = document(
    "mutation($token: String!)",
    "signOut(refreshToken: $token)",
    "InvalidRefreshToken",
    extra="... on SignedOut { message }",
)
LINK = document(
    "mutation($input: LinkIdentityInput!)",
    "linkIdentity(input: $input)",
    "IdentityNotFound",
    "RateLimited",
    "ValidationError",
    extra="... on RateLimited { retryAfterSeconds }",
)
CANCEL = document(
    "mutation($id: ID!)", "cancelAppointment(id: $id)", "NotPermitted", "ChangeWindowClosed"
)
BOOK = document(
    "mutation($input: BookAppointmentInput!)",
    "bookAppointment(input: $input)",
    "SlotUnavailable",
    "AlreadyBooked",
    "NotPermitted",
    "ValidationError",
    "RateLimited",
)
RESCHEDULE = document(
    "mutation($input: RescheduleAppointmentInput!)",
    "rescheduleAppointment(input: $input)",
    "ChangeWindowClosed",
    "RescheduleLimitReached",
    "SlotUnavailable",
    "NotPermitted",
    "ValidationError",
)
ADD_DEPENDANT = document(
    "mutation($input: AddDependantInput!)",
    "addDependant(input: $input)",
    "LimitReached",
    "IdentityNotFound",
    "ValidationError",
    "RateLimited",
)
CERTIFICATE = document(
    "mutation($id: ID!)",
    "issuePassportCertificate(personId: $id)",
    "NotPermanentResident",
    "NotPermitted",
)
UPDATE_STATUS = document(
    "mutation($input: UpdateApplicationStatusInput!)",
    "updateApplicationStatus(input: $input)",
    "InvalidTransition",
    "NotPermitted",
)
VERIFY_EMAIL = document("mutation", 'verifyEmail(token: "not-a-token")', "InvalidToken")
RESET_REQUEST = """mutation($email: String!) { requestPasswordReset(email: $email) {
  __typename ... on PasswordResetRequested { message } } }"""
UNKNOWN_APPOINTMENT = helpers.gid("Appointment", 2147483000)


async def ask_not_permitted(client, state, headers):
    result = await one_field(client, CANCEL, {"id": UNKNOWN_APPOINTMENT}, headers, state["token"])
    return typed(result, "NotPermitted")


async def ask_validation(client, state, headers):
    result = await one_field(client, SIGN_UP, {"email": "not-an-e-mail", "name": "A"}, headers)
    return typed(result, "ValidationError")


async def ask_control_character(client, state, headers):
    variables = {"email": unique_email(), "name": "A\u0001B"}
    return typed(await one_field(client, SIGN_UP, variables, headers), "ValidationError")


async def prepare_rate_limited(client, app):
    member = await helpers.new_member(client)
    wrong = {
        "passportNumber": "Q0000000",
        "nationality": "DEU",
        "birthDate": "1970-01-01",
        "surname": "Nobody",
    }
    for _ in range(app.state.services.settings.identity_attempts_per_account):
        await one_field(client, LINK, {"input": wrong}, {}, member.token)
    return {"token": member.token, "wrong": wrong}


async def ask_rate_limited(client, state, headers):
    result = await one_field(client, LINK, {"input": state["wrong"]}, headers, state["token"])
    answer = typed(result, "RateLimited")
    answer.params = {"count": result["retryAfterSeconds"]}
    return answer


async def ask_invalid_credentials(client, state, headers):
    return typed(
        await one_field(client, SIGN_IN, {"email": unique_email()}, headers), "InvalidCredentials"
    )


async def ask_email_taken(client, state, headers):
    variables = {"email": "officer@demo.test", "name": "Someone"}
    return typed(await one_field(client, SIGN_UP, variables, headers), "EmailTaken")


async def ask_invalid_refresh_token(client, state, headers):
    return typed(await one_field(client, REFRESH, {}, headers), "InvalidRefreshToken")


async def ask_identity_not_found(client, state, headers):
    member = await helpers.new_member(client)
    wrong = {
        "passportNumber": "Q1111111",
        "nationality": "FRA",
        "birthDate": "1971-02-03",
        "surname": "Nobody",
    }
    return typed(
        await one_field(client, LINK, {"input": wrong}, headers, member.token), "IdentityNotFound"
    )


async def prepare_applicant(client, app):
    who = await helpers.new_applicant(client)
    return {"token": who.token, "person": who.person_id}


async def ask_slot_unavailable(client, state, headers):
    data = {
        "applicantId": state["person"],
        "slotId": helpers.gid("Slot", 2147483000),
        "service": "VISA_EXTENSION",
    }
    return typed(
        await one_field(client, BOOK, {"input": data}, headers, state["token"]), "SlotUnavailable"
    )


async def prepare_booked(client, app):
    who = await helpers.new_applicant(client)
    appointment = await helpers.book_open_slot(client, who.token, who.person_id)
    (slot,) = await helpers.open_slots(client)
    return {
        "token": who.token,
        "person": who.person_id,
        "appointment": appointment,
        "slot": slot["id"],
    }


async def ask_already_booked(client, state, headers):
    data = {"applicantId": state["person"], "slotId": state["slot"], "service": "VISA_EXTENSION"}
    return typed(
        await one_field(client, BOOK, {"input": data}, headers, state["token"]), "AlreadyBooked"
    )


async def prepare_cancelled(client, app):
    state = await prepare_booked(client, app)
    cancelled = await one_field(
        client, CANCEL, {"id": state["appointment"]["id"]}, {}, state["token"]
    )
    assert cancelled["__typename"] == "AppointmentCancelled", cancelled
    return state


async def ask_change_window_closed(client, state, headers):
    data = {"appointmentId": state["appointment"]["id"], "slotId": state["slot"]}
    return typed(
        await one_field(client, RESCHEDULE, {"input": data}, headers, state["token"]),
        "ChangeWindowClosed",
    )


async def prepare_rescheduled_often(client, app):
    state = await prepare_booked(client, app)
    limit = app.state.services.settings.reschedule_limit
    await AppointmentRow.filter(id=helpers.pk_of(state["appointment"]["id"])).update(
        reschedule_count=limit
    )
    return state


async def ask_reschedule_limit(client, state, headers):
    data = {"appointmentId": state["appointment"]["id"], "slotId": state["slot"]}
    return typed(
        await one_field(client, RESCHEDULE, {"input": data}, headers, state["token"]),
        "RescheduleLimitReached",
    )


async def prepare_helper_at_limit(client, app):
    session = await sign_up(client)
    helper_id = helpers.pk_of(session["account"]["id"])
    officer = await helpers.officer_token(client)
    for _ in range(app.state.services.settings.max_active_dependants):
        person = await helpers.register_person(client, officer=officer)
        await DelegationRow.create(
            helper_id=helper_id,
            dependant_id=helpers.pk_of(person.id),
            relationship="CHILD",
            scopes=helpers.ALL_SCOPES,
            status="ACTIVE",
        )
    another = await helpers.register_person(client, birth_date=helpers.minor_birth_date())
    return {"token": session["accessToken"], "facts": another.facts()}


async def ask_limit_reached(client, state, headers):
    data = {**state["facts"], "relationship": "CHILD", "scopes": helpers.ALL_SCOPES}
    return typed(
        await one_field(client, ADD_DEPENDANT, {"input": data}, headers, state["token"]),
        "LimitReached",
    )


async def ask_not_permanent_resident(client, state, headers):
    result = await one_field(client, CERTIFICATE, {"id": state["person"]}, headers, state["token"])
    return typed(result, "NotPermanentResident")


async def prepare_application(client, app):
    who = await helpers.new_applicant(client)
    application = await helpers.record_application(client, who.person_id)
    return {"officer": await helpers.officer_token(client), "application": application["id"]}


async def ask_invalid_transition(client, state, headers):
    data = {"applicationId": state["application"], "status": "COLLECTED"}
    result = await one_field(client, UPDATE_STATUS, {"input": data}, headers, state["officer"])
    return typed(result, "InvalidTransition")


async def prepare_member(client, app):
    member = await helpers.new_member(client)
    return {"token": member.token}


async def ask_unauthenticated(client, state, headers):
    return top_level(
        await post(client, {"query": CANCEL, "variables": {"id": UNKNOWN_APPOINTMENT}}, headers)
    )


STATISTICS = '{ statistics(from: "2026-01-01", to: "2026-01-31") { roundingBase } }'


async def ask_forbidden(client, state, headers):
    return top_level(await post(client, {"query": STATISTICS}, headers, state["token"]))


SLOTS_BACKWARDS = """query($office: ID!) {
  availableSlots(officeId: $office, service: VISA_EXTENSION, from: "2030-01-10", to: "2030-01-01") {
    id } }"""


async def ask_bad_user_input(client, state, headers):
    office = await helpers.office_id(client, "BJ-HD")
    return top_level(
        await post(client, {"query": SLOTS_BACKWARDS, "variables": {"office": office}}, headers)
    )


async def ask_invalid_token(client, state, headers):
    response = await client.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={**headers, "authorization": "Bearer not.a.token"},
    )
    assert response.status_code == 401
    return top_level(response.json())


async def ask_malformed_body(client, state, headers):
    response = await client.post(
        "/graphql", content=b"{not json", headers={**headers, "content-type": "application/json"}
    )
    assert response.status_code == 400
    return top_level(response.json())


async def ask_too_large(client, state, headers):
    size = client._transport.app.state.services.settings.max_body_bytes  # type: ignore[attr-defined]
    response = await client.post(
        "/graphql",
        content=b" " * (size + 1),
        headers={**headers, "content-type": "application/json"},
    )
    assert response.status_code == 413
    return top_level(response.json())


async def ask_wrong_media_type(client, state, headers):
    response = await client.post(
        "/graphql", content=b"{}", headers={**headers, "content-type": "text/plain"}
    )
    assert response.status_code == 415
    return top_level(response.json())


# Three directories with every office's services' materials: well over MAX_QUERY_COST.
DIRECTORY_MATERIALS = (
    "offices(first: 100) { edges { node { services { guidance { materials { name } } } } } }"
)
EXPENSIVE = "{ " + " ".join(f"o{i}: {DIRECTORY_MATERIALS}" for i in range(3)) + " }"


async def ask_too_complex(client, state, headers):
    return top_level(await post(client, {"query": EXPENSIVE}, headers))


async def ask_unsupported_persisted_query(client, state, headers):
    body = {
        "query": "{ __typename }",
        "extensions": {"persistedQuery": {"version": 2, "sha256Hash": "x"}},
    }
    return top_level(await post(client, body, headers))


async def ask_mutation_over_get(client, state, headers):
    response = await client.get(
        "/graphql",
        params={"query": 'mutation { signOut(refreshToken: "x") { __typename } }'},
        headers={**headers, "accept": "application/json"},
    )
    assert response.status_code == 405
    return top_level(response.json())


async def ask_subscription_over_http(client, state, headers):
    return top_level(
        await post(
            client, {"query": "subscription { notifications { id } }"}, headers, state["token"]
        )
    )


async def prepare_session(client, app):
    return {"refresh": (await sign_up(client))["refreshToken"]}


async def ask_signed_out(client, state, headers):
    # Not a refusal, but a text for people all the same. Signing out twice says the same.
    result = await one_field(client, SIGN_OUT, {"token": state["refresh"]}, headers)
    if result["__typename"] == "InvalidRefreshToken":
        session = await sign_up(client)
        result = await one_field(client, SIGN_OUT, {"token": session["refreshToken"]}, headers)
    assert result["__typename"] == "SignedOut", result
    return Answer(result["message"], "")


async def ask_invalid_token_of_a_link(client, state, headers):
    return typed(await one_field(client, VERIFY_EMAIL, {}, headers), "InvalidToken")


async def ask_reset_requested(client, state, headers):
    # Not a refusal either: the same answer for every address, in the language asked for.
    result = await one_field(client, RESET_REQUEST, {"email": unique_email()}, headers)
    assert result["__typename"] == "PasswordResetRequested", result
    return Answer(result["message"], "")


JOIN_WAITLIST = document(
    "mutation($input: JoinWaitlistInput!)",
    "joinWaitlist(input: $input)",
    "AlreadyWaiting",
    "PlacesAvailable",
    "AlreadyBooked",
    "ValidationError",
    "RateLimited",
)
ACCEPT_OFFER = document(
    "mutation($id: ID!)", "acceptWaitlistOffer(id: $id)", "OfferExpired", "NotPermitted"
)


async def line_of(client, app):
    """A full day at an office no other test books (tests/waitlist_lines.py)."""
    from tests.waitlist_lines import fresh_line

    return await fresh_line(app, client, app.state.services.clock)


async def prepare_waiting(client, app):
    from tests.waitlist_lines import join_ok

    line = await line_of(client, app)
    who = await helpers.new_applicant(client)
    entry = await join_ok(client, who.token, line.input(who.person_id))
    return {"token": who.token, "input": line.input(who.person_id), "entry": entry["id"]}


async def ask_already_waiting(client, state, headers):
    result = await one_field(
        client, JOIN_WAITLIST, {"input": state["input"]}, headers, state["token"]
    )
    return typed(result, "AlreadyWaiting")


async def prepare_places_available(client, app):
    from tests.waitlist_lines import add_place

    line = await line_of(client, app)
    await add_place(line.slots[0].id)
    who = await helpers.new_applicant(client)
    return {"token": who.token, "input": line.input(who.person_id)}


async def ask_places_available(client, state, headers):
    result = await one_field(
        client, JOIN_WAITLIST, {"input": state["input"]}, headers, state["token"]
    )
    return typed(result, "PlacesAvailable")


async def ask_offer_expired(client, state, headers):
    result = await one_field(client, ACCEPT_OFFER, {"id": state["entry"]}, headers, state["token"])
    return typed(result, "OfferExpired")


async def prepare_left(client, app):
    from tests.waitlist_lines import leave

    state = await prepare_waiting(client, app)
    assert (await leave(client, state["token"], state["entry"]))["__typename"] == "WaitlistLeft"
    return state


async def prepare_offered(client, app):
    """The first in line of a full day, offered the place a cancellation freed."""
    from tests.waitlist_lines import add_place, entry, join_ok

    line = await line_of(client, app)
    holder = await helpers.new_applicant(client)
    await add_place(line.slots[0].id)
    appointment = await helpers.book_ok(client, holder, line.slot_id(0))
    first = await helpers.new_applicant(client)
    joined = await join_ok(client, first.token, line.input(first.person_id))
    cancelled = await helpers.mutate(client, helpers.CANCEL, holder.token, id=appointment["id"])
    assert cancelled["__typename"] == "AppointmentCancelled", cancelled
    offered = await entry(client, first.token, joined["id"])
    assert offered is not None and offered["status"] == "OFFERED", offered
    return {"token": first.token, "entry": joined["id"]}


async def prepare_offer_ran_out(client, app):
    from persistence.models import WaitlistEntry

    state = await prepare_offered(client, app)
    # As if the hold time had passed (the test clock is the app's; rows say when it ends).
    ended = app.state.services.clock.now() - timedelta(minutes=1)
    await WaitlistEntry.filter(id=helpers.pk_of(state["entry"])).update(offer_expires_at=ended)
    return state


async def prepare_offer_accepted(client, app):
    from tests.waitlist_lines import accept

    state = await prepare_offered(client, app)
    accepted = await accept(client, state["token"], state["entry"])
    assert accepted["__typename"] == "BookingConfirmed", accepted
    # Accepted again while that booking holds, the answer is the booking; once it is
    # cancelled, that the entry's place was booked.
    appointment = accepted["appointment"]["id"]
    cancelled = await helpers.mutate(client, helpers.CANCEL, state["token"], id=appointment)
    assert cancelled["__typename"] == "AppointmentCancelled", cancelled
    return state


MATERIALS_FOR = """query($for: [String!]) {
  guidance(service: RESIDENCE_PERMIT_ISSUANCE) { materials(for: $for) { name } } }"""


async def ask_unknown_categories(client, state, headers):
    body = await post(client, {"query": MATERIALS_FOR, "variables": {"for": ["Z", "SPY"]}}, headers)
    return top_level(body)


async def ask_too_many_categories(client, state, headers):
    body = await post(client, {"query": MATERIALS_FOR, "variables": {"for": ["Z"] * 40}}, headers)
    return top_level(body)


async def certificate_pdf_error(
    client: httpx.AsyncClient, headers: dict[str, str], status: int
) -> Answer:
    unknown = helpers.gid("Certificate", 2147483000)
    response = await client.get(f"/certificates/{unknown}.pdf", headers=headers)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    return Answer(error["message"], error["code"])


async def ask_pdf_not_found(client, state, headers):
    headers = {**headers, "authorization": f"Bearer {state['token']}"}
    return await certificate_pdf_error(client, headers, 404)


async def ask_pdf_without_token(client, state, headers):
    return await certificate_pdf_error(client, headers, 401)


async def ask_pdf_invalid_token(client, state, headers):
    return await certificate_pdf_error(
        client, {**headers, "authorization": "Bearer not.a.token"}, 401
    )


REFUSALS: dict[str, Refusal] = {
    "NotPermitted": Refusal("NOT_PERMITTED", ask_not_permitted, prepare_member),
    "ValidationError": Refusal("VALIDATION", ask_validation),
    "ValidationError (control character)": Refusal("VALIDATION", ask_control_character),
    "RateLimited": Refusal("RATE_LIMITED", ask_rate_limited, prepare_rate_limited),
    "InvalidCredentials": Refusal("INVALID_CREDENTIALS", ask_invalid_credentials),
    "EmailTaken": Refusal("EMAIL_TAKEN", ask_email_taken),
    "InvalidRefreshToken": Refusal("INVALID_REFRESH_TOKEN", ask_invalid_refresh_token),
    "IdentityNotFound": Refusal("IDENTITY_NOT_FOUND", ask_identity_not_found),
    "SlotUnavailable": Refusal("SLOT_UNAVAILABLE", ask_slot_unavailable, prepare_applicant),
    "AlreadyBooked": Refusal("ALREADY_BOOKED", ask_already_booked, prepare_booked),
    "ChangeWindowClosed": Refusal(
        "CHANGE_WINDOW_CLOSED", ask_change_window_closed, prepare_cancelled
    ),
    "RescheduleLimitReached": Refusal(
        "RESCHEDULE_LIMIT_REACHED", ask_reschedule_limit, prepare_rescheduled_often
    ),
    "LimitReached": Refusal("LIMIT_REACHED", ask_limit_reached, prepare_helper_at_limit),
    "NotPermanentResident": Refusal(
        "NOT_PERMANENT_RESIDENT", ask_not_permanent_resident, prepare_applicant
    ),
    "InvalidTransition": Refusal("INVALID_TRANSITION", ask_invalid_transition, prepare_application),
    "UNAUTHENTICATED": Refusal("UNAUTHENTICATED", ask_unauthenticated),
    "FORBIDDEN": Refusal("FORBIDDEN", ask_forbidden, prepare_member),
    "BAD_USER_INPUT": Refusal("BAD_USER_INPUT", ask_bad_user_input),
    "UNAUTHENTICATED (token)": Refusal("UNAUTHENTICATED", ask_invalid_token),
    "BAD_REQUEST (body)": Refusal("BAD_REQUEST", ask_malformed_body),
    "PAYLOAD_TOO_LARGE": Refusal("PAYLOAD_TOO_LARGE", ask_too_large),
    "UNSUPPORTED_MEDIA_TYPE": Refusal("UNSUPPORTED_MEDIA_TYPE", ask_wrong_media_type),
    "QUERY_TOO_COMPLEX": Refusal("QUERY_TOO_COMPLEX", ask_too_complex),
    "BAD_REQUEST (persisted query)": Refusal("BAD_REQUEST", ask_unsupported_persisted_query),
    "METHOD_NOT_ALLOWED": Refusal("METHOD_NOT_ALLOWED", ask_mutation_over_get),
    "BAD_REQUEST (subscription)": Refusal(
        "BAD_REQUEST", ask_subscription_over_http, prepare_member
    ),
    "InvalidToken": Refusal("INVALID_TOKEN", ask_invalid_token_of_a_link),
    "BAD_USER_INPUT (materials for unknown categories)": Refusal(
        "BAD_USER_INPUT", ask_unknown_categories
    ),
    "BAD_USER_INPUT (materials for too many categories)": Refusal(
        "BAD_USER_INPUT", ask_too_many_categories
    ),
    "NOT_FOUND (certificate PDF)": Refusal("NOT_FOUND", ask_pdf_not_found, prepare_member),
    "UNAUTHENTICATED (certificate PDF, no token)": Refusal(
        "UNAUTHENTICATED", ask_pdf_without_token
    ),
    "UNAUTHENTICATED (certificate PDF, token)": Refusal("UNAUTHENTICATED", ask_pdf_invalid_token),
    "AlreadyWaiting": Refusal("ALREADY_WAITING", ask_already_waiting, prepare_waiting),
    "PlacesAvailable": Refusal("PLACES_AVAILABLE", ask_places_available, prepare_places_available),
    "OfferExpired (still waiting)": Refusal("OFFER_EXPIRED", ask_offer_expired, prepare_waiting),
    "OfferExpired (ran out)": Refusal("OFFER_EXPIRED", ask_offer_expired, prepare_offer_ran_out),
    "OfferExpired (left)": Refusal("OFFER_EXPIRED", ask_offer_expired, prepare_left),
    "OfferExpired (booked)": Refusal("OFFER_EXPIRED", ask_offer_expired, prepare_offer_accepted),
    "SignedOut": Refusal("", ask_signed_out, prepare_session),
    "PasswordResetRequested": Refusal("", ask_reset_requested),
}

_prepared: dict[str, dict[str, Any]] = {}


async def prepared(name: str, client: httpx.AsyncClient, app: Any) -> dict[str, Any]:
    """The state a refusal is asked for in, made once for all its languages, with its answer
    in English."""
    if name not in _prepared:
        refusal = REFUSALS[name]
        state = await refusal.prepare(client, app) if refusal.prepare else {}
        state["english"] = await refusal.ask(
            client, state, {"accept-language": ACCEPT_LANGUAGE["en"]}
        )
        _prepared[name] = state
    return _prepared[name]


def test_every_kind_of_typed_refusal_is_asked_for() -> None:
    from schema.results import ERROR_TYPES

    asked = {refusal.code for refusal in REFUSALS.values()}
    assert {kind.name for kind in ERROR_TYPES} <= asked


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", list(REFUSALS))
async def test_every_refusal_comes_back_in_the_language_asked_for(
    app: Any, client: httpx.AsyncClient, name: str, language: str
) -> None:
    refusal = REFUSALS[name]
    state = await prepared(name, client, app)
    english: Answer = state["english"]
    source = english_message(english.message)
    answer = await refusal.ask(client, state, {"accept-language": ACCEPT_LANGUAGE[language]})
    assert answer.code == refusal.code
    if answer.params:
        source = Message(
            source.id,
            {**source.params, **answer.params},
            plural=source.plural,
            count=answer.params.get("count", source.count),
        )
    assert answer.message == render(source, language)
    if language != SOURCE_LANGUAGE:
        assert answer.message != str(source)


# ------------------------------------------------- explicit lang, q-values, the cache

CLOSURES_BACKWARDS = """query($lang: Language) { offices(first: 1) { edges { node {
  closures(from: "2030-01-10", to: "2030-01-01", lang: $lang) { date } } } } }"""
TO_BEFORE_FROM = "`to` must not be before `from`."


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_fields_lang_argument_wins_for_errors_under_it(
    client: httpx.AsyncClient, language: str
) -> None:
    body = await post(
        client,
        {"query": CLOSURES_BACKWARDS, "variables": {"lang": language.upper()}},
        {"accept-language": "en"},
    )
    answer = top_level(body)
    assert answer.code == "BAD_USER_INPUT"
    assert answer.message == render(english_message(TO_BEFORE_FROM), language)
    literal = CLOSURES_BACKWARDS.replace("query($lang: Language) ", "").replace(
        "$lang", language.upper()
    )
    assert (
        top_level(await post(client, {"query": literal}, {"accept-language": "ar"})).message
        == answer.message
    )


async def test_without_a_lang_argument_errors_follow_accept_language(
    client: httpx.AsyncClient,
) -> None:
    body = await post(client, {"query": CLOSURES_BACKWARDS}, {"accept-language": "ja-JP"})
    assert top_level(body).message == render(english_message(TO_BEFORE_FROM), "ja")


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("fr;q=0.4, ko;q=0.9", "ko"),
        ("zh-Hans", "zh"),
        ("zh-TW", "zh"),
        ("pt-BR", "en"),
        ("pt-BR, es;q=0.5", "es"),
        ("ru;q=0, ja", "ja"),
        ("*", "en"),
    ],
)
async def test_accept_language_is_negotiated_with_q_values_and_regions(
    client: httpx.AsyncClient, header: str, language: str
) -> None:
    answer = top_level(
        await post(
            client,
            {"query": CANCEL, "variables": {"id": UNKNOWN_APPOINTMENT}},
            {"accept-language": header},
        )
    )
    assert answer.code == "UNAUTHENTICATED"
    assert answer.message == render(english_message("Sign in to use this field."), language)


async def test_public_answers_are_cached_by_the_negotiated_language(
    client: httpx.AsyncClient,
) -> None:
    """Two spellings of Korean share one cached answer; French gets its own."""
    query = f"{{ n{secrets.token_hex(4)}: offices(first: 1) {{ edges {{ node {{ code }} }} }} }}"

    async def statements(header: str) -> str | None:
        response = await client.post(
            "/graphql", json={"query": query}, headers={"accept-language": header}
        )
        assert response.status_code == 200
        return response.headers.get("x-sql-statements")

    assert await statements("ko-KR") != "0"
    assert await statements("ko;q=0.9, en;q=0.2") == "0"
    assert await statements("fr") != "0"
    assert await statements("fr-FR, fr;q=0.9") == "0"


async def test_anonymous_gets_share_the_fast_path_by_the_negotiated_language(
    client: httpx.AsyncClient,
) -> None:
    query = f"{{ g{secrets.token_hex(4)}: offices(first: 1) {{ edges {{ node {{ code }} }} }} }}"

    async def get(header: str) -> httpx.Response:
        response = await client.get(
            "/graphql", params={"query": query}, headers={"accept-language": header}
        )
        assert response.status_code == 200
        return response

    assert "x-sql-statements" in (await get("es-ES")).headers  # filled the cache
    # Served by the front before routing (no statement counter): the same negotiated language.
    assert "x-sql-statements" not in (await get("es-419, en;q=0.1")).headers
    assert "x-sql-statements" in (await get("ar")).headers


async def test_the_persisted_query_protocol_token_is_never_translated(
    client: httpx.AsyncClient,
) -> None:
    body = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}}
    for language in LANGUAGES:
        answer = top_level(await post(client, body, {"accept-language": ACCEPT_LANGUAGE[language]}))
        assert (answer.message, answer.code) == (
            "PersistedQueryNotFound",
            "PERSISTED_QUERY_NOT_FOUND",
        )


# ----------------------------------------------------------------------- the WebSocket

FOLLOW = "subscription($id: ID!) { applicationUpdates(applicantId: $id) { status } }"


async def first_error(
    ws: Any, payload: dict[str, Any], variables: dict[str, Any]
) -> dict[str, Any]:
    await ws.send_json({"type": "connection_init", "payload": payload})
    assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
    await ws.send_json(
        {"id": "1", "type": "subscribe", "payload": {"query": FOLLOW, "variables": variables}}
    )
    message = await ws.receive_json(timeout=10)
    assert message["type"] == "error", message
    (error,) = message["payload"]
    return error


@pytest.mark.parametrize("key", ["language", "lang", "Language"])
async def test_the_websocket_speaks_the_language_of_connection_init(
    app: Any, client: httpx.AsyncClient, key: str
) -> None:
    token = (await sign_up(client))["accessToken"]
    unknown = {"id": helpers.gid("Person", 2147483000)}
    async with helpers.graphql_ws(
        app, address="10.251.0.1", headers={"accept-language": "fr"}
    ) as ws:
        error = await first_error(ws, {"authorization": f"Bearer {token}", key: "ko-KR"}, unknown)
    assert error["extensions"]["code"] == "NOT_FOUND"
    expected = english_message("No such applicant, or you may not follow their applications.")
    assert error["message"] == render(expected, "ko")


async def test_the_websocket_takes_an_accept_language_among_its_headers(app: Any) -> None:
    async with helpers.graphql_ws(app, address="10.251.0.2") as ws:
        error = await first_error(
            ws, {"headers": {"Accept-Language": "ru-RU, en;q=0.5"}}, {"id": "x"}
        )
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert error["message"] == render(english_message("Sign in to use this field."), "ru")


async def test_without_a_language_param_the_websocket_follows_the_upgrade_request(app: Any) -> None:
    async with helpers.graphql_ws(
        app, address="10.251.0.3", headers={"accept-language": "es-MX"}
    ) as ws:
        error = await first_error(ws, {}, {"id": "x"})
    assert error["message"] == render(english_message("Sign in to use this field."), "es")


async def test_a_language_param_not_spoken_here_gets_english_whatever_the_header(app: Any) -> None:
    async with helpers.graphql_ws(
        app, address="10.251.0.4", headers={"accept-language": "ja"}
    ) as ws:
        error = await first_error(ws, {"language": "pt-BR"}, {"id": "x"})
    assert error["message"] == "Sign in to use this field."


async def test_the_websocket_gate_refuses_in_the_connections_language(app: Any) -> None:
    async with helpers.graphql_ws(app, address="10.251.0.5") as ws:
        await ws.send_json({"type": "connection_init", "payload": {"lang": "ar"}})
        assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
        await ws.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": "query A { __typename } query B { __typename }"},
            }
        )
        message = await ws.receive_json(timeout=10)
    (error,) = message["payload"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    expected = english_message(
        "The document has several operations: name the one to run in operationName."
    )
    assert error["message"] == render(expected, "ar") != str(expected)


def test_the_typed_refusal_codes_are_the_refusal_kinds() -> None:
    from schema.results import ERROR_TYPES, KINDS

    assert {cls: kind for kind, cls in ERROR_TYPES.items()} == KINDS


async def test_sign_in_still_answers_a_wrong_password_like_an_unknown_address(
    client: httpx.AsyncClient,
) -> None:
    """The shared message of a failed sign-in says nothing more in any language."""
    email = unique_email()
    await sign_up(client, email)
    for language in ("zh", "ar"):
        headers = {"accept-language": language}
        unknown = await one_field(client, SIGN_IN, {"email": unique_email()}, headers)
        wrong = await one_field(client, SIGN_IN, {"email": email}, headers)
        assert unknown == wrong
    assert await sign_in(client, email, helpers.PASSWORD)


# ------------------------------------------- notifications and mail in the account's language

SET_LANGUAGE = """mutation($language: Language) { setPreferences(language: $language) {
  __typename } }"""
INBOX_TEXTS = """{ viewer { account { id } notifications(first: 20) { edges { node {
  id kind title body } } } } }"""
REQUEST_VERIFICATION = "mutation { requestEmailVerification { __typename } }"
TOKEN_LINK = re.compile(r"https?://\S+#token=\S+")


@pytest.mark.parametrize("language", LANGUAGES)
async def test_notifications_and_mail_come_in_the_accounts_language(
    app: Any, client: httpx.AsyncClient, language: str
) -> None:
    """The inbox and the mail of an account that chose `language` (whatever the request's
    Accept-Language): a booking's notification, its mail and a verification mail are the
    catalogue's texts in that language (domain/notification_texts.py), not English."""
    from domain import notification_texts as texts
    from persistence.models import Delivery
    from persistence.models import Notification as NotificationRow
    from resolvers.notifications import link

    who = await helpers.new_applicant(client)
    saved = await one_field(client, SET_LANGUAGE, {"language": language.upper()}, {}, who.token)
    assert saved["__typename"] == "PreferencesSaved", saved
    appointment = await helpers.book_open_slot(client, who.token, who.person_id)

    body = await post(client, {"query": INBOX_TEXTS}, {"accept-language": "en"}, who.token)
    viewer = body["data"]["viewer"]
    nodes = [edge["node"] for edge in viewer["notifications"]["edges"]]
    (booked,) = [node for node in nodes if node["kind"] == "APPOINTMENT_BOOKED"]
    row = await NotificationRow.get(id=helpers.pk_of(booked["id"]))
    title, text = texts.inbox("APPOINTMENT_BOOKED", language.upper(), row.facts)
    assert (booked["title"], booked["body"]) == (render(title, language), render(text, language))
    assert appointment["reference"] in booked["body"]
    english = texts.inbox("APPOINTMENT_BOOKED", "EN", row.facts)
    if language != SOURCE_LANGUAGE:
        assert booked["title"] != str(english[0]) and booked["body"] != str(english[1])

    account_id = helpers.pk_of(viewer["account"]["id"])
    (mail,) = await Delivery.filter(account_id=account_id, kind="APPOINTMENT_BOOKED")
    sign_in = link(app.state.services.settings, "sign-in")
    subject, text = texts.notification_mail("APPOINTMENT_BOOKED", appointment["reference"], sign_in)
    assert (mail.subject, mail.body) == (render(subject, language), render(text, language))

    sent = await one_field(client, REQUEST_VERIFICATION, {}, {"accept-language": "en"}, who.token)
    assert sent["__typename"] == "EmailVerificationSent", sent
    mails = Delivery.filter(account_id=account_id, kind="EMAIL_VERIFICATION")
    verification = await mails.order_by("-id").first()
    assert verification is not None
    found = TOKEN_LINK.search(verification.body)
    assert found is not None, verification.body
    minutes = app.state.services.settings.account_token_minutes
    subject, text = texts.security_mail("EMAIL_VERIFICATION", found.group(0), minutes)
    assert (verification.subject, verification.body) == (
        render(subject, language),
        render(text, language),
    )
    if language != SOURCE_LANGUAGE:
        assert verification.subject != str(subject)


# Modules that are tables of texts for people: every sentence in them is marked (N_, N_plural,
# N_ctx), whatever call it is passed to.
TEXT_MODULES = ("domain/notification_texts.py", "signing/pdf.py")
MARKERS = {"N_", "N_plural", "N_ctx"}


def unmarked_texts(path: Path) -> list[str]:
    """Prose string literals of `path` outside a marker call, a docstring or an f-string."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in MARKERS:
            inside |= {id(child) for child in ast.walk(node)}
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            inside.add(id(node.value))  # a docstring
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) in (
            "set_creator",  # PDF metadata, not read by people on the page
        ):
            inside |= {id(child) for child in ast.walk(node)}
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and getattr(node.func.value, "id", None) == "log"
        ):
            inside |= {id(child) for child in ast.walk(node)}  # the operator's log, in English
    return [
        f"{path}:{node.lineno}: {node.value[:40]!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in inside
        and PROSE.search(node.value)
        and re.search(r"[A-Za-z]{3,} [A-Za-z]{3,}", node.value)
    ]


def test_tables_of_texts_mark_every_sentence() -> None:
    assert [problem for module in TEXT_MODULES for problem in unmarked_texts(ROOT / module)] == []
    example = ROOT / "tests" / "_unmarked_example.py"
    example.write_text(
        'T = {"A": (N_("Marked text."), "Not marked here.")}\n'
        'log.warning("An operator reads this line.")\n'
        'print("Not marked here either.")\n'
    )
    try:
        assert len(unmarked_texts(example)) == 2
    finally:
        example.unlink()
