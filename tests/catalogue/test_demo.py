"""The demo catalogue: realistic, valid, seeded through the services, idempotent."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from apps.agencies.models import Agency
from apps.audit.models import AuditEvent
from apps.catalogue.demo import (
    DEMO_SERVICES,
    TOGO_HOLIDAYS_2026,
    seed_agency_catalogue,
    seed_demo_catalogue,
)
from apps.catalogue.models import PublicHoliday, Service
from apps.catalogue.services import service_unpublish
from apps.catalogue.validation import document_types_errors, form_data_errors, form_schema_errors
from apps.directory.models import ServiceEntry

ALL_DEMO_SERVICES = [d for definitions in DEMO_SERVICES.values() for d in definitions]


def example_answers(schema):
    """Answers made of each field's example (or default, or first choice)."""
    if "examples" in schema:
        return schema["examples"][0]
    if "default" in schema:
        return schema["default"]
    if "enum" in schema:
        return schema["enum"][0]
    return {name: example_answers(child) for name, child in schema["properties"].items()}


@pytest.mark.parametrize("definition", ALL_DEMO_SERVICES, ids=lambda d: d["code"])
def test_each_demo_service_is_valid_and_its_examples_are_accepted(definition):
    service = Service(**definition)

    assert form_schema_errors(definition["form_schema"]) == []
    assert document_types_errors(definition["document_types"]) == []
    assert form_data_errors(service, example_answers(definition["form_schema"])) == {}
    assert form_data_errors(service, {}) != {}  # it does ask for something
    for prop in definition["form_schema"]["properties"].values():
        assert prop["title"]  # a French title on every field


def test_two_services_per_demo_agency_and_weekday_holidays():
    assert {slug: len(d) for slug, d in DEMO_SERVICES.items()} == {
        "etat-civil": 2,
        "mairie-lome": 2,
    }
    assert all(date.year == 2026 and date.weekday() < 5 for date, _fr, _en in TOGO_HOLIDAYS_2026)


@pytest.mark.django_db
def test_seeding_twice_writes_once(agency_a):
    definitions = DEMO_SERVICES["etat-civil"]

    first = seed_agency_catalogue(
        agency=agency_a, definitions=definitions, holidays=TOGO_HOLIDAYS_2026
    )
    with schema_context(agency_a.schema_name):
        events_after_first = AuditEvent.objects.count()
    second = seed_agency_catalogue(
        agency=agency_a, definitions=definitions, holidays=TOGO_HOLIDAYS_2026
    )

    with schema_context(agency_a.schema_name):
        assert AuditEvent.objects.count() == events_after_first
        assert Service.objects.filter(is_published=True).count() == 2
        assert PublicHoliday.objects.count() == len(TOGO_HOLIDAYS_2026)
    assert ServiceEntry.objects.filter(agency=agency_a).count() == 2
    assert "service copie-acte-naissance (created)" in first[0]
    assert "service copie-acte-naissance (unchanged)" in second[0]
    assert second[-1].endswith("(0 added)")


@pytest.mark.django_db
def test_seeding_realigns_a_changed_or_hidden_demo_service(agency_a):
    definitions = DEMO_SERVICES["etat-civil"]
    seed_agency_catalogue(agency=agency_a, definitions=definitions, holidays=[])
    with schema_context(agency_a.schema_name):
        service = Service.objects.get(code="copie-acte-naissance")
        Service.objects.filter(pk=service.pk).update(fee_xof=1)
        service_unpublish(service=Service.objects.get(code="certificat-nationalite"))

    lines = seed_agency_catalogue(agency=agency_a, definitions=definitions, holidays=[])

    with schema_context(agency_a.schema_name):
        assert Service.objects.get(code="copie-acte-naissance").fee_xof == 500
        assert Service.objects.get(code="certificat-nationalite").is_published
    assert lines[:2] == [
        "agence-a: service copie-acte-naissance (updated)",
        "agence-a: service certificat-nationalite (published)",
    ]


@pytest.mark.django_db
def test_only_demo_agencies_are_seeded(agency_a):
    # Agency A's schema under the civil registry's slug stands in for the demo agency.
    civil_registry = Agency(slug="etat-civil", schema_name=agency_a.schema_name)

    assert seed_demo_catalogue(agencies=[agency_a]) == []
    lines = seed_demo_catalogue(agencies=[civil_registry])

    assert lines[0] == "etat-civil: service copie-acte-naissance (created)"
    with schema_context(agency_a.schema_name):
        assert PublicHoliday.objects.count() == len(TOGO_HOLIDAYS_2026)
