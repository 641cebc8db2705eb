"""The hot lists render ``values()`` rows without serializers: same JSON as the documented ones.

``staff_queue_items`` must give, for every kind of row, what
``StaffApplicationListOutputSerializer`` gives for the same applications as model instances;
``my_application_items`` must give every documented field of ``MyApplicationOutputSerializer``.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.translation import override
from django_tenants.utils import schema_context
from rest_framework.renderers import JSONRenderer

from apps.accounts.models import Role
from apps.accounts.tokens import TokenKind
from apps.agencies.models import Domain
from apps.applications import selectors
from apps.applications.api.serializers import (
    MyApplicationOutputSerializer,
    StaffApplicationListOutputSerializer,
)
from apps.applications.models import Application
from apps.core.rendering import datetime_text
from tests.applications.conftest import advance, draft
from tests.conftest import HOST_A, PUBLIC_HOST
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

QUEUE = "/api/v1/staff/applications/?page_size=100"


def _as_json(data):
    return json.loads(JSONRenderer().render(data))


@pytest.fixture
def varied_queue(agency_a, service_a, staff_of):
    """Applications covering every branch of the renderer: names, assignee, overdue, decided."""
    agent = staff_of(agency_a, Role.AGENT)
    named = UserFactory(first_name="Afi", last_name="Mensah", email="afi@example.org", phone=None)
    email_only = UserFactory(first_name="", last_name="", email="kodjo@example.org", phone=None)
    phone_only = UserFactory(first_name="", last_name="", email=None, phone="+22890000001")
    first = advance("agence_a", draft("agence_a", named), "submit", named, "citizen")
    second = advance("agence_a", draft("agence_a", email_only), "submit", email_only, "citizen")
    second = advance("agence_a", second, "take", agent, Role.AGENT)
    third = advance("agence_a", draft("agence_a", phone_only), "submit", phone_only, "citizen")
    third = advance("agence_a", third, "take", agent, Role.AGENT)
    advance("agence_a", third, "approve", agent, Role.AGENT)
    with schema_context("agence_a"):  # the first one is overdue
        Application.objects.filter(pk=first.pk).update(
            due_at=timezone.now() - timedelta(days=1, microseconds=1)
        )
    return agent


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_work_queue_renders_like_its_documented_serializer(
    api, tokens, agency_a, varied_queue, language
):
    token = tokens(varied_queue, TokenKind.STAFF, agency=agency_a, role=Role.AGENT).access

    response = api(HOST_A, token).get(QUEUE, HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 200
    results = response.json()["results"]
    with schema_context("agence_a"), override(language):
        instances = list(selectors.application_list_for_staff())
        expected = _as_json(StaffApplicationListOutputSerializer(instances, many=True).data)
    assert len(results) == 3
    assert results == expected
    assert {row["is_overdue"] for row in results} == {True, False}
    assert {row["citizen"]["name"] for row in results} == {
        "Afi Mensah",
        "kodjo@example.org",
        "+22890000001",
    }
    assert sum(row["assignee"] is None for row in results) == 1
    assert sum(row["decided_at"] is not None for row in results) == 1


def test_my_applications_render_every_documented_field(api, service_a, citizen, tokens):
    application = advance("agence_a", draft("agence_a", citizen), "submit", citizen, "citizen")

    response = api(PUBLIC_HOST, tokens(citizen).access).get("/api/v1/me/applications/")

    (row,) = response.json()["results"]
    assert set(row) == set(MyApplicationOutputSerializer().fields)
    with schema_context("agence_a"):
        application.refresh_from_db()
    assert row == {
        "id": str(application.id),
        "agency": {"slug": "agence-a", "name": "Agence A", "host": HOST_A},
        "reference": application.reference,
        "service": {"code": "copie-acte-naissance", "name": "Copie d'acte de naissance"},
        "status": "submitted",
        "submitted_at": datetime_text(application.submitted_at),
        "due_at": datetime_text(application.due_at),
        "updated_at": row["updated_at"],  # the index's own time of change
    }
    assert row["submitted_at"].endswith("Z")  # Africa/Lome is UTC: rendered as DRF does


def test_an_agency_without_a_primary_domain_has_no_host(api, service_a, citizen, tokens):
    draft("agence_a", citizen)
    Domain.objects.filter(tenant__slug="agence-a").update(is_primary=False)

    response = api(PUBLIC_HOST, tokens(citizen).access).get("/api/v1/me/applications/")

    assert response.json()["results"][0]["agency"]["host"] is None


def test_datetime_text_matches_drf_in_another_time_zone(settings):
    from rest_framework import serializers

    moment = timezone.now()
    with timezone.override("Europe/Paris"):
        assert datetime_text(moment) == serializers.DateTimeField().to_representation(moment)
        assert not datetime_text(moment).endswith("Z")
    assert datetime_text(None) is None
