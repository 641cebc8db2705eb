"""audit_record writes to the right trail with the work context."""

from __future__ import annotations

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from apps.audit.models import AuditEvent
from apps.audit.services import audit_changes, audit_record
from apps.core.context import WorkContext, bind_actor, set_context

pytestmark = pytest.mark.django_db


def test_event_goes_to_the_current_agency_with_the_context(agency_a):
    set_context(WorkContext(request_id="req-123456", ip="10.0.0.1", user_agent="curl"))
    bind_actor(actor_type="user", actor_id="u-1", actor_role="agent")

    with schema_context(agency_a.schema_name):
        event = audit_record(action="thing.done", target_type="thing", target_id=42)
        assert AuditEvent.objects.filter(pk=event.pk).exists()
    assert not AuditEvent.objects.filter(pk=event.pk).exists()  # not in the public trail
    assert event.agency_schema == "agence_a"
    assert (event.actor_type, event.actor_id, event.actor_role) == ("user", "u-1", "agent")
    assert (event.ip, event.user_agent, event.request_id) == ("10.0.0.1", "curl", "req-123456")
    assert event.target_id == "42"


def test_platform_events_go_to_the_public_trail_from_any_agency(agency_a):
    with schema_context(agency_a.schema_name):
        event = audit_record(action="platform.thing", platform=True)
        assert connection.schema_name == "agence_a"
        assert not AuditEvent.objects.filter(pk=event.pk).exists()
    assert AuditEvent.objects.filter(pk=event.pk, agency_schema="public").exists()


def test_without_a_request_the_actor_is_the_system():
    event = audit_record(action="nightly.job")

    assert event.actor_type == "system"
    assert event.request_id


def test_changes_keep_field_names_but_redact_personal_values():
    changes = audit_changes(
        before={"email": "a@x.tg", "status": "draft", "same": 1, "when": None},
        after={"email": "b@x.tg", "status": "submitted", "same": 1, "when": object},
        redact={"email"},
    )

    assert changes["email"] == {"old": "[redacted]", "new": "[redacted]"}
    assert changes["status"] == {"old": "draft", "new": "submitted"}
    assert "same" not in changes
    assert isinstance(changes["when"]["new"], str)
