"""Loading reference data (every environment) and sample data (empty development databases)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta

from tortoise.transactions import in_transaction

from domain.dates import HOME_ZONE, HOME_ZONE_NAME
from domain.delegation import TypedFacts, represented_until
from domain.identifiers import make_pr_card_number
from domain.persons import PersonFacts
from persistence import accounts as account_store
from persistence import delegations as delegation_store
from persistence import persons as person_store
from persistence.catalogue_data import GUIDANCE, SERVICES, TRANSLATED_LANGUAGES
from persistence.demo.offices import OFFICES
from persistence.models import (
    Account,
    Application,
    ApplicationCounter,
    ApplicationEvent,
    Document,
    Guidance,
    Office,
    OfficeClosure,
    OfficeHours,
    OfficeService,
    Passport,
    PermanentResidentCard,
    Person,
    ServiceType,
)

log = logging.getLogger(__name__)


async def load_reference_data() -> None:
    """The service catalogue and its guidance versions: adds what is missing, including the
    versions in languages added later and services' names in them. The one change to a stored
    version is filling in its materials' `applies_to` tags (see `_tag_materials`); no
    published text ever changes."""
    known = {s.code: s for s in await ServiceType.all()}
    await ServiceType.bulk_create(
        [
            ServiceType(
                code=s["code"],
                name_en=s["name"]["EN"],
                name_zh=s["name"]["ZH"],
                **_further_names(s),
                group=s["group"],
                processing_working_days=s["processing_working_days"],
                position=i,
            )
            for i, s in enumerate(SERVICES)
            if s["code"] not in known
        ]
    )
    for s in SERVICES:
        if s["code"] in known:
            await _name_in_further_languages(known[s["code"]], s)
    stored = {(g.service, g.lang, g.version): g for g in await Guidance.all()}
    fresh = []
    for entry in GUIDANCE:
        row = stored.get((entry["service"], entry["lang"], entry["version"]))
        if row is not None:
            await _tag_materials(row, entry["materials"])
            continue
        # A version in a further language is a new version row beside the English and Chinese
        # ones; it carries its notice that the translation is unofficial.
        content = {
            k: entry[k]
            for k in (
                "requirements",
                "materials",
                "steps",
                "fees",
                "processing_working_days",
                "legal_basis",
                "official_notice",
            )
            if k in entry
        }
        fresh.append(
            Guidance(
                service=entry["service"],
                lang=entry["lang"],
                version=entry["version"],
                effective_from=date.fromisoformat(entry["effective_from"]),
                content=content,
            )
        )
    await Guidance.bulk_create(fresh)


def _further_names(service: dict) -> dict[str, str]:
    """The catalogue's names of a service in the further languages, as ServiceType columns."""
    return {
        f"name_{lang.lower()}": service["name"][lang]
        for lang in TRANSLATED_LANGUAGES
        if lang in service["name"]
    }


async def _name_in_further_languages(row: ServiceType, service: dict) -> None:
    """A service stored before its further-language names existed gets them; a name already
    there (perhaps corrected by an admin) is kept."""
    missing = {k: v for k, v in _further_names(service).items() if getattr(row, k) is None}
    if missing:
        row.update_from_dict(missing)
        await row.save(update_fields=list(missing))


def _untagged(materials: list[dict]) -> list[dict]:
    return [{k: v for k, v in m.items() if k != "applies_to"} for m in materials]


async def _tag_materials(row: Guidance, catalogue: list[dict]) -> None:
    """Versions stored before materials carried `applies_to` get the catalogue's tags. The tags
    restate each material's published `condition` in machine-readable words, so adding them
    is no new version; it happens only when the stored materials equal the catalogue's in
    every text, so nothing edited in the database is overwritten."""
    materials = row.content.get("materials", [])
    if materials == catalogue or _untagged(materials) != _untagged(catalogue):
        return
    row.content = {**row.content, "materials": catalogue}
    await row.save(update_fields=["content"])


