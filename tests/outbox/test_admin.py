"""Operators see dead letters in the console and re-queue them (audited); others do not."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.audit.models import AuditEvent
from apps.outbox.models import Kind, OutboxMessage, Status
from apps.outbox.services import outbox_enqueue, outbox_process
from tests.conftest import HOST_A, PUBLIC_HOST
from tests.helpers import otp_login

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/outbox/outboxmessage/"


@pytest.fixture
def console(client, agency_a, staff_of):
    """``console(role, host)`` -> a client signed in to that console."""

    def make(role: str | None = Role.AGENCY_ADMIN, host: str = HOST_A, user=None):
        user = user or staff_of(agency_a, role)
        client.defaults["HTTP_HOST"] = host
        otp_login(client, user)
        return client

    return make


def _dead(schema: str, fake_handler_kind) -> OutboxMessage:
    fake_handler_kind.failures = 1
    fake_handler_kind.permanent = True
    with schema_context(schema):
        message = outbox_enqueue(kind=Kind.DOCUMENT, payload={"job": "x"})
        outbox_process(message_id=message.pk)
        message.refresh_from_db()
    assert message.status == Status.DEAD
    return message


def test_agency_admins_see_dead_letters_and_requeue_them(console, fake_handler_kind, published):
    message = _dead("agence_a", fake_handler_kind)
    client = console(Role.AGENCY_ADMIN)

    listing = client.get(CHANGELIST, {"status": "dead"})
    detail = client.get(f"{CHANGELIST}{message.pk}/change/")
    response = client.post(
        CHANGELIST,
        {"action": "requeue_dead_letters", ACTION_CHECKBOX_NAME: [str(message.pk)]},
        follow=True,
    )

    assert listing.status_code == 200
    assert [m.pk for m in listing.context["cl"].result_list] == [message.pk]
    assert detail.status_code == 200
    assert b"boom" in detail.content
    assert response.status_code == 200
    with schema_context("agence_a"):
        message.refresh_from_db()
        event = AuditEvent.objects.get(action="outbox.requeued")
    assert message.status == Status.PENDING
    assert event.target_id == str(message.pk)
    assert event.actor_id == str(client.session["_auth_user_id"])


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR, Role.AUDITOR])
def test_other_roles_do_not_see_the_outbox(console, role):
    assert console(role).get(CHANGELIST).status_code == 403


def test_nobody_edits_or_deletes_messages(console, fake_handler_kind):
    message = _dead("agence_a", fake_handler_kind)
    client = console(Role.AGENCY_ADMIN)

    response = client.post(f"{CHANGELIST}{message.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    with schema_context("agence_a"):
        assert OutboxMessage.objects.filter(pk=message.pk).exists()
    assert client.get(f"{CHANGELIST}add/").status_code == 403


def test_platform_admins_see_the_platform_outbox(console, platform_admin, fake_handler_kind):
    public_message = _dead("public", fake_handler_kind)
    agency_message = _dead("agence_a", fake_handler_kind)
    client = console(host=PUBLIC_HOST, user=platform_admin)

    listing = client.get(CHANGELIST)

    assert listing.status_code == 200
    ids = [m.pk for m in listing.context["cl"].result_list]
    assert ids == [public_message.pk]
    assert agency_message.pk not in ids


def test_agency_b_console_shows_only_agency_b(console, agency_b, staff_of, fake_handler_kind):
    _dead("agence_a", fake_handler_kind)
    admin_b = staff_of(agency_b, Role.AGENCY_ADMIN)
    client = console(host="agence-b.localhost", user=admin_b)

    listing = client.get(CHANGELIST)

    assert listing.status_code == 200
    assert listing.context["cl"].result_count == 0


def test_the_platform_console_lists_only_what_the_public_schema_holds(console, platform_admin):
    client = console(host=PUBLIC_HOST, user=platform_admin)

    index = client.get("/admin/")

    assert index.status_code == 200
    assert b"/admin/outbox/outboxmessage/" in index.content
    for agency_only in (
        "/admin/webhooks/partnerwebhooksubscription/",
        "/admin/webhooks/webhookdelivery/",
        "/admin/certificates/certificate/",
    ):
        assert agency_only.encode() not in index.content
        assert client.get(agency_only).status_code == 403
