"""The service catalogue and its guidance."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.documents import PERMIT_PURPOSES, VISA_CATEGORIES
from domain.materials import MAX_CATEGORIES_ASKED, applies, unknown_categories
from domain.messages import N_, N_plural
from resolvers.context import Context
from resolvers.guidance import ShownGuidance
from resolvers.guidance import current_guidance as guidance_shown
from resolvers.outcomes import bad_input
from resolvers.rows import ServiceRow
from schema.common import LangArg, Language, Money, ServiceCode
from schema.i18n import language


@strawberry.type(description="A fee charged for a service.")
class Fee:
    item: str = strawberry.field(description="What the fee is for.")
    amount: Money = strawberry.field(description="How much it is.")
    condition: str | None = strawberry.field(description="When it applies, if not always.")


@strawberry.type(description="A document or item to bring.")
class Material:
    name: str = strawberry.field(description="What to bring.")
    description: str | None = strawberry.field(
        description="Details: format, copies, who issues it."
    )
    required: bool = strawberry.field(description="True when the application needs it.")
    condition: str | None = strawberry.field(description="When it is needed, if not always.")
    copies: int | None = strawberry.field(description="How many copies, when it matters.")
    applies_to: list[str] = strawberry.field(
        description="The document categories it is for, in the words of Document.category: visa "
        "categories (Z, X1, Q1, ...) and residence purposes (WORK, STUDY, FAMILY_REUNION, ...); "
        "a person needs it when one of their categories is listed. Empty: everyone (a "
        "`condition` about their situation, such as a lost permit, may still apply)."
    )


@strawberry.type(description="How to apply for a service: one published version in one language.")
class Guidance:
    service: ServiceCode = strawberry.field(description="The service it is for.")
    lang: Language = strawberry.field(
        description="The language of the texts: the one asked for, or EN when that language "
        "has no translation of this version (then `fallbackFrom` says so)."
    )
    fallback_from: Language | None = strawberry.field(
        description="Set when these texts are a fallback: the language asked for, which has no "
        "translation of the version in force (e.g. EN shown for KO). Null when the texts are in "
        "the language asked for."
    )
    official_notice: str | None = strawberry.field(
        description="For texts in a language other than ZH and EN: a sentence in that language "
        "saying they are an unofficial translation and that the Chinese text prevails. Null "
        "for ZH and EN texts."
    )
    version: int = strawberry.field(description="Version number; higher is newer.")
    effective_from: date = strawberry.field(description="The day this version took effect.")
    requirements: list[str] = strawberry.field(description="Who may apply, and when.")
    all_materials: strawberry.Private[list[Material]]
    steps: list[str] = strawberry.field(description="The procedure, step by step.")
    fees: list[Fee] = strawberry.field(description="Fees in CNY, with their conditions.")
    processing_working_days: int = strawberry.field(
        description="Statutory processing time in working days (China's official calendar)."
    )
    legal_basis: list[str] = strawberry.field(description="Laws and regulations it rests on.")

    @strawberry.field(
        description="What to bring. With `for`, only the materials for everyone and those whose "
        "appliesTo names one of the given categories."
    )
    def materials(
        self,
        for_: Annotated[
            list[str] | None,
            strawberry.argument(
                name="for",
                description='The person\'s document categories (e.g. ["Z", "WORK"]): visa '
                "categories and residence purposes, as in Document.category. Unknown words are "
                "BAD_USER_INPUT. Omitted: every material.",
            ),
        ] = None,
    ) -> list[Material]:
        if for_ is None:
            return list(self.all_materials)
        if len(for_) > MAX_CATEGORIES_ASKED:
            raise bad_input(
                N_plural(
                    "Give at most %(count)s category in `for`.",
                    "Give at most %(count)s categories in `for`.",
                    MAX_CATEGORIES_ASKED,
                )
            )
        unknown = unknown_categories(for_)
        if unknown:
            # The categories are codes (Z, WORK): the same in every language.
            raise bad_input(
                N_(
                    "Unknown categories in `for`: %(unknown)s. Use visa categories "
                    "(%(visas)s) or residence purposes (%(purposes)s).",
                    unknown=", ".join(unknown),
                    visas=", ".join(sorted(VISA_CATEGORIES)),
                    purposes=", ".join(sorted(PERMIT_PURPOSES)),
                )
            )
        return [m for m in self.all_materials if applies(m.applies_to, for_)]

    @classmethod
    def from_shown(cls, shown: ShownGuidance) -> Guidance:
        row = shown.row
        content = row.content
        return cls(
            service=ServiceCode(row.service),
            lang=Language(row.lang),
            fallback_from=Language(shown.fallback_from) if shown.fallback_from else None,
            official_notice=content.get("official_notice"),
            version=row.version,
            effective_from=row.effective_from,
            requirements=list(content["requirements"]),
            all_materials=[
                Material(
                    name=m["name"],
                    description=m.get("description"),
                    required=m["required"],
                    condition=m.get("condition"),
                    copies=m.get("copies"),
                    applies_to=list(m.get("applies_to") or []),
                )
                for m in content["materials"]
            ],
            steps=list(content["steps"]),
            fees=[
                Fee(
                    item=f["item"],
                    amount=Money(
                        amount=str(Decimal(f["amount"]).quantize(Decimal("0.01"))),
                        currency=f.get("currency", "CNY"),
                    ),
                    condition=f.get("condition"),
                )
                for f in content["fees"]
            ],
            processing_working_days=content["processing_working_days"],
            legal_basis=list(content["legal_basis"]),
        )


async def current_guidance(
    info: Info, service: ServiceCode, lang: Language | None
) -> Guidance | None:
    ctx: Context = info.context
    chosen = language(ctx, lang)
    shown = await guidance_shown(ctx, service.value, chosen.value)
    return Guidance.from_shown(shown) if shown else None


@strawberry.type(description="A service of the catalogue.")
class ServiceType:
    row: strawberry.Private[ServiceRow]
    code: ServiceCode = strawberry.field(description="The service's code.")
    processing_working_days: int = strawberry.field(
        description="Statutory processing time in working days (China's official calendar)."
    )

    @strawberry.field(
        description="The service's name; in English when there is none in the language asked for."
    )
    def name(self, info: Info, lang: LangArg = None) -> str:
        chosen = language(info.context, lang)
        return getattr(self.row, f"name_{chosen.value.lower()}", None) or self.row.name_en

    @strawberry.field(description="The guidance in force today for this service.")
    async def guidance(self, info: Info, lang: LangArg = None) -> Guidance | None:
        return await current_guidance(info, self.code, lang)

    @classmethod
    def from_row(cls, row: ServiceRow) -> ServiceType:
        return cls(
            row=row,
            code=ServiceCode(row.code),
            processing_working_days=row.processing_working_days,
        )