async def load_offices() -> dict[str, Office]:
    """The sample service centres with hours, services and closures."""
    offices: dict[str, Office] = {}
    for data in OFFICES:
        office = await Office.create(
            code=data["code"],
            name_en=data["name"]["EN"],
            name_zh=data["name"]["ZH"],
            address_en=data["address"]["EN"],
            address_zh=data["address"]["ZH"],
            province=data["province"],
            province_code=data["province_code"],
            city=data["city"],
            latitude=data["latitude"],
            longitude=data["longitude"],
            phone=data["phone"],
            time_zone=data.get("time_zone", HOME_ZONE_NAME),
            counters_visa=data["counters"]["VISA"],
            counters_residence=data["counters"]["RESIDENCE"],
        )
        await OfficeHours.bulk_create(
            [
                OfficeHours(office_id=office.id, weekday=w, opens=o, closes=c)
                for w, o, c in data["hours"]
            ]
        )
        await OfficeService.bulk_create(
            [OfficeService(office_id=office.id, service=s) for s in data["services"]]
        )
        await OfficeClosure.bulk_create(
            [
                OfficeClosure(
                    office_id=office.id,
                    date=date.fromisoformat(d),
                    reason_en=reason["EN"],
                    reason_zh=reason["ZH"],
                )
                for d, reason in data["closures"]
            ]
        )
        offices[office.code] = office
    return offices


async def _account(
    email: str, name: str, password_hash: str, roles: list[str], **extra: int
) -> Account:
    account = await account_store.create_account(
        email=email, display_name=name, password_hash=password_hash, roles=roles, **extra
    )
    assert account is not None, "demo data goes into an empty database"
    return account


def _typed_by_helper(person: Person) -> TypedFacts:
    """What the helper typed to add `person`: the person's own facts."""
    return TypedFacts.read(person.surname, person.nationality, person.birth_date)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=HOME_ZONE).astimezone(UTC)


async def _application(
    person: Person,
    office: Office,
    service: str,
    officer: Account,
    history: list[tuple[str, date]],
    number: int,
) -> Application:
    submitted = history[0][1]
    status, _ = history[-1]
    accepted = next((d for s, d in history if s == "ACCEPTED"), None)
    application = await Application.create(
        number=f"{office.code}-{submitted.year}-{number:06d}",
        applicant_id=person.id,
        service=service,
        office_id=office.id,
        status=status,
        submitted_at=_at(submitted, 10),
        accepted_on=accepted,
        recorded_by_id=officer.id,
    )
    await ApplicationEvent.bulk_create(
        [
            ApplicationEvent(
                application_id=application.id,
                status=s,
                at=_at(d, 10 + i),
                actor_id=officer.id,
                actor_kind="OFFICER",
            )
            for i, (s, d) in enumerate(history)
        ]
    )
    counter, _ = await ApplicationCounter.get_or_create(
        office_id=office.id, year=submitted.year, defaults={"last_number": 0}
    )
    counter.last_number = max(counter.last_number, number)
    await counter.save()
    return application


