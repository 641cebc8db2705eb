"""Partners manage their webhook subscriptions in an agency (scope webhooks:manage)."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from apps.accounts.models import Role
from apps.accounts.tokens import TokenKind
from apps.audit.models import AuditEvent
from apps.webhooks.models import PartnerWebhookSubscription, WebhookDelivery
from apps.webhooks.signing import secret_decrypt
from tests.conftest import HOST_A, HOST_B
from tests.helpers import assert_problem
from tests.webhooks.conftest import subscription_body

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/subscriptions/"


def _create(api, partner, **body):
    return api(HOST_A, partner.token).post(URL, subscription_body(**body), format="json")


def test_a_partner_subscribes_and_sees_the_secret_once(api, partner):
    response = _create(api, partner)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["url"] == "https://hooks.example.tg/guichet"
    assert body["events"] == ["application.submitted", "certificate.issued"]
    assert body["secret"].startswith("whsec_")
    with schema_context("agence_a"):
        stored = PartnerWebhookSubscription.objects.get(pk=body["id"])
        event = AuditEvent.objects.get(action="webhook.subscription_created")
    assert stored.partner_client_id == partner.client.pk
    assert body["secret"] not in stored.secret_encrypted
    assert secret_decrypt(stored.secret_encrypted) == body["secret"]
    assert event.target_id == body["id"]
    assert event.actor_type == "partner"

    listed = api(HOST_A, partner.token).get(URL).json()["results"]
    detail = api(HOST_A, partner.token).get(f"{URL}{body['id']}/").json()
    assert [item["id"] for item in listed] == [body["id"]]
    assert "secret" not in listed[0]
    assert "secret" not in detail


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"url": "not a url"}, "url", "validation_failed"),
        ({"events": []}, "events", "validation_failed"),
        ({"events": ["application.viewed"]}, "events", "validation_failed"),
        ({"color": "blue"}, "color", "unknown_field"),
    ],
)
def test_invalid_subscriptions_are_refused(api, partner, body, field, code):
    response = api(HOST_A, partner.token).post(URL, {**subscription_body(), **body}, format="json")

    problem = assert_problem(response, 400, code)
    assert any(key.split(".")[0] == field for key in problem["errors"])
    with schema_context("agence_a"):
        assert not PartnerWebhookSubscription.objects.exists()


def test_insecure_endpoints_are_refused_in_production(api, partner, settings):
    settings.WEBHOOK_ALLOW_INSECURE_URLS = False

    plain = _create(api, partner, url="http://hooks.example.tg/x")
    loopback = _create(api, partner, url="https://127.0.0.1/x")
    private = _create(api, partner, url="https://10.0.0.5/x")

    for response in (plain, loopback, private):
        assert_problem(response, 400, "webhook_url_invalid")
    assert _create(api, partner, url="https://hooks.example.tg/x").status_code == 201


def test_one_active_subscription_per_url(api, partner):
    assert _create(api, partner).status_code == 201
    assert_problem(_create(api, partner), 409, "webhook_subscription_exists")


def test_partners_only_see_their_own_subscriptions(api, partner, other_partner):
    mine = _create(api, partner).json()
    _create(api, other_partner, url="https://other.example.tg/hook")

    listed = api(HOST_A, other_partner.token).get(URL).json()["results"]
    assert mine["id"] not in [item["id"] for item in listed]
    for method, path in (
        ("get", f"{URL}{mine['id']}/"),
        ("delete", f"{URL}{mine['id']}/"),
        ("post", f"{URL}{mine['id']}/rotate-secret/"),
        ("get", f"{URL}{mine['id']}/deliveries/"),
    ):
        response = getattr(api(HOST_A, other_partner.token), method)(path)
        assert_problem(response, 404, "webhook_subscription_not_found")
    with schema_context("agence_a"):
        assert PartnerWebhookSubscription.objects.get(pk=mine["id"]).is_active


def test_deleting_stops_the_subscription_and_keeps_the_log(api, partner):
    created = _create(api, partner).json()

    response = api(HOST_A, partner.token).delete(f"{URL}{created['id']}/")

    assert response.status_code == 204
    with schema_context("agence_a"):
        assert not PartnerWebhookSubscription.objects.get(pk=created["id"]).is_active
        assert AuditEvent.objects.filter(action="webhook.subscription_deactivated").count() == 1
    assert api(HOST_A, partner.token).get(URL).json()["results"] == []
    assert _create(api, partner).status_code == 201  # the URL can be subscribed again


def test_rotating_the_secret_returns_a_new_one(api, partner):
    created = _create(api, partner).json()

    response = api(HOST_A, partner.token).post(f"{URL}{created['id']}/rotate-secret/")

    assert response.status_code == 200
    assert response.json()["secret"] != created["secret"]
    with schema_context("agence_a"):
        stored = PartnerWebhookSubscription.objects.get(pk=created["id"])
        assert secret_decrypt(stored.secret_encrypted) == response.json()["secret"]
        assert AuditEvent.objects.filter(action="webhook.secret_rotated").count() == 1


def test_the_delivery_log_is_listed_newest_first(api, partner, django_assert_max_num_queries):
    created = _create(api, partner).json()
    with schema_context("agence_a"):
        subscription = PartnerWebhookSubscription.objects.get(pk=created["id"])
        for attempt in range(1, 4):
            WebhookDelivery.objects.create(
                subscription=subscription,
                event_id="0b9c8a3e-5f1e-4a4e-9a51-3f6c2f3b8d11",
                event="application.submitted",
                attempt=attempt,
                outbox_message_id="1b9c8a3e-5f1e-4a4e-9a51-3f6c2f3b8d11",
                response_status=500 if attempt < 3 else 200,
                duration_ms=12,
                is_success=attempt == 3,
            )

    client = api(HOST_A, partner.token)
    with django_assert_max_num_queries(8):
        response = client.get(f"{URL}{created['id']}/deliveries/")

    results = response.json()["results"]
    assert [item["attempt"] for item in results] == [3, 2, 1]
    assert results[0]["response_status"] == 200
    assert results[0]["is_success"] is True


def test_who_may_manage_subscriptions(
    api, partner, unscoped_partner, partner_of_b, citizen, staff_of, agency_a, tokens
):
    admin = staff_of(agency_a, Role.AGENCY_ADMIN)
    callers = {
        "anonymous": (None, 401),
        "citizen": (tokens(citizen).access, 403),
        "agency admin": (
            tokens(admin, TokenKind.STAFF, agency=agency_a, role=Role.AGENCY_ADMIN).access,
            403,
        ),
        "partner without the scope": (unscoped_partner.token, 403),
        "partner of agency B": (partner_of_b.token, 401),  # its token is refused on A's host
        "partner with the scope": (partner.token, 200),
    }
    for name, (token, expected) in callers.items():
        response = api(HOST_A, token).get(URL)
        assert response.status_code == expected, name


def test_agency_b_never_sees_agency_a_subscriptions(api, partner, partner_of_b):
    created = _create(api, partner).json()

    listed = api(HOST_B, partner_of_b.token).get(URL).json()["results"]
    detail = api(HOST_B, partner_of_b.token).get(f"{URL}{created['id']}/")

    assert listed == []
    assert_problem(detail, 404, "webhook_subscription_not_found")
    with schema_context("agence_b"):
        assert not PartnerWebhookSubscription.objects.exists()
