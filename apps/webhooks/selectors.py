"""Reads of webhook subscriptions and deliveries (a partner sees only its own)."""

from __future__ import annotations

from uuid import UUID

from django.db.models import QuerySet

from apps.webhooks.models import PartnerWebhookSubscription, WebhookDelivery


def subscription_list_for_partner(
    *, partner_client_id: UUID
) -> QuerySet[PartnerWebhookSubscription]:
    """A partner's active subscriptions in the current agency, newest first."""
    return PartnerWebhookSubscription.objects.filter(
        partner_client_id=partner_client_id, is_active=True
    ).order_by("-created_at", "id")


def subscription_get_for_partner(
    *, partner_client_id: UUID, subscription_id: UUID
) -> PartnerWebhookSubscription | None:
    """One of the partner's active subscriptions, or None (someone else's is None too)."""
    return (
        subscription_list_for_partner(partner_client_id=partner_client_id)
        .filter(pk=subscription_id)
        .first()
    )


def delivery_list(*, subscription_id: UUID) -> QuerySet[WebhookDelivery]:
    """The delivery log of a subscription, newest first."""
    return WebhookDelivery.objects.filter(subscription_id=subscription_id).order_by(
        "-attempted_at", "id"
    )
