"""Webhook routes on agency hosts (mounted under ``/api/v1/``)."""

from django.urls import path

from apps.webhooks.api.views import WebhookSubscriptionViewSet

subscriptions = WebhookSubscriptionViewSet.as_view

urlpatterns = [
    path(
        "webhooks/subscriptions/",
        subscriptions({"get": "list", "post": "create"}),
        name="webhook-subscriptions",
    ),
    path(
        "webhooks/subscriptions/<uuid:pk>/",
        subscriptions({"get": "retrieve", "delete": "destroy"}),
        name="webhook-subscription",
    ),
    path(
        "webhooks/subscriptions/<uuid:pk>/rotate-secret/",
        subscriptions({"post": "rotate_secret"}),
        name="webhook-subscription-rotate-secret",
    ),
    path(
        "webhooks/subscriptions/<uuid:pk>/deliveries/",
        subscriptions({"get": "deliveries"}),
        name="webhook-subscription-deliveries",
    ),
]