async def load_demo_data(password_hash: str, today: date) -> None:
    """Sample offices, the demo sign-ins of CONTRACT.md and their records, relative to today."""
    async with in_transaction():
        offices = await load_offices()
        main = offices["BJ-DC"]
        officer = await _account(
            "officer@demo.test", "Officer Li Wei", password_hash, ["OFFICER"], office_id=main.id
        )
        await _account("admin@demo.test", "Administrator", password_hash, ["ADMIN"])
        await _account("analyst@demo.test", "Analyst", password_hash, ["ANALYST"])

        # A foreign resident with a visa, a residence permit and an application under review.
        anna = await person_store.create_person(
            PersonFacts(
                "Schmidt",
                "Anna Maria",
                "DEU",
                date(1990, 4, 12),
                "F",
                "C01X00T47",
                today + timedelta(days=2400),
            ),
            bound_from=today - timedelta(days=700),
        )
        await _account(
            "applicant@demo.test", "Anna Schmidt", password_hash, ["APPLICANT"], person_id=anna.id
        )
        await Document.create(
            person_id=anna.id,
            kind="VISA",
            category="Z",
            number="E12345678",
            valid_from=today - timedelta(days=700),
            valid_until=today - timedelta(days=610),
            entries="SINGLE",
            duration_of_stay_days=30,
            issued_by_id=None,
        )
        await Document.create(
            person_id=anna.id,
            kind="RESIDENCE_PERMIT",
            category="WORK",
            number="BJ2025R004812",
            valid_from=today - timedelta(days=640),
            valid_until=today + timedelta(days=45),
            issued_by_id=main.id,
        )
        await _application(
            anna,
            main,
            "RESIDENCE_PERMIT_EXTENSION",
            officer,
            [
                ("SUBMITTED", today - timedelta(days=9)),
                ("ACCEPTED", today - timedelta(days=8)),
                ("UNDER_REVIEW", today - timedelta(days=6)),
            ],
            number=1,
        )

        # A permanent resident: a 2023-format card and two passports, the older superseded.
        pr_born = date(1978, 9, 23)
        card_issued = today - timedelta(days=990)
        switch = today - timedelta(days=520)
        michael = await person_store.create_person(
            PersonFacts(
                "Johnson",
                "Michael James",
                "USA",
                pr_born,
                "M",
                "590123456",
                switch + timedelta(days=3650),
            ),
            bound_from=switch,
        )
        await Passport.create(
            person_id=michael.id,
            number="488812345",
            issuing_country="USA",
            valid_until=switch + timedelta(days=60),
            bound_from=card_issued,
            bound_until=switch,
            is_current=False,
        )
        await PermanentResidentCard.create(
            person_id=michael.id,
            number=make_pr_card_number("11", "USA", pr_born, "M", 6),
            issued_on=card_issued,
            valid_until=card_issued + timedelta(days=3652),
            issued_by_id=main.id,
        )
        await _account(
            "pr@demo.test", "Michael Johnson", password_hash, ["APPLICANT"], person_id=michael.id
        )

        # A helper with two active dependants: a child and an elderly person, neither with an
        # account; the elderly person's delegation was confirmed by an officer at the counter.
        helper = await _account("helper@demo.test", "Wang Fang", password_hash, ["APPLICANT"])
        child = await person_store.create_person(
            PersonFacts(
                "Tanaka",
                "Yui",
                "JPN",
                today - timedelta(days=9 * 365 + 2),  # nine years old (a 29 February too)
                "F",
                "TR1234567",
                today + timedelta(days=1500),
            ),
            bound_from=today - timedelta(days=400),
        )
        elder = await person_store.create_person(
            PersonFacts(
                "Kim",
                "Soon-ja",
                "KOR",
                date(1948, 2, 11),
                "F",
                "M12345678",
                today + timedelta(days=900),
            ),
            bound_from=today - timedelta(days=300),
        )
        await Document.create(
            person_id=child.id,
            kind="RESIDENCE_PERMIT",
            category="FAMILY_REUNION",
            number="BJ2026R001177",
            valid_from=today - timedelta(days=200),
            valid_until=today + timedelta(days=530),
            issued_by_id=main.id,
        )
        await _application(
            elder,
            main,
            "STAY_PERMIT_EXTENSION",
            officer,
            [("SUBMITTED", today - timedelta(days=3))],
            number=2,
        )
        await delegation_store.create(
            helper_id=helper.id,
            dependant_id=child.id,
            typed=_typed_by_helper(child),
            relationship="CHILD",
            scopes=["BOOK_APPOINTMENTS", "VIEW_APPLICATIONS", "VIEW_DOCUMENTS"],
            status="ACTIVE",
            valid_until=represented_until(child.birth_date, None),
        )
        await delegation_store.create(
            helper_id=helper.id,
            dependant_id=elder.id,
            typed=_typed_by_helper(elder),
            relationship="PARENT",
            scopes=["BOOK_APPOINTMENTS", "VIEW_APPLICATIONS"],
            status="ACTIVE",
            confirmed_by_id=officer.id,
            responded_at=_at(today - timedelta(days=20), 11),
        )
    log.info("loaded sample data: %d offices and the demo sign-ins", len(offices))


async def database_is_empty() -> bool:
    return not await Account.exists() and not await Office.exists()
