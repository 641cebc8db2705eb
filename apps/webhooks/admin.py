"""Webhook subscriptions and their delivery log in the agency console (administrators).

Subscriptions are created by partners through the API (the secret is shown to them once);
administrators watch them and their deliveries, and can stop a subscription (audited).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.outbox.admin import OperatorAdminMixin, bind_console_actor
from apps.webhooks.models import PartnerWebhookSubscription, WebhookDelivery
from apps.webhooks.services import subscription_deactivate


@admin.register(PartnerWebhookSubscription)
class PartnerWebhookSubscriptionAdmin(OperatorAdminMixin, admin.ModelAdmin):
    """Endpoints of partners; the secret never appears."""

    on_public_host = False

    list_display = ("url", "partner_client", "events", "is_active", "created_at")
    list_filter = ("is_active",)
    list_select_related = ("partner_client",)
    ordering = ("-created_at",)
    fields = ("id", "partner_client", "url", "events", "is_active", "created_at", "updated_at")
    readonly_fields = fields
    actions = ["deactivate"]

    @admin.action(description=_("Stop the selected subscriptions"), permissions=["view"])
    def deactivate(
        self, request: HttpRequest, queryset: QuerySet[PartnerWebhookSubscription]
    ) -> None:
        bind_console_actor(request)
        count = 0
        for subscription in queryset.filter(is_active=True):
            subscription_deactivate(
                partner_client_id=subscription.partner_client_id, subscription_id=subscription.pk
            )
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d subscription stopped.", "%(count)d subscriptions stopped.", count)
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(OperatorAdminMixin, admin.ModelAdmin):
    """Every attempt, with the endpoint's answer."""

    on_public_host = False

    list_display = (
        "attempted_at",
        "event",
        "subscription",
        "attempt",
        "response_status",
        "duration_ms",
        "is_success",
        "error",
    )
    list_filter = ("is_success", "event")
    list_select_related = ("subscription",)
    search_fields = ("=event_id",)
    ordering = ("-attempted_at",)
    show_full_result_count = False
    actions = None
