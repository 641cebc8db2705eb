"""Reads of the catalogue, within the current agency schema only."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django_tenants.utils import schema_context

from apps.catalogue.models import PublicHoliday
from apps.catalogue.selectors import (
    public_holiday_list,
    service_get,
    service_get_by_code,
    service_get_published,
    service_list_published,
)

pytestmark = pytest.mark.django_db


def test_drafts_are_found_by_id_and_code_but_not_as_published(agency_a, agency_b, make_service):
    draft = make_service(agency_a, is_published=False)

    with schema_context(agency_a.schema_name):
        assert service_get(service_id=draft.id) == draft
        assert service_get_by_code(code=draft.code) == draft
        assert service_get_published(code=draft.code) is None
        assert list(service_list_published()) == []
        assert service_get(service_id=uuid.uuid4()) is None
    with schema_context(agency_b.schema_name):
        assert service_get(service_id=draft.id) is None
        assert service_get_by_code(code=draft.code) is None


def test_holidays_by_year(agency_a):
    with schema_context(agency_a.schema_name):
        for day in (dt.date(2025, 12, 25), dt.date(2026, 1, 1), dt.date(2026, 12, 25)):
            PublicHoliday.objects.create(date=day, name_fr="Férié", name_en="Holiday")

        assert [h.date.year for h in public_holiday_list()] == [2025, 2026, 2026]
        assert [h.date for h in public_holiday_list(year=2026)] == [
            dt.date(2026, 1, 1),
            dt.date(2026, 12, 25),
        ]
        assert str(public_holiday_list().first()) == "2025-12-25 Férié"
