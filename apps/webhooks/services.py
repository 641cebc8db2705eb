"""Partner webhook subscriptions and events.

* ``subscription_create`` / ``subscription_rotate_secret`` / ``subscription_deactivate``: a
  partner manages its endpoints in one agency (audited; the secret is returned once).
* ``webhook_event_emit``: in the transaction of the change, one outbox message per active
  subscription to that event. The message holds the event's id, type, time and a small
  ``data`` dict of identifiers and statuses (no personal data); the body is built from it at
  delivery time, identical for every retry.
"""

from __future__ import annotations

import ipaddress
import socket
import uuid
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.services import audit_record
from apps.core.tenancy import current_schema
from apps.outbox.models import Kind
from apps.outbox.services import outbox_enqueue
from apps.webhooks.errors import SubscriptionExists, SubscriptionNotFound, SubscriptionURLInvalid
from apps.webhooks.models import Event, PartnerWebhookSubscription
from apps.webhooks.signing import secret_encrypt, secret_new

logger = structlog.get_logger(__name__)


# --- Endpoint safety -----------------------------------------------------------------------


def _insecure_allowed() -> bool:
    return bool(getattr(settings, "WEBHOOK_ALLOW_INSECURE_URLS", False))


def url_check(url: str) -> None:
    """Refuse endpoints we must not call: not https, or a literal private/loopback address.

    ``WEBHOOK_ALLOW_INSECURE_URLS`` (development and tests) lifts both rules.
    """
    parts = urlsplit(url)
    if _insecure_allowed():
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SubscriptionURLInvalid(errors={"url": [_("Use an http or https URL.")]})
        return
    if parts.scheme != "https" or not parts.hostname:
        raise SubscriptionURLInvalid(errors={"url": [_("Use an https URL.")]})
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return
    if not address.is_global:
        raise SubscriptionURLInvalid(errors={"url": [_("This address is not reachable.")]})


def url_resolves_publicly(url: str) -> bool:
    """At delivery: every address the host resolves to is public (no internal targets)."""
    if _insecure_allowed():
        return True
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return True  # the connection will fail and be retried like any network error
    return all(ipaddress.ip_address(info[4][0]).is_global for info in infos)


# --- Subscriptions -------------------------------------------------------------------------


def _clean_events(events: list[str]) -> list[str]:
    return sorted({Event(event).value for event in events})


@transaction.atomic
def subscription_create(
    *, partner_client_id: UUID, url: str, events: list[str]
) -> tuple[PartnerWebhookSubscription, str]:
    """Subscribe a partner client to events of the current agency.

    Returns the subscription and its signing secret in clear: the only time it is shown.
    """
    url_check(url)
    secret = secret_new()
    subscription = PartnerWebhookSubscription(
        partner_client_id=partner_client_id,
        url=url,
        events=_clean_events(events),
        secret_encrypted=secret_encrypt(secret),
    )
    try:
        with transaction.atomic():
            subscription.save(force_insert=True)
    except IntegrityError:
        raise SubscriptionExists() from None
    audit_record(
        action="webhook.subscription_created",
        target_type="webhook_subscription",
        target_id=subscription.pk,
        changes={
            "url": {"old": None, "new": url},
            "events": {"old": None, "new": subscription.events},
        },
    )
    return subscription, secret


def _lock(*, partner_client_id: UUID, subscription_id: UUID) -> PartnerWebhookSubscription:
    subscription = (
        PartnerWebhookSubscription.objects.select_for_update()
        .filter(pk=subscription_id, partner_client_id=partner_client_id, is_active=True)
        .first()
    )
    if subscription is None:
        raise SubscriptionNotFound()
    return subscription


@transaction.atomic
def subscription_rotate_secret(
    *, partner_client_id: UUID, subscription_id: UUID
) -> tuple[PartnerWebhookSubscription, str]:
    """Replace a subscription's secret; the new one is returned (shown once)."""
    subscription = _lock(partner_client_id=partner_client_id, subscription_id=subscription_id)
    secret = secret_new()
    subscription.secret_encrypted = secret_encrypt(secret)
    subscription.updated_at = timezone.now()
    subscription.save(update_fields=["secret_encrypted", "updated_at"])
    audit_record(
        action="webhook.secret_rotated",
        target_type="webhook_subscription",
        target_id=subscription.pk,
        changes={"secret": {"old": "[redacted]", "new": "[redacted]"}},
    )
    return subscription, secret


@transaction.atomic
def subscription_deactivate(*, partner_client_id: UUID, subscription_id: UUID) -> None:
    """Stop deliveries to a subscription (its delivery log is kept)."""
    subscription = _lock(partner_client_id=partner_client_id, subscription_id=subscription_id)
    subscription.is_active = False
    subscription.updated_at = timezone.now()
    subscription.save(update_fields=["is_active", "updated_at"])
    audit_record(
        action="webhook.subscription_deactivated",
        target_type="webhook_subscription",
        target_id=subscription.pk,
        changes={"is_active": {"old": True, "new": False}},
    )


# --- Events --------------------------------------------------------------------------------


def webhook_subscriptions_for(event: str) -> list[Any]:
    """The ids of the current agency's active subscriptions to ``event`` (one query)."""
    return list(
        PartnerWebhookSubscription.objects.filter(
            is_active=True, events__contains=[Event(event).value]
        ).values_list("pk", flat=True)
    )


def webhook_event_emit(
    *, event: str, data: dict[str, Any], subscriptions: list[Any] | None = None
) -> int:
    """Queue ``event`` for every active subscription to it in the current agency.

    Call it inside the transaction of the change. ``data`` holds identifiers and statuses
    only. ``subscriptions`` (from ``webhook_subscriptions_for``), when the caller read them
    already, saves the query. Returns how many deliveries were queued.
    """
    event = Event(event).value
    if subscriptions is None:
        subscriptions = webhook_subscriptions_for(event)
    if not subscriptions:
        return 0
    event_id = str(uuid.uuid4())
    occurred_at = timezone.now().isoformat()
    for subscription_id in subscriptions:
        outbox_enqueue(
            kind=Kind.WEBHOOK,
            payload={
                "subscription_id": str(subscription_id),
                "event_id": event_id,
                "event": event,
                "occurred_at": occurred_at,
                "agency_schema": current_schema(),
                "data": data,
            },
        )
    logger.info("webhook_event_queued", webhook_event=event, subscriptions=len(subscriptions))
    return len(subscriptions)
