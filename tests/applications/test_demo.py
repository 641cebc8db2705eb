"""Demo applications of ``seed_demo``: several states per agency and citizen, idempotent."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.applications.demo import DEMO_STATES, sample_value, seed_demo_applications
from apps.applications.models import Application
from apps.directory.models import ApplicationEntry
from tests.applications.conftest import service_create

pytestmark = pytest.mark.django_db


def test_demo_applications_in_several_states_then_nothing_more(
    agency_a, agency_b, citizen, other_citizen, staff_of, service_a, service_b
):
    for agency in (agency_a, agency_b):
        staff_of(agency, Role.AGENT)
        staff_of(agency, Role.SUPERVISOR)
    service_create(
        "agence_a",
        code="sans-formulaire-utilisable",
        form_schema={
            "type": "object",
            "properties": {"code": {"type": "string", "pattern": "^[0-9]{4}$"}},
            "required": ["code"],
        },
    )

    lines = seed_demo_applications(agencies=[agency_a, agency_b], citizens=[citizen, other_citizen])
    again = seed_demo_applications(agencies=[agency_a, agency_b], citizens=[citizen, other_citizen])

    for schema in ("agence_a", "agence_b"):
        with schema_context(schema):
            statuses = sorted(Application.objects.values_list("status", flat=True))
            services_used = set(Application.objects.values_list("service__code", flat=True))
        assert statuses == sorted(list(DEMO_STATES) * 2), schema
        assert services_used == {"copie-acte-naissance"}  # the unusable form is skipped
    assert ApplicationEntry.objects.filter(citizen=citizen).count() == len(DEMO_STATES) * 2
    assert len(lines) == 2
    assert all("already there" in line for line in again)


def test_agencies_without_staff_or_services_are_skipped(agency_a, agency_b, citizen, staff_of):
    staff_of(agency_b, Role.AGENT)
    staff_of(agency_b, Role.SUPERVISOR)

    lines = seed_demo_applications(agencies=[agency_a, agency_b], citizens=[citizen])

    assert "no demo agent" in lines[0]
    assert "no published service" in lines[1]


def test_sample_values_follow_the_schema():
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "string", "format": "date"},
            "b": {"type": "integer", "minimum": 2},
            "c": {"enum": ["x", "y"]},
            "d": {"type": "array", "items": {"type": "boolean"}, "minItems": 2},
            "e": {"type": ["null", "number"]},
            "f": {"type": "string", "examples": ["Lomé"]},
            "g": {"oneOf": [{"const": "k"}]},
            "h": {"type": "string", "minLength": 12, "title": "Nom"},
            "i": {"default": 3},
        },
    }

    assert sample_value(schema) == {
        "a": "1994-03-17",
        "b": 2,
        "c": "x",
        "d": [True, True],
        "e": 1.0,
        "f": "Lomé",
        "g": "k",
        "h": "Nomxxxxxxxxx",
        "i": 3,
    }
    assert sample_value(None) == "Exemple"
