"""Hostile answers and filters on the application endpoints: 400 problems, nothing stored.

NUL characters and lone surrogates used to reach the ``jsonb`` column of form answers and fail
there (a 500); extreme dates in the work queue's filters overflowed Python's calendar. The
checks are in the parsers and the base filter set, so they hold for every endpoint; these tests
go through the endpoints that broke.
"""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.accounts.tokens import TokenKind
from apps.applications.models import Application
from apps.audit.models import AuditEvent
from apps.directory.models import ApplicationEntry
from tests.applications.conftest import SERVICE_CODE
from tests.conftest import HOST_A
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

LIST = "/api/v1/applications/"
QUEUE = "/api/v1/staff/applications/"
AUDIT_EVENTS = "/api/v1/audit/events/"

HOSTILE_ANSWERS = [
    '{"nom": "Men\\u0000sah", "naissance": {"date": "2001-04-12"}, "copies": 2}',
    '{"nom": "Mensah", "naissance": {"date": "2001-04-12", "lieu": "\\ud800"}, "copies": 2}',
    '{"nom\\u0000": "Mensah"}',
    '{"nom": "Mensah", "naissance": {"date": "2001-04-12", "lieu": "\\udbff\\u0041"}}',
]


@pytest.mark.parametrize("answers", HOSTILE_ANSWERS)
def test_hostile_answers_at_creation_are_400_and_write_nothing(
    api, service_a, citizen, tokens, answers
):
    body = f'{{"service": "{SERVICE_CODE}", "form_data": {answers}}}'

    response = api(HOST_A, tokens(citizen).access).post(
        LIST, data=body, content_type="application/json"
    )

    assert_problem(response, 400, "invalid_character")
    with schema_context("agence_a"):
        assert not Application.objects.exists()
        assert not AuditEvent.objects.filter(action="application.created").exists()
    assert not ApplicationEntry.objects.exists()


@pytest.mark.parametrize("answers", HOSTILE_ANSWERS)
def test_hostile_answers_on_a_draft_are_400_and_change_nothing(
    api, service_a, citizen, tokens, answers
):
    client = api(HOST_A, tokens(citizen).access)
    created = client.post(LIST, {"service": SERVICE_CODE}, format="json").json()

    body = f'{{"form_data": {answers}}}'

    response = client.patch(f"{LIST}{created['id']}/", data=body, content_type="application/json")

    assert_problem(response, 400, "invalid_character")
    with schema_context("agence_a"):
        application = Application.objects.get(pk=created["id"])
        assert (application.form_data, application.version) == ({}, 1)


def test_a_hostile_document_type_in_an_upload_is_400(api, service_a, citizen, tokens):
    from tests.applications.conftest import upload

    client = api(HOST_A, tokens(citizen).access)
    created = client.post(LIST, {"service": SERVICE_CODE}, format="json").json()

    response = client.post(
        f"{LIST}{created['id']}/attachments/",
        {"document_type": "piece\x00identite", "file": upload()},
        format="multipart",
    )

    assert_problem(response, 400, "invalid_character")
    with schema_context("agence_a"):
        assert not Application.objects.get(pk=created["id"]).attachments.exists()


@pytest.fixture
def agent_client(api, agency_a, staff_of, tokens):
    agent = staff_of(agency_a, Role.AGENT)
    return api(HOST_A, tokens(agent, TokenKind.STAFF, agency=agency_a, role=Role.AGENT).access)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"submitted_to": "9999-12-31"}, "submitted_to"),
        ({"submitted_from": "0001-01-01"}, "submitted_from"),
        ({"submitted_from": "9999-12-31"}, "submitted_from"),
        ({"submitted_to": "0001-01-01"}, "submitted_to"),
    ],
)
def test_extreme_dates_in_the_queue_filters_are_400(
    service_a, in_state, agent_client, params, field
):
    in_state("submitted")

    response = agent_client.get(QUEUE, params)

    body = assert_problem(response, 400, "validation_failed")
    assert list(body["errors"]) == [field]


def test_dates_at_the_bounds_are_accepted(service_a, in_state, agent_client):
    in_state("submitted")

    bounds = {"submitted_from": "0002-01-01", "submitted_to": "9998-12-31"}

    response = agent_client.get(QUEUE, bounds)

    assert response.status_code == 200, response.content
    assert response.json()["count"] == 1


@pytest.mark.parametrize(
    "params",
    [
        {"occurred_at_after": "0001-01-01T00:00:00+14:00"},
        {"occurred_at_before": "9999-12-31T23:59:59-12:00"},
        {"occurred_at_after": "9999-12-31T23:59:59Z"},
    ],
)
def test_extreme_times_in_the_audit_filters_are_400(api, agency_a, staff_of, tokens, params):
    auditor = staff_of(agency_a, Role.AUDITOR)
    token = tokens(auditor, TokenKind.STAFF, agency=agency_a, role=Role.AUDITOR).access

    response = api(HOST_A, token).get(AUDIT_EVENTS, params)

    body = assert_problem(response, 400, "validation_failed")
    assert list(body["errors"]) == ["occurred_at"]
