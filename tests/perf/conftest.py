"""Fixtures of the performance-budget tests: an agency work queue and published services."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts.models import User
from apps.agencies.models import Agency
from apps.applications.models import Application
from apps.applications.references import reference_format
from apps.catalogue.models import Service
from tests.factories import UserFactory

FORM = {
    "type": "object",
    "properties": {"nom": {"type": "string", "title": "Nom"}},
    "required": ["nom"],
}


def service_make(schema: str, code: str) -> Service:
    """A published service of the agency ``schema``."""
    with schema_context(schema):
        return Service.objects.create(
            code=code,
            name_fr=f"Démarche {code}",
            name_en=f"Procedure {code}",
            category="etat-civil",
            form_schema=FORM,
            fee_xof=500,
            sla_working_days=5,
            is_published=True,
        )


@pytest.fixture
def queue_of(db: None) -> Callable[[Agency, int], list[Application]]:
    """``queue_of(agency, n)``: ``n`` submitted applications of n citizens over 3 services."""

    def make(agency: Agency, count: int) -> list[Application]:
        services = [service_make(agency.schema_name, f"service-{i}") for i in range(3)]
        citizens: list[User] = [UserFactory() for _ in range(count)]
        now = timezone.now()
        with schema_context(agency.schema_name):
            return Application.objects.bulk_create(
                Application(
                    id=uuid.uuid4(),
                    service=services[i % 3],
                    citizen=citizens[i],
                    status="submitted",
                    form_data={"nom": "Mensah"},
                    reference=reference_format(prefix="PF", year=now.year, number=i + 1),
                    submitted_at=now - timedelta(hours=i),
                    due_at=now + timedelta(days=5, hours=i),
                )
                for i in range(count)
            )

    return make
