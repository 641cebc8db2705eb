"""An audit trail an auditor can read: names, roles and French actions resolved at read time,
filters by application reference and by person, streamed CSV and signed JSON Lines exports."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.applications.workflow import TRANSITIONS
from apps.audit.labels import ACTION_LABELS
from apps.audit.selectors import audit_event_list
from apps.core.context import bind_actor, set_context, system_context
from tests.applications.conftest import advance
from tests.conftest import HOST_A, HOST_B
from tests.helpers import otp_login

pytestmark = pytest.mark.django_db

TRAIL = "/admin/audit/auditevent/"


@pytest.fixture
def auditor_client(client, agency_a, staff_of):
    auditor = staff_of(agency_a, Role.AUDITOR)
    client.defaults["HTTP_HOST"] = HOST_A
    otp_login(client, auditor)
    return client


@pytest.fixture
def worked(in_state, staff_of, agency_a, service_a):
    """An application taken and rejected by a named agent."""
    agent = staff_of(agency_a, Role.AGENT)
    agent.first_name, agent.last_name = "Kossi", "Agbéko"
    agent.save()
    application = in_state("in_review", agent=agent)
    # As the console does (``console_actor``): the signed-in member is the actor.
    set_context(system_context("test"))
    bind_actor(actor_type="user", actor_id=str(agent.pk), actor_role=Role.AGENT)
    advance("agence_a", application, "reject", agent, Role.AGENT, reason="Pièce expirée")
    with schema_context("agence_a"):
        application.refresh_from_db()
    return application, agent


def test_every_workflow_event_has_a_french_label():
    assert {t.event for t in TRANSITIONS.values()} <= set(ACTION_LABELS)


def test_the_trail_shows_names_roles_and_french_actions(auditor_client, worked):
    application, agent = worked

    response = auditor_client.get(TRAIL, {"reference": application.reference})

    html = response.content.decode()
    assert "<h1>Événements d&#x27;audit</h1>" in html
    assert "Kossi Agbéko (agent)" in html
    assert "Rejetée" in html
    assert application.reference in html
    assert ">application.rejected<" not in html  # codes only in links, never shown
    assert str(agent.pk) not in html.split('id="result_list"')[1]


def test_the_reference_filter_gives_the_application_timeline(auditor_client, worked, in_state):
    application, _ = worked
    other = in_state("submitted")

    rows = auditor_client.get(TRAIL, {"reference": application.reference}).context["cl"]
    events = list(rows.result_list)

    assert events
    assert {event.target_id for event in events} == {str(application.pk)}
    assert str(other.pk) not in {event.target_id for event in events}
    assert {"application.submitted", "application.taken", "application.rejected"} <= {
        event.action for event in events
    }


def test_the_person_filter_finds_events_by_name_without_accents(auditor_client, worked):
    _, agent = worked

    events = list(auditor_client.get(TRAIL, {"person": "kossi agbeko"}).context["cl"].result_list)

    assert events
    assert {event.actor_id for event in events} == {str(agent.pk)}


def test_the_csv_export_streams_the_filtered_events_with_names(auditor_client, worked):
    application, _ = worked

    response = auditor_client.get(f"{TRAIL}export.csv", {"reference": application.reference})

    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert response["Content-Type"].startswith("text/csv")
    assert rows[0][:4] == ["séquence", "date et heure", "code de l'action", "action"]
    sequences = [int(row[0]) for row in rows[1:]]
    assert sequences == sorted(sequences)
    assert {row[8] for row in rows[1:]} == {application.reference}
    assert any(row[3] == "Rejetée" and row[5] == "Kossi Agbéko (agent)" for row in rows[1:])
    with schema_context("agence_a"):
        assert audit_event_list().filter(action="audit.exported_csv").exists()


def test_the_signed_json_lines_export_is_beside_it(auditor_client, worked):
    response = auditor_client.get(f"{TRAIL}export.jsonl")

    lines = b"".join(response.streaming_content).decode().splitlines()
    trailer = json.loads(lines[-1])
    assert trailer["export"]["events"] == len(lines) - 1
    assert trailer["public_key"]


@pytest.mark.parametrize("path", ["export.csv", "export.jsonl"])
def test_exports_are_for_auditors_of_this_agency_only(
    client, staff_of, agency_a, agency_b, worked, path
):
    client.defaults["HTTP_HOST"] = HOST_A
    otp_login(client, staff_of(agency_a, Role.AGENT))
    agent = client.get(f"{TRAIL}{path}")
    client.logout()
    client.defaults["HTTP_HOST"] = HOST_B
    otp_login(client, staff_of(agency_b, Role.AUDITOR))
    other = client.get(f"{TRAIL}{path}", {"reference": worked[0].reference})

    body = b"".join(other.streaming_content).decode("utf-8-sig")
    assert agent.status_code == 403
    assert worked[0].reference not in body
    assert str(worked[0].pk) not in body


def test_the_trail_page_runs_a_fixed_number_of_queries(auditor_client, worked, in_state):
    auditor_client.get(TRAIL)  # warm the per-process caches (hosts, content types)
    with CaptureQueriesContext(connection) as few:
        auditor_client.get(TRAIL)
    for _ in range(5):
        in_state("submitted")
    with CaptureQueriesContext(connection) as many:
        auditor_client.get(TRAIL)

    # Names of the whole page: one query for people, one for references, whatever the rows.
    assert len(many) == len(few)
    assert len(many) <= 18, "\n".join(q["sql"][:150] for q in many.captured_queries)
