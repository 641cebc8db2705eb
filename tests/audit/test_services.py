"""Coverage plumbing: redaction by declared fields, access events, denied attempts."""

from __future__ import annotations

import pytest
import structlog
from django.db import transaction
from django_tenants.utils import schema_context

from apps.accounts.models import Membership, Role, User
from apps.audit.models import AuditEvent
from apps.audit.services import (
    REDACTED,
    audit_access,
    audit_changes_for,
    audit_denied,
    audit_record,
    audit_snapshot,
    redacted_fields,
)
from apps.core.context import WorkContext, bind_actor, set_context
from tests.conftest import HOST_A
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_changes_for_a_model_redact_its_declared_personal_fields():
    user = UserFactory(email="avant@example.tg", first_name="Afi", preferred_language="fr")
    before = audit_snapshot(user, ["email", "first_name", "preferred_language"])
    user.email, user.first_name, user.preferred_language = "apres@example.tg", "Ama", "en"

    changes = audit_changes_for(before, user, ["email", "first_name", "preferred_language"])

    assert redacted_fields(User) == User.AUDIT_REDACTED_FIELDS
    assert changes == {
        "email": {"old": REDACTED, "new": REDACTED},
        "first_name": {"old": REDACTED, "new": REDACTED},
        "preferred_language": {"old": "fr", "new": "en"},
    }


def test_changes_for_a_creation_and_from_an_instance_copy(agency_a):
    user = UserFactory()
    membership = Membership.objects.create(user=user, agency=agency_a, role=Role.AGENT)
    earlier = Membership.objects.get(pk=membership.pk)
    membership.role = Role.AUDITOR

    created = audit_changes_for(None, membership, ["role", "agency", "is_active"])
    changed = audit_changes_for(earlier, membership)

    assert created == {
        "agency": {"old": None, "new": str(agency_a.pk)},
        "is_active": {"old": None, "new": True},
        "role": {"old": None, "new": "auditor"},
    }
    assert changed == {"role": {"old": "agent", "new": "auditor"}}
    assert redacted_fields(membership) == frozenset()


def test_access_events_name_the_fields_and_the_purpose(agency_a):
    set_context(WorkContext(request_id="req-access-1", ip="10.1.2.3", user_agent="console"))
    bind_actor(actor_type="user", actor_id="staff-1", actor_role="agent")

    with schema_context(agency_a.schema_name):
        event = audit_access(
            target_type="application",
            target_id="app-1",
            fields=["phone", "birth_date", "phone"],
            purpose="review",
        )
        bare = audit_access(target_type="application", target_id="app-2")
        assert AuditEvent.objects.filter(pk__in=[event.pk, bare.pk]).count() == 2

    assert (event.action, event.outcome) == ("access.read", "success")
    assert event.agency_schema == "agence_a"
    assert event.changes == {"fields": ["birth_date", "phone"], "purpose": "review"}
    assert (event.actor_id, event.actor_role, event.ip) == ("staff-1", "agent", "10.1.2.3")
    assert bare.changes == {}


def test_denied_events_go_to_the_platform_trail_once_per_request(agency_a):
    set_context(WorkContext(request_id="req-denied-1"))

    with schema_context(agency_a.schema_name):
        first = audit_denied(status=404, method="GET", path="/api/v1/x/", target_type="app")
        again = audit_denied(status=403, method="GET", path="/api/v1/x/")

    assert first is not None
    assert again is None
    assert first.agency_schema == "public"
    assert first.target_type == "app"
    assert first.changes == {
        "status": 404,
        "method": "GET",
        "path": "/api/v1/x/",
        "agency": "agence_a",
    }
    assert AuditEvent.objects.filter(request_id="req-denied-1").count() == 1


def test_a_service_denied_event_is_not_recorded_twice(api, citizen):
    response = api().post("/api/v1/auth/token/", {"login": citizen.email, "password": "wrong"})

    assert response.status_code == 401
    request_id = response["X-Request-ID"]
    recorded = AuditEvent.objects.filter(request_id=request_id)
    assert list(recorded.values_list("action", flat=True)) == ["auth.login"]


def test_a_rolled_back_service_denied_event_does_not_hide_the_attempt():
    set_context(WorkContext(request_id="req-denied-2"))
    with transaction.atomic():
        sid = transaction.savepoint()
        audit_record(action="auth.login", outcome="denied", platform=True)
        transaction.savepoint_rollback(sid)  # the service's transaction failed after recording

    event = audit_denied(status=401, method="POST", path="/api/v1/auth/token/")

    assert event is not None
    assert list(
        AuditEvent.objects.filter(request_id="req-denied-2").values_list("action", flat=True)
    ) == ["access.denied"]


@pytest.mark.parametrize(
    ("path", "token_kind", "status"),
    [
        ("/api/v1/audit/events/", None, 401),
        ("/api/v1/audit/events/", "citizen", 403),
        ("/api/v1/staff/me/", "garbage", 401),
    ],
)
def test_401_and_403_answers_are_recorded_as_denied(api, citizen, tokens, path, token_kind, status):
    token = {None: None, "citizen": tokens(citizen).access, "garbage": "not.a.token"}[token_kind]

    response = api(HOST_A, token).get(f"{path}?secret=should-not-be-kept")

    assert response.status_code == status
    event = AuditEvent.objects.get(request_id=response["X-Request-ID"])
    assert (event.action, event.outcome) == ("access.denied", "denied")
    assert event.agency_schema == "public"
    assert event.changes == {
        "status": status,
        "method": "GET",
        "path": path,
        "agency": "agence_a",
        "code": response.json()["code"],
    }
    if token_kind == "citizen":
        assert (event.actor_type, event.actor_id) == ("user", str(citizen.id))


def test_an_audit_failure_never_turns_a_401_into_a_500(api, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr("apps.audit.services.audit_record", broken)
    with structlog.testing.capture_logs() as logs:
        response = api(HOST_A).get("/api/v1/audit/events/")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert [log["event"] for log in logs if log["log_level"] == "error"] == [
        "audit_denied_not_recorded"
    ]


def test_the_system_is_the_actor_outside_requests():
    set_context(None)

    event = audit_record(action="nightly.job")

    assert (event.actor_type, event.actor_id) == ("system", "system")
