"""Types every domain shares: Node, paging, languages, money, and the error members of results."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
import sys
from collections.abc import Callable, Sequence
from datetime import date
from enum import Enum
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry.types.base import StrawberryOptional
from strawberry.types.enum import StrawberryEnumDefinition

from domain.booking import SERVICE_GROUPS
from resolvers.outcomes import RefusalKind
from resolvers.paging import canonical_base64, decode_canonical_base64, offset_cursor
from schema.results import RefusalMessage, error_type, plain_error_types

C = TypeVar("C")
N = TypeVar("N", bound="Node")
R = TypeVar("R")

# ---------------------------------------------------------------- global IDs


# The only spellings issued: an ASCII type name, and a primary key in ASCII digits without
# sign, spaces or leading zeros (str.isdigit and int() also take "²" or "١", which would
# fail or name an object a second way).
_TYPE_NAME = re.compile(r"[A-Za-z]{1,60}")
_PRIMARY_KEY = re.compile(r"0|[1-9][0-9]{0,9}")
_LARGEST_PK = 2**31 - 1  # primary keys are 32-bit integers: anything larger cannot exist


def to_global_id(type_name: str, pk: int | str) -> strawberry.ID:
    return strawberry.ID(canonical_base64(f"{type_name}:{pk}"))


def from_global_id(global_id: str, expected: str | None = None) -> tuple[str, int] | None:
    """(type name, primary key) of a global ID, or None for anything malformed, mistyped or
    not spelled the one way IDs are issued: such an ID is an unknown ID."""
    text = decode_canonical_base64(global_id)
    if text is None:
        return None
    type_name, sep, pk = text.partition(":")
    if not sep or not _TYPE_NAME.fullmatch(type_name) or not _PRIMARY_KEY.fullmatch(pk):
        return None
    if int(pk) > _LARGEST_PK:
        return None
    if expected is not None and type_name != expected:
        return None
    return type_name, int(pk)


def pk_of(global_id: str | None, type_name: str) -> int | None:
    """The primary key of a global ID of `type_name`; None when absent, malformed or an ID of
    another type (the resolvers answer None as an unknown object)."""
    if global_id is None:
        return None
    decoded = from_global_id(global_id, type_name)
    return decoded[1] if decoded else None


# The key no row has: what an optional ID that was given, but is not one as issued, stands for.
UNKNOWN_PK = -1


def given_pk_of(global_id: str | None, type_name: str) -> int | None:
    """For an optional ID whose absence means something (a default applies): None when it is
    absent, UNKNOWN_PK when it is given but malformed, empty or an ID of another type, so that
    the resolver answers it as an unknown object instead of applying the default."""
    if global_id is None:
        return None
    pk = pk_of(global_id, type_name)
    return UNKNOWN_PK if pk is None else pk


@strawberry.interface(description="An object with an opaque global ID, fetchable with `node`.")
class Node:
    id: strawberry.ID = strawberry.field(description="Opaque global identifier of the object.")

    @classmethod
    def from_row(cls: type[N], row: Any, **values: Any) -> N:
        """The object of a row: its global ID (the GraphQL type name and the row's key), the
        row itself in a `row` field when the type keeps one, and every other field not given
        in `values` from the row's attribute of the same name (an enum field's as its member,
        null staying null)."""
        enums = _enum_fields(cls)
        for field in dataclasses.fields(cls):  # type: ignore[arg-type]
            if field.name in values or not field.init:
                continue
            if field.name == "id":
                values["id"] = to_global_id(cls.__strawberry_definition__.name, row.id)  # type: ignore[attr-defined]
            elif field.name == "row":
                values["row"] = row
            elif hasattr(row, field.name):
                value = getattr(row, field.name)
                if inspect.isawaitable(value):  # a relation not loaded: never a field's value
                    raise TypeError(f"{cls.__name__}.{field.name}: pass it to from_row")
                enum = enums.get(field.name)
                values[field.name] = (
                    enum(value) if enum is not None and value is not None else value
                )
        return cls(**values)


@functools.cache
def _enum_fields(cls: type) -> dict[str, type[Enum]]:
    """The enum (or nullable enum) fields of a GraphQL type, by Python name, with their enum."""
    found = {}
    for field in cls.__strawberry_definition__.fields:  # type: ignore[attr-defined]
        kind = field.type
        if isinstance(kind, StrawberryOptional):
            kind = kind.of_type
        if isinstance(kind, StrawberryEnumDefinition):
            found[field.python_name] = kind.wrapped_cls
    return found


# ---------------------------------------------------------------- paging


@strawberry.type(description="Where a page of a connection stands (Relay's PageInfo).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="True when more items follow this page.")
    has_previous_page: bool = strawberry.field(
        description="True when items come before this page, i.e. `after` skipped some."
    )
    start_cursor: str | None = strawberry.field(
        description="Cursor of the first item of this page; null when the page is empty."
    )
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last item of this page; pass it as `after` for the next page."
    )

    @classmethod
    def of(cls, cursors: list[str], *, offset: int, has_next: bool) -> PageInfo:
        """The page info of a page of `cursors` starting `offset` items into the list."""
        return cls(
            has_next_page=has_next,
            has_previous_page=offset > 0,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        )


def page_of(
    connection: Callable[..., C],
    edge: Callable[..., Any],
    node: Callable[[R], Any],
    rows: Sequence[R],
    offset: int | None,
    size: int,
    cursor_of: Callable[[R], str] | None = None,
    **fields: Any,
) -> C:
    """The `connection` of the page of `size` rows starting `offset` items into the list, each
    row an `edge` around its `node`; `rows` may hold one more row, which says more follow.
    With `cursor_of`, each edge's cursor names its row (a key cursor) instead of its place,
    and `offset` None says the page starts after a key. `fields` are the connection's own
    fields besides edges and page info (a count)."""
    start = 0 if offset is None else offset
    edges = [
        edge(
            cursor=cursor_of(row) if cursor_of else offset_cursor(start + i),
            node=node(row),
        )
        for i, row in enumerate(rows[:size])
    ]
    return connection(
        edges=edges,
        page_info=PageInfo.of(
            [e.cursor for e in edges],
            offset=1 if offset is None else offset,
            has_next=len(rows) > size,
        ),
        **fields,
    )


def edge_type(node: type, item: str) -> Any:
    """The Relay edge type of `node`, named after it (Appointment: AppointmentEdge) and
    described with the word for one `item` ("appointment")."""
    article = "An" if item[0] in "aeiou" else "A"
    return strawberry.type(
        type(
            f"{node.__name__}Edge",
            (),
            {
                "__module__": node.__module__,
                "__annotations__": {"cursor": str, "node": node},
                "cursor": strawberry.field(description="Cursor of this edge, for `after`."),
                "node": strawberry.field(description=f"The {item}."),
            },
        ),
        description=f"{article} {item} in a list.",
    )


def connection_types(node: type, item: str, items: str) -> tuple[Any, Any]:
    """The Relay edge and connection types of `node`, named after it (Appointment:
    AppointmentEdge, AppointmentConnection) and described with the words for one `item` and
    for many `items` ("appointment", "appointments")."""
    name = node.__name__
    edge = edge_type(node, item)
    connection = strawberry.type(
        type(
            f"{name}Connection",
            (),
            {
                "__module__": node.__module__,
                "__annotations__": {"edges": list[edge], "page_info": PageInfo},
                "edges": strawberry.field(description=f"The {items} of this page."),
                "page_info": strawberry.field(description="Where this page stands."),
            },
        ),
        description=f"A page of {items}.",
    )
    return edge, connection


FirstArg = Annotated[
    int | None,
    strawberry.argument(description="How many items to return (default 20, at most 100)."),
]
AfterArg = Annotated[
    str | None,
    strawberry.argument(description="Return the items after this cursor (from `endCursor`)."),
]
# A period of days asked for: `from` and `to`, both inclusive.
FromDayArg = Annotated[date, strawberry.argument(name="from", description="First day, inclusive.")]
ToDayArg = Annotated[date, strawberry.argument(description="Last day, inclusive.")]

# ---------------------------------------------------------------- enums


def described_enum(name: str, description: str, values: dict[str, str]) -> Any:
    """A GraphQL enum `name` whose members are the keys of `values` (each its own value),
    described by the texts they map to."""
    members = {key: strawberry.enum_value(key, description=text) for key, text in values.items()}
    module = sys._getframe(1).f_globals["__name__"]  # declared where it is called
    return strawberry.enum(Enum(name, members, module=module), description=description)  # type: ignore[misc]


Language = described_enum(
    "Language",
    "Languages that texts of the service exist in.",
    {
        "EN": "English.",
        "ZH": "Simplified Chinese.",
        "KO": "Korean.",
        "JA": "Japanese.",
        "RU": "Russian.",
        "FR": "French.",
        "ES": "Spanish.",
        "AR": "Arabic, written right to left: texts are plain, with no direction marks.",
    },
)


LangArg = Annotated[
    Language | None,
    strawberry.argument(
        description="Language of the text, and of errors under this field; by default the one "
        "negotiated from Accept-Language (q-values and regional variants such as ko-KR or "
        "zh-Hans understood), falling back to EN."
    ),
]


Role = described_enum(
    "Role",
    "What an account may do.",
    {
        "APPLICANT": "Any signed-up user: acts for its own person and dependants.",
        "OFFICER": "Staff of one office: records and moves that office's cases.",
        "ADMIN": "Runs offices, guidance, staff and signing keys; acts at every office.",
        "ANALYST": "Sees aggregate statistics only, never a person.",
    },
)

Sex = described_enum(
    "Sex",
    "Sex as printed in the passport.",
    {"F": "Female.", "M": "Male.", "X": "Unspecified."},
)


# What a service does to the document its code names (STAY_PERMIT_RENEWAL: a stay permit).
_SERVICE_ACTIONS = {
    "ISSUANCE": "Issuance of a {document}.",
    "EXTENSION": "Extension of a {document}.",
    "RENEWAL": "Renewal of a {document}.",
    "REISSUANCE": "Reissuance of a lost or damaged {document}.",
}


def _service_text(code: str) -> str:
    document, _, action = code.rpartition("_")
    return _SERVICE_ACTIONS[action].format(document=document.replace("_", " ").lower())


# One value per service the booking rules know (domain.booking.SERVICE_GROUPS), in their order.
ServiceCode = described_enum(
    "ServiceCode",
    "The services that can be booked and applied for.",
    {code: _service_text(code) for code in SERVICE_GROUPS},
)


ServiceArg = Annotated[ServiceCode, strawberry.argument(description="The service.")]


# ---------------------------------------------------------------- small value types


@strawberry.type(description="An amount of money: decimal text and an ISO 4217 currency.")
class Money:
    amount: str = strawberry.field(description='Decimal amount as text, e.g. "160.00".')
    currency: str = strawberry.field(description='ISO 4217 currency code, e.g. "CNY".')


@strawberry.type(
    description="A point on the earth, in WGS 84 unless the field giving it names another datum."
)
class GeoPoint:
    latitude: float = strawberry.field(description="Latitude in degrees.")
    longitude: float = strawberry.field(description="Longitude in degrees.")


Datum = described_enum(
    "Datum",
    "Geodetic datum of a point's latitude and longitude.",
    {
        "WGS84": "WGS 84, as GPS and international maps give it.",
        "GCJ02": "GCJ-02, the datum of WeChat's and most Chinese maps: a few hundred metres "
        "off WGS 84 in mainland China, Hong Kong and Macau, equal to it elsewhere.",
    },
)


@strawberry.input(description="A point on the earth, in the datum it says (default WGS 84).")
class GeoPointInput:
    latitude: float = strawberry.field(description="Latitude in degrees, -90 to 90.")
    longitude: float = strawberry.field(description="Longitude in degrees, -180 to 180.")
    datum: Datum = strawberry.field(
        default=Datum.WGS84,
        description="The datum of latitude and longitude: WGS84 (default), or GCJ02 as "
        "WeChat's and Chinese maps' location APIs give it.",
    )


# ---------------------------------------------------------------- error members


# The error types that say nothing but their message, each named after its refusal kind
# (NOT_PERMITTED: NotPermitted), in the order of the table.
(
    NotPermitted,
    InvalidCredentials,
    EmailTaken,
    InvalidRefreshToken,
    IdentityNotFound,
    SlotUnavailable,
    ChangeWindowClosed,
    RescheduleLimitReached,
    NotPermanentResident,
) = plain_error_types(
    {
        RefusalKind.NOT_PERMITTED: "The object does not exist or the caller may not act on it.",
        RefusalKind.INVALID_CREDENTIALS: "The e-mail address or password is wrong.",
        RefusalKind.EMAIL_TAKEN: "An account with this e-mail address already exists.",
        RefusalKind.INVALID_REFRESH_TOKEN: "The refresh token is unknown, expired, used or "
        "revoked.",
        RefusalKind.IDENTITY_NOT_FOUND: "No person matches all the identity facts given.",
        RefusalKind.SLOT_UNAVAILABLE: "The slot has no place left or cannot be booked.",
        RefusalKind.CHANGE_WINDOW_CLOSED: "Too late to change this appointment.",
        RefusalKind.RESCHEDULE_LIMIT_REACHED: "The appointment has been rescheduled as often "
        "as allowed.",
        RefusalKind.NOT_PERMANENT_RESIDENT: "The person holds no valid Foreign Permanent "
        "Resident ID Card.",
    }
)

# Error types with fields of their own.


@error_type(RefusalKind.VALIDATION, "An input value is not acceptable.")
class ValidationError(RefusalMessage):
    field: str | None = strawberry.field(
        default=None, description="The input field at fault, when one is."
    )


@error_type(RefusalKind.RATE_LIMITED, "Too many attempts: wait before trying again.")
class RateLimited(RefusalMessage):
    retry_after_seconds: int = strawberry.field(
        description="Seconds to wait before the next attempt can succeed."
    )


@error_type(RefusalKind.LIMIT_REACHED, "A limit on how many of something one may hold was reached.")
class LimitReached(RefusalMessage):
    limit: int = strawberry.field(description="The limit in force.")
