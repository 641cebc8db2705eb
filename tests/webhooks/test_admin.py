"""Agency administrators watch subscriptions and deliveries and can stop a subscription."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.audit.models import AuditEvent
from apps.webhooks.models import PartnerWebhookSubscription
from apps.webhooks.services import subscription_create
from tests.conftest import HOST_A
from tests.helpers import otp_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscription(partner):
    with schema_context("agence_a"):
        created, _ = subscription_create(
            partner_client_id=partner.client.pk,
            url="https://hooks.example.tg/a",
            events=["application.decided"],
        )
    return created


def _console(client, user):
    client.defaults["HTTP_HOST"] = HOST_A
    otp_login(client, user)
    return client


def test_admins_see_subscriptions_without_secrets_and_stop_them(
    client, agency_a, staff_of, subscription
):
    admin = staff_of(agency_a, Role.AGENCY_ADMIN)
    console = _console(client, admin)

    listing = console.get("/admin/webhooks/partnerwebhooksubscription/")
    detail = console.get(f"/admin/webhooks/partnerwebhooksubscription/{subscription.pk}/change/")
    deliveries = console.get("/admin/webhooks/webhookdelivery/")
    console.post(
        "/admin/webhooks/partnerwebhooksubscription/",
        {"action": "deactivate", ACTION_CHECKBOX_NAME: [str(subscription.pk)]},
    )

    assert listing.status_code == 200
    assert b"hooks.example.tg" in listing.content
    assert detail.status_code == 200
    assert subscription.secret_encrypted.encode() not in detail.content
    assert deliveries.status_code == 200
    with schema_context("agence_a"):
        assert not PartnerWebhookSubscription.objects.get(pk=subscription.pk).is_active
        event = AuditEvent.objects.get(action="webhook.subscription_deactivated")
    assert event.actor_id == str(admin.pk)


def test_agents_do_not_see_webhooks(client, agency_a, staff_of, subscription):
    console = _console(client, staff_of(agency_a, Role.AGENT))
    assert console.get("/admin/webhooks/partnerwebhooksubscription/").status_code == 403
    assert console.get("/admin/webhooks/webhookdelivery/").status_code == 403
