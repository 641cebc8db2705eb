"""Signed deliveries to a real loopback receiver: success, 500s and hangs, then dead letters."""

from __future__ import annotations

import json
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.certificates.signing import b64url_decode
from apps.outbox.models import OutboxMessage, Status
from apps.outbox.services import outbox_process
from apps.webhooks.models import PartnerWebhookSubscription, WebhookDelivery
from apps.webhooks.services import subscription_create, webhook_event_emit
from apps.webhooks.signing import key_signature_verify, signature_verify
from tests.outbox.builders import http_receiver

pytestmark = pytest.mark.django_db

DATA = {"application_id": "7c1d0c5e-3a3b-4d7e-9a0e-2b1f4f7d8a11", "status": "approved"}


def _subscribe(partner, url: str, events=("application.decided",)):
    with schema_context("agence_a"):
        return subscription_create(
            partner_client_id=partner.client.pk, url=url, events=list(events)
        )


def _emit(event: str = "application.decided") -> list[OutboxMessage]:
    with schema_context("agence_a"):
        webhook_event_emit(event=event, data=DATA)
        return list(OutboxMessage.objects.filter(kind="webhook").order_by("created_at"))


def _attempt(message: OutboxMessage) -> str:
    with schema_context("agence_a"):
        OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
        return outbox_process(message_id=message.pk).status


def _deliveries() -> list[WebhookDelivery]:
    with schema_context("agence_a"):
        return list(WebhookDelivery.objects.order_by("attempt"))


def test_a_delivery_is_signed_and_logged(partner, api):
    with http_receiver(status=200) as receiver:
        subscription, secret = _subscribe(partner, receiver.url)
        [message] = _emit()
        outcome = _attempt(message)
        again = _attempt(message)

    assert outcome == Status.SENT
    assert again == Status.SENT
    [request] = receiver.requests  # delivered once
    body = json.loads(request.body)
    assert body["type"] == "application.decided"
    assert body["agency"] == "agence-a"
    assert body["data"] == DATA
    assert request.headers["Guichet-Event"] == "application.decided"
    assert request.headers["Guichet-Event-Id"] == body["id"] == message.payload["event_id"]
    assert signature_verify(
        header=request.headers["Guichet-Signature"], body=request.body, secret=secret
    )
    # The platform key's signature, checked with the key published under its kid.
    key_header = request.headers["Guichet-Signature-Ed25519"]
    kid = dict(part.split("=", 1) for part in key_header.split(","))["kid"]
    published = api().get("/.well-known/webhook-keys.json").json()["keys"]
    [jwk] = [key for key in published if key["kid"] == kid]
    public = Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
    assert key_signature_verify(header=key_header, body=request.body, public_key=public)
    assert not key_signature_verify(header=key_header, body=request.body + b" ", public_key=public)
    assert key_header.split(",")[0] == request.headers["Guichet-Signature"].split(",")[0]
    [delivery] = _deliveries()
    assert delivery.is_success
    assert delivery.response_status == 200
    assert delivery.attempt == 1
    assert str(delivery.event_id) == body["id"]
    assert delivery.subscription_id == subscription.pk


