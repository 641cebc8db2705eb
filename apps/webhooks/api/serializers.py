"""Webhook subscription API serializers."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from apps.core.serializers import StrictInputSerializer
from apps.webhooks.models import Event, PartnerWebhookSubscription, WebhookDelivery


class WebhookSubscriptionInputSerializer(StrictInputSerializer):
    """Where to send which events."""

    url = serializers.URLField(max_length=500, help_text=_("https endpoint receiving POSTs."))
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=Event.choices),
        min_length=1,
        max_length=10,
        help_text=_("The events to receive (at least one)."),
    )


class WebhookSubscriptionOutputSerializer(serializers.ModelSerializer):
    """A subscription (its secret is never shown again)."""

    class Meta:
        model = PartnerWebhookSubscription
        fields: tuple[str, ...] = ("id", "url", "events", "is_active", "created_at", "updated_at")
        read_only_fields: tuple[str, ...] = fields
        extra_kwargs = {
            "id": {"help_text": _("The subscription's identifier.")},
            "url": {"help_text": _("https endpoint receiving the events.")},
            "events": {"help_text": _("The events sent to it.")},
            "is_active": {"help_text": _("False once deleted: nothing is sent any more.")},
            "created_at": {"help_text": _("When the subscription was created.")},
            "updated_at": {"help_text": _("When it last changed.")},
        }


class WebhookSubscriptionSecretOutputSerializer(WebhookSubscriptionOutputSerializer):
    """A subscription with its signing secret: only in the answer that creates it."""

    secret = serializers.SerializerMethodField(
        help_text=_("Signing secret (HMAC-SHA256). Shown once: store it now.")
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
        extra_kwargs = {
            "id": {"help_text": _("The delivery attempt's identifier.")},
            "event_id": {
                "help_text": _("Identifier of the event (the same in every attempt to deliver it).")
            },
            "event": {"help_text": _("Kind of event delivered.")},
            "attempt": {"help_text": _("Attempt number, from 1.")},
            "response_status": {
                "help_text": _("HTTP status the endpoint answered; null when it did not answer.")
            },
            "duration_ms": {"help_text": _("Milliseconds the attempt took.")},
            "error": {
                "help_text": _("Why the attempt failed (timeout, connection...); empty on success.")
            },
            "is_success": {"help_text": _("True when the endpoint answered 2xx.")},
            "attempted_at": {"help_text": _("When the attempt was made.")},
        }
