"""Rows refuse a keyword that names no field: Tortoise would drop its value without a word."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from persistence import outbox
from persistence.models import Appointment, Delivery, Office


async def test_a_keyword_naming_no_field_is_refused(app):
    with pytest.raises(TypeError, match="Office has no field nmae_en"):
        Office(code="XX-XX", nmae_en="Misspelled")


async def test_a_create_wrapper_passes_the_refusal_on_and_writes_nothing(app):
    before = await Delivery.all().count()
    with pytest.raises(TypeError, match="Delivery has no field subjcet"):
        await outbox.add(
            now=datetime.now(UTC),
            account_id=None,
            notification_id=None,
            kind="RESET_REQUEST",
            to_address="a@example.test",
            subjcet="Misspelled",
            body="",
            message_id="<model-fields@example.test>",
            secret=False,
        )
    assert await Delivery.all().count() == before


async def test_fields_and_foreign_key_columns_are_accepted(app):
    row = Appointment(office_id=1, slot_id=1, applicant_id=1, service="VISA_EXTENSION")
    assert (row.office_id, row.slot_id, row.service) == (1, 1, "VISA_EXTENSION")