def test_an_endpoint_answering_500_is_retried_then_dead_lettered(partner, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    with http_receiver(status=500) as receiver:
        _subscribe(partner, receiver.url)
        [message] = _emit()
        outcomes = [_attempt(message) for _ in range(4)]

    assert outcomes == [Status.PENDING, Status.PENDING, Status.DEAD, Status.DEAD]
    assert len(receiver.requests) == 3
    ids = {r.headers["Guichet-Event-Id"] for r in receiver.requests}
    bodies = {r.body for r in receiver.requests}
    assert len(ids) == 1  # every retry is the same event with the same body
    assert len(bodies) == 1
    deliveries = _deliveries()
    assert [d.attempt for d in deliveries] == [1, 2, 3]
    assert {d.response_status for d in deliveries} == {500}
    assert not any(d.is_success for d in deliveries)
    with schema_context("agence_a"):
        row = OutboxMessage.objects.get(pk=message.pk)
    assert row.status == Status.DEAD
    assert "500" in row.last_error


def test_a_hanging_endpoint_times_out_and_is_retried(partner, settings):
    settings.WEBHOOK_READ_TIMEOUT = 0.3
    with http_receiver(status=200, hang=3) as receiver:
        _subscribe(partner, receiver.url)
        [message] = _emit()
        started = time.monotonic()
        outcome = _attempt(message)
        elapsed = time.monotonic() - started

    assert outcome == Status.PENDING
    assert elapsed < 1.5  # bounded by the read timeout, not by the endpoint
    [delivery] = _deliveries()
    assert delivery.response_status is None
    assert "timeout" in delivery.error
    assert delivery.duration_ms >= 250


def test_the_endpoint_recovering_delivers_exactly_once(partner):
    with http_receiver(status=503) as receiver:
        _subscribe(partner, receiver.url)
        [message] = _emit()
        assert _attempt(message) == Status.PENDING
        receiver.status = 204
        assert _attempt(message) == Status.SENT
        assert _attempt(message) == Status.SENT

    assert len(receiver.requests) == 2
    assert [d.is_success for d in _deliveries()] == [False, True]


def test_events_go_only_to_subscriptions_that_asked_for_them(partner, other_partner, agency_b):
    _subscribe(partner, "http://127.0.0.1:9/a", events=["application.decided"])
    _subscribe(other_partner, "http://127.0.0.1:9/b", events=["certificate.issued"])
    stopped, _ = _subscribe(other_partner, "http://127.0.0.1:9/c", events=["application.decided"])
    with schema_context("agence_a"):
        PartnerWebhookSubscription.objects.filter(pk=stopped.pk).update(is_active=False)

    messages = _emit("application.decided")

    assert len(messages) == 1
    assert messages[0].payload["subscription_id"] != str(stopped.pk)
    with schema_context("agence_b"):
        assert webhook_event_emit(event="application.decided", data=DATA) == 0


def test_a_subscription_stopped_before_delivery_is_skipped(partner):
    with http_receiver(status=200) as receiver:
        subscription, _ = _subscribe(partner, receiver.url)
        [message] = _emit()
        with schema_context("agence_a"):
            PartnerWebhookSubscription.objects.filter(pk=subscription.pk).update(is_active=False)
        assert _attempt(message) == Status.SENT
    assert receiver.requests == []


def test_a_private_address_is_never_called_in_production(partner, settings):
    with http_receiver(status=200) as receiver:
        _subscribe(partner, receiver.url)  # allowed in tests at subscription time
        [message] = _emit()
        settings.WEBHOOK_ALLOW_INSECURE_URLS = False
        outcome = _attempt(message)

    assert outcome == Status.DEAD  # permanent: retrying cannot make 127.0.0.1 public
    assert receiver.requests == []
    assert _deliveries()[0].error == "private address"


def test_unknown_events_are_refused():
    with pytest.raises(ValueError, match=r"application\.viewed"):
        webhook_event_emit(event="application.viewed", data={})


def test_only_web_urls_even_when_insecure_ones_are_allowed():
    from apps.webhooks.errors import SubscriptionURLInvalid
    from apps.webhooks.services import url_check

    with pytest.raises(SubscriptionURLInvalid):
        url_check("ftp://127.0.0.1/x")
    url_check("http://127.0.0.1/x")


def test_a_host_that_does_not_resolve_is_left_to_the_connection(settings):
    from apps.webhooks.services import url_resolves_publicly

    settings.WEBHOOK_ALLOW_INSECURE_URLS = False
    assert url_resolves_publicly("https://no-such-host.invalid/hook")
    assert not url_resolves_publicly("https://localhost/hook")


def test_webhook_secrets_need_the_platform_key(settings):
    from django.core.exceptions import ImproperlyConfigured

    from apps.webhooks.signing import secret_encrypt

    settings.WEBHOOK_SECRET_KEY = ""
    with pytest.raises(ImproperlyConfigured):
        secret_encrypt("whsec_x")


def test_deliveries_and_subscriptions_describe_themselves(partner):
    subscription, _ = _subscribe(partner, "http://127.0.0.1:9/x")
    delivery = WebhookDelivery(
        subscription=subscription, event="application.decided", attempt=2, response_status=500
    )
    assert str(subscription) == "http://127.0.0.1:9/x (application.decided)"
    assert str(delivery) == "application.decided #2: 500"
