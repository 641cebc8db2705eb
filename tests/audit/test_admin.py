"""The console shows the trail read-only to the agency's auditors and administrators."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib import admin
from django_tenants.utils import schema_context

from apps.accounts.models import Membership, Role
from apps.audit.admin import AuditedAdminMixin
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.core.context import bind_actor, set_context, system_context
from tests.conftest import HOST_A, HOST_B, PUBLIC_HOST
from tests.factories import PASSWORD, UserFactory
from tests.helpers import console_sign_in

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/audit/auditevent/"


def _signed_in(client, host, user):
    client.defaults["HTTP_HOST"] = host
    response = console_sign_in(client, user.email, PASSWORD, user=user)
    assert response.status_code == 302, "could not sign in"
    return client


@pytest.fixture
def events_a(agency_a):
    set_context(system_context("test"))
    bind_actor(actor_type="user", actor_id="agent-42", actor_role="agent")
    with schema_context("agence_a"):
        return [
            audit_record(action="application.approved", target_type="application", target_id="A-1"),
            audit_record(action="application.rejected", target_type="application", target_id="A-2"),
            audit_record(action="access.read", target_type="application", target_id="A-1"),
        ]


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.AUDITOR, 200), (Role.AGENCY_ADMIN, 200), (Role.AGENT, 403), (Role.SUPERVISOR, 403)],
)
def test_only_auditors_and_agency_admins_see_the_trail(client, staff_of, agency_a, role, status):
    _signed_in(client, HOST_A, staff_of(agency_a, role))

    assert client.get(CHANGELIST).status_code == status
    assert client.get("/admin/audit/auditcheckpoint/").status_code == status
    index = client.get("/admin/").content.decode()
    assert ("/admin/audit/auditevent/" in index) is (status == 200)


def test_nobody_adds_changes_or_deletes(client, staff_of, agency_a, events_a):
    _signed_in(client, HOST_A, staff_of(agency_a, Role.AGENCY_ADMIN))
    event = events_a[0]

    assert client.get(f"{CHANGELIST}add/").status_code == 403
    detail = client.get(f"{CHANGELIST}{event.pk}/change/")
    assert detail.status_code == 200  # read-only view
    assert b'name="action"' not in detail.content
    assert client.post(f"{CHANGELIST}{event.pk}/change/", {"action": "x"}).status_code == 403
    assert client.post(f"{CHANGELIST}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    with schema_context("agence_a"):
        event.refresh_from_db()
    assert event.action == "application.approved"


def test_filters_by_actor_target_action_outcome_and_date(client, staff_of, agency_a, events_a):
    _signed_in(client, HOST_A, staff_of(agency_a, Role.AUDITOR))

    def listed(**params):
        response = client.get(CHANGELIST, params)
        assert response.status_code == 200
        return {e.pk for e in response.context["cl"].result_list} & {e.pk for e in events_a}

    everything = {e.pk for e in events_a}
    assert listed(actor="agent-42") == everything
    assert listed(actor="someone-else") == set()
    assert listed(target="A-1") == {events_a[0].pk, events_a[2].pk}
    assert listed(action="application.rejected") == {events_a[1].pk}
    assert listed(outcome="success", target_type="application") == everything
    assert listed(outcome="denied") == set()
    assert listed(**{"occurred_at__gte": "2000-01-01T00:00:00+00:00"}) == everything
    page = client.get(CHANGELIST, {"target": "A-1"}).content.decode()
    assert 'name="target" value="A-1"' in page  # the text filter keeps its value


def test_the_agency_b_auditor_cannot_reach_agency_a_trail(client, staff_of, agency_a, agency_b):
    auditor_b = staff_of(agency_b, Role.AUDITOR)
    client.defaults["HTTP_HOST"] = HOST_A
    refused = client.post(
        "/admin/login/?next=/admin/", {"username": auditor_b.email, "password": PASSWORD}
    )

    assert refused.status_code == 200  # the form again: not a member here
    assert client.get(CHANGELIST).status_code == 302


def test_agency_b_console_lists_only_its_own_events(client, staff_of, agency_b, events_a):
    _signed_in(client, HOST_B, staff_of(agency_b, Role.AUDITOR))

    response = client.get(CHANGELIST, {"target": "A-1"})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []


def test_platform_admins_read_the_platform_trail(client, platform_admin):
    audit_record(action="platform.thing", platform=True)
    _signed_in(client, PUBLIC_HOST, platform_admin)

    response = client.get(CHANGELIST, {"action": "platform.thing"})

    assert response.status_code == 200
    assert [e.action for e in response.context["cl"].result_list] == ["platform.thing"]
    assert client.get(f"{CHANGELIST}add/").status_code == 403


class _MembershipAdmin(AuditedAdminMixin, admin.ModelAdmin):
    pass


def test_audited_admin_mixin_records_console_changes(rf, platform_admin, agency_a):
    model_admin = _MembershipAdmin(Membership, admin.site)
    request = rf.post("/admin/accounts/membership/")
    request.user = platform_admin
    person = UserFactory()
    membership = Membership(user=person, agency=agency_a, role=Role.AGENT)

    model_admin.save_model(
        request, membership, SimpleNamespace(changed_data=["role"], initial={}), False
    )
    membership.role = Role.AUDITOR
    changed_form = SimpleNamespace(changed_data=["role", "tags"], initial={"role": "agent"})
    model_admin.save_model(request, membership, changed_form, True)
    model_admin.save_model(request, membership, SimpleNamespace(changed_data=[], initial={}), True)
    pk = membership.pk
    model_admin.delete_queryset(request, Membership.objects.filter(pk=pk))

    events = list(AuditEvent.objects.filter(target_id=str(pk)).order_by("sequence"))
    assert [e.action for e in events] == [
        "accounts.membership.admin_added",
        "accounts.membership.admin_changed",
        "accounts.membership.admin_deleted",
    ]
    assert events[0].changes["role"] == {"old": None, "new": "agent"}
    assert events[1].changes == {
        "role": {"old": "agent", "new": "auditor"},
        "tags": {"old": None, "new": "[changed]"},
    }
    assert {(e.actor_id, e.actor_role) for e in events} == {
        (str(platform_admin.pk), "platform_admin")
    }
    assert not Membership.objects.filter(pk=pk).exists()
