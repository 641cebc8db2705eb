"""Webhook subscription API serializers."""

from __future__ import annotations

from rest_framework import serializers

from apps.core.serializers import StrictInputSerializer
from apps.webhooks.models import Event, PartnerWebhookSubscription, WebhookDelivery


class WebhookSubscriptionInputSerializer(StrictInputSerializer):
    """Where to send which events."""

    url = serializers.URLField(max_length=500, help_text="https endpoint receiving POSTs.")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=Event.choices), min_length=1, max_length=10
    )


class WebhookSubscriptionOutputSerializer(serializers.ModelSerializer):
    """A subscription (its secret is never shown again)."""

    class Meta:
        model = PartnerWebhookSubscription
        fields: tuple[str, ...] = ("id", "url", "events", "is_active", "created_at", "updated_at")
        read_only_fields: tuple[str, ...] = fields


class WebhookSubscriptionSecretOutputSerializer(WebhookSubscriptionOutputSerializer):
    """A subscription with its signing secret: only in the answer that creates it."""

    secret = serializers.SerializerMethodField(
        help_text="Signing secret (HMAC-SHA256). Shown once: store it now."
    )

    class Meta(WebhookSubscriptionOutputSerializer.Meta):
        fields = (*WebhookSubscriptionOutputSerializer.Meta.fields, "secret")
        read_only_fields = fields

    def get_secret(self, obj: PartnerWebhookSubscription) -> str:
        return str(self.context["secret"])


class WebhookDeliveryOutputSerializer(serializers.ModelSerializer):
    """One delivery attempt and what the endpoint answered."""

    class Meta:
        model = WebhookDelivery
        fields = (
            "id",
            "event_id",
            "event",
            "attempt",
            "response_status",
            "duration_ms",
            "error",
            "is_success",
            "attempted_at",
        )
        read_only_fields = fields
