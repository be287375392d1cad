"""Queries on persons and their passports."""

from __future__ import annotations

import secrets
from datetime import date

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Subquery
from tortoise.transactions import in_transaction

from domain.identifiers import normalise_name
from domain.persons import PersonFacts
from persistence.by_ids import groups_of, loader_of
from persistence.models import Passport, Person


async def person(person_id: int) -> Person | None:
    return await Person.get_or_none(id=person_id)


async def passport_taken(number: str, issuing_country: str) -> bool:
    return await Passport.filter(number=number, issuing_country=issuing_country).exists()


async def create_person(facts: PersonFacts, *, bound_from: date) -> Person:
    """A new person with one current passport, bound from `bound_from`. The one way persons
    are made: registration, demo data, benchmarks and tests. Raises IntegrityError when the
    passport is already bound to someone."""
    person = await Person.create(
        surname=facts.surname,
        given_names=facts.given_names,
        surname_key=normalise_name(facts.surname),
        nationality=facts.nationality,
        birth_date=facts.birth_date,
        sex=facts.sex,
        subject=secrets.token_urlsafe(18),
    )
    await Passport.create(
        person_id=person.id,
        number=facts.passport_number,
        issuing_country=facts.issuing_country,
        valid_until=facts.passport_valid_until,
        bound_from=bound_from,
        is_current=True,
    )
    return person


async def register(facts: PersonFacts, *, bound_from: date) -> Person | None:
    """create_person in a transaction of its own; None when the passport is already
    registered."""
    try:
        async with in_transaction():
            return await create_person(facts, bound_from=bound_from)
    except IntegrityError:
        return None


async def match_identity(
    *, passport_number: str, nationality: str, birth_date: date, surname_key: str
) -> Person | None:
    """The person whose passport (any bound one), nationality, birth date and surname match."""
    passports = await Passport.filter(number=passport_number).prefetch_related("person")
    for passport in passports:
        candidate = passport.person
        if (
            candidate.nationality == nationality
            and candidate.birth_date == birth_date
            and candidate.surname_key == surname_key
        ):
            return candidate
    return None


# Each person's passports, current first, then the most recently bound.
passports_by_person = groups_of(Passport, "person_id", "-is_current", "-bound_from")


persons_by_ids = loader_of(Person)


async def passport(passport_id: int) -> Passport | None:
    return await Passport.get_or_none(id=passport_id)


async def find_persons(
    *,
    passport_number: str | None,
    surname_key: str | None,
    birth_date: date | None,
    offset: int,
    limit: int,
) -> list[Person]:
    """Persons matching every given fact, by surname, given names and id; a passport number
    matches any passport ever bound to the person, current or superseded."""
    query = Person.all()
    if passport_number is not None:
        query = query.filter(
            id__in=Subquery(Passport.filter(number=passport_number).values("person_id"))
        )
    if surname_key is not None:
        query = query.filter(surname_key=surname_key)
    if birth_date is not None:
        query = query.filter(birth_date=birth_date)
    return await query.order_by("surname_key", "given_names", "id").offset(offset).limit(limit)
